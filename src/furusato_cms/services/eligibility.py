"""Eligibility for premium registration (プレミアム登録の要件): one answer, for a registrant,
a site and a moment, with every requirement, whether it holds and why.

These are the rules people dispute, so the answer carries its evidence: which
attendance records counted (ids, dates, project titles), which stay days, which
premium sites the person holds, and for each requirement a message naming the rule
(TranslationStrings, shown in the reader's language). ``Eligibility.to_json()`` is what
``PremiumApplication.evidence`` stores; ``stored_requirements`` turns it back into
messages for the review screens.

The requirements:

1. ``identity`` — identity verified with the My Number Card.
2. ``activities`` — at least N designated activities (指定された担い手活動) at the site in
   the 12 months before the moment: N is ``site.premium_min_activities`` and never below
   3; attendance not voided, at a session of a project of that site, designated when it
   took place (``Attendance.designated``, the project's flag stored with the record, so
   designating or undesignating a project later changes no past count); only activities
   on or after 2026-04-01 count. The 12 months
   are counted in Tokyo dates: from the same calendar date a year earlier (28 February
   for 29 February) through the moment's date, both included — so an activity recorded
   this morning counts today whatever its hour, and "from 2026/05/10 to 2027/05/10" is
   what the person reads.
3. ``limit`` — at most three premium sites: counted with this site added, a prefecture
   does not count while the person holds premium with a municipality inside it (so
   municipality A, its prefecture, B and C is allowed). A renewal keeps the place the
   registration already holds. The database enforces the same limit (PremiumSlot).
4. ``not_home`` — not the home municipality, and for a prefecture not the home
   prefecture (``services.home.is_home_site`` with the verified ``home_code``).
5. ``guardian`` — a person under 18 at verification needs their guardian's confirmed
   consent (the rule of ``services.identity``: ``IdentityStatus.needs_guardian_consent``).
6. ``long_stay`` — only where the site enables the mark: at least D stay days
   (``site.long_stay_min_days``) in the 12 months up to the moment, from StayRecord.
   It decides the long-term stayer mark (長期滞在者), never eligibility.

Rules 4 and 5 need the verified identity, so without one they are not met either
(their message says so).

Loading is set-based: ``evaluate_many`` answers for any number of the person's sites
with at most three queries (the person — identity and premium sites held together —,
attendance, and stays where a site keeps the long-stay mark); the rules
themselves (``judge``) are pure functions of those facts, so the renewal run feeds
them facts it aggregated for thousands of registrations in one query.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace

from sqlalchemy import Date, bindparam, select

from ..clock import TOKYO, to_tokyo
from ..i18n import _
from ..models import (
    Account,
    ActivitySession,
    Attendance,
    GuardianConsent,
    IdentityVerification,
    Project,
    Registration,
    Site,
    StayRecord,
)
from ..models.meta import UTCDateTime
from .home import is_home_site
from .identity import IdentityStatus, is_minor_at_verification

PREMIUM_COUNTS_FROM = date(2026, 4, 1)
"""Activities count for premium from the start of the system (fiscal 2026), Tokyo date."""
MIN_ACTIVITIES_FLOOR = 3
PREMIUM_SITES_LIMIT = 3
DATE_FORMAT = "%Y/%m/%d"
"""How messages name a day: readable in Japanese and English alike, and JSON-safe."""
EVIDENCE_VERSION = 1

TITLES = {
    "identity": _("Identity verified with the My Number Card"),
    "activities": _("At least ${required} designated activities in the last 12 months"),
    "limit": _("Premium registration with at most 3 local governments"),
    "not_home": _("Not where you live"),
    "guardian": _("Guardian's consent for people under 18"),
    "long_stay": _("Long-term stayer: at least ${required} days of stay in the last 12 months"),
}


# -- dates -------------------------------------------------------------------------------

def one_year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def one_year_after(moment: datetime) -> datetime:
    """The same moment a year later (28 February for 29 February): a premium period."""
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:
        return moment.replace(year=moment.year + 1, day=28)


def tokyo_midnight(day: date) -> datetime:
    """The start of a Tokyo day, in UTC."""
    return datetime.combine(day, time(0), TOKYO).astimezone(timezone.utc)


def _day(day: date) -> str:
    return day.strftime(DATE_FORMAT)


@dataclass(frozen=True)
class Window:
    """The 12 months before a moment, in Tokyo dates, both ends included."""

    until: date
    stays_since: date
    activities_since: date
    """Never before 2026-04-01; after ``until`` (an empty window) before that date."""

    @classmethod
    def before(cls, moment: datetime) -> "Window":
        today = to_tokyo(moment).date()
        since = one_year_earlier(today)
        return cls(until=today, stays_since=since,
                   activities_since=max(since, PREMIUM_COUNTS_FROM))

    @property
    def activities_from(self) -> datetime:
        return tokyo_midnight(self.activities_since)

    @property
    def ends_before(self) -> datetime:
        return tokyo_midnight(self.until + timedelta(days=1))


# -- facts and the answer ----------------------------------------------------------------

@dataclass(frozen=True)
class CountedActivity:
    """An attendance record that counted, as evidence."""

    id: int
    attended_at: datetime
    project_id: int
    project_title: str

    def to_json(self) -> dict:
        return {"id": self.id, "attended_at": self.attended_at.isoformat(),
                "date": to_tokyo(self.attended_at).date().isoformat(),
                "project_id": self.project_id, "project_title": self.project_title}


@dataclass(frozen=True)
class HeldPremium:
    """A premium registration the person holds (for the three-site limit)."""

    registration_id: int
    site_id: int
    site_code: str
    site_name: str
    kind: str
    prefecture_code: str


@dataclass(frozen=True)
class PersonFacts:
    """What the rules need to know about the person."""

    verified: bool = False
    verified_on: date | None = None
    home_code: str | None = None
    minor: bool = False
    consent_confirmed: bool = False
    premium_held: tuple = ()


@dataclass(frozen=True)
class SiteFacts:
    """What the rules need to know about the person at one site. The lists are the
    evidence; a bulk run may give counts only."""

    activities: tuple = ()
    stay_days: tuple = ()
    activity_count: int | None = None
    stay_day_count: int | None = None

    @property
    def activities_counted(self) -> int:
        return len(self.activities) if self.activity_count is None else self.activity_count

    @property
    def stay_days_counted(self) -> int:
        return len(self.stay_days) if self.stay_day_count is None else self.stay_day_count


@dataclass(frozen=True)
class Requirement:
    key: str
    held: bool
    title: object
    """The rule (TranslationString)."""
    message: object
    """How it stands for this person (TranslationString)."""
    decides: bool = True
    """False for the long-stay mark, which never decides eligibility."""


@dataclass(frozen=True)
class Eligibility:
    account_id: int
    site_id: int
    site_code: str
    at: datetime
    window: Window
    requirements: tuple
    required_activities: int
    activities: tuple = ()
    activity_count: int = 0
    stay_days: tuple = ()
    stay_day_count: int = 0
    premium_sites: tuple = field(default=())
    """(HeldPremium, counted) pairs after this site is added."""

    @property
    def eligible(self) -> bool:
        return all(r.held for r in self.requirements if r.decides)

    @property
    def failed(self) -> tuple:
        return tuple(r for r in self.requirements if r.decides and not r.held)

    @property
    def long_stay(self) -> bool:
        mark = self.requirement("long_stay")
        return mark is not None and mark.held

    def requirement(self, key) -> Requirement | None:
        return next((r for r in self.requirements if r.key == key), None)

    def to_json(self) -> dict:
        return {
            "version": EVIDENCE_VERSION,
            "at": self.at.isoformat(),
            "account_id": self.account_id,
            "site_id": self.site_id,
            "site_code": self.site_code,
            "eligible": self.eligible,
            "long_stay": self.long_stay,
            "window": {"activities_since": self.window.activities_since.isoformat(),
                       "stays_since": self.window.stays_since.isoformat(),
                       "until": self.window.until.isoformat()},
            "required_activities": self.required_activities,
            "activity_count": self.activity_count,
            "activities": [a.to_json() for a in self.activities],
            "stay_day_count": self.stay_day_count,
            "stay_days": [d.isoformat() for d in self.stay_days],
            "premium_sites": [
                {"registration_id": held.registration_id, "site_code": held.site_code,
                 "site_name": held.site_name, "counted": counted}
                for held, counted in self.premium_sites
            ],
            "requirements": [
                {"key": r.key, "held": r.held, "decides": r.decides,
                 "title": _message_json(r.title), "message": _message_json(r.message)}
                for r in self.requirements
            ],
        }


def _message_json(message) -> dict:
    return {"msgid": str(message), "mapping": dict(message.mapping or {})}


def _message(msgid, mapping=None):
    """A message again from its msgid and values (a title with its numbers, stored
    evidence)."""
    return _(msgid, mapping=mapping or None)


def stored_requirements(evidence: dict) -> list[Requirement]:
    """The requirements of a stored evidence dict, as messages again (for display)."""
    return [
        Requirement(
            key=item["key"], held=item["held"], decides=item.get("decides", True),
            title=_message(item["title"]["msgid"], item["title"]["mapping"]),
            message=_message(item["message"]["msgid"], item["message"]["mapping"]),
        )
        for item in (evidence or {}).get("requirements", ())
    ]


# -- the rules (pure) ----------------------------------------------------------------------

def required_activities(site) -> int:
    return max(MIN_ACTIVITIES_FLOOR, site.premium_min_activities or 0)


def counted_sites(held, site) -> list[tuple]:
    """(HeldPremium, counted) for the sites held plus ``site``: a prefecture is not
    counted while a premium municipality inside it is among them."""
    others = [h for h in held if h.site_id != site.id]
    candidate = HeldPremium(0, site.id, site.code, site.name, site.kind, site.prefecture_code)
    together = others + [candidate]
    municipal_prefectures = {h.prefecture_code for h in together if h.kind == "municipality"}
    return [(h, h.kind == "municipality" or h.prefecture_code not in municipal_prefectures)
            for h in together]


def judge(account_id, site, person: PersonFacts, facts: SiteFacts, at: datetime, *,
          renewal=False) -> Eligibility:
    """Apply every rule to the facts. ``site`` is a Site or any row with its fields."""
    window = Window.before(at)
    required = required_activities(site)
    sites = counted_sites(person.premium_held, site)
    requirements = (
        _identity(person),
        _activities(site, facts, window, required),
        _limit(sites, site, renewal),
        _not_home(person, site),
        _guardian(person),
    )
    if site.long_stay_enabled:
        requirements += (_long_stay(site, facts, window),)
    return Eligibility(
        account_id=account_id, site_id=site.id, site_code=site.code, at=at, window=window,
        requirements=requirements, required_activities=required,
        activities=tuple(facts.activities), activity_count=facts.activities_counted,
        stay_days=tuple(facts.stay_days), stay_day_count=facts.stay_days_counted,
        premium_sites=tuple((h, counted) for h, counted in sites if h.site_id != site.id),
    )


def _identity(person) -> Requirement:
    if person.verified:
        message = _("Verified on ${date}.", mapping={"date": _day(person.verified_on)})
    else:
        message = _("Not verified yet. Premium registration needs your identity verified "
                    "with the My Number Card.")
    return Requirement("identity", person.verified, TITLES["identity"], message)


def _activities(site, facts, window, required) -> Requirement:
    count = facts.activities_counted
    mapping = {"count": count, "required": required, "site": site.name,
               "since": _day(window.activities_since), "until": _day(window.until)}
    if window.activities_since > window.until:
        message = _("Activities count from 2026/04/01.")
    elif count >= required:
        message = _("${count} designated activities at ${site} from ${since} to ${until} "
                    "(${required} needed).", mapping=mapping)
    else:
        message = _("Only ${count} of the ${required} designated activities needed at ${site} "
                    "from ${since} to ${until}.", mapping=mapping)
    title = _message(TITLES["activities"], {"required": required})
    return Requirement("activities", count >= required, title, message)


def _limit(sites, site, renewal) -> Requirement:
    counted = [h for h, is_counted in sites if is_counted]
    if renewal:
        return Requirement("limit", True, TITLES["limit"],
                           _("A renewal keeps the place this registration already holds."))
    if not dict((h.site_id, c) for h, c in sites)[site.id]:
        return Requirement("limit", True, TITLES["limit"],
                           _("${site} does not count toward the limit while you hold premium "
                             "registration with a municipality inside it.",
                             mapping={"site": site.name}))
    others = [h.site_name for h in counted if h.site_id != site.id]
    if len(counted) <= PREMIUM_SITES_LIMIT:
        return Requirement("limit", True, TITLES["limit"],
                           _("With ${site}, ${count} of 3 premium registrations are in use.",
                             mapping={"site": site.name, "count": len(counted)}))
    return Requirement(
        "limit", False, TITLES["limit"],
        _("You already hold premium registration with 3 local governments (${sites}). A "
          "prefecture does not count while you hold premium registration with a municipality "
          "inside it.", mapping={"sites": "、".join(others)}),
    )


def _not_home(person, site) -> Requirement:
    if not person.verified:
        return Requirement("not_home", False, TITLES["not_home"],
                           _("Checked with your identity verification."))
    if not is_home_site(site, person.home_code):
        return Requirement("not_home", True, TITLES["not_home"],
                           _("${site} is not where you live.", mapping={"site": site.name}))
    if site.kind == "prefecture":
        message = _("You live in ${site}. Premium registration with a prefecture is for "
                    "prefectures other than the one you live in.", mapping={"site": site.name})
    else:
        message = _("${site} is your home municipality. Premium registration is for local "
                    "governments other than where you live.", mapping={"site": site.name})
    return Requirement("not_home", False, TITLES["not_home"], message)


def _guardian(person) -> Requirement:
    if not person.verified:
        return Requirement("guardian", False, TITLES["guardian"],
                           _("Checked with your identity verification."))
    if not person.minor:
        return Requirement("guardian", True, TITLES["guardian"],
                           _("Not needed: you were 18 or older when you verified your "
                             "identity."))
    if person.consent_confirmed:
        return Requirement("guardian", True, TITLES["guardian"],
                           _("Your guardian's consent is recorded."))
    return Requirement("guardian", False, TITLES["guardian"],
                       _("You were under 18 when you verified your identity: premium "
                         "registration needs your guardian's consent."))


def _long_stay(site, facts, window) -> Requirement:
    required = site.long_stay_min_days
    count = facts.stay_days_counted
    message = _("${count} days of stay at ${site} from ${since} to ${until} (${required} "
                "needed for the mark).",
                mapping={"count": count, "required": required, "site": site.name,
                         "since": _day(window.stays_since), "until": _day(window.until)})
    return Requirement("long_stay", count >= required,
                       _message(TITLES["long_stay"], {"required": required}), message,
                       decides=False)


# -- loading the facts -----------------------------------------------------------------------

def person_facts(verification, consent, premium_held=()) -> PersonFacts:
    """The person's facts. ``verification``: anything with ``verified_at``, ``birthdate``
    and ``home_code`` (None when not verified); ``consent``: anything with
    ``confirmed_at``, or None. The guardian rule is services.identity's own."""
    if verification is None:
        return PersonFacts(premium_held=tuple(premium_held))
    status = IdentityStatus(verification, is_minor_at_verification(verification), consent)
    return PersonFacts(
        verified=True, verified_on=to_tokyo(verification.verified_at).date(),
        home_code=verification.home_code, minor=status.minor,
        consent_confirmed=not status.needs_guardian_consent,
        premium_held=tuple(premium_held),
    )


