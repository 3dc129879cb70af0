"""関係人口の可視化: every figure of a site, a prefecture and the nation, defined once.

What is counted
---------------
A **counted registration** is a registration that is ``active``, not at home (居住地での
登録 is allowed but never relationship population) and whose account is not deleted
(deleted accounts are tombstones with ``disabled_at``; their registrations are ``left``
anyway). Released (解除) and left (退会) registrations are never counted. One person
has at most one registration per site, so per site "people" and "registrations" are
the same number; nationally they differ: *real people* (distinct persons with at least
one counted registration) against *registrations* (延べ登録数, the sum over sites).

Each figure below is one function whose docstring says exactly what it counts. It
returns the rows to count — ``site_id``, ``key`` and an ``item`` (counted once per
site and key) or an ``amount`` (summed) — and ``aggregate`` turns them into
``(site_id, key, value)``. The same SQL serves the live dashboards and the snapshot,
so the two cannot drift apart. *Stock* figures describe the moment of counting; *flow*
figures have keys starting with the Asia/Tokyo month (``YYYY-MM``) of what happened
and are read for a period of months. Figures from verified identity data (home
prefecture, age band and gender) show counts from 1 to 9 as "<10" wherever they are
displayed (``SUPPRESS_BELOW``); that suppression is part of their definition.

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
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    delete,
    distinct,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..clock import TOKYO, to_tokyo
from ..i18n import _
from ..models import (
    Account,
    ActivitySession,
    Attendance,
    IdentityVerification,
    PremiumApplication,
    Project,
    Registration,
    RegistrationEvent,
    Site,
    StatsFigure,
    StatsSnapshot,
    SupportApplication,
    SurveyAnswer,
    SurveyQuestion,
)
from .audit import AuditLog
from .errors import InvalidInput
from .json_sql import json_array_values
from .paging import read_rows
from .sites import SiteLifecycleService

AIM_PEOPLE = 10_000_000
"""The national aim: ten million real people (実人数)."""
AIM_REGISTRATIONS = 100_000_000
"""The national aim: one hundred million registrations (延べ登録数)."""
SUPPRESS_BELOW = 10
"""Counts from 1 to this minus one, from verified personal data, are shown as "<10"."""
NATION = 0
"""``site_id`` of the nation's rows in a snapshot."""
EARLIEST_MONTH = "2020-01"
MAX_MONTHS = 120
DEFAULT_MONTHS = 12
AGE_BANDS = ((70, "70+"), (60, "60-69"), (50, "50-59"), (40, "40-49"), (30, "30-39"),
             (20, "20-29"), (0, "0-19"))
"""Lower age bound and key of each band, oldest first (as the SQL CASE tests them)."""
GENDERS = ("female", "male", "other")
UNANSWERED = "unanswered"
"""Key of the registrations that chose no relationship type (yet)."""
FLOW_KINDS = {"joined": "joined", "rejoined": "joined", "left": "left", "released": "released"}
"""Registration history events counted by the trend, and the column each goes to."""

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


# -- SQL helpers that differ between SQLite and PostgreSQL ------------------------------


class tokyo_month(FunctionElement):
    """The Asia/Tokyo month ("YYYY-MM") of a stored UTC time. Japan has no daylight
    saving time, so nine hours ahead of UTC is exact on every date."""

    type = String()
    inherit_cache = True
    name = "tokyo_month"


@compiles(tokyo_month, "sqlite")
def _tokyo_month_sqlite(element, compiler, **kw):
    return "strftime('%%Y-%%m', %s, '+9 hours')" % compiler.process(element.clauses, **kw)


