"""Notifications (通知): the in-app inbox, email, preferences and one-click unsubscribe.

Delivery rule for one kind of notice from one site to one person: **nothing** while an
unsubscribe record covers it (that kind, or kind ``all`` for the whole site); otherwise
an inbox message unless the person turned the inbox off for that site and kind, and a
mail unless they turned email off (or their address is not confirmed). No preference
row means both on. The same rule (``deliveries``) decides the inbox rows, the mails and
the counts editors see before sending, so what is counted is what is sent.

``notify`` writes every inbox row with one INSERT … SELECT per language. Mail goes out
only after the transaction commits: a few mails directly (services/mail.queue_mail),
more than ``DIRECT_MAIL_LIMIT`` (and every targeted post) through the outbox, which
``furusato-send-campaign`` sends in batches (see ``OutboxSender``).

Every mail carries RFC 8058 one-click unsubscribe headers and the same link in its
text. The link's token is an HMAC over account, site and kind with a key derived from
the session secret for this purpose only: it cannot be forged or changed to another
person, works without signing in, and does not expire (it can only ever stop mail).
"""
import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from babel.dates import format_date
from sqlalchemy import String, and_, case, delete, exists, func, insert, literal, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload
from pyramid.i18n import TranslationString

from ..clock import TOKYO, to_tokyo
from ..i18n import DEFAULT_LOCALE, LOCALES, _
from ..models import (
    Account,
    ActivitySession,
    InboxMessage,
    NotificationCampaign,
    NotificationPreference,
    OutboxMail,
    Project,
    RegistrantInterest,
    Registration,
    SessionApplication,
    Site,
    SupportMeasure,
    Unsubscribe,
)
from ..models.engagement import ALL_KINDS, NOTIFICATION_KINDS
from ..models.meta import UTCDateTime
from .errors import InvalidInput
from .feed import followed_site_ids, followers_of
from .bulk_sender import QueueSender
from .checkin_tokens import derived_key
from .mail import Mail, localizer_for, queue_mail
from .paging import fetch_page
from .publishing import visible_now
from .session_texts import session_lines

log = logging.getLogger(__name__)

KIND_LABELS = {
    "targeted_post": _("Information from the local government"),
    "new_project": _("New projects matching your interests"),
    "application_result": _("Results of your applications"),
    "session_reminder": _("Reminders the day before a session"),
    "premium_decision": _("Decisions on premium registration"),
    "renewal_notice": _("Premium renewal notices"),
    "consultation_reply": _("Replies to your consultations"),
}
DIRECT_MAIL_LIMIT = 20
"""Up to this many mails go straight after the commit; more wait in the outbox."""
INBOX_PAGE_SIZE = 20
SUBJECT_MAX = 300
BODY_MAX = 2000
TOKEN_MAX = 200
SCHEDULED_NOTICE_WINDOW = timedelta(days=7)
"""How far back the reminder run looks for scheduled projects it has not announced (so a
run missed for a few days still announces them, and old projects are never announced)."""


# -- unsubscribe tokens ----------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


UNSUBSCRIBE_PURPOSE = b"furusato-cms unsubscribe v1"


class UnsubscribeTokens:
    """``<account>.<site>.<kind>.<mac>``: readable ids, signed with a key of its own."""

    def __init__(self, settings):
        self.settings = settings
        self._key = derived_key(settings.session_secret, UNSUBSCRIBE_PURPOSE)

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def token_for(self, account_id: int, site_id: int, kind: str) -> str:
        payload = f"{int(account_id)}.{int(site_id)}.{kind}"
        return f"{payload}.{self._mac(payload)}"

    def url_for(self, account_id, site_id, kind) -> str:
        return f"{self.settings.base_url}/unsubscribe/{self.token_for(account_id, site_id, kind)}"

    def read(self, token: str):
        """``(account_id, site_id, kind)``, or None for anything not made by us."""
        if not token or len(token) > TOKEN_MAX or not token.isascii():
            return None
        parts = token.split(".")
        if len(parts) != 4:
            return None
        account_id, site_id, kind, mac = parts
        if not (_is_id(account_id) and _is_id(site_id)) or kind not in NOTIFICATION_KINDS:
            return None
        if not hmac.compare_digest(mac, self._mac(f"{account_id}.{site_id}.{kind}")):
            return None
        return int(account_id), int(site_id), kind