class EligibilityService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def evaluate(self, account, site, at: datetime | None = None, *,
                 renewal=False) -> Eligibility:
        """Eligible or not for premium with ``site`` at ``at`` (default: now), and why."""
        return self.evaluate_many(account, [site], at, renewal=renewal)[site.id]

    def evaluate_many(self, account, sites, at: datetime | None = None, *,
                      renewal=False) -> dict:
        """``{site id: Eligibility}`` for several of the person's sites, in three queries
        at most."""
        at = at or self.clock()
        window = Window.before(at)
        person = self._person(account.id)
        activities = self._activities(account.id, [s.id for s in sites], window)
        stays = self._stays(account.id, [s.id for s in sites if s.long_stay_enabled], window)
        return {
            site.id: judge(
                account.id, site, person,
                SiteFacts(activities=tuple(activities.get(site.id, ())),
                          stay_days=tuple(stays.get(site.id, ()))),
                at, renewal=renewal,
            )
            for site in sites
        }

    def _person(self, account_id) -> PersonFacts:
        """The verification's facts, the guardian's confirmation and the premium sites
        held, from one query: a row per premium registration (one row when none), each
        carrying the identity's columns (all empty when not verified)."""
        rows = self.dbsession.execute(PERSON_QUERY, {"account_id": account_id}).all()
        identity = rows[0] if rows and rows[0].verified_at is not None else None
        held = [HeldPremium(*row[IDENTITY_COLUMNS:]) for row in rows
                if row.registration_id is not None]
        return person_facts(identity, identity, held)

    def _activities(self, account_id, site_ids, window) -> dict:
        if not site_ids or window.activities_since > window.until:
            return {}
        rows = self.dbsession.execute(ACTIVITIES_QUERY, {
            "account_id": account_id, "site_ids": site_ids,
            "since": window.activities_from, "before": window.ends_before,
        })
        found = {}
        for site_id, *values in rows:
            found.setdefault(site_id, []).append(CountedActivity(*values))
        return found

    def _stays(self, account_id, site_ids, window) -> dict:
        if not site_ids:
            return {}
        rows = self.dbsession.execute(STAYS_QUERY, {
            "account_id": account_id, "site_ids": site_ids,
            "since": window.stays_since, "until": window.until,
        })
        found = {}
        for site_id, day in rows:
            found.setdefault(site_id, []).append(day)
        return found