@compiles(tokyo_month, "postgresql")
def _tokyo_month_pg(element, compiler, **kw):
    return "to_char((%s) AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')" % compiler.process(
        element.clauses, **kw
    )


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# -- the scope a figure is counted over -------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Where and when figures are counted: ``site_ids`` (None: every site), the moment
    ``now`` that stock figures describe, and for flows an optional ``period`` (None:
    all history, as the snapshot stores it). ``accounts`` (a SELECT of account ids)
    narrows counted registrations to those people: the incremental refresh recounts the
    nation's real-people keys of the people who changed only. ``registrations`` (a
    SELECT of account and registration ids) and ``attendances`` (account and
    attendance ids) narrow the rows of registration and attendance figures the same way, for the
    refresh's corrections by difference."""

    dialect: str
    now: datetime
    site_ids: tuple | None = None
    period: Period | None = None
    accounts: object = None
    registrations: object = None
    attendances: object = None

    @property
    def today(self) -> date:
        return to_tokyo(self.now).date()

    def only(self, statement, site_column):
        if self.site_ids is None:
            return statement
        return statement.where(site_column.in_(self.site_ids))

    def within(self, statement, time_column):
        if self.period is None:
            return statement
        return statement.where(time_column >= self.period.start, time_column < self.period.end)

    def of_registrations(self, statement):
        """``registrations`` selects ``account_id, id`` pairs: with the person, a lookup
        reads the one partition of the person (revision 0032) instead of all."""
        if self.registrations is None:
            return statement
        return statement.where(tuple_(R.account_id, R.id).in_(self.registrations))

    def of_attendances(self, statement):
        if self.attendances is None:
            return statement
        return statement.where(tuple_(Attendance.account_id, Attendance.id).in_(self.attendances))


R = Registration


def _counted(scope, *columns):
    """Rows of counted registrations: active, not at home, account not deleted."""
    statement = (
        select(*columns)
        .select_from(R)
        .join(Account, Account.id == R.account_id)
        .where(R.state == "active", R.at_home.is_(False), Account.disabled_at.is_(None))
    )
    if scope.accounts is not None:
        statement = statement.where(R.account_id.in_(scope.accounts))
    return scope.only(scope.of_registrations(statement), R.site_id)


def _of_registration():
    """The columns by which the refresh keeps what each registration adds."""
    return R.id.label("registration_id"), R.account_id.label("account_id")


def _site_item(key=None):
    return (R.site_id.label("site_id"), (key if key is not None else literal("")).label("key"),
            R.id.label("item"), *_of_registration())


def _age_band(today: date):
    return case(
        *[(IdentityVerification.birthdate <= years_before(today, low), literal(band))
          for low, band in AGE_BANDS[:-1]],
        else_=literal(AGE_BANDS[-1][1]),
    )


def _gender_group():
    return case(
        (IdentityVerification.gender.in_(GENDERS[:2]), IdentityVerification.gender),
        else_=literal(GENDERS[2]),
    )


def _age_gender_key(scope):
    return _age_band(scope.today) + literal("|") + _gender_group()


def _home_prefecture_key():
    return func.substr(IdentityVerification.home_code, 1, 2)


class KeyedRegistrations:
    """A figure of counted registrations keyed by one expression of the registration
    (and, with ``identity``, of its person's verified identity data; registrations of
    unverified people are then left out). Called with a scope, it gives the rows to count
    like any figure; ``key`` lets the refresh take many such figures in one pass over
    the registrations that changed (services.stats_refresh)."""

    def __init__(self, key, *, identity: bool = False):
        self.key = key
        self.identity = identity
        self.__doc__ = key.__doc__
        self.__name__ = key.__name__

    def __call__(self, scope):
        statement = _counted(scope, *_site_item(self.key(scope)))
        if self.identity:
            statement = statement.join(IdentityVerification,
                                       IdentityVerification.account_id == R.account_id)
        return statement


def keyed(*, identity=False):
    return lambda key: KeyedRegistrations(key, identity=identity)


def keyed_rows(scope, figures):
    """The rows of several ``KeyedRegistrations`` figures in one pass: each counted
    registration read once (with its person's identity data where verified) and crossed
    with the figures' numbers; columns as ``_site_item`` plus ``figure``."""
    V = IdentityVerification
    number = union_all(*[select(literal(n).label("n")) for n in range(len(figures))]).subquery()

    def key(figure):
        expression = figure.rows.key(scope)
        return case((V.account_id.is_not(None), expression)) if figure.rows.identity else expression

    figure = case(*[(number.c.n == n, literal(f.name)) for n, f in enumerate(figures)])
    key = case(*[(number.c.n == n, key(f)) for n, f in enumerate(figures)])
    rows = (_counted(scope, R.site_id.label("site_id"), key.label("key"), R.id.label("item"),
                     *_of_registration(), figure.label("figure"))
            .outerjoin(V, V.account_id == R.account_id).join(number, true())).subquery()
    return select(rows).where(rows.c.key.is_not(None))


