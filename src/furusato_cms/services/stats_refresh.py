"""Refreshing the statistics snapshot (集計の更新) by what changed, not by the country's size.

Database triggers append to ``stats_changes`` the table, site and person of every row any
figure reads, in the writer's own transaction (migrations ``0028_stats_changes`` and
``0034_stats_registration_keys``). A refresh claims the change rows it can see and writes
a new snapshot from the one before, each family of figures by its own unit of work:

- **registrations** (every figure of registrations, their events and survey answers):
  ``stats_registration_keys`` holds what each registration added at the last refresh.
  For the registrations that changed (named by site and person, every one of a person
  changed as a whole, every one of a site whose questions changed) the refresh subtracts
  their old keys and adds their new ones, counted with the same figure SQL as ever. The
  work grows with the registrations that changed.
- **attendance**: rows inserted since are added by themselves (with their month and
  project); the 365-day window moves by the rows whose time entered or left it; a site
  whose attendance was changed or removed (a void) is counted again.
- **premium and support applications** (rare, and their state changes their key): a
  site with any change is counted again, the others' rows are copied.
- **the nation's sums** over sites are summed again from the new site rows.
- **the nation's real people** (``nation_*``, distinct persons across sites) are corrected
  by difference: the people named in the batch, counted from their registrations' stored
  keys before and after (``NATION_FROM``).
- **time** changes figures without any row changing: a day later some people are in an
  older age band (the refresh adds them to its batch) and attendance leaves the window.

``full`` counts everything from scratch and rebuilds the stored keys: the first refresh,
the repair tool (``furusato-refresh-stats --full``), and what the tests compare the
incremental figures with, to the unit, after random operations.
"""
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    delete,
    distinct,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    union,
    union_all,
    update,
)

from ..clock import to_tokyo
from ..models import Attendance, IdentityVerification, Registration, Site
from ..models.statistics import (
    StatsChange,
    StatsFigure,
    StatsKey,
    StatsKeyRow,
    StatsRegistrationKey,
    StatsSnapshot,
)
from .json_sql import json_array_of, json_array_values
from .stats_figures import (
    AGE_BANDS,
    ATTENDANCES,
    NATION,
    NATION_FIGURES,
    NATION_SUMS,
    PREMIUM,
    REGISTRATIONS,
    SITE_FIGURES,
    SUPPORT,
    KeyedRegistrations,
    Scope,
    aggregate,
    keyed_rows,
    years_before,
)

FULL = "full"
CHANGES = "changes"
COLUMNS = ["snapshot_id", "site_id", "figure", "key", "value"]
NATION_FIGURE_NAMES = tuple(figure.name for figure in NATION_FIGURES)
FIGURES_OF = {unit: tuple(f for f in SITE_FIGURES if f.unit == unit)
              for unit in (REGISTRATIONS, ATTENDANCES, PREMIUM, SUPPORT)}
CHANGED_REGISTRATION = "registration:changed"
"""The change log's source for the refresh's own list of the registrations it corrects."""
BIRTHDAYS = "birthdays"
"""The change log's source for the people the clock moved to an older age band."""
QUESTIONS = "survey_questions"
PERSON_SOURCES = ("registrations", "registration_events", "survey_answers",
                  "identity_verifications", "accounts", BIRTHDAYS)
"""Changes that name a registration (with a site) or every registration of a person."""
NATION_FROM = {"people": "nation_people", "home_prefecture": "nation_home_prefecture",
               "age_gender": "nation_age_gender"}
"""The nation's real-people figures, by the registration figure whose keys they hold: a
person counted at any site, by home prefecture, by age band and gender (the same SQL,
services.stats_figures, counted per person instead of per registration)."""
PREFECTURES = "nation_people_by_prefecture"
KEY_ROW_COLUMNS = ["registration_id", "account_id", "site_id", "figure", "key", "item"]
YEAR = timedelta(days=365)
WORK_MEM = "64MB"
PLANNER_OFF = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "enable_hashagg")
F, C = StatsFigure, StatsChange
RK, SK, KR = StatsRegistrationKey, StatsKey, StatsKeyRow