def counted_attendance(window) -> tuple:
    """The conditions under which an attendance row counts (joined to its Project): the
    designation is the one stored on the row (as it was on the day), a predicate on the
    rows the person's index already reads, so the query's plan is unchanged."""
    return (
        Attendance.voided_at.is_(None),
        Attendance.designated.is_(True),
        Project.site_id == Attendance.site_id,
        Attendance.attended_at >= window.activities_from,
        Attendance.attended_at < window.ends_before,
    )


def counted_stays(window) -> tuple:
    return (StayRecord.stay_date >= window.stays_since, StayRecord.stay_date <= window.until)


# The statements, built once: each evaluation only binds its values.

BOUND_WINDOW = SimpleNamespace(
    activities_from=bindparam("since", type_=UTCDateTime(), literal_execute=True),
    ends_before=bindparam("before", type_=UTCDateTime(), literal_execute=True),
    stays_since=bindparam("since", type_=Date(), literal_execute=True),
    until=bindparam("until", type_=Date(), literal_execute=True),
)
"""A window whose bounds are given at execution (same counting conditions as above),
written into the SQL as constants rather than sent as parameters: they change once a
day, and with parameters PostgreSQL's generic plan of the prepared statement guesses the
range at 0.5 % of the rows, which can price the site's index like the person's. On a
freshly generated 100k-people database it took the site's, reading every attendance of
the site in the window (0.7 ms) instead of the person's few rows (0.06 ms); with the
real bounds the person's index wins by far whatever the data size."""