# -- the figures ------------------------------------------------------------------------


@keyed()
def people(scope):
    """People with a counted registration with the site (= its counted registrations).
    Summed over sites (the nation's row) it is the number of registrations, 延べ."""
    return literal("")


def at_home(scope):
    """Active registrations made where the person lives (居住地での登録), of accounts not
    deleted: shown apart, never part of any other figure."""
    statement = (
        select(*_site_item())
        .select_from(R)
        .join(Account, Account.id == R.account_id)
        .where(R.state == "active", R.at_home.is_(True), Account.disabled_at.is_(None))
    )
    return scope.only(scope.of_registrations(statement), R.site_id)


@keyed()
def tier(scope):
    """Counted registrations by tier: ``basic`` (ベーシック) or ``premium`` (プレミアム), as
    the registration's tier says now (expired premium is set back by the renewal run)."""
    return R.tier


@keyed()
def long_stay(scope):
    """Counted registrations marked as long-stayers (長期滞在者), the mark the site gives
    for enough days of stay."""
    return case((R.long_stay.is_(True), literal("")))


def _origin_key():
    return case((R.derived_from_id.is_(None), literal("direct")), else_=literal("derived"))


@keyed()
def origin(scope):
    """Counted registrations by how they were made: ``derived`` (a prefecture's, made
    through a municipality's, "via …") or ``direct``. Municipalities have only direct."""
    return _origin_key()


@keyed()
def registered_month(scope):
    """Counted registrations by the Asia/Tokyo month they were first made (kept when a
    person leaves and rejoins) and how: key "YYYY-MM|direct" or "YYYY-MM|derived".
    Added up to a month, it is how many of today's registrations existed by then."""
    return tokyo_month(R.registered_at) + literal("|") + _origin_key()


def relationship_type(scope):
    """Counted registrations by relationship type 類型①–④ (key "1" to "4"): the survey
    asks which apply, so a registration counts once under each type it chose, and under
    "unanswered" when it chose none (e.g. an old "roots" answer not yet given again)."""
    values = json_array_values(scope.dialect, R.relationship_types)
    key = func.coalesce(cast(values.c.value, String), literal(UNANSWERED))
    return _counted(scope, *_site_item(key)).outerjoin(values, true())


def connection(scope):
    """Counted registrations by connection (national common question); a registration
    with several connections counts once under each of them."""
    values = json_array_values(scope.dialect, R.connections)
    return _counted(scope, *_site_item(values.c.value)).join(values, true())


@keyed(identity=True)
def verified(scope):
    """Counted registrations whose person has verified identity (本人確認済み); the
    figures from verified data below cover exactly these."""
    return literal("")


@keyed(identity=True)
def home_prefecture(scope):
    """Counted registrations by the person's home prefecture ("01"–"47") from verified
    identity data only (unverified people, and verified data without a home code, are
    left out). Shown with "<10"."""
    return _home_prefecture_key()


@keyed(identity=True)
def age_gender(scope):
    """Counted registrations by age band and gender ("30-39|female"), from verified
    identity data only: age in whole years on the Asia/Tokyo date of counting; gender
    ``female``, ``male`` or ``other`` (anything else, including not stated). Shown
    with "<10"."""
    return _age_gender_key(scope)


def attendance_12m(scope):
    """Activity attendance at the site in the 365 days up to the moment of counting
    (not voided; a deleted person's past attendance stays, as a number only)."""
    statement = select(
        Attendance.site_id.label("site_id"), literal("").label("key"),
        Attendance.id.label("item"),
    ).where(
        Attendance.voided_at.is_(None),
        Attendance.attended_at > scope.now - timedelta(days=365),
        Attendance.attended_at <= scope.now,
    )
    return scope.only(scope.of_attendances(statement), Attendance.site_id)


