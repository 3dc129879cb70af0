"""Basic registration (ベーシック登録); its release for inactivity (解除) is in
services/inactivity_release.py.

Rules kept here:

- Any account holder may register with any number of *active* sites; one row per
  person and site, ever (a unique constraint backs this up under concurrency).
  Leaving and rejoining reuse that row: ``registered_at`` keeps the first time, and
  ``RegistrationEvent`` rows keep the history (joined, left, rejoined, released …).
- Registering with a municipality also registers the person with its prefecture when
  the prefecture's site is active. That prefecture registration is *derived*
  (``derived_from_id``, shown "via <municipality>") and made exactly once: a second
  municipality in the same prefecture, or an earlier direct prefecture registration,
  adds nothing. A later direct registration with the prefecture turns a derived one
  into a direct one. Leaving the municipality leaves the derived prefecture
  registration only when no other active municipality registration in that
  prefecture could carry it; otherwise it is carried "via" that other one.
- A prefecture that joins later (approved, or reactivated after a suspension) derives
  at once the registrations of everyone already registered with its municipalities
  (``derive_for_prefecture``, set-based, idempotent). A registration locks its
  prefecture's site row (FOR KEY SHARE, whatever its state) while it reads whether the
  prefecture takes part, and the operator's decision locks that row FOR UPDATE, so each
  new municipality registration is either seen by the back-fill or sees the prefecture
  active and derives by itself: nobody falls between the two.
- Registering where one lives is allowed and flagged at home (居住地での登録), by the
  one at-home rule in ``services.home``: the verified address, else the postal code the
  person declares (asked at registration when there is no verified identity).
- The national common questions (which of 類型①–④ apply, at least one, and the
  connections) are checked here; the site's own questions by the survey engine. A
  registration whose types are empty is unanswered (old "roots" answers, migration 0012):
  its person is asked once, on the next visit (``Account.ask_relationship_types``).
"""
from copy import copy
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, case, false, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.functions import FunctionElement

from ..i18n import _
from ..models import (
    GENERIC_PLAN,
    Account,
    IdentityVerification,
    Registration,
    RegistrationEvent,
    Site,
)
from ..models.meta import UTCDateTime
from ..postal import municipality_name
from ..vocabulary import CONNECTIONS, RELATIONSHIP_TYPES
from .errors import Conflict, InvalidInput, NotAllowed
from .home import (
    declare_home,
    declared_municipality,
    home_code_of,
    is_home_prefecture,
    is_home_site,
)
from .paging import Read, read_one
from .policies import notice_due
from .survey import SurveyService
from .webhooks import registration_changed

STATE_LABELS = {"active": _("Registered"), "left": _("Left"), "released": _("Released")}

NATIONAL_ANSWERS = ("relationship_types", "connections")
"""The national common answers (全国共通項目) a derived prefecture registration copies
from the municipality registration that carries it: the one list of them, for the derive
rule and for the back-fill of a prefecture that joins later."""


class AnswersRefused(InvalidInput):
    """Some answers to the site's own questions were refused; ``errors`` maps each form
    field (``q<id>``) to its message."""

    def __init__(self, errors: dict):
        super().__init__(_("Please check the answers marked below."))
        self.errors = errors


@dataclass
class Card:
    """What the registration card (登録証) shows."""

    registrations: list
    verification: IdentityVerification | None = None


@dataclass(frozen=True, slots=True)
class ListedSite:
    id: int
    code: str
    name: str
    is_public: bool
    long_stay_enabled: bool


@dataclass(frozen=True, slots=True)
class ListedRegistration:
    """A registration as the person's own pages show it (/my/ and the card): the columns
    they print, with its site and the name of the site it came "via" (derived)."""

    id: int
    state: str
    tier: str
    registered_at: object
    at_home: bool
    premium_until: object
    long_stay: bool
    site: ListedSite
    via: str | None


@dataclass(frozen=True, slots=True)
class ListedVerification:
    name: str
    verified_at: object