IDENTITY_COLUMNS = 4
"""The identity's columns come first in PERSON_QUERY's rows, then a HeldPremium's."""
PERSON_QUERY = (
    select(IdentityVerification.verified_at, IdentityVerification.birthdate,
           IdentityVerification.home_code, GuardianConsent.confirmed_at,
           Registration.id.label("registration_id"), Site.id.label("site_id"), Site.code,
           Site.name, Site.kind, Site.prefecture_code)
    .select_from(Account)
    .outerjoin(IdentityVerification, IdentityVerification.account_id == Account.id)
    .outerjoin(GuardianConsent, GuardianConsent.verification_id == IdentityVerification.id)
    .outerjoin(Registration, (Registration.account_id == Account.id)
               & (Registration.state == "active") & (Registration.tier == "premium"))
    .outerjoin(Site, Site.id == Registration.site_id)
    .where(Account.id == bindparam("account_id"))
    .order_by(Registration.premium_since, Registration.id)
)
ACTIVITIES_QUERY = (
    select(Attendance.site_id, Attendance.id, Attendance.attended_at, Project.id, Project.title)
    .join(ActivitySession, ActivitySession.id == Attendance.session_id)
    .join(Project, Project.id == ActivitySession.project_id)
    .where(Attendance.account_id == bindparam("account_id"),
           Attendance.site_id.in_(bindparam("site_ids", expanding=True)),
           *counted_attendance(BOUND_WINDOW))
    .order_by(Attendance.attended_at, Attendance.id)
)
STAYS_QUERY = (
    select(StayRecord.site_id, StayRecord.stay_date)
    .where(StayRecord.account_id == bindparam("account_id"),
           StayRecord.site_id.in_(bindparam("site_ids", expanding=True)),
           *counted_stays(BOUND_WINDOW))
    .order_by(StayRecord.stay_date)
)