def registration_flow(scope):
    """Flow: registration history per month — ``joined`` (registered or rejoined),
    ``left`` (退会, also by deleting the account) and ``released`` (解除) — of
    registrations not at home; key "YYYY-MM|joined"."""
    kind = case(*[(RegistrationEvent.kind == k, literal(v)) for k, v in FLOW_KINDS.items()])
    statement = (
        select(
            R.site_id.label("site_id"),
            (tokyo_month(RegistrationEvent.at) + literal("|") + kind).label("key"),
            RegistrationEvent.id.label("item"), *_of_registration(),
        )
        .select_from(RegistrationEvent)
        .join(R, R.id == RegistrationEvent.registration_id)
        .where(RegistrationEvent.kind.in_(FLOW_KINDS), R.at_home.is_(False))
    )
    return scope.within(scope.only(scope.of_registrations(statement), R.site_id),
                        RegistrationEvent.at)


def _attendance_rows(scope, key):
    statement = (
        select(Attendance.site_id.label("site_id"), key.label("key"),
               Attendance.id.label("item"))
        .select_from(Attendance)
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(Attendance.voided_at.is_(None))
    )
    return scope.within(scope.only(scope.of_attendances(statement), Attendance.site_id),
                        Attendance.attended_at)


def attendance(scope):
    """Flow: activity attendance per month of the activity (not voided); key "YYYY-MM"."""
    return _attendance_rows(scope, tokyo_month(Attendance.attended_at))


def attendance_by_project(scope):
    """Flow: activity attendance per month and project (not voided); key
    "YYYY-MM|<project id>"."""
    key = (tokyo_month(Attendance.attended_at) + literal("|")
           + cast(ActivitySession.project_id, String))
    return _attendance_rows(scope, key)


def premium_applications(scope):
    """Flow: premium applications (new and renewal) by month submitted and their state
    now (pending, approved, rejected, withdrawn); key "YYYY-MM|approved"."""
    A = PremiumApplication
    statement = select(
        A.site_id.label("site_id"),
        (tokyo_month(A.submitted_at) + literal("|") + A.state).label("key"),
        A.id.label("item"),
    )
    return scope.within(scope.only(statement, A.site_id), A.submitted_at)


def support_applications(scope):
    """Flow: support measure applications by month submitted and their state now
    (submitted, approved, rejected, paid); key "YYYY-MM|paid"."""
    A = SupportApplication
    statement = select(
        A.site_id.label("site_id"),
        (tokyo_month(A.submitted_at) + literal("|") + A.state).label("key"),
        A.id.label("item"),
    )
    return scope.within(scope.only(statement, A.site_id), A.submitted_at)


def support_paid_yen(scope):
    """Flow: yen paid out on support applications, by month paid; key "YYYY-MM"."""
    A = SupportApplication
    statement = select(
        A.site_id.label("site_id"), tokyo_month(A.paid_at).label("key"),
        func.coalesce(A.approved_amount, 0).label("amount"),
    ).where(A.state == "paid", A.paid_at.is_not(None))
    return scope.within(scope.only(statement, A.site_id), A.paid_at)


def survey_choice(scope):
    """Answers to the site's own questions, per question and choice ("<question id>:
    <choice key>", or the number chosen on a scale), of counted registrations; a
    multiple-choice answer counts once under each choice. Free text is not counted."""
    Q, A = SurveyQuestion, SurveyAnswer

    def answered(kind, value):
        key = cast(A.question_id, String) + literal(":") + value
        return (_counted(scope, R.site_id.label("site_id"), key.label("key"),
                         R.id.label("item"), *_of_registration())
                .join(A, A.registration_id == R.id).join(Q, Q.id == A.question_id)
                .where(Q.kind == kind))

    choices = json_array_values(scope.dialect, A.value, "choices")
    return answered("single", A.value["choice"].as_string()).union_all(
        answered("scale", A.value["scale"].as_string()),
        answered("multiple", choices.c.value).join(choices, true()),
    )


def nation_people(scope):
    """The nation: real people (実人数), distinct persons with at least one counted
    registration anywhere."""
    return _counted(scope, literal(NATION).label("site_id"), literal("").label("key"),
                    R.account_id.label("item"))


