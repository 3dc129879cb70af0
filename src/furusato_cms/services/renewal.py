"""Renewal of premium registration (プレミアム登録の更新), run once a day by
``furusato-renew``.

Premium is valid one year. Each run, as of one moment:

1. **Notice** — registrations whose premium ends within 30 days get one mail per person
   listing them (once per period: ``renewal_notice_at``, cleared when the period renews).
2. **Expiry** — registrations whose premium has ended are judged again, as of the run's
   moment, by the eligibility rules (services/eligibility.py ``judge``, renewal mode: the
   registration keeps the place it holds among the three):
   - requirements hold and the site renews automatically (``site.auto_renewal``) ->
     renewed for a year from the previous end (from now, when a missed run left that
     in the past), long-stay mark recomputed;
   - requirements hold and the site reviews renewals -> a pending renewal application
     with its evidence for the coordinators; the person keeps premium for a grace
     period of 30 days (``premium_until`` moves to its end; the original end is kept as
     ``evidence["period_end"]`` and approval renews from it);
   - requirements fail, or the grace period ended with the renewal undecided -> falls
     back to basic (never deleted), slot released, event with the reason (the
     undecided application is withdrawn);
   and each person gets one mail saying what happened to which site.

Set-based: the facts for due registrations (attendance counts in the window,
verification, home code, guardian consent, stay days, a pending renewal) come from one
aggregate query per chunk of 500 registrations (keyset on account and id, so memory
stays constant and every row is seen once per run); the rules are applied to those
facts in memory, and the changes go back as bulk statements per chunk (executemany by
primary key, ``IN`` lists) — no query per person. Every change moves the registration
out of "due", so running twice at the same moment changes nothing the second time.
"""
from array import array
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from ..dates import format_day
from ..i18n import _
from ..models import (
    Account,
    ActivitySession,
    Attendance,
    GuardianConsent,
    IdentityVerification,
    PremiumApplication,
    Project,
    Registration,
    RegistrationEvent,
    Site,
    StayRecord,
)
from .bulk_sql import update_rows
from .eligibility import (
    SiteFacts,
    Window,
    counted_attendance,
    counted_stays,
    judge,
    one_year_after,
    person_facts,
)
from .mail import Mail, localizer_for, queue_mail
from .premium import fall_back, grace_end
from .webhooks import registration_changed

NOTICE_DAYS = 30
REGISTRATION_KEY = ("id", "account_id")
"""A registration by its id and its person: the person picks its partition on PostgreSQL."""

CHUNK = 500


@dataclass(frozen=True)
class SiteRules:
    """The site's fields the rules read, from an aggregate row."""

    id: int
    code: str
    name: str
    kind: str
    prefecture_code: str
    premium_min_activities: int
    long_stay_enabled: bool
    long_stay_min_days: int


@dataclass
class Outcome:
    """One registration's result, for the person's mail."""

    site_name: str
    kind: str
    """renewed | queued | fell_back"""
    until: object = None
    reasons: tuple = ()


@dataclass
class PersonMail:
    """The mail being gathered for one person (rows come grouped by account)."""

    account_id: int
    email: str
    name: str
    locale: str
    items: list = field(default_factory=list)