@dataclass
class Counted:
    method: str
    sites: int | None
    """Sites counted again for some figure (None: all)."""
    people: int | None
    """People whose national keys were counted again (None: all)."""
    registrations: int | None = None
    """Registrations whose keys were taken again (None: all)."""


class StatsRefresh:
    """One refresh into ``snapshot`` (already flushed), from ``previous`` when it can."""

    def __init__(self, dbsession, *, dialect: str):
        self.dbsession = dbsession
        self.dialect = dialect

    def run(self, snapshot: StatsSnapshot, previous: StatsSnapshot | None, *,
            full: bool = False) -> Counted:
        if self.dialect == "postgresql":
            # the snapshot's rows are sorted to be summed: in memory, not on disk
            self.dbsession.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        self._claim(snapshot.id)
        if self.dialect == "postgresql":
            # the planner must know the batch's size to read big tables by index
            self.dbsession.execute(text("ANALYZE stats_changes"))
        if full or not self._can_follow(previous, snapshot):
            counted = self._full(snapshot)
        else:
            counted = self._changes(snapshot, previous)
        self.dbsession.execute(delete(C).where(C.batch == snapshot.id))
        snapshot.method = counted.method
        return counted

    @staticmethod
    def _can_follow(previous, snapshot) -> bool:
        return (previous is not None and previous.method in (FULL, CHANGES)
                and previous.as_of <= snapshot.as_of)

    def _claim(self, batch: int):
        """The change rows this transaction sees become this refresh's; rows committed
        later stay for the next one."""
        self.dbsession.execute(update(C).where(C.batch.is_(None)).values(batch=batch))

    # -- from scratch ---------------------------------------------------------------

    def _full(self, snapshot) -> Counted:
        scope = Scope(self.dialect, snapshot.as_of)
        self._count_sites(snapshot, scope, SITE_FIGURES + NATION_FIGURES)
        self._sum_nation(snapshot)
        self.dbsession.execute(delete(RK))
        self._learn_keys(select(F.figure, F.key).where(
            F.snapshot_id == snapshot.id, F.site_id != NATION,
            F.figure.in_([figure.name for figure in FIGURES_OF[REGISTRATIONS]])))
        self._store_keys(self._key_rows(scope).subquery())
        if self.dialect == "postgresql":
            # the refreshes by changes look people up in these by index only if the
            # planner knows how many rows they now hold
            for table in (RK, SK):
                self.dbsession.execute(text(f"ANALYZE {table.__tablename__}"))
        return Counted(FULL, None, None, None)

    # -- from the snapshot before ---------------------------------------------------

    def _changes(self, snapshot, previous) -> Counted:
        with self._by_index():
            return self._count_changes(snapshot, previous)

    @contextmanager
    def _by_index(self):
        """Every statement of a refresh by changes looks the changed rows up in big
        tables. The planner costs a lookup by person as a probe into each of the 16
        partitions (it cannot foresee the run-time pruning to one), so for a day's
        changes it chose to hash or scan whole tables — 30 M registrations at 10 M
        people, several times. On PostgreSQL, index lookups only, for these statements;
        and the changed ids sorted, not hashed, so the lookups walk the tables (laid out
        by person) in order rather than at random."""
        if self.dialect != "postgresql":
            yield
            return
        for setting in PLANNER_OFF:
            self.dbsession.execute(text(f"SET LOCAL {setting} = off"))
        yield
        for setting in PLANNER_OFF:
            self.dbsession.execute(text(f"RESET {setting}"))

    def _count_changes(self, snapshot, previous) -> Counted:
        batch = snapshot.id
        self._add_people_by_time(batch, previous.as_of, snapshot.as_of)
        people = select(C.account_id).where(C.batch == batch, C.source.in_(PERSON_SOURCES))
        before = self._nation_keys(people)
        registrations = self._correct_registrations(snapshot, previous)
        recounted = self._correct_attendance(snapshot, previous)
        for unit in (PREMIUM, SUPPORT):
            recounted |= self._follow(snapshot, previous, unit, self._sites_changed(batch, unit))
        self._sum_nation(snapshot)
        nation = self._nation_values(previous)
        nation.subtract(before)
        nation.update(self._nation_keys(people))
        self._insert_nation(snapshot, nation)
        changed = people.subquery()
        people_counted = self.dbsession.scalar(
            select(func.count(distinct(changed.c.account_id))))
        return Counted(CHANGES, len(recounted), people_counted, registrations)

    def _add_people_by_time(self, batch: int, since, now):
        """On a new Tokyo date, the people who reached an age band's lower bound."""
        before, today = to_tokyo(since).date(), to_tokyo(now).date()
        if before == today:
            return
        V = IdentityVerification
        birthdays = or_(*[and_(V.birthdate > years_before(before, low),
                               V.birthdate <= years_before(today, low))
                          for low, _band in AGE_BANDS[:-1]])
        self.dbsession.execute(insert(C).from_select(
            ["account_id", "source", "batch"],
            select(V.account_id, literal(BIRTHDAYS), literal(batch)).where(birthdays)))

    def _sites_changed(self, batch: int, source: str, *, inserts=True) -> set:
        """Sites with a change of ``source`` (without ``inserts``: other than an insert)."""
        statement = select(C.site_id).where(C.batch == batch, C.source == source,
                                            C.site_id.is_not(None))
        if not inserts:
            statement = statement.where(C.row_id.is_(None))
        return set(self.dbsession.scalars(statement.distinct()))

    def _follow(self, snapshot, previous, unit: str, recount: set, corrections=()) -> set:
        """``unit``'s figures: the rows before plus ``corrections`` (SELECTs of
        ``site_id, figure, key, value``), except at the sites in ``recount``, which are
        counted again."""
        figures = FIGURES_OF[unit]
        names = [figure.name for figure in figures]
        before = select(F.site_id, F.figure, F.key, F.value).where(
            F.snapshot_id == previous.id, F.site_id != NATION, F.figure.in_(names))
        parts = union_all(before, *corrections).subquery()
        total = func.sum(parts.c.value)
        statement = select(literal(snapshot.id), parts.c.site_id, parts.c.figure,
                           parts.c.key, total).group_by(
            parts.c.site_id, parts.c.figure, parts.c.key)
        if corrections:
            statement = statement.having(total != 0)
        if recount:
            statement = statement.where(parts.c.site_id.not_in(recount))
        self.dbsession.execute(insert(F).from_select(COLUMNS, statement))
        if recount:
            self._count_sites(snapshot, Scope(self.dialect, snapshot.as_of, tuple(recount)),
                              figures)
        return recount

    # -- registrations: each one's keys ---------------------------------------------

    def _correct_registrations(self, snapshot, previous) -> int:
        batch = snapshot.id
        changed = self._mark_changed_registrations(batch)
        if not changed:
            self._follow(snapshot, previous, REGISTRATIONS, set())
            return 0
        marked = (C.batch == batch, C.source == CHANGED_REGISTRATION)
        ids = select(C.row_id).where(*marked)
        scope = Scope(self.dialect, snapshot.as_of,
                      registrations=select(C.account_id, C.row_id).where(*marked))
        self.dbsession.execute(insert(KR).from_select(KEY_ROW_COLUMNS, self._key_rows(scope)))
        now = (select(KR.site_id, KR.figure, KR.key, func.count().label("value"))
               .group_by(KR.site_id, KR.figure, KR.key))
        self._follow(snapshot, previous, REGISTRATIONS, set(), [self._kept_counts(ids), now])
        self.dbsession.execute(delete(RK).where(RK.registration_id.in_(ids)))
        self._learn_keys(select(KR.figure, KR.key))
        self._store_keys(KR.__table__)
        self.dbsession.execute(delete(KR))
        return changed

    def _mark_changed_registrations(self, batch: int) -> int:
        """Write into the batch the ids of the registrations to correct, those there are
        now and those whose keys are kept (a deleted one has only keys); their number."""
        named = (C.batch == batch, C.source.in_(PERSON_SOURCES))
        pairs = select(C.account_id, C.site_id).where(
            *named, C.site_id.is_not(None)).distinct().subquery()
        people = select(C.account_id).where(*named, C.site_id.is_(None)).distinct().subquery()
        question_sites = self._sites_changed(batch, QUESTIONS)

        def of(table, id_column):
            columns = (id_column, table.account_id, table.site_id)
            parts = [
                select(*columns).join(pairs, and_(table.account_id == pairs.c.account_id,
                                                  table.site_id == pairs.c.site_id)),
                select(*columns).join(people, table.account_id == people.c.account_id),
            ]
            if question_sites:
                parts.append(select(*columns).where(table.site_id.in_(question_sites)))
            return parts

        both = union(*of(Registration, Registration.id), *of(RK, RK.registration_id)).subquery()
        self.dbsession.execute(insert(C).from_select(
            ["row_id", "account_id", "site_id", "source", "batch"],
            select(both.c[0], both.c[1], both.c[2], literal(CHANGED_REGISTRATION),
                   literal(batch))))
        return self.dbsession.scalar(select(func.count()).select_from(C).where(
            C.batch == batch, C.source == CHANGED_REGISTRATION))

    def _kept_counts(self, ids):
        """Minus what the registrations ``ids`` added at the last refresh."""
        values = json_array_values(self.dialect, RK.keys)
        return (select(RK.site_id, SK.figure, SK.key, (-func.count()).label("value"))
                .select_from(RK).join(values, true())
                .join(SK, SK.id == cast(values.c.value, Integer))
                .where(RK.registration_id.in_(ids))
                .group_by(RK.site_id, SK.figure, SK.key))

    @staticmethod
    def _key_rows(scope):
        """``KEY_ROW_COLUMNS`` of every registration figure over ``scope``, each once; the
        figures keyed by one expression of the registration in one pass."""
        figures = FIGURES_OF[REGISTRATIONS]
        keyed = [f for f in figures if isinstance(f.rows, KeyedRegistrations)]
        together = keyed_rows(scope, keyed).subquery()
        parts = [select(*[together.c[name] for name in KEY_ROW_COLUMNS])]
        for figure in figures:
            if figure in keyed:
                continue
            rows = figure.rows(scope).subquery()
            parts.append(select(rows.c.registration_id, rows.c.account_id, rows.c.site_id,
                                literal(figure.name).label("figure"), rows.c.key, rows.c.item)
                         .where(rows.c.key.is_not(None)))
        return union(*parts)

    def _learn_keys(self, keys):
        """Number the figure keys ``keys`` (a SELECT of figure, key) not numbered yet."""
        held = keys.subquery()
        known = exists().where(SK.figure == held.c.figure, SK.key == held.c.key)
        self.dbsession.execute(insert(SK).from_select(
            ["figure", "key"], select(held.c.figure, held.c.key).where(~known).distinct()))

    def _store_keys(self, held):
        """Each registration's keys as numbers, from ``held`` (``KEY_ROW_COLUMNS``)."""
        self.dbsession.execute(insert(RK).from_select(
            ["registration_id", "account_id", "site_id", "keys"],
            select(held.c.registration_id, held.c.account_id, held.c.site_id,
                   json_array_of(self.dialect, SK.id))
            .join(SK, and_(SK.figure == held.c.figure, SK.key == held.c.key))
            .group_by(held.c.registration_id, held.c.account_id, held.c.site_id)))

    # -- attendance: new rows and the moving window ---------------------------------

    def _correct_attendance(self, snapshot, previous) -> set:
        batch = snapshot.id
        recount = self._sites_changed(batch, ATTENDANCES, inserts=False)
        new = (C.batch == batch, C.source == ATTENDANCES, C.row_id.is_not(None))
        inserted = select(C.row_id).where(*new)
        scope = Scope(self.dialect, snapshot.as_of,
                      attendances=select(C.account_id, C.row_id).where(*new))
        corrections = [*self._counts(scope, FIGURES_OF[ATTENDANCES]),
                       self._window_moved(previous.as_of, snapshot.as_of, inserted, 1),
                       self._window_moved(previous.as_of - YEAR, snapshot.as_of - YEAR,
                                          inserted, -1)]
        return self._follow(snapshot, previous, ATTENDANCES, recount, corrections)

    @staticmethod
    def _window_moved(since, now, inserted, sign: int):
        """``attendance_12m``: the rows (not just inserted, already counted) whose time
        entered (``sign`` 1) or left (-1) the 365 days between the two moments; read
        site by site through the index on (site, time)."""
        A = Attendance
        return (select(Site.id.label("site_id"), literal("attendance_12m").label("figure"),
                       literal("").label("key"), (func.count() * sign).label("value"))
                .join(A, and_(A.site_id == Site.id, A.attended_at > since,
                              A.attended_at <= now))
                .where(A.voided_at.is_(None), A.id.not_in(inserted))
                .group_by(Site.id))

    # -- the parts ------------------------------------------------------------------

    @staticmethod
    def _counts(scope, figures) -> list:
        """SELECTs of ``site_id, figure, key, value``: ``figures`` counted over ``scope``."""
        parts = []
        for figure in figures:
            counted = aggregate(figure, scope).subquery()
            parts.append(select(counted.c.site_id, literal(figure.name).label("figure"),
                                counted.c.key, counted.c.value))
        return parts

    def _count_sites(self, snapshot, scope, figures):
        for part in self._counts(scope, figures):
            counted = part.subquery()
            self.dbsession.execute(insert(F).from_select(COLUMNS, select(
                literal(snapshot.id), counted.c.site_id, counted.c.figure, counted.c.key,
                counted.c.value)))

    def _sum_nation(self, snapshot):
        self.dbsession.execute(insert(F).from_select(COLUMNS, select(
            literal(snapshot.id), literal(NATION), F.figure, F.key, func.sum(F.value),
        ).where(F.snapshot_id == snapshot.id, F.site_id != NATION,
                F.figure.in_(NATION_SUMS)).group_by(F.figure, F.key)))

    def _nation_keys(self, people) -> Counter:
        """(figure, key) -> how many of ``people`` hold each of the nation's real-people
        keys, read from their registrations' stored keys: a person counts once under each
        key any of their counted registrations holds (``NATION_FROM``), and once in each
        prefecture of a site where they count."""
        values = json_array_values(self.dialect, RK.keys)
        held = (select(RK.account_id, RK.site_id, SK.figure, SK.key)
                .select_from(RK).join(values, true())
                .join(SK, SK.id == cast(values.c.value, Integer))
                .where(RK.account_id.in_(people), SK.figure.in_(NATION_FROM))).cte()
        name = case(*[(held.c.figure == of, literal(nation)) for of, nation in NATION_FROM.items()])
        by_key = select(held.c.account_id, name.label("figure"), held.c.key)
        by_prefecture = (select(held.c.account_id, literal(PREFECTURES).label("figure"),
                                Site.prefecture_code.label("key"))
                         .join(Site, Site.id == held.c.site_id)
                         .where(held.c.figure == "people"))
        keys = union(by_key, by_prefecture).subquery()
        return Counter({(figure, key): value for figure, key, value in self.dbsession.execute(
            select(keys.c.figure, keys.c.key, func.count()).group_by(keys.c.figure, keys.c.key))})

    def _nation_values(self, snapshot) -> Counter:
        statement = select(F.figure, F.key, F.value).where(
            F.snapshot_id == snapshot.id, F.site_id == NATION,
            F.figure.in_(NATION_FIGURE_NAMES))
        return Counter({(figure, key): value
                        for figure, key, value in self.dbsession.execute(statement)})

    def _insert_nation(self, snapshot, values: dict):
        """The nation's real-people rows; a key nobody holds any more has no row, as in a
        count from scratch."""
        rows = [{"snapshot_id": snapshot.id, "site_id": NATION, "figure": figure, "key": key,
                 "value": value} for (figure, key), value in sorted(values.items()) if value]
        if any(value < 0 for value in values.values()):
            raise RuntimeError(f"a national figure fell below zero: {values}")
        if rows:
            self.dbsession.execute(insert(F), rows)
