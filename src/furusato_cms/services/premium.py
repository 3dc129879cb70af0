"""Premium registration (プレミアム登録): applications, their review, granting, and the
three-site limit held by the database.

- ``apply``: the registrant asks for premium with one of their basic registrations. The
  eligibility service (services/eligibility.py) judges; an ineligible person is refused
  with every failed rule named (``PremiumRefused.reasons``). Where the site approves
  automatically (``site.premium_auto_approve``) the status is granted at once, otherwise
  a pending PremiumApplication waits for a coordinator. The application keeps the
  eligibility result it was judged on (``evidence``).
- ``approve`` re-evaluates at the moment of the decision (the result is kept beside the
  submitted one as ``evidence["decision"]``); ``reject`` needs a reason, which the
  applicant sees on their page and in the decision notice.
- Granting sets the tier, ``premium_since``, ``premium_until`` (one year), the long-stay
  mark, records an event and an audit entry, and tells the person.
- The decision notice goes through the notification service (``premium_decision``):
  inbox and mail as the person chose, one-click unsubscribe, once per application.

The three-site limit, enforced by the database: every *counted* premium registration
holds one PremiumSlot row (slot 1–3; primary key (account, slot); CHECK slot BETWEEN 1
AND 3; one row per registration). A prefecture holds no slot while the person has
premium with a municipality inside it. ``rebalance_slots`` brings the slots in line
with the registrations in set-based SQL: it releases slots of registrations that no
longer count, then gives every counted registration without one the lowest free
number. Granting runs it inside a SAVEPOINT after locking the person's Account row
(``SELECT … FOR UPDATE``, so grants for one person queue on PostgreSQL): a fourth
counted site would need slot 4, the CHECK refuses it, and the grant is refused
("you already hold premium at 3 sites") with nothing changed. Two grants racing
without the lock would collide on the primary key instead — the same refusal.

When a registration falls back to basic (a rejected renewal, failed requirements at
renewal — see services/renewal.py) its slot is released in the same transaction, and a
prefecture that now counts again takes a free slot; if none is free (which the rules
make impossible in practice: the municipality that stopped counting freed one) the
prefecture falls back too, with its own event (reason ``no_slot``).

Renewal applications (kind ``renewal``) are made by the renewal run where the site
reviews renewals itself. The person keeps premium for a grace period of 30 days after
expiry (``premium_until`` is moved to the end of the grace period; the original end is
``evidence["period_end"]``). Approval renews for a year from the original end;
rejection falls back to basic at once; undecided at the end of the grace period, it
falls back and the application is withdrawn.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from ..i18n import _
from ..models import (
    Account,
    PremiumApplication,
    PremiumSlot,
    Registration,
    RegistrationEvent,
    Site,
)
from ..models.meta import UTCDateTime
from .audit import Actor, AuditLog
from .eligibility import (
    PREMIUM_SITES_LIMIT,
    Eligibility,
    EligibilityService,
    one_year_after,
)
from .errors import Conflict, InvalidInput, NotAllowed
from .notifications import NotificationService
from .webhooks import registration_changed

GRACE_DAYS = 30
REASON_MAX = 1000
AUTO_APPROVER = Actor.system("premium auto-approval")
STATE_LABELS = {
    "pending": _("Waiting for review"),
    "approved": _("Approved"),
    "rejected": _("Not approved"),
    "withdrawn": _("Closed without a decision"),
}
KIND_LABELS = {"new": _("New application"), "renewal": _("Renewal")}
LIMIT_REACHED = _("You already hold premium registration with 3 local governments. A "
                  "prefecture does not count while you hold premium registration with a "
                  "municipality inside it.")


class PremiumRefused(NotAllowed):
    """Premium is refused; ``reasons`` are the failed rules' messages (TranslationStrings)."""

    def __init__(self, message, reasons=(), eligibility=None):
        super().__init__(message)
        self.reasons = tuple(reasons)
        self.eligibility = eligibility


@dataclass(frozen=True)
class Progress:
    """A basic registration on the way to premium: where the person stands, and their
    latest application there."""

    registration: Registration
    eligibility: Eligibility
    application: PremiumApplication | None

    @property
    def pending(self) -> bool:
        return self.application is not None and self.application.state == "pending"

    @property
    def can_apply(self) -> bool:
        return (self.eligibility.eligible and not self.pending
                and self.registration.site.state == "active")


@dataclass(frozen=True)
class ApplicationRow:
    """An application with what lists show beside it."""

    application: PremiumApplication
    site_name: str
    person: str = ""
    email: str = ""