class RenewalService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self._localizers = {}

    def run(self, now=None) -> dict:
        """Notices, then expiries; returns the summary the console script prints."""
        now = now or self.clock()
        noticed = self._notices(now)
        counts = self._expiries(now)
        self.dbsession.expire_all()
        return {"at": now.isoformat(), "noticed": noticed, **counts}

    # -- notices -------------------------------------------------------------------

    def _notices(self, now) -> int:
        due = (
            select(Registration.id.label("registration_id"), Registration.account_id,
                   Registration.premium_until, Site.name.label("site_name"), Account.email,
                   Account.display_name, Account.locale)
            .join(Site, Site.id == Registration.site_id)
            .join(Account, Account.id == Registration.account_id)
            .where(Registration.state == "active", Registration.tier == "premium",
                   Registration.renewal_notice_at.is_(None), Registration.premium_until > now,
                   Registration.premium_until <= now + timedelta(days=NOTICE_DAYS),
                   _pending_renewal().is_(None))
        )
        mails = _Mails(self._send_notice)
        noticed = 0
        for rows in self._chunks(due):
            ids = [row.registration_id for row in rows]
            self.dbsession.execute(
                update(Registration).where(Registration.id.in_(ids))
                .values(renewal_notice_at=now).execution_options(synchronize_session=False)
            )
            for row in rows:
                mails.add(row, Outcome(row.site_name, "notice", row.premium_until))
            noticed += len(ids)
        mails.close()
        return noticed

    # -- expiries ------------------------------------------------------------------

    def _expiries(self, now) -> dict:
        window = Window.before(now)
        counts = {"renewed": 0, "queued": 0, "fell_back": 0}
        mails = _Mails(self._send_outcomes)
        for rows in self._chunks(self._due_query(now, window)):
            plan = _Plan()
            for row in rows:
                self._decide(row, now, plan, mails)
            self._carry_out(plan, now)
            counts["renewed"] += len(plan.renew)
            counts["queued"] += len(plan.queue)
            counts["fell_back"] += plan.fell_back
        mails.close()
        return counts

    def _due_query(self, now, window):
        activity_count = (
            select(func.count(Attendance.id))
            .join(ActivitySession, ActivitySession.id == Attendance.session_id)
            .join(Project, Project.id == ActivitySession.project_id)
            .where(Attendance.account_id == Registration.account_id,
                   Attendance.site_id == Registration.site_id, *counted_attendance(window))
            .scalar_subquery()
        )
        stay_days = (
            select(func.count(StayRecord.id))
            .where(StayRecord.account_id == Registration.account_id,
                   StayRecord.site_id == Registration.site_id, *counted_stays(window))
            .scalar_subquery()
        )
        pending_renewal = _pending_renewal()
        return (
            select(
                Registration.id.label("registration_id"), Registration.account_id,
                Registration.premium_until, Site.id.label("site_id"), Site.code, Site.name,
                Site.kind, Site.prefecture_code, Site.premium_min_activities,
                Site.long_stay_enabled, Site.long_stay_min_days, Site.auto_renewal,
                IdentityVerification.verified_at, IdentityVerification.birthdate,
                IdentityVerification.home_code, GuardianConsent.confirmed_at,
                activity_count.label("activity_count"), stay_days.label("stay_days"),
                pending_renewal.label("pending_renewal"), Account.email,
                Account.display_name, Account.locale,
            )
            .join(Site, Site.id == Registration.site_id)
            .join(Account, Account.id == Registration.account_id)
            .outerjoin(IdentityVerification,
                       IdentityVerification.account_id == Registration.account_id)
            .outerjoin(GuardianConsent,
                       GuardianConsent.verification_id == IdentityVerification.id)
            .where(Registration.state == "active", Registration.tier == "premium",
                   Registration.premium_until <= now)
        )

    def _decide(self, row, now, plan, mails):
        if row.pending_renewal is not None:
            plan.undecided.append(row)
            mails.add(row, Outcome(row.name, "fell_back",
                                   reasons=(_("The renewal was not decided within the "
                                              "grace period."),)))
            return
        site = SiteRules(row.site_id, row.code, row.name, row.kind, row.prefecture_code,
                         row.premium_min_activities, row.long_stay_enabled,
                         row.long_stay_min_days)
        person = person_facts(row if row.verified_at is not None else None, row)
        facts = SiteFacts(activity_count=row.activity_count, stay_day_count=row.stay_days)
        result = judge(row.account_id, site, person, facts, now, renewal=True)
        if not result.eligible:
            plan.failed.append((row, result))
            mails.add(row, Outcome(row.name, "fell_back",
                                   reasons=tuple(r.message for r in result.failed)))
        elif row.auto_renewal:
            until = one_year_after(row.premium_until)
            until = until if until > now else one_year_after(now)
            plan.renew.append((row, result, until))
            mails.add(row, Outcome(row.name, "renewed", until))
        else:
            until = grace_end(row.premium_until)
            plan.queue.append((row, result, until))
            mails.add(row, Outcome(row.name, "queued", until))

    def _carry_out(self, plan, now):
        """The chunk's decisions as bulk statements."""
        session = self.dbsession
        if plan.renew:
            update_rows(session, Registration.__table__, [
                {"id": row.registration_id, "account_id": row.account_id,
                 "premium_until": until, "long_stay": result.long_stay,
                 "renewal_notice_at": None}
                for row, result, until in plan.renew
            ], REGISTRATION_KEY)
            self._events("premium_renewed", now, [
                (row.registration_id, _summary(result, until=until.isoformat()))
                for row, result, until in plan.renew
            ])
        if plan.queue:
            update_rows(session, Registration.__table__, [
                {"id": row.registration_id, "account_id": row.account_id,
                 "premium_until": until}
                for row, _result, until in plan.queue
            ], REGISTRATION_KEY)
            session.execute(insert(PremiumApplication), [
                {"registration_id": row.registration_id, "account_id": row.account_id,
                 "site_id": row.site_id, "kind": "renewal", "state": "pending",
                 "evidence": {**result.to_json(),
                              "period_end": row.premium_until.isoformat()},
                 "submitted_at": now, "reason": ""}
                for row, result, _until in plan.queue
            ])
            self._events("renewal_queued", now, [
                (row.registration_id, _summary(result, grace_until=until.isoformat()))
                for row, result, until in plan.queue
            ])
        if plan.failed:
            self._events("renewal_refused", now, [
                (row.registration_id, _summary(result)) for row, result in plan.failed
            ])
            plan.fell_back += fall_back(session, [row.registration_id for row, _r in plan.failed],
                                        now, "requirements_not_met")
        if plan.undecided:
            session.execute(
                update(PremiumApplication)
                .where(PremiumApplication.id.in_([row.pending_renewal for row in plan.undecided]))
                .values(state="withdrawn", decided_at=now)
                .execution_options(synchronize_session=False)
            )
            plan.fell_back += fall_back(session, [row.registration_id for row in plan.undecided],
                                        now, "renewal_not_decided")

    def _events(self, kind, now, pairs):
        self.dbsession.execute(insert(RegistrationEvent), [
            {"registration_id": registration_id, "kind": kind, "at": now, "detail": detail}
            for registration_id, detail in pairs
        ])
        registration_changed(self.dbsession, kind, now, [pair[0] for pair in pairs])

    def _chunks(self, query):
        """The query's rows in chunks, in (account, registration) order: each chunk is
        handled before the next is read, and each row is seen once per run. The keys of
        every due row are read first (two integers a row), then each chunk's rows by key,
        so a chunk costs the same however many are due. Reading the next chunk after a
        keyset instead made PostgreSQL collect and sort every remaining due row each
        time (by the premium_until index): quadratic in the due. The keys are kept as
        machine integers, 16 bytes a due registration."""
        accounts, ids = array("q"), array("q")
        for account_id, registration_id in self.dbsession.execute(
                query.with_only_columns(Registration.account_id, Registration.id)
                .order_by(Registration.account_id, Registration.id)):
            accounts.append(account_id)
            ids.append(registration_id)
        for start in range(0, len(ids), CHUNK):
            rows = self.dbsession.execute(
                query.where(Registration.account_id.in_(set(accounts[start:start + CHUNK])),
                            Registration.id.in_(list(ids[start:start + CHUNK])))
                .order_by(Registration.account_id, Registration.id)
            ).all()
            if rows:
                yield rows

    # -- mail ----------------------------------------------------------------------

    def _translate(self, locale):
        if locale not in self._localizers:
            self._localizers[locale] = localizer_for(self.settings, locale).translate
        return self._localizers[locale]

    def _date(self, moment, locale) -> str:
        return format_day(moment, locale)

    def _send_notice(self, person: PersonMail):
        translate = self._translate(person.locale)
        lines = [translate(_("Dear ${name},", mapping={"name": person.name})), "",
                 translate(_("Your premium registration with these local governments ends "
                             "soon:")), ""]
        lines += [translate(_("- ${site}: valid until ${date}",
                              mapping={"site": item.site_name,
                                       "date": self._date(item.until, person.locale)}))
                  for item in person.items]
        lines += ["", translate(_("When it ends we check the requirements again: identity "
                                  "verification, designated activities in the last 12 "
                                  "months, and that it is not where you live. Your "
                                  "progress:")),
                  self.settings.base_url + "/my/premium"]
        self._send(person, translate(_("Your premium registration ends soon")), lines)

    def _send_outcomes(self, person: PersonMail):
        translate = self._translate(person.locale)
        lines = [translate(_("Dear ${name},", mapping={"name": person.name})), ""]
        for item in person.items:
            mapping = {"site": item.site_name,
                       "date": self._date(item.until, person.locale) if item.until else ""}
            lines.append(translate(OUTCOME_LINES[item.kind], mapping=mapping))
            lines += [f"  {translate(reason)}" for reason in item.reasons]
        lines += ["", translate(_("Your registrations:")), self.settings.base_url + "/my/premium"]
        self._send(person, translate(_("The renewal of your premium registration")), lines)

    def _send(self, person, subject, lines):
        queue_mail(self.dbsession, self.settings,
                   Mail(to=person.email, subject=subject, text="\n".join(lines) + "\n"))