def _is_id(text: str) -> bool:
    return text.isdigit() and len(text) <= 9 and text == str(int(text))


# -- texts -----------------------------------------------------------------------------

def per_locale(settings, text) -> dict:
    """A text in every UI language: a dict as given, a TranslationString translated,
    a plain string (an editor's own words) the same in all."""
    if isinstance(text, dict):
        return {locale: text.get(locale) or text[DEFAULT_LOCALE] for locale in LOCALES}
    if isinstance(text, TranslationString):
        return {locale: localizer_for(settings, locale).translate(text) for locale in LOCALES}
    return {locale: str(text or "") for locale in LOCALES}


def _locale_of(locale: str) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def _locale_criteria(column, locale):
    """Rows whose language is ``locale`` (unknown languages read the default one)."""
    if locale == DEFAULT_LOCALE:
        return or_(column.is_(None), column.not_in([x for x in LOCALES if x != locale]))
    return column == locale


def compose_mail(settings, tokens, *, recipient, site_id, site_name, kind, subject, body,
                 link) -> Mail:
    """One notice as a mail in the recipient's language, with the unsubscribe headers."""
    locale = _locale_of(recipient.locale)
    translate = localizer_for(settings, locale).translate
    unsubscribe = tokens.url_for(recipient.account_id, site_id, kind)
    mapping = {"name": recipient.display_name, "site": site_name,
               "kind": translate(KIND_LABELS[kind])}
    lines = [translate(_("Dear ${name},", mapping=mapping)), "", body[locale]]
    if link:
        lines += ["", settings.base_url + link]
    lines += [
        "", "--",
        translate(_("${site} sent you this notice (${kind}) through the Furusato resident "
                    "registration.", mapping=mapping)),
        translate(_("Stop these notices from ${site}:", mapping=mapping)),
        unsubscribe,
        translate(_("Choose which notices you receive:")),
        settings.base_url + "/my/notifications",
    ]
    return Mail(
        to=recipient.email,
        subject=subject[locale],
        text="\n".join(lines) + "\n",
        headers={"List-Unsubscribe": f"<{unsubscribe}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def _checked_link(link: str) -> str:
    """Links stay on this site (a path), so a notice can never point people elsewhere."""
    link = link or ""
    if link and (not link.startswith("/") or link.startswith("//")):
        raise ValueError(f"a notice's link must be a path on this site: {link!r}")
    return link


# -- the delivery rule -----------------------------------------------------------------

def audience_select(audience):
    """Account ids as a select: a select is used as it is, a list of ids becomes one."""
    if hasattr(audience, "subquery"):
        return audience
    return select(Account.id).where(Account.id.in_([int(i) for i in audience]))


def deliveries(site_id, kind, audience):
    """Who gets notice ``kind`` from ``site_id`` among ``audience``, and by which channel:
    rows of (account_id, email, locale, display_name, inbox, email_on)."""
    pref = aliased(NotificationPreference)
    inbox_on = func.coalesce(pref.inbox, true())
    email_on = and_(func.coalesce(pref.email, true()), Account.email_confirmed_at.is_not(None))
    unsubscribed = exists().where(
        Unsubscribe.account_id == Account.id, Unsubscribe.site_id == site_id,
        Unsubscribe.kind.in_((kind, ALL_KINDS)),
    )
    return (
        select(Account.id.label("account_id"), Account.email, Account.locale,
               Account.display_name, inbox_on.label("inbox"), email_on.label("email_on"))
        .select_from(Account)
        .outerjoin(pref, and_(pref.account_id == Account.id, pref.site_id == site_id,
                              pref.kind == kind))
        .where(Account.id.in_(audience_select(audience)), Account.kind == "registrant",
               Account.disabled_at.is_(None), ~unsubscribed, or_(inbox_on, email_on))
    )


@dataclass(frozen=True)
class Reach:
    """How many people a notice reaches, and how many of them by mail."""
    people: int
    emails: int


def count_reach(dbsession, site_id, kind, audience) -> Reach:
    """One COUNT query over the delivery rule."""
    rows = deliveries(site_id, kind, audience).subquery()
    people, emails = dbsession.execute(
        select(func.count(), func.coalesce(func.sum(case((rows.c.email_on, 1), else_=0)), 0))
        .select_from(rows)
    ).one()
    return Reach(int(people), int(emails))


@dataclass
class PreferenceRow:
    kind: str
    email: bool = True
    inbox: bool = True
    unsubscribed_at: datetime | None = None


@dataclass
class SitePreferences:
    site: Site
    rows: list = field(default_factory=list)
    all_unsubscribed_at: datetime | None = None


def unread_messages(account_id):
    """SQL: how many of the account's inbox messages are unread — one index probe
    (ix_inbox_messages_account_unread); the signed-in identity's query carries it for
    the header, so a page pays no statement of its own for it."""
    return (select(func.count()).where(InboxMessage.account_id == account_id,
                                       InboxMessage.read_at.is_(None))
            .scalar_subquery())


class NotificationService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.tokens = UnsubscribeTokens(settings)

    # -- sending ---------------------------------------------------------------------

    def notify(self, audience, kind, site, subject, body, link="", *, key=None, post_id=None,
               actor=None, via_outbox=None):
        """Tell ``audience`` (account ids, or a select of them) about something at ``site``.

        Returns the campaign, or None when ``key`` was used before (sent already).
        ``via_outbox``: True always queues the mails for the background sender, False
        always sends them after the commit; None decides by their number."""
        if kind not in NOTIFICATION_KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        link = _checked_link(link)
        if key is not None and self.campaign_by_key(key) is not None:
            return None
        subjects = {k: v[:SUBJECT_MAX] for k, v in per_locale(self.settings, subject).items()}
        bodies = {k: v[:BODY_MAX] for k, v in per_locale(self.settings, body).items()}
        reach = count_reach(self.dbsession, site.id, kind, audience)
        campaign = self._new_campaign(site, kind, key, post_id, subjects, bodies, link, reach,
                                      actor)
        if campaign is None:
            return None
        rows = deliveries(site.id, kind, audience).subquery()
        self._write_inbox(campaign, rows)
        if reach.emails:
            outbox = via_outbox if via_outbox is not None else reach.emails > DIRECT_MAIL_LIMIT
            if outbox:
                self._queue_outbox(campaign, rows)
            else:
                self._mail_now(campaign, site, rows)
        return campaign

    def _new_campaign(self, site, kind, key, post_id, subjects, bodies, link, reach, actor):
        """The campaign row; None when another transaction took ``key`` a moment ago."""
        campaign = NotificationCampaign(
            site_id=site.id, kind=kind, key=key, post_id=post_id, subject=subjects, body=bodies,
            link=link, recipients=reach.people, emails=reach.emails, created_at=self.clock(),
            created_by_id=actor.account_id if actor is not None else None,
        )
        try:
            with self.dbsession.begin_nested():
                self.dbsession.add(campaign)
        except IntegrityError:
            return None
        return campaign

    def campaign_by_key(self, key):
        return self.dbsession.scalar(
            select(NotificationCampaign).where(NotificationCampaign.key == key)
        )

    def _write_inbox(self, campaign, rows):
        """One INSERT … SELECT per language."""
        now = literal(self.clock(), UTCDateTime())
        for locale in LOCALES:
            self.dbsession.execute(
                insert(InboxMessage).from_select(
                    ["account_id", "site_id", "campaign_id", "kind", "subject", "body", "link",
                     "created_at"],
                    select(rows.c.account_id, literal(campaign.site_id), literal(campaign.id),
                           literal(campaign.kind), literal(campaign.subject[locale]),
                           literal(campaign.body[locale]), literal(campaign.link), now)
                    .where(rows.c.inbox, _locale_criteria(rows.c.locale, locale)),
                )
            )

    def _queue_outbox(self, campaign, rows):
        """One INSERT … SELECT; the unique (campaign, account) keeps one mail per person."""
        self.dbsession.execute(
            insert(OutboxMail).from_select(
                ["campaign_id", "account_id", "state", "attempts", "last_error"],
                select(literal(campaign.id), rows.c.account_id, literal("queued"), literal(0),
                       literal("")).where(rows.c.email_on),
            )
        )

    def _mail_now(self, campaign, site, rows):
        for recipient in self.dbsession.execute(select(rows).where(rows.c.email_on)):
            queue_mail(self.dbsession, self.settings, self.compose(campaign, site.name,
                                                                   recipient))

    def compose(self, campaign, site_name, recipient) -> Mail:
        return compose_mail(self.settings, self.tokens, recipient=recipient,
                            site_id=campaign.site_id, site_name=site_name, kind=campaign.kind,
                            subject=campaign.subject, body=campaign.body, link=campaign.link)

    def progress(self, campaign) -> dict:
        """How many of the campaign's queued mails are in each state."""
        counts = dict(self.dbsession.execute(
            select(OutboxMail.state, func.count()).where(OutboxMail.campaign_id == campaign.id)
            .group_by(OutboxMail.state)
        ).all())
        return {state: counts.get(state, 0) for state in ("queued", "sending", "sent", "failed")}

    # -- what other parts call ------------------------------------------------------

    def premium_decision(self, application):
        """プレミアム登録の審査結果 to the applicant (a PremiumApplication, decided)."""
        site = self.dbsession.get(Site, application.site_id)
        mapping = {"site": site.name}
        if application.state == "approved":
            subject = _("Your premium registration with ${site} was approved", mapping=mapping)
            until = to_tokyo(self.dbsession.get(
                Registration, application.registration_id).premium_until).date()
            body = {locale: localizer_for(self.settings, locale).translate(_(
                "Your premium registration with ${site} has been approved and is valid "
                "until ${date}. Your registration card shows it from now on.",
                mapping={**mapping, "date": format_date(until, "long", locale=locale)}))
                for locale in LOCALES}
        else:
            subject = _("Your premium registration with ${site} was not approved",
                        mapping=mapping)
            body = {locale: "\n\n".join(part for part in (
                localizer_for(self.settings, locale).translate(
                    _("Your application for premium registration with ${site} was not "
                      "approved. The reason:", mapping=mapping)),
                application.reason) if part) for locale in LOCALES}
        return self.notify([application.account_id], "premium_decision", site, subject, body,
                           "/my/", key=f"premium_decision:{application.id}")

    def renewal_notice(self, registration):
        """The notice 30 days before a premium registration ends (更新のお知らせ)."""
        site = self.dbsession.get(Site, registration.site_id)
        until = to_tokyo(registration.premium_until).date()
        subject = {locale: localizer_for(self.settings, locale).translate(
            _("Your premium registration with ${site} ends on ${date}",
              mapping={"site": site.name, "date": format_date(until, "long", locale=locale)}))
            for locale in LOCALES}
        body = _("At the end of the period the requirements are checked again. Where the "
                 "local government renews automatically and they still hold, nothing needs "
                 "to be done; otherwise the registration becomes basic (it is never deleted). "
                 "See your page for details.")
        return self.notify([registration.account_id], "renewal_notice", site, subject, body,
                           "/my/", key=f"renewal_notice:{registration.id}:{until.isoformat()}")

    def application_result(self, session, applications):
        """Where applications to one session stand now: a place, or the waiting list."""
        project = session.project
        site = self.dbsession.get(Site, session.site_id)
        subjects = {"applied": _("You have a place: ${title}", mapping={"title": project.title}),
                    "waitlisted": _("You are on the waiting list: ${title}",
                                    mapping={"title": project.title})}
        intros = {"applied": _("You have a place in this session:"),
                  "waitlisted": _("The session is full; you are on the waiting list. We will "
                                  "tell you when a place becomes free:")}
        results = []
        for state in ("applied", "waitlisted"):
            people = [a.account_id for a in applications if a.state == state]
            if people:
                body = {locale: "\n".join([localizer_for(self.settings, locale).translate(
                    intros[state]), "", *session_lines(session, locale)]) for locale in LOCALES}
                results.append(self.notify(people, "application_result", site, subjects[state],
                                           body, f"/s/{site.code}/projects/{project.id}"))
        return results

    def consultation_reply(self, account_id, site, link):
        """The site answered the person's consultation (相談); ``link`` is its path."""
        return self.notify(
            [account_id], "consultation_reply", site,
            _("${site} replied to your consultation", mapping={"site": site.name}),
            _("Open the consultation to read the reply and to answer."), link,
        )

    def new_project(self, project):
        """A newly published project, to followers of its site interested in its field."""
        site = self.dbsession.get(Site, project.site_id)
        interested = (
            select(RegistrantInterest.account_id)
            .where(RegistrantInterest.interest == project.field,
                   RegistrantInterest.account_id.in_(followers_of(site.id)))
        )
        return self.notify(
            interested, "new_project", site,
            _("New project: ${title}", mapping={"title": project.title}),
            project.summary or project.title, f"/s/{site.code}/projects/{project.id}",
            key=f"new_project:{project.id}",
        )

    def new_measure(self, measure):
        """A support measure now open, to the registrants it is for: everyone with an
        active registration with its site, or only those with premium valid now where the
        measure is for premium registrants (the tiers ``who_may_apply`` accepts). At-home
        registrations hear of it too (the guideline keeps them out of statistics only).
        It is information from the local government (``targeted_post``), so that kind's
        unsubscribe covers it; once per measure."""
        site = self.dbsession.get(Site, measure.site_id)
        criteria = [Registration.site_id == site.id, Registration.state == "active"]
        if measure.applicants == "premium":
            criteria += [Registration.tier == "premium",
                         Registration.premium_until > self.clock()]
        return self.notify(
            select(Registration.account_id).where(*criteria), "targeted_post", site,
            _("New support measure: ${title}", mapping={"title": measure.title}),
            measure.summary or measure.title, f"/s/{site.code}/support/{measure.id}",
            key=f"measure:{measure.id}", via_outbox=True,
        )

    def scheduled_notices(self, now) -> int:
        """Announcements (``new_project``, ``new_measure``) of projects and support
        measures whose scheduled publication (予約公開) came within the last week and that
        nobody was told about yet; publishing with a future ``publish_at`` tells no one
        until then. Returns how many were announced."""
        return (self._scheduled(Project, "new_project:", self.new_project, now)
                + self._scheduled(SupportMeasure, "measure:", self.new_measure, now))

    def _scheduled(self, model, key_prefix, announce, now) -> int:
        key = literal(key_prefix) + func.cast(model.id, String)
        items = self.dbsession.scalars(
            select(model)
            .where(*visible_now(model, now),
                   model.publish_at > now - SCHEDULED_NOTICE_WINDOW,
                   ~exists().where(NotificationCampaign.key == key))
            .order_by(model.publish_at, model.id)
        ).all()
        return sum(1 for item in items if announce(item) is not None)

    def session_reminders(self, now) -> int:
        """The day-before reminder for every session starting tomorrow (Japan time), to
        people with a place; each session's reminder goes out once. Returns how many
        sessions were reminded now."""
        tomorrow = to_tokyo(now).date() + timedelta(days=1)
        start = datetime.combine(tomorrow, time(0), TOKYO)
        sessions = self.dbsession.scalars(
            select(ActivitySession)
            .join(Project, Project.id == ActivitySession.project_id)
            .options(selectinload(ActivitySession.project))
            .where(ActivitySession.starts_at >= start,
                   ActivitySession.starts_at < start + timedelta(days=1),
                   ActivitySession.cancelled_at.is_(None), *visible_now(Project, now))
            .order_by(ActivitySession.starts_at, ActivitySession.id)
        ).all()
        return sum(1 for session in sessions if self._remind(session) is not None)

    def _remind(self, session):
        project = session.project
        site = self.dbsession.get(Site, session.site_id)
        with_place = select(SessionApplication.account_id).where(
            SessionApplication.session_id == session.id, SessionApplication.state == "applied"
        )
        body = {locale: "\n".join([localizer_for(self.settings, locale).translate(
            _("A reminder: you have a place in this session tomorrow.")), "",
            *session_lines(session, locale)]) for locale in LOCALES}
        return self.notify(with_place, "session_reminder", site,
                           _("Tomorrow: ${title}", mapping={"title": project.title}), body,
                           f"/s/{site.code}/projects/{project.id}",
                           key=f"session_reminder:{session.id}", via_outbox=True)

    # -- the inbox -------------------------------------------------------------------

    def inbox(self, account, *, page=1, page_size=INBOX_PAGE_SIZE):
        statement = (
            select(InboxMessage).options(selectinload(InboxMessage.site))
            .where(InboxMessage.account_id == account.id)
            .order_by(InboxMessage.created_at.desc(), InboxMessage.id.desc())
        )
        return fetch_page(self.dbsession, statement, page=page, page_size=page_size)

    def unread_count(self, account_id) -> int:
        return self.dbsession.scalar(select(unread_messages(account_id)))

    def mark_read(self, account, message_id=None) -> int:
        """Mark one of the person's messages read (or all, without an id)."""
        criteria = [InboxMessage.account_id == account.id, InboxMessage.read_at.is_(None)]
        if message_id is not None:
            criteria.append(InboxMessage.id == message_id)
        result = self.dbsession.execute(
            update(InboxMessage).where(*criteria).values(read_at=self.clock())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    # -- preferences and unsubscribing ------------------------------------------------

    def preferences(self, account) -> list:
        """Every followed site (and any site the person set something for) with the
        channels of each kind."""
        prefs = self.dbsession.scalars(
            select(NotificationPreference).where(NotificationPreference.account_id == account.id)
        ).all()
        stops = self.dbsession.scalars(
            select(Unsubscribe).where(Unsubscribe.account_id == account.id)
        ).all()
        site_ids = select(Site.id).where(or_(
            Site.id.in_(followed_site_ids(account.id)),
            Site.id.in_([p.site_id for p in prefs] + [u.site_id for u in stops]),
        ))
        sites = self.dbsession.scalars(
            select(Site).where(Site.id.in_(site_ids)).order_by(Site.code)
        ).all()
        chosen = {(p.site_id, p.kind): p for p in prefs}
        stopped = {(u.site_id, u.kind): u.created_at for u in stops}
        grid = []
        for site in sites:
            rows = []
            for kind in NOTIFICATION_KINDS:
                pref = chosen.get((site.id, kind))
                rows.append(PreferenceRow(kind, email=pref.email if pref else True,
                                          inbox=pref.inbox if pref else True,
                                          unsubscribed_at=stopped.get((site.id, kind))))
            grid.append(SitePreferences(site, rows, stopped.get((site.id, ALL_KINDS))))
        return grid

    def save_preferences(self, account, site, email_kinds, inbox_kinds):
        """The person's choices for one site, as the whole truth: every kind's channels
        are written, and earlier unsubscribes from that site are cleared (the person has
        just said, signed in, what they want)."""
        email_kinds, inbox_kinds = set(email_kinds or ()), set(inbox_kinds or ())
        unknown = (email_kinds | inbox_kinds) - set(NOTIFICATION_KINDS)
        if unknown:
            raise InvalidInput(_("Unknown kind of notice."))
        self.dbsession.execute(
            delete(NotificationPreference).where(NotificationPreference.account_id == account.id,
                                                 NotificationPreference.site_id == site.id)
        )
        self.dbsession.execute(
            delete(Unsubscribe).where(Unsubscribe.account_id == account.id,
                                      Unsubscribe.site_id == site.id)
        )
        self.dbsession.execute(insert(NotificationPreference), [
            {"account_id": account.id, "site_id": site.id, "kind": kind,
             "email": kind in email_kinds, "inbox": kind in inbox_kinds}
            for kind in NOTIFICATION_KINDS
        ])
        self.dbsession.expire_all()

    def describe_token(self, token):
        """``(account, site, kind)`` the token speaks for, or None (forged, or the account
        or site no longer exists)."""
        found = self.tokens.read(token)
        if found is None:
            return None
        account_id, site_id, kind = found
        account = self.dbsession.get(Account, account_id)
        site = self.dbsession.get(Site, site_id)
        if account is None or site is None:
            return None
        return account, site, kind

    def is_unsubscribed(self, account, site, kind) -> bool:
        return self.dbsession.scalar(
            select(func.count()).where(Unsubscribe.account_id == account.id,
                                       Unsubscribe.site_id == site.id,
                                       Unsubscribe.kind.in_((kind, ALL_KINDS)))
        ) > 0

    def unsubscribe(self, account, site, kind, *, whole_site=False):
        """Record the refusal (配信停止); doing it again changes nothing."""
        kind = ALL_KINDS if whole_site else kind
        if self.dbsession.get(Unsubscribe, (account.id, site.id, kind)) is not None:
            return
        try:
            with self.dbsession.begin_nested():
                self.dbsession.add(Unsubscribe(account_id=account.id, site_id=site.id,
                                               kind=kind, created_at=self.clock()))
        except IntegrityError:
            return


# -- the background sender -------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    """One outbox row taken for sending, with what its mail needs (plain values, so it
    outlives the transaction that claimed it)."""
    outbox_id: int
    account_id: int
    email: str
    locale: str
    display_name: str
    site_id: int
    site_name: str
    kind: str
    subject: dict
    body: dict
    link: str


class OutboxSender(QueueSender):
    """The notices' outbox (``mail_outbox``), by campaign."""

    model = OutboxMail
    scope_name = "campaign_id"

    def __init__(self, dbsession, *, clock, settings):
        super().__init__(dbsession, clock=clock, settings=settings)
        self.tokens = UnsubscribeTokens(settings)

    def _claimed(self, token) -> list:
        rows = self.dbsession.execute(
            select(OutboxMail.id, Account.id, Account.email, Account.locale,
                   Account.display_name, Site.id, Site.name, NotificationCampaign.kind,
                   NotificationCampaign.subject, NotificationCampaign.body,
                   NotificationCampaign.link)
            .join(Account, Account.id == OutboxMail.account_id)
            .join(NotificationCampaign, NotificationCampaign.id == OutboxMail.campaign_id)
            .join(Site, Site.id == NotificationCampaign.site_id)
            .where(OutboxMail.claim == token)
            .order_by(OutboxMail.id)
        ).all()
        return [Claimed(*row) for row in rows]

    def _mail(self, row) -> Mail:
        return compose_mail(self.settings, self.tokens, recipient=row, site_id=row.site_id,
                            site_name=row.site_name, kind=row.kind, subject=row.subject,
                            body=row.body, link=row.link)