class PremiumService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.eligibility = EligibilityService(dbsession, clock=clock, settings=settings)

    # -- the registrant's side ---------------------------------------------------

    def progress(self, account) -> list[Progress]:
        """Each active basic registration with its eligibility now and latest application."""
        registrations = self._active(account, "basic")
        results = self.eligibility.evaluate_many(account, [r.site for r in registrations])
        latest = self._latest_applications([r.id for r in registrations])
        return [Progress(r, results[r.site_id], latest.get(r.id)) for r in registrations]

    def premium_registrations(self, account) -> list[Registration]:
        return self._active(account, "premium")

    def applications_of(self, account) -> list[ApplicationRow]:
        rows = self.dbsession.execute(
            select(PremiumApplication, Site.name)
            .join(Site, Site.id == PremiumApplication.site_id)
            .where(PremiumApplication.account_id == account.id)
            .order_by(PremiumApplication.submitted_at.desc(), PremiumApplication.id.desc())
        )
        return [ApplicationRow(application, name) for application, name in rows]

    def apply(self, account, registration) -> PremiumApplication:
        """Judge and file an application; granted at once where the site approves
        automatically. Raises PremiumRefused naming each failed rule."""
        site = registration.site
        self._require_applicable(account, registration)
        lock_account(self.dbsession, account.id)
        if self._pending_of(registration) is not None:
            raise Conflict(_("Your application to ${site} is already waiting for review.",
                             mapping={"site": site.name}))
        now = self.clock()
        result = self.eligibility.evaluate(account, site, now)
        if not result.eligible:
            raise refusal(site, result)
        application = PremiumApplication(
            registration_id=registration.id, account_id=account.id, site_id=site.id,
            kind="new", state="pending", evidence=result.to_json(), submitted_at=now,
        )
        if site.premium_auto_approve:
            self._grant(registration, result, now, since=now, until=one_year_after(now))
            self._decide(application, "approved", AUTO_APPROVER, now)
        self.dbsession.add(application)
        self.dbsession.flush()
        if application.state == "approved":
            self._granted(AUTO_APPROVER, registration, application)
        return application

    # -- the coordinator's side --------------------------------------------------

    def pending(self, site) -> list[ApplicationRow]:
        """Pending applications and renewals of the site, oldest first."""
        rows = self.dbsession.execute(
            select(PremiumApplication, Account.display_name, Account.email)
            .join(Account, Account.id == PremiumApplication.account_id)
            .where(PremiumApplication.site_id == site.id, PremiumApplication.state == "pending")
            .order_by(PremiumApplication.submitted_at, PremiumApplication.id)
        )
        return [ApplicationRow(a, site.name, name, email) for a, name, email in rows]

    def application_in(self, site, application_id: int) -> PremiumApplication | None:
        return self.dbsession.scalar(
            select(PremiumApplication).where(PremiumApplication.id == application_id,
                                             PremiumApplication.site_id == site.id)
        )

    def registration_of(self, application) -> Registration:
        return self.dbsession.scalar(
            select(Registration).where(Registration.id == application.registration_id)
            .options(joinedload(Registration.site), joinedload(Registration.account))
        )

    def approve(self, actor, application) -> PremiumApplication:
        """Grant (or renew) after judging again now; PremiumRefused when the person no
        longer qualifies (the application stays pending, to be rejected with a reason)."""
        registration = self._decidable(application)
        lock_account(self.dbsession, registration.account_id)
        now = self.clock()
        renewing = application.kind == "renewal" and registration.tier == "premium"
        result = self.eligibility.evaluate(registration.account, registration.site, now,
                                           renewal=renewing)
        if not result.eligible:
            raise refusal(registration.site, result)
        if renewing:
            self._renew(registration, application, result, now)
        else:
            self._grant(registration, result, now, since=now, until=one_year_after(now))
        application.evidence = {**application.evidence, "decision": result.to_json()}
        self._decide(application, "approved", actor, now)
        self.dbsession.flush()
        self._granted(actor, registration, application)
        return application

    def reject(self, actor, application, reason) -> PremiumApplication:
        """Refuse with a reason the applicant sees; a refused renewal falls back to basic."""
        reason = " ".join((reason or "").split())
        if not reason:
            raise InvalidInput(_("Give the reason: the applicant will see it."), "reason")
        if len(reason) > REASON_MAX:
            raise InvalidInput(_("The reason is too long (at most ${n} characters).",
                                 mapping={"n": REASON_MAX}), "reason")
        registration = self._decidable(application)
        now = self.clock()
        application.reason = reason
        self._decide(application, "rejected", actor, now)
        if application.kind == "renewal" and registration.tier == "premium":
            fall_back(self.dbsession, [registration.id], now, "renewal_rejected")
        self._event(registration, "premium_rejected", now, application=application.id)
        self._audit(actor, "premium.reject", application, reason=reason)
        self.dbsession.flush()
        self.dbsession.refresh(registration)
        self._tell(application)
        return application

    # -- internals ---------------------------------------------------------------------

    def _active(self, account, tier) -> list[Registration]:
        return list(self.dbsession.scalars(
            select(Registration)
            .join(Site, Site.id == Registration.site_id)
            .where(Registration.account_id == account.id, Registration.state == "active",
                   Registration.tier == tier)
            .options(joinedload(Registration.site))
            .order_by(Site.code)
        ))

    def _latest_applications(self, registration_ids) -> dict:
        if not registration_ids:
            return {}
        newest = (
            select(func.max(PremiumApplication.id))
            .where(PremiumApplication.registration_id.in_(registration_ids))
            .group_by(PremiumApplication.registration_id)
        )
        rows = self.dbsession.scalars(
            select(PremiumApplication).where(PremiumApplication.id.in_(newest))
        )
        return {a.registration_id: a for a in rows}

    def _pending_of(self, registration) -> PremiumApplication | None:
        return self.dbsession.scalar(
            select(PremiumApplication).where(
                PremiumApplication.registration_id == registration.id,
                PremiumApplication.state == "pending",
            )
        )

    @staticmethod
    def _require_applicable(account, registration):
        if registration.account_id != account.id or registration.state != "active":
            raise NotAllowed(_("This registration has ended. Register again to apply."))
        if registration.site.state != "active":
            raise NotAllowed(_("${site} does not accept applications now.",
                               mapping={"site": registration.site.name}))
        if registration.tier == "premium":
            raise Conflict(_("Your registration with ${site} is already premium.",
                             mapping={"site": registration.site.name}))

    def _decidable(self, application) -> Registration:
        if application.state != "pending":
            raise Conflict(_("This application has already been decided."))
        registration = self.registration_of(application)
        if registration.state != "active":
            raise NotAllowed(_("The person has left this registration. Reject the "
                               "application with a reason."))
        return registration

    def _grant(self, registration, result, now, *, since, until):
        """Premium for ``registration`` and its slot, or PremiumRefused with nothing
        changed when the database has no slot left for it."""
        lock_account(self.dbsession, registration.account_id)
        try:
            with self.dbsession.begin_nested():
                registration.tier = "premium"
                registration.premium_since = since
                registration.premium_until = until
                registration.long_stay = result.long_stay
                registration.renewal_notice_at = None
                self.dbsession.flush()
                rebalance_slots(self.dbsession, [registration.account_id], cap=False)
        except IntegrityError:
            raise PremiumRefused(LIMIT_REACHED, (LIMIT_REACHED,), result) from None
        self._event(registration, "premium_granted", now, until=until.isoformat(),
                    long_stay=result.long_stay)

    def _renew(self, registration, application, result, now):
        period_end = datetime.fromisoformat(
            application.evidence.get("period_end") or registration.premium_until.isoformat()
        )
        registration.premium_until = one_year_after(period_end)
        registration.long_stay = result.long_stay
        registration.renewal_notice_at = None
        self._event(registration, "premium_renewed", now,
                    until=registration.premium_until.isoformat(), long_stay=result.long_stay)

    def _decide(self, application, state, actor, now):
        application.state = state
        application.decided_at = now
        application.decided_by_id = actor.account_id

    def _granted(self, actor, registration, application):
        self._audit(actor, "premium.approve", application,
                    until=registration.premium_until.isoformat(), kind=application.kind)
        self._tell(application)

    def _tell(self, application):
        """The decision (審査結果) to the applicant, once per application, in their inbox
        and by mail as they chose (services/notifications.py)."""
        NotificationService(self.dbsession, clock=self.clock,
                            settings=self.settings).premium_decision(application)

    def _event(self, registration, kind, now, **detail):
        registration_changed(self.dbsession, kind, now, [registration.id])
        self.dbsession.add(RegistrationEvent(registration_id=registration.id, kind=kind,
                                             at=now, detail=detail))

    def _audit(self, actor, action, application, **detail):
        AuditLog(self.dbsession, self.clock).record(
            actor, action, site_id=application.site_id, target=application,
            registration=application.registration_id, **detail,
        )