@dataclass(frozen=True)
class Listing:
    """What /my/ and the card need of a person, read in one statement: every
    registration (active first), the identity verification, and whether an active
    registration's site has a privacy notice the person has not accepted yet."""

    registrations: list
    verification: ListedVerification | None
    notices_due: bool


def _listing_statement():
    """Built once: the account's row, left-joined to its verification and registrations,
    so a person with neither still gets one row. The name of the site a derived
    registration came from is a subquery by key (the same person's registration, so one
    partition of registrations): as a join, the kept plan, which guesses a person has
    96 registrations, read every site into a hash table (0.32 ms of its 0.46)."""
    account_id = bindparam("account_id")
    via = aliased(Registration)
    via_site = aliased(Site)
    via_site_id = (select(via.site_id)
                   .where(via.id == Registration.derived_from_id, via.account_id == account_id)
                   .correlate(Registration).scalar_subquery())
    via_name = select(via_site.name).where(via_site.id == via_site_id).scalar_subquery()
    due = and_(Registration.state == "active", notice_due(account_id, Registration.site_id))
    return (
        select(
            IdentityVerification.name.label("verified_name"),
            IdentityVerification.verified_at,
            Registration.id, Registration.state, Registration.tier,
            Registration.registered_at, Registration.at_home, Registration.premium_until,
            Registration.long_stay,
            Site.id.label("site_id"), Site.code.label("site_code"),
            Site.name.label("site_name"), Site.state.label("site_state"), Site.preparing,
            Site.long_stay_enabled,
            via_name.label("via"),
            case((due, 1), else_=0).label("notice_due"),
        )
        .select_from(Account)
        .outerjoin(IdentityVerification, IdentityVerification.account_id == Account.id)
        .outerjoin(Registration, Registration.account_id == Account.id)
        .outerjoin(Site, Site.id == Registration.site_id)
        .where(Account.id == account_id)
        .order_by((Registration.state != "active"), Registration.registered_at,
                  Registration.id)
    )


LISTING = _listing_statement().execution_options(**GENERIC_PLAN)


def _listing(rows) -> Listing:
    rows = rows.all()
    first = rows[0] if rows else None
    verification = (ListedVerification(first.verified_name, first.verified_at)
                    if first is not None and first.verified_at is not None else None)
    registrations = [
        ListedRegistration(
            row.id, row.state, row.tier, row.registered_at, row.at_home,
            row.premium_until, row.long_stay,
            ListedSite(row.site_id, row.site_code, row.site_name,
                       row.site_state == "active" and not row.preparing,
                       row.long_stay_enabled),
            row.via,
        )
        for row in rows if row.id is not None
    ]
    return Listing(registrations, verification, any(row.notice_due for row in rows))