def nation_home_prefecture(scope):
    """The nation: real people by home prefecture, from verified identity data only.
    Shown with "<10"."""
    return _counted(scope, literal(NATION).label("site_id"),
                    _home_prefecture_key().label("key"), R.account_id.label("item")).join(
        IdentityVerification, IdentityVerification.account_id == R.account_id
    ).where(IdentityVerification.home_code.is_not(None))


def nation_age_gender(scope):
    """The nation: real people by age band and gender, from verified identity data only
    (as ``age_gender``). Shown with "<10"."""
    return _counted(scope, literal(NATION).label("site_id"),
                    _age_gender_key(scope).label("key"), R.account_id.label("item")).join(
        IdentityVerification, IdentityVerification.account_id == R.account_id
    )


def nation_people_by_prefecture(scope):
    """The nation: real people per prefecture they are registered in ("01"–"47"):
    distinct persons with a counted registration with the prefecture or with any
    municipality in it (someone registered in two prefectures counts in each)."""
    return _counted(scope, literal(NATION).label("site_id"), Site.prefecture_code.label("key"),
                    R.account_id.label("item")).join(Site, Site.id == R.site_id)


REGISTRATIONS = "registrations"
ATTENDANCES = "attendances"
PREMIUM = "premium_applications"
SUPPORT = "support_applications"


@dataclass(frozen=True)
class Figure:
    name: str
    rows: object
    unit: str = REGISTRATIONS
    """The table whose rows the figure counts, named as the change log names it: what
    the refresh follows to correct it (see ``services.stats_refresh``)."""
    flow: bool = False
    summed: bool = False
    """Sum ``amount`` instead of counting distinct ``item``."""
    nation_only: bool = False
    suppressed: bool = False
    summed_for_nation: bool = True
    """Whether the nation's row holds the sum over sites (not for per-project and
    per-question keys, which mean nothing nationally)."""

    @property
    def doc(self) -> str:
        return self.rows.__doc__


FIGURES = {
    figure.name: figure
    for figure in (
        Figure("people", people),
        Figure("at_home", at_home),
        Figure("tier", tier),
        Figure("long_stay", long_stay),
        Figure("origin", origin),
        Figure("registered_month", registered_month),
        Figure("relationship_type", relationship_type),
        Figure("connection", connection),
        Figure("verified", verified),
        Figure("home_prefecture", home_prefecture, suppressed=True),
        Figure("age_gender", age_gender, suppressed=True),
        Figure("attendance_12m", attendance_12m, ATTENDANCES),
        Figure("registration_flow", registration_flow, flow=True),
        Figure("attendance", attendance, ATTENDANCES, flow=True),
        Figure("attendance_by_project", attendance_by_project, ATTENDANCES, flow=True,
               summed_for_nation=False),
        Figure("premium_applications", premium_applications, PREMIUM, flow=True),
        Figure("support_applications", support_applications, SUPPORT, flow=True),
        Figure("support_paid_yen", support_paid_yen, SUPPORT, flow=True, summed=True),
        Figure("survey_choice", survey_choice, summed_for_nation=False),
        Figure("nation_people", nation_people, nation_only=True),
        Figure("nation_home_prefecture", nation_home_prefecture, nation_only=True,
               suppressed=True),
        Figure("nation_age_gender", nation_age_gender, nation_only=True, suppressed=True),
        Figure("nation_people_by_prefecture", nation_people_by_prefecture, nation_only=True),
    )
}
SITE_FIGURES = tuple(f for f in FIGURES.values() if not f.nation_only)
NATION_FIGURES = tuple(f for f in FIGURES.values() if f.nation_only)
NATION_SUMS = tuple(f.name for f in SITE_FIGURES if f.summed_for_nation)
SIZE_FIGURES = ("people", "at_home")
"""What decides whether a scope is small enough to count live."""


def aggregate(figure: Figure, scope: Scope):
    """``(site_id, key, value)`` of one figure: its rows grouped by site and key."""
    rows = figure.rows(scope).subquery()
    value = func.sum(rows.c.amount) if figure.summed else func.count(distinct(rows.c.item))
    return (
        select(rows.c.site_id, rows.c.key, value.label("value"))
        .where(rows.c.key.is_not(None))
        .group_by(rows.c.site_id, rows.c.key)
    )


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
        from .stats_refresh import StatsRefresh  # it builds on this module's figures

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