def refusal(site, result) -> PremiumRefused:
    return PremiumRefused(
        _("Premium registration with ${site} is not possible yet:", mapping={"site": site.name}),
        tuple(r.message for r in result.failed), result,
    )


def lock_account(dbsession, account_id):
    """Grants for one person queue here on PostgreSQL (SQLite locks the whole database)."""
    dbsession.execute(select(Account.id).where(Account.id == account_id).with_for_update())


# -- slots and falling back, in set-based SQL ----------------------------------------------

def counted_premium(accounts):
    """Active premium registrations of ``accounts`` (ids or a select of ids) that count
    toward the limit: municipalities, and prefectures with no premium municipality inside."""
    inner, inner_site = aliased(Registration), aliased(Site)
    municipality_inside = (
        select(inner.id).join(inner_site, inner_site.id == inner.site_id)
        .where(inner.account_id == Registration.account_id, inner.state == "active",
               inner.tier == "premium", inner_site.kind == "municipality",
               inner_site.prefecture_code == Site.prefecture_code)
        .exists()
    )
    return (
        select(Registration.id, Registration.account_id, Registration.premium_since)
        .join(Site, Site.id == Registration.site_id)
        .where(Registration.account_id.in_(accounts), Registration.state == "active",
               Registration.tier == "premium",
               or_(Site.kind == "municipality", ~municipality_inside))
    )