class RegistrationService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.survey = SurveyService(dbsession, clock=clock, settings=settings)

    # -- registering ---------------------------------------------------------

    def register(self, account, site, relationship_types, connections, answers, *,
                 postal_code=None) -> Registration:
        """Register ``account`` with ``site`` (and its prefecture, derived); returns the
        registration with ``site``. ``answers`` are the raw form values of the site's
        own questions (``q<id>`` -> value); ``postal_code``, when given, is where the
        person declares they live (an unknown one is refused on ``postal_code``)."""
        if not site.is_public:
            raise NotAllowed(
                _("${site} does not accept registrations now.", mapping={"site": site.name})
            )
        relationship_types, connections = checked_national(relationship_types, connections)
        checked = self._checked_answers(site, answers)
        if postal_code:
            declare_home(self.dbsession, account, postal_code)
        prefecture = self._active_prefecture_of(site, lock=True)
        existing = self._rows_of(account, [site] + ([prefecture] if prefecture else []))
        home_code = home_code_of(self.dbsession, account)
        now = self.clock()
        registration = existing.get(site.id)
        if registration is None:
            registration = self._insert(account, site, now, derived_from=None)
            if registration is None:
                raise self._already_registered(site)
        elif registration.state != "active":
            self._rejoin(registration, now, derived_from=None)
        elif registration.derived_from_id is not None:
            registration.derived_from_id = None
            self._event(registration, "made_direct", now)
        else:
            raise self._already_registered(site)
        self._set_answers(registration, relationship_types, connections, home_code)
        self.survey.save_answers(registration, checked, now=now)
        if prefecture is not None:
            self._derive(account, prefecture, registration, existing.get(prefecture.id),
                         home_code, now)
        self.dbsession.flush()
        return registration

    def update_answers(self, registration, relationship_types, connections, answers, *,
                       postal_code=None):
        """Edit the national and the site's answers of an active registration (and, with
        ``postal_code``, where the person declares they live)."""
        self._require_active(registration)
        relationship_types, connections = checked_national(relationship_types, connections)
        checked = self._checked_answers(registration.site, answers)
        if postal_code:
            declare_home(self.dbsession, registration.account, postal_code)
        registration.relationship_types = relationship_types
        registration.connections = connections
        now = self.clock()
        self.survey.save_answers(registration, checked, now=now)
        self._event(registration, "answers_updated", now)
        self.dbsession.flush()

    @staticmethod
    def declared_home_name(account) -> str | None:
        """The declared municipality's name, for "you live in …" (None: not declared)."""
        if not account.declared_home_code:
            return None
        return municipality_name(account.declared_home_code) or account.declared_home_code

    # -- asking again for unanswered types (once) ------------------------------

    def unanswered_types(self, account) -> list:
        """The person's active registrations whose types are unanswered, with sites."""
        return list(self.dbsession.scalars(
            select(Registration)
            .where(Registration.account_id == account.id, Registration.state == "active",
                   func.json_array_length(Registration.relationship_types) == 0)
            .options(joinedload(Registration.site))
            .order_by(Registration.registered_at, Registration.id)
        ))

    def asked_types(self, account):
        """The question was shown: never ask again (whatever the person does with it)."""
        account.ask_relationship_types = False
        self.dbsession.flush()

    def answer_types(self, account, chosen: dict) -> int:
        """Store the types chosen per registration id (``chosen``) on the person's own
        unanswered registrations; an empty choice leaves one unanswered. Returns how
        many were answered."""
        checked = {key: checked_types(picked) for key, picked in chosen.items() if picked}
        answered = 0
        for registration in self.unanswered_types(account):
            if registration.id in checked:
                registration.relationship_types = checked[registration.id]
                answered += 1
        self.dbsession.flush()
        return answered

    def leave(self, registration):
        """Leave a site (退会). A prefecture registration derived from this one is left
        too, unless another active municipality registration in the prefecture can
        carry it."""
        self._require_active(registration)
        now = self.clock()
        self._end(registration, "left", now)
        self._settle_derived(registration, now)
        self.dbsession.flush()

    # -- reading -------------------------------------------------------------

    def registrations_of(self, account) -> list:
        """Every registration of the person, active first, with sites and "via" sites
        loaded in the same query."""
        return list(
            self.dbsession.scalars(
                select(Registration)
                .where(Registration.account_id == account.id)
                .options(
                    joinedload(Registration.site),
                    joinedload(Registration.derived_from).joinedload(Registration.site),
                )
                .order_by(
                    (Registration.state != "active"), Registration.registered_at,
                    Registration.id,
                )
            ).unique()
        )

    def listing(self, account) -> Listing:
        return read_one(self.dbsession, self.listing_read(account))

    def listing_read(self, account) -> Read:
        """The person's registrations, verification and due notices for their own pages,
        in one statement of the columns those pages show (``registrations_of``,
        ``verification_of`` and ``PolicyService.notices_to_accept`` say the same)."""
        return Read(LISTING, {"account_id": account.id}, _listing)

    def registration_of(self, account, registration_id: int) -> Registration | None:
        """One of the person's own registrations (None for anyone else's)."""
        return self.dbsession.scalar(
            select(Registration)
            .where(Registration.id == registration_id, Registration.account_id == account.id)
            .options(joinedload(Registration.site))
        )

    def leaving_with(self, registration) -> list:
        """The prefecture sites whose derived registration would end if the person left
        ``registration`` now (shown on the confirmation page)."""
        derived, carrier = self._derived_plan(registration)
        return [] if carrier is not None else [r.site for r in derived]

    def prefecture_joining_with(self, account, site) -> Site | None:
        """The prefecture a registration with ``site`` would also register the person
        with (derived), or None: said before they confirm."""
        prefecture = self._active_prefecture_of(site)
        if prefecture is None:
            return None
        current = self.current_registration(account, prefecture)
        return prefecture if current is None or current.state != "active" else None

    def verification_of(self, account) -> IdentityVerification | None:
        return self.dbsession.scalar(
            select(IdentityVerification).where(IdentityVerification.account_id == account.id)
        )

    def current_registration(self, account, site) -> Registration | None:
        return self.dbsession.scalar(
            select(Registration).where(
                Registration.account_id == account.id, Registration.site_id == site.id
            )
        )

    def card(self, account) -> Card:
        """The registration card: active registrations and the identity verification."""
        registrations = [r for r in self.registrations_of(account) if r.state == "active"]
        return Card(registrations=registrations, verification=self.verification_of(account))

    def questions_of(self, site) -> list:
        return self.survey.active_questions(site)

    def answers_of(self, registration) -> dict:
        return self.survey.answers_of(registration)

    def check_national(self, relationship_types, connections):
        return checked_national(relationship_types, connections)

    def check_postal_code(self, postal_code):
        """The municipality a declared postal code names (for the confirm step)."""
        return declared_municipality(postal_code)

    def check_site_answers(self, site, answers) -> dict:
        """The site's answers ready to store, or AnswersRefused (for the confirm step)."""
        return self._checked_answers(site, answers)

    # -- a prefecture that joins later ----------------------------------------

    def derive_for_prefecture(self, prefecture) -> int:
        """Give everyone with an active registration with one of ``prefecture``'s
        municipalities the derived prefecture registration the derive rule would have
        made had the prefecture taken part then: "via" their earliest active municipality
        registration, its national answers copied, at home where their home (verified,
        else declared) is in the prefecture, each with a ``joined`` event. Two INSERT …
        SELECT statements whatever the number of people; returns how many registrations
        were made.

        Idempotent: people who have a registration with the prefecture in any state keep
        it untouched. A left one records the person's choice (or the end of what carried
        it) and a released one their inactivity; the back-fill is no act of theirs, so it
        undoes neither — their own next municipality registration there rejoins it."""
        now = self.clock()
        self.dbsession.flush()
        carriers = _carriers(prefecture).subquery()
        held = select(Registration.id).where(
            Registration.account_id == carriers.c.account_id,
            Registration.site_id == prefecture.id,
        ).exists()
        rows = (
            select(carriers.c.account_id, literal(prefecture.id), literal("basic"),
                   literal("active"), carriers.c.id,
                   is_home_prefecture(prefecture.prefecture_code,
                                      func.coalesce(IdentityVerification.home_code,
                                                    carriers.c.declared_home_code)),
                   *(carriers.c[name] for name in NATIONAL_ANSWERS),
                   literal(now, UTCDateTime()), literal(now, UTCDateTime()), false())
            .select_from(carriers)
            .outerjoin(IdentityVerification,
                       IdentityVerification.account_id == carriers.c.account_id)
            .where(carriers.c.rank == 1, ~held)
        )
        columns = ["account_id", "site_id", "tier", "state", "derived_from_id", "at_home",
                   *NATIONAL_ANSWERS, "registered_at", "state_changed_at", "long_stay"]
        dialect = self.dbsession.get_bind().dialect.name
        made = self.dbsession.execute(
            DIALECT_INSERT[dialect](Registration.__table__).from_select(columns, rows)
            .on_conflict_do_nothing(index_elements=["account_id", "site_id"])
            .execution_options(preserve_rowcount=True)
        ).rowcount
        made_now = (Registration.site_id == prefecture.id, Registration.registered_at == now,
                    Registration.derived_from_id.is_not(None),
                    ~select(RegistrationEvent.id)
                    .where(RegistrationEvent.registration_id == Registration.id).exists())
        registration_changed(self.dbsession, "joined", now,
                             select(Registration.id).where(*made_now), reason="derived")
        self.dbsession.execute(
            insert(RegistrationEvent).from_select(
                ["registration_id", "kind", "at", "detail"],
                select(Registration.id, literal("joined"), literal(now, UTCDateTime()),
                       joined_detail(Registration.derived_from_id))
                .where(*made_now),
            )
        )
        return made

    # -- internals -----------------------------------------------------------

    def _checked_answers(self, site, answers) -> dict:
        check = self.survey.check_answers(self.survey.active_questions(site), answers or {})
        if not check.ok:
            raise AnswersRefused(check.errors)
        return check.answers

    def _active_prefecture_of(self, site, *, lock=False) -> Site | None:
        """The municipality's prefecture when it takes part. ``lock``: read its row FOR
        KEY SHARE whatever its state (see the module's docstring): an operator deciding
        on the prefecture at this moment waits for this registration, or this one for
        the decision and then reads the new state."""
        if site.kind != "municipality":
            return None
        statement = select(Site).where(
            Site.kind == "prefecture", Site.prefecture_code == site.prefecture_code
        )
        if lock:
            statement = statement.with_for_update(read=True, key_share=True).execution_options(
                populate_existing=True)
        prefecture = self.dbsession.scalar(statement)
        return prefecture if prefecture is not None and prefecture.state == "active" else None

    def _rows_of(self, account, sites) -> dict:
        rows = self.dbsession.scalars(
            select(Registration).where(
                Registration.account_id == account.id,
                Registration.site_id.in_([s.id for s in sites]),
            )
        )
        return {row.site_id: row for row in rows}

    def _insert(self, account, site, now, *, derived_from) -> Registration | None:
        """A new row in a SAVEPOINT; None when a concurrent request made it first."""
        registration = Registration(
            account_id=account.id, site_id=site.id, tier="basic", state="active",
            derived_from_id=derived_from.id if derived_from else None,
            registered_at=now, state_changed_at=now, connections=[],
        )
        try:
            with self.dbsession.begin_nested():
                self.dbsession.add(registration)
                self.dbsession.flush()
        except IntegrityError:
            return None
        registration.site = site
        self._event(registration, "joined", now, derived_from)
        return registration

    def _rejoin(self, registration, now, *, derived_from):
        registration.state = "active"
        registration.tier = "basic"
        registration.state_changed_at = now
        registration.release_notice_at = None
        registration.derived_from_id = derived_from.id if derived_from else None
        self._event(registration, "rejoined", now, derived_from)

    def _end(self, registration, state, now, **detail):
        registration.state = state
        registration.state_changed_at = now
        registration.release_notice_at = None
        self._event(registration, state, now, **detail)

    def _derive(self, account, prefecture, source, existing, home_code, now):
        """The prefecture registration that comes with a municipality's, exactly once."""
        if existing is not None and existing.state == "active":
            return
        if existing is None:
            existing = self._insert(account, prefecture, now, derived_from=source)
            if existing is None:
                return
        else:
            self._rejoin(existing, now, derived_from=source)
        for name in NATIONAL_ANSWERS:
            setattr(existing, name, copy(getattr(source, name)))
        existing.at_home = is_home_site(existing.site, home_code)

    def _settle_derived(self, registration, now):
        derived, carrier = self._derived_plan(registration)
        for prefecture_registration in derived:
            if carrier is not None:
                prefecture_registration.derived_from_id = carrier.id
                self._event(prefecture_registration, "via_changed", now, carrier)
            else:
                self._end(prefecture_registration, "left", now, reason="derived")

    def _derived_plan(self, registration):
        """The active registrations derived from ``registration``, and another active
        municipality registration in the same prefecture to carry them (or None)."""
        derived = list(
            self.dbsession.scalars(
                select(Registration)
                .where(
                    Registration.derived_from_id == registration.id,
                    Registration.state == "active",
                )
                .options(joinedload(Registration.site))
            )
        )
        if not derived:
            return [], None
        carrier = self.dbsession.scalar(
            select(Registration)
            .join(Site, Site.id == Registration.site_id)
            .where(
                Registration.account_id == registration.account_id,
                Registration.id != registration.id,
                Registration.state == "active",
                Site.kind == "municipality",
                Site.prefecture_code == registration.site.prefecture_code,
            )
            .order_by(Registration.registered_at, Registration.id)
            .limit(1)
        )
        return derived, carrier

    def _set_answers(self, registration, relationship_types, connections, home_code):
        registration.relationship_types = list(relationship_types)
        registration.connections = list(connections)
        registration.at_home = is_home_site(registration.site, home_code)

    def _event(self, registration, kind, now, derived_from=None, **detail):
        if derived_from is not None:
            detail["derived_from"] = derived_from.id
        self.dbsession.add(
            RegistrationEvent(registration_id=registration.id, kind=kind, at=now, detail=detail)
        )
        registration_changed(self.dbsession, kind, now, [registration.id],
                             reason=detail.get("reason") or (derived_from and "derived"))

    @staticmethod
    def _require_active(registration):
        if registration.state != "active":
            raise NotAllowed(_("This registration has ended. Register again to change it."))

    @staticmethod
    def _already_registered(site):
        return Conflict(
            _("You are already registered with ${site}. You can edit your answers on "
              "your page.", mapping={"site": site.name})
        )