OUTCOME_LINES = {
    "renewed": _("- ${site}: renewed, valid until ${date}."),
    "queued": _("- ${site}: your renewal is waiting for review by ${site}. Your premium "
                "registration stays valid until ${date} while it is reviewed."),
    "fell_back": _("- ${site}: premium registration ended; you stay registered as basic. "
                   "Why:"),
}


@dataclass
class _Plan:
    renew: list = field(default_factory=list)
    queue: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    undecided: list = field(default_factory=list)
    fell_back: int = 0


class _Mails:
    """Gathers outcomes per person from rows ordered by account, sending each person's
    mail when the next person starts: one mail per person, one person in memory."""

    def __init__(self, send):
        self.send = send
        self.current = None

    def add(self, row, outcome):
        if self.current is None or self.current.account_id != row.account_id:
            self.close()
            self.current = PersonMail(row.account_id, row.email, row.display_name, row.locale)
        self.current.items.append(outcome)

    def close(self):
        if self.current is not None:
            self.send(self.current)
            self.current = None


def _pending_renewal():
    """The registration's pending renewal application (id), as a correlated subquery."""
    return (
        select(PremiumApplication.id)
        .where(PremiumApplication.registration_id == Registration.id,
               PremiumApplication.kind == "renewal", PremiumApplication.state == "pending")
        .limit(1).scalar_subquery()
    )


def _summary(result, **extra) -> dict:
    """What an event keeps of a renewal's judgement."""
    return {
        "activities": result.activity_count,
        "required_activities": result.required_activities,
        "stay_days": result.stay_day_count,
        "long_stay": result.long_stay,
        "failed": [r.key for r in result.failed],
        **extra,
    }
