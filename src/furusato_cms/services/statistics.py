"""関係人口の可視化: every figure of a site, a prefecture and the nation, defined once.

What is counted, figure by figure, is defined in ``services.stats_figures``; this
module keeps the periods, the snapshots and the reports read from them.

Speed: scheduled snapshots, live queries only for small sites
---------------------------------------------------------------
Summary rows are rebuilt set-based (one ``INSERT … SELECT … GROUP BY`` per figure) by
``furusato-refresh-stats`` from cron into a new snapshot (``models.statistics``) that
becomes visible when its transaction commits; readers take the newest snapshot, and the
one before it is kept so a reader that started just before the swap still finds its
rows. We chose this over counters maintained in the same transaction because:

- registering, leaving, release and premium decisions are other services' code; the
  statistics stay entirely in this module instead of hooking every writer;
- hot counters (one row per site, or the nation's one row) would serialise concurrent
  registrations and check-ins, exactly where the system must not slow down;
- it works the same on SQLite and PostgreSQL (no materialised views needed);
- every figure stays exact *as of* the snapshot's time, which every page shows.

The national dashboard reads only the snapshot (the nation's rows are site 0; the
table of sites reads one row per site and figure through an index), so it answers in
milliseconds whatever the number of registrations. A site or prefecture dashboard is
computed live — exact to the second — while the snapshot says its scope holds fewer
than ``LIVE_LIMIT`` registrations; larger scopes read the snapshot too.

**Staleness bound**: a snapshot figure is at most the cron interval plus one refresh
run old. A refresh counts only what changed (``services.stats_refresh``), so it runs
every minute: at most about a minute plus the run time. The page says "as of …"
whenever figures come from a snapshot.
"""
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import and_, delete, func, or_, select

from ..clock import TOKYO, to_tokyo
from ..i18n import _
from ..models import Project, Site, StatsFigure, StatsSnapshot, SurveyQuestion
from .audit import AuditLog
from .errors import InvalidInput
from .paging import read_rows
from .sites import SiteLifecycleService
from .stats_refresh import StatsRefresh
from .stats_figures import (
    FIGURES,
    NATION,
    NATION_FIGURES,
    SITE_FIGURES,
    SIZE_FIGURES,
    Scope,
    aggregate,
)

