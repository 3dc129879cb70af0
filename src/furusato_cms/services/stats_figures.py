"""What is counted (関係人口の集計の定義): every figure of a site, a prefecture and the nation.

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
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    String,
    case,
    cast,
    distinct,
    func,
    literal,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..clock import to_tokyo
from ..models import (
    Account,
    ActivitySession,
    Attendance,
    IdentityVerification,
    PremiumApplication,
    Registration,
    RegistrationEvent,
    Site,
    SupportApplication,
    SurveyAnswer,
    SurveyQuestion,
)
from .json_sql import json_array_values

if TYPE_CHECKING:
    from .statistics import Period

NATION = 0
"""``site_id`` of the nation's rows in a snapshot."""
AGE_BANDS = ((70, "70+"), (60, "60-69"), (50, "50-59"), (40, "40-49"), (30, "30-39"),
             (20, "20-29"), (0, "0-19"))
"""Lower age bound and key of each band, oldest first (as the SQL CASE tests them)."""
GENDERS = ("female", "male", "other")
UNANSWERED = "unanswered"
"""Key of the registrations that chose no relationship type (yet)."""
FLOW_KINDS = {"joined": "joined", "rejoined": "joined", "left": "left", "released": "released"}
"""Registration history events counted by the trend, and the column each goes to."""


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


def _applications(scope, A):
    """Applications of model ``A`` by month submitted and state now."""
    statement = select(
        A.site_id.label("site_id"),
        (tokyo_month(A.submitted_at) + literal("|") + A.state).label("key"),
        A.id.label("item"),
    )
    return scope.within(scope.only(statement, A.site_id), A.submitted_at)


def premium_applications(scope):
    """Flow: premium applications (new and renewal) by month submitted and their state
    now (pending, approved, rejected, withdrawn); key "YYYY-MM|approved"."""
    return _applications(scope, PremiumApplication)


def support_applications(scope):
    """Flow: support measure applications by month submitted and their state now
    (submitted, approved, rejected, paid); key "YYYY-MM|paid"."""
    return _applications(scope, SupportApplication)


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