def checked_types(relationship_types) -> list:
    """Which of 類型①–④ apply: at least one, from the guideline's four, ascending."""
    try:
        chosen = {int(value) for value in relationship_types or ()}
    except (TypeError, ValueError):
        chosen = {None}
    if not chosen or not chosen <= RELATIONSHIP_TYPES.keys():
        raise InvalidInput(_("Choose at least one type that applies to you."),
                           "relationship_types")
    return sorted(chosen)


def checked_national(relationship_types, connections):
    """The national common questions (全国共通項目): the types that apply and at least
    one connection, from the national vocabulary."""
    relationship_types = checked_types(relationship_types)
    chosen = set(connections or ())
    if not chosen or not chosen <= CONNECTIONS.keys():
        raise InvalidInput(_("Choose at least one connection from the list."), "connections")
    return relationship_types, [key for key in CONNECTIONS if key in chosen]


# -- SQL ----------------------------------------------------------------------------


class joined_detail(FunctionElement):
    """``joined_detail(derived_from_id)``: the detail of a back-filled ``joined`` event,
    ``{"derived_from": id, "reason": "prefecture_joined"}``, built in SQL."""

    type = RegistrationEvent.__table__.c.detail.type
    inherit_cache = True
    name = "joined_detail"


def _joined_detail(function, element, compiler, **kw):
    keys = ("'derived_from'", "'reason'")
    values = (compiler.process(element.clauses, **kw), "'prefecture_joined'")
    return f"{function}({keys[0]}, {values[0]}, {keys[1]}, {values[1]})"


@compiles(joined_detail, "postgresql")
def _joined_detail_pg(element, compiler, **kw):
    return _joined_detail("json_build_object", element, compiler, **kw)


@compiles(joined_detail, "sqlite")
def _joined_detail_sqlite(element, compiler, **kw):
    return _joined_detail("json_object", element, compiler, **kw)


DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
"""INSERT with ON CONFLICT DO NOTHING, in each supported database's words."""


def _carriers(prefecture):
    """Active municipality registrations in the prefecture of people whose account is
    in use, ranked per person (rank 1: the earliest, which carries the derived one, as
    ``_derived_plan`` picks a carrier)."""
    rank = func.row_number().over(
        partition_by=Registration.account_id,
        order_by=(Registration.registered_at, Registration.id),
    )
    return (
        select(Registration.id, Registration.account_id, Account.declared_home_code,
               *(getattr(Registration, name) for name in NATIONAL_ANSWERS),
               rank.label("rank"))
        .join(Site, Site.id == Registration.site_id)
        .join(Account, Account.id == Registration.account_id)
        .where(Site.kind == "municipality", Site.prefecture_code == prefecture.prefecture_code,
               Registration.state == "active", Account.disabled_at.is_(None))
    )