def _numbers(count):
    return union_all(*(select(literal(n).label("n")) for n in range(1, count + 1))).subquery()


def rebalance_slots(dbsession, accounts, *, cap: bool) -> list[int]:
    """Release the slots of registrations that no longer count, then give each counted
    registration without a slot the lowest free number. With ``cap=False`` (a grant)
    numbers past 3 are tried, so the database's CHECK refuses a fourth site
    (IntegrityError); with ``cap=True`` (falling back) only 1–3 are given and the ids of
    counted registrations left without a slot are returned."""
    counted = counted_premium(accounts).subquery()
    dbsession.execute(
        delete(PremiumSlot)
        .where(PremiumSlot.account_id.in_(accounts),
               PremiumSlot.registration_id.not_in(select(counted.c.id)))
        .execution_options(synchronize_session=False)
    )
    needing = (
        select(counted.c.id, counted.c.account_id,
               func.row_number().over(partition_by=counted.c.account_id,
                                      order_by=(counted.c.premium_since, counted.c.id))
               .label("rn"))
        .where(~exists().where(PremiumSlot.registration_id == counted.c.id))
        .subquery()
    )
    people = select(needing.c.account_id).distinct().subquery()
    numbers = _numbers(PREMIUM_SITES_LIMIT if cap else 2 * PREMIUM_SITES_LIMIT)
    free = (
        select(people.c.account_id, numbers.c.n,
               func.row_number().over(partition_by=people.c.account_id,
                                      order_by=numbers.c.n).label("rn"))
        .select_from(people).join(numbers, true())
        .where(~exists().where(PremiumSlot.account_id == people.c.account_id,
                               PremiumSlot.slot == numbers.c.n))
        .subquery()
    )
    dbsession.execute(
        insert(PremiumSlot).from_select(
            ["account_id", "slot", "registration_id"],
            select(needing.c.account_id, free.c.n, needing.c.id)
            .join(free, and_(free.c.account_id == needing.c.account_id,
                             free.c.rn == needing.c.rn)),
        )
    )
    if not cap:
        return []
    unslotted = counted_premium(accounts).where(
        ~exists().where(PremiumSlot.registration_id == Registration.id)
    )
    return [row.id for row in dbsession.execute(unslotted)]


def fall_back(dbsession, registration_ids, now: datetime, reason: str) -> int:
    """Premium -> basic for these registrations (never deleted): an event each
    (``premium_fell_back`` with the reason), slots released, prefectures re-balanced —
    one that can get no slot falls back too (reason ``no_slot``). Returns how many fell
    back in all."""
    if not registration_ids:
        return 0
    ids = list(registration_ids)
    accounts = select(Registration.account_id).where(Registration.id.in_(ids)).distinct()
    account_ids = list(dbsession.scalars(accounts))
    dbsession.flush()
    dbsession.execute(
        insert(RegistrationEvent).from_select(
            ["registration_id", "kind", "at", "detail"],
            select(Registration.id, literal("premium_fell_back"), literal(now, UTCDateTime()),
                   literal({"reason": reason}, RegistrationEvent.__table__.c.detail.type))
            .where(Registration.id.in_(ids)),
        )
    )
    registration_changed(dbsession, "premium_fell_back", now, ids, reason=reason)
    dbsession.execute(
        update(Registration).where(Registration.id.in_(ids))
        .values(tier="basic", long_stay=False, renewal_notice_at=None)
        .execution_options(synchronize_session=False)
    )
    dbsession.execute(delete(PremiumSlot).where(PremiumSlot.registration_id.in_(ids))
                      .execution_options(synchronize_session=False))
    unslotted = rebalance_slots(dbsession, account_ids, cap=True)
    return len(ids) + fall_back(dbsession, unslotted, now, "no_slot")


def grace_end(period_end: datetime) -> datetime:
    return period_end + timedelta(days=GRACE_DAYS)