AIM_PEOPLE = 10_000_000
"""The national aim: ten million real people (実人数)."""
AIM_REGISTRATIONS = 100_000_000
"""The national aim: one hundred million registrations (延べ登録数)."""
SUPPRESS_BELOW = 10
"""Counts from 1 to this minus one, from verified personal data, are shown as "<10"."""
EARLIEST_MONTH = "2020-01"
MAX_MONTHS = 120
DEFAULT_MONTHS = 12

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# -- periods of months ------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole Asia/Tokyo months from ``first`` to ``last`` ("YYYY-MM"), both included."""

    first: str
    last: str

    @property
    def months(self) -> list:
        year, month = map(int, self.first.split("-"))
        found = []
        while f"{year:04d}-{month:02d}" <= self.last:
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found

    @property
    def start(self) -> datetime:
        return _month_start(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the period (the start of the following month)."""
        year, month = map(int, self.last.split("-"))
        following = f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"
        return _month_start(following)

    def holds(self, key: str) -> bool:
        """Whether a flow figure's key (month first) falls inside the period."""
        return self.first <= key[:7] <= self.last


def _month_start(month: str) -> datetime:
    year, number = map(int, month.split("-"))
    return datetime(year, number, 1, tzinfo=TOKYO).astimezone(timezone.utc)


def tokyo_month_of(moment: datetime) -> str:
    return to_tokyo(moment).strftime("%Y-%m")


def months_back(month: str, count: int) -> str:
    year, number = map(int, month.split("-"))
    index = year * 12 + number - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def default_period(now: datetime) -> Period:
    """The twelve months up to and including the current one."""
    last = tokyo_month_of(now)
    return Period(months_back(last, DEFAULT_MONTHS - 1), last)


def parse_period(raw_first, raw_last, now: datetime) -> Period:
    """The period asked for in ``from``/``to`` parameters ("YYYY-MM"); either may be
    left out (the default twelve months fill it). Refuses with InvalidInput naming the
    parameter: a malformed month, a month before 2020 or after the current one, an end
    before the start, or more than ten years."""
    current = tokyo_month_of(now)
    first = _checked_month(raw_first, "from")
    last = _checked_month(raw_last, "to") or current
    first = first or max(months_back(last, DEFAULT_MONTHS - 1), EARLIEST_MONTH)
    for value, name in ((first, "from"), (last, "to")):
        if not EARLIEST_MONTH <= value <= current:
            raise InvalidInput(
                _("Months can be chosen from ${earliest} to ${current}.",
                  mapping={"earliest": EARLIEST_MONTH, "current": current}), field=name)
    if last < first:
        raise InvalidInput(_("The end month must not be before the start month."), field="to")
    period = Period(first, last)
    if len(period.months) > MAX_MONTHS:
        raise InvalidInput(_("Choose at most ${count} months.", mapping={"count": MAX_MONTHS}),
                           field="to")
    return period


def _checked_month(raw, name) -> str | None:
    if raw is None or raw == "":
        return None
    match = _MONTH.match(str(raw).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(_("Write the month as year-month, for example 2026-04."), field=name)
    return match.group(0)


SITE_TABLE_COLUMNS = (
    ("people", "people", "", _("People")),
    ("basic", "tier", "basic", _("Basic")),
    ("premium", "tier", "premium", _("Premium")),
    ("long_stay", "long_stay", "", _("Long-stayers")),
    ("at_home", "at_home", "", _("At home (not counted)")),
    ("attendance", "attendance_12m", "", _("Attendances, last 12 months")),
)
"""Sort key, figure, key and heading of each number column in a table of sites."""
SITE_TABLE_FIGURES = tuple({figure for _k, figure, _key, _h in SITE_TABLE_COLUMNS})
NATIONAL_SITE_FIGURES = SITE_TABLE_FIGURES + ("origin",)
"""Each site's figures the national report reads: the table of sites, and ``origin`` for
the registrations without the derived ones (延べ with and without, rule 8)."""


# -- values read back -------------------------------------------------------------------


class Suppressed(str):
    """A count from 1 to 9 of verified personal data, shown as "<10"."""

    def __new__(cls):
        return super().__new__(cls, f"<{SUPPRESS_BELOW}")


def shown(value: int, figure: str):
    """How a count of ``figure`` may be shown: itself, or "<10" for small groups of a
    suppressed figure (0 stays 0: an empty group holds nobody)."""
    if FIGURES[figure].suppressed and 0 < value < SUPPRESS_BELOW:
        return Suppressed()
    return value


@dataclass
class SiteFigures:
    """The values of every figure for one site (or the nation): figure -> key -> value."""

    values: dict = field(default_factory=lambda: defaultdict(dict))

    def value(self, figure: str, key: str = "") -> int:
        return int(self.values.get(figure, {}).get(key, 0))

    def keyed(self, figure: str) -> dict:
        return {k: int(v) for k, v in self.values.get(figure, {}).items()}

    def in_period(self, figure: str, period: Period) -> dict:
        """A flow figure's values inside the period, keyed as stored."""
        return {k: v for k, v in self.keyed(figure).items() if period.holds(k)}

    def by_month(self, figure: str, period: Period) -> dict:
        """month -> part after the month ("" when none) -> value, every month present."""
        months = {month: defaultdict(int) for month in period.months}
        for key, value in self.in_period(figure, period).items():
            months[key[:7]][key[8:]] += value
        return months

    def period_parts(self, figure: str, period: Period) -> dict:
        """A flow figure summed over the period by the part after the month."""
        parts = defaultdict(int)
        for key, value in self.in_period(figure, period).items():
            parts[key[8:]] += value
        return dict(parts)


class Values:
    """Figure values of several sites: site id -> SiteFigures."""

    def __init__(self):
        self.sites = defaultdict(SiteFigures)

    def add(self, site_id, figure, key, value):
        self.sites[int(site_id)].values[figure][key] = int(value)

    def of(self, site_id) -> SiteFigures:
        return self.sites[site_id]


@dataclass
class Report:
    """One site's figures (a prefecture's with its municipalities) for a period."""

    site: Site
    figures: SiteFigures
    period: Period
    as_of: datetime
    source: str
    """``live`` (counted for this request) or ``snapshot`` (as of ``as_of``)."""
    municipalities: list = field(default_factory=list)
    """For a prefecture: [(Site, SiteFigures)] of each municipality in it."""
    project_titles: dict = field(default_factory=dict)
    questions: list = field(default_factory=list)


@dataclass
class NationalReport:
    figures: SiteFigures
    period: Period
    snapshot: StatsSnapshot
    sites: list
    """[(site row, SiteFigures, FeeStatus)] of every site, from the snapshot; a site row
    has the site's id, code, name, kind, prefecture code, state and joining date, and its
    figures are those of NATIONAL_SITE_FIGURES."""


@dataclass(frozen=True, slots=True)
class NationalCounters:
    """The top page's national figures from the newest snapshot, under the names of
    ``dashboard.headline`` (which reads them from the whole national report)."""

    as_of: datetime
    real_people: int
    registrations_including_derived: int
    premium_registrations: int


COUNTERS = (
    ("real_people", "nation_people", ""),
    ("registrations_including_derived", "people", ""),
    ("premium_registrations", "tier", "premium"),
)
"""Each counter: (its name, the nation's figure, the figure's key)."""

_SNAPSHOTS = StatsSnapshot.__table__
_FIGURES = StatsFigure.__table__
NATIONAL_COUNTERS = (
    select(_SNAPSHOTS.c.as_of, _FIGURES.c.figure, _FIGURES.c.key, _FIGURES.c.value)
    .select_from(_SNAPSHOTS.outerjoin(_FIGURES, and_(
        _FIGURES.c.snapshot_id == _SNAPSHOTS.c.id, _FIGURES.c.site_id == NATION,
        or_(*[and_(_FIGURES.c.figure == figure, _FIGURES.c.key == key)
              for _name, figure, key in COUNTERS]))))
    .where(_SNAPSHOTS.c.id == select(_SNAPSHOTS.c.id).order_by(_SNAPSHOTS.c.id.desc())
           .limit(1).scalar_subquery())
)
"""The newest snapshot's moment with the nation's rows of the counters (by the primary
key), in one statement built once; no row before the first snapshot."""


# -- the service ------------------------------------------------------------------------


class StatisticsService:
    LIVE_LIMIT = 20_000
    """Scopes with fewer registrations than this (per the snapshot) are counted live."""
    KEEP_SNAPSHOTS = 2

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    @property
    def dialect(self) -> str:
        return self.dbsession.get_bind().dialect.name

    # -- counting live --------------------------------------------------------------

    def live_values(self, site_ids, period: Period | None = None, *, nation=False) -> Values:
        """Every site figure of ``site_ids`` (None: all sites) counted now; with
        ``nation``, the nation-only figures too."""
        scope = Scope(self.dialect, self.clock(),
                      None if site_ids is None else tuple(site_ids), period)
        figures = SITE_FIGURES + (NATION_FIGURES if nation else ())
        values = Values()
        for figure in figures:
            for site_id, key, value in self.dbsession.execute(aggregate(figure, scope)):
                values.add(site_id, figure.name, key, value)
        return values

    # -- snapshots ------------------------------------------------------------------

    def refresh(self, actor=None, *, full=False) -> dict:
        """A new snapshot: by what changed since the one before, or every figure from
        scratch when there is none to follow or ``full`` is asked (the repair tool); see
        ``services.stats_refresh``. Drops all but the newest ``KEEP_SNAPSHOTS``. Call in
        its own transaction (on PostgreSQL at REPEATABLE READ, as the script does, so
        every figure sees the same moment). A refresh asked for by a person (``actor``) is
        audited; the scheduled one is not."""
        started = time.monotonic()
        now = self.clock()
        previous = self.latest_snapshot()
        snapshot = StatsSnapshot(as_of=now, finished_at=now)
        self.dbsession.add(snapshot)
        self.dbsession.flush()
        counted = StatsRefresh(self.dbsession, dialect=self.dialect).run(
            snapshot, previous, full=full)
        F = StatsFigure
        rows = self.dbsession.scalar(
            select(func.count()).select_from(F).where(F.snapshot_id == snapshot.id)
        )
        dropped = self._drop_old_snapshots()
        snapshot.row_count = rows
        snapshot.duration_ms = int((time.monotonic() - started) * 1000)
        snapshot.finished_at = self.clock()
        if actor is not None:
            AuditLog(self.dbsession, self.clock).record(
                actor, "stats.refresh", target=snapshot, rows=rows)
        self.dbsession.flush()
        return {"snapshot": snapshot.id, "as_of": now.isoformat(), "rows": rows,
                "method": counted.method, "sites_counted": counted.sites,
                "people_counted": counted.people,
                "registrations_counted": counted.registrations,
                "dropped_snapshots": dropped, "duration_ms": snapshot.duration_ms}

    def _drop_old_snapshots(self) -> int:
        old = list(self.dbsession.scalars(
            select(StatsSnapshot.id).order_by(StatsSnapshot.id.desc())
            .offset(self.KEEP_SNAPSHOTS)
        ))
        if old:
            self.dbsession.execute(delete(StatsFigure).where(StatsFigure.snapshot_id.in_(old)))
            self.dbsession.execute(delete(StatsSnapshot).where(StatsSnapshot.id.in_(old)))
        return len(old)

    def latest_snapshot(self) -> StatsSnapshot | None:
        return self.dbsession.scalar(
            select(StatsSnapshot).order_by(StatsSnapshot.id.desc()).limit(1)
        )

    def snapshot_values(self, snapshot, site_ids, figures=None) -> Values:
        """Stored values of ``site_ids`` (NATION for the nation), optionally only some
        figures."""
        F = StatsFigure
        statement = select(F.site_id, F.figure, F.key, F.value).where(
            F.snapshot_id == snapshot.id, F.site_id.in_(list(site_ids))
        )
        if figures is not None:
            statement = statement.where(F.figure.in_(list(figures)))
        values = Values()
        for site_id, figure, key, value in self.dbsession.execute(statement):
            values.add(site_id, figure, key, value)
        return values

    # -- reports --------------------------------------------------------------------

    def municipalities_of(self, prefecture: Site) -> list:
        """The municipality sites inside a prefecture (any state), by code."""
        if not prefecture.is_prefecture:
            return []
        return list(self.dbsession.scalars(
            select(Site).where(Site.prefecture_code == prefecture.prefecture_code,
                               Site.kind == "municipality").order_by(Site.code)
        ))

    def municipality_in(self, prefecture: Site, raw_code) -> Site:
        """One of the prefecture's municipalities by code, or InvalidInput."""
        code = str(raw_code or "").strip()
        for site in self.municipalities_of(prefecture):
            if site.code == code:
                return site
        raise InvalidInput(_("Choose one of the municipalities listed on this page."),
                           field="municipality")

    def site_report(self, site: Site, period: Period) -> Report:
        """The figures of one site — and of each municipality for a prefecture —
        counted live unless the snapshot says the scope is large."""
        municipalities = self.municipalities_of(site)
        ids = [site.id] + [m.id for m in municipalities]
        snapshot = self.latest_snapshot()
        if snapshot is not None and self._size(snapshot, ids) >= self.LIVE_LIMIT:
            values, as_of, source = self.snapshot_values(snapshot, ids), snapshot.as_of, "snapshot"
        else:
            values, as_of, source = self.live_values(ids, period), self.clock(), "live"
        figures = values.of(site.id)
        return Report(
            site=site, figures=figures, period=period, as_of=as_of, source=source,
            municipalities=[(m, values.of(m.id)) for m in municipalities],
            project_titles=self._project_titles(figures, period),
            questions=self._questions(site),
        )

    def _size(self, snapshot, site_ids) -> int:
        values = self.snapshot_values(snapshot, site_ids, SIZE_FIGURES)
        return sum(values.of(i).value(f) for i in site_ids for f in SIZE_FIGURES)

    def _project_titles(self, figures, period) -> dict:
        ids = {int(part) for part in figures.period_parts("attendance_by_project", period)}
        if not ids:
            return {}
        return dict(self.dbsession.execute(
            select(Project.id, Project.title).where(Project.id.in_(ids))
        ).all())

    def _questions(self, site) -> list:
        return list(self.dbsession.scalars(
            select(SurveyQuestion)
            .where(SurveyQuestion.site_id == site.id, SurveyQuestion.kind != "text")
            .order_by(SurveyQuestion.position, SurveyQuestion.id)
        ))

    def national_counters(self) -> NationalCounters | None:
        """The nation's people, registrations and premium registrations from the newest
        snapshot (None before the first refresh): the top page, which needs neither the
        table of sites nor the snapshot's other figures that ``national_report`` reads."""
        rows = read_rows(self.dbsession, NATIONAL_COUNTERS).all()
        if not rows:
            return None
        found = {(figure, key): int(value) for _as_of, figure, key, value in rows
                 if figure is not None}
        return NationalCounters(rows[0].as_of, *[found.get((figure, key), 0)
                                                 for _name, figure, key in COUNTERS])

    def national_report(self, period: Period) -> NationalReport | None:
        """The nation from the newest snapshot only (None before the first refresh):
        its own rows, and one row per site and table figure for the table of sites."""
        snapshot = self.latest_snapshot()
        if snapshot is None:
            return None
        nation = self.snapshot_values(snapshot, [NATION]).of(NATION)
        sites = self.dbsession.execute(
            select(Site.id, Site.code, Site.name, Site.kind, Site.prefecture_code, Site.state,
                   Site.joined_on).order_by(Site.code)
        ).all()
        F = StatsFigure
        values = Values()
        for site_id, figure, key, value in self.dbsession.execute(
            select(F.site_id, F.figure, F.key, F.value).where(
                F.snapshot_id == snapshot.id, F.figure.in_(NATIONAL_SITE_FIGURES),
                F.site_id != NATION,
            )
        ):
            values.add(site_id, figure, key, value)
        lifecycle = SiteLifecycleService(self.dbsession, clock=self.clock, settings=self.settings)
        return NationalReport(
            figures=nation, period=period, snapshot=snapshot,
            sites=[(s, values.of(s.id), lifecycle.fee_status(s)) for s in sites],
        )
