"""Consultations (相談): a registrant asks a site; the site's coordinators answer.

Rules kept here:

- Any registrant account may open a consultation with any active site, registered or
  not: people often ask before they register (about dual residence, say). To keep the
  queue usable a person has at most ``OPEN_MAX`` unfinished consultations per site.
- States go new → in progress → closed. A staff reply or an assignment starts the
  work (in progress); the first staff member to reply is assigned when nobody is.
  Either side may close; a closed consultation refuses replies with a message saying
  to open a new one.
- Only the site's coordinators and site admins handle consultations (the handlers).
  Every time one of them opens a consultation, the read is written to the audit log
  (a staff read of a registrant's personal matters), as is every staff action.
- Messages are plain text (at most ``BODY_MAX`` characters, shown escaped with only
  http(s) links made live). Attachments are PDF, JPEG or PNG, recognised by their
  first bytes (never by the name or the browser's claim), at most the configured
  upload size, and are always served as downloads.
- The other side is told, with a link to the thread but never the message itself (it
  may hold personal matters; reading needs a sign-in): the registrant through the
  notifications (in-app inbox and mail, by their preferences), the handlers by mail —
  the assigned one, or all of them while nobody is assigned.
"""
import os
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ..i18n import _
from ..models import (
    Account,
    Consultation,
    ConsultationAttachment,
    ConsultationMessage,
    Registration,
    Site,
    StaffMembership,
)
from ..models.community import CONSULTATION_TOPICS
from .audit import AuditLog
from .authentication import account_actor
from .errors import InvalidInput, NotAllowed
from .mail import Mail, localizer_for, queue_mail
from .notifications import NotificationService
from .paging import fetch_page

BODY_MAX = 4000
SUBJECT_MAX = 100
OPEN_MAX = 5
"""Unfinished consultations one person may have with one site."""
QUEUE_PAGE_SIZE = 30
HANDLER_ROLES = ("coordinator", "site_admin")
FILENAME_MAX = 100
ATTACHMENT_TYPES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
"""Leading bytes -> media type and extension: the only kinds of file accepted."""

TOPIC_LABELS = {
    "local_culture": _("Local culture and customs"),
    "relations_with_residents": _("Relations with local residents"),
    "project_details": _("Details of an activity"),
    "dual_residence": _("Dual residence and moving"),
    "other": _("Other"),
}
STATE_LABELS = {
    "new": _("New"),
    "in_progress": _("In progress"),
    "closed": _("Closed"),
}
THREAD_LOADING = (
    selectinload(Consultation.messages).joinedload(ConsultationMessage.author),
    selectinload(Consultation.messages).selectinload(ConsultationMessage.attachments),
)
"""A thread page's messages, authors and attachment names in three queries (the files'
bytes stay in the database until downloaded)."""
QUEUE_VIEWS = ("open", "mine", "new", "in_progress", "closed", "all")
"""Filters of the staff queue; "open" (new or in progress) comes first."""


@dataclass(frozen=True)
class Upload:
    """A file as the view read it: the name the browser gave and at most limit+1 bytes."""

    filename: str
    data: bytes


def checked_body(body, field="body") -> str:
    """A message's text: line ends made plain, not empty, not longer than ``BODY_MAX``."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidInput(_("Write a message."), field=field)
    if len(text) > BODY_MAX:
        raise InvalidInput(
            _("A message can be at most ${max} characters; this one has ${n}.",
              mapping={"max": BODY_MAX, "n": len(text)}), field=field)
    return text


def checked_upload(upload, limit: int):
    """(filename, media type, data) of an acceptable attachment, None when none was sent."""
    if upload is None or not upload.data:
        return None
    if len(upload.data) > limit:
        raise InvalidInput(
            _("The file is too large: at most ${mb} MB.",
              mapping={"mb": round(limit / 1024 / 1024, 1)}), field="attachment")
    for signature, media_type, extension in ATTACHMENT_TYPES:
        if upload.data.startswith(signature):
            return safe_filename(upload.filename, extension), media_type, upload.data
    raise InvalidInput(_("Attach a PDF, JPEG or PNG file."), field="attachment")


def safe_filename(name, extension) -> str:
    """The last part of the given name without control characters or quotes, ending in
    the extension of what the file really is."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base
                   if unicodedata.category(ch)[0] != "C" and ch not in "\"';")
    stem = os.path.splitext(base)[0].strip(" .")[: FILENAME_MAX - len(extension)]
    return (stem or "attachment") + extension


class ConsultationService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)

    # -- the registrant's side -------------------------------------------------

    def open(self, account, site, *, topic, subject, body, upload=None) -> Consultation:
        """Open a consultation with its first message; the site's handlers are told."""
        if account.kind != "registrant":
            raise NotAllowed(_("Consultations are opened by registrants."))
        if not site.is_public:
            raise NotAllowed(_("${site} does not accept consultations at the moment.",
                               mapping={"site": site.name}), field="site")
        if topic not in CONSULTATION_TOPICS:
            raise InvalidInput(_("Choose a topic from the list."), field="topic")
        subject = " ".join((subject or "").split())
        if not subject:
            raise InvalidInput(_("Give your consultation a short subject."), field="subject")
        if len(subject) > SUBJECT_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": SUBJECT_MAX}),
                               field="subject")
        body = checked_body(body)
        attachment = checked_upload(upload, self.settings.upload_max_bytes)
        self._check_open_count(account, site)
        now = self.clock()
        consultation = Consultation(site_id=site.id, registrant_id=account.id, topic=topic,
                                    subject=subject, state="new", created_at=now,
                                    updated_at=now)
        consultation.site = site
        self.dbsession.add(consultation)
        self._add_message(consultation, account, body, attachment, from_staff=False, now=now)
        self.dbsession.flush()
        self._tell_handlers(consultation, self._handlers_of(site.id))
        return consultation

    def sites_to_consult(self, account, requested_code="") -> list:
        """The active sites the person may choose: those they are registered with, and the
        one whose page sent them (``requested_code``), in code order."""
        registered = select(Registration.site_id).where(
            Registration.account_id == account.id, Registration.state == "active")
        return list(self.dbsession.scalars(
            select(Site).where(Site.state == "active",
                               Site.id.in_(registered) | (Site.code == requested_code[:6]))
            .order_by(Site.code)))

    def mine(self, account) -> list:
        """The person's consultations, the most recently active first."""
        return list(self.dbsession.scalars(
            select(Consultation).options(joinedload(Consultation.site))
            .where(Consultation.registrant_id == account.id)
            .order_by(Consultation.updated_at.desc(), Consultation.id.desc())
        ))

    def own(self, account, consultation_id: int) -> Consultation | None:
        """One of the person's own consultations; another person's id is simply not found."""
        return self.dbsession.scalar(
            select(Consultation).options(*THREAD_LOADING).where(Consultation.id == consultation_id,
                                       Consultation.registrant_id == account.id)
        )

    # -- the site's side ---------------------------------------------------------

    def queue(self, site, *, view="open", handler_id=None, page=1):
        """A page of the site's consultations for the queue, most recently active first."""
        statement = (
            select(Consultation)
            .options(joinedload(Consultation.assigned_to))
            .where(Consultation.site_id == site.id)
            .order_by(Consultation.updated_at.desc(), Consultation.id.desc())
        )
        if view == "open":
            statement = statement.where(Consultation.state != "closed")
        elif view == "mine":
            statement = statement.where(Consultation.state != "closed",
                                        Consultation.assigned_to_id == handler_id)
        elif view in STATE_LABELS:
            statement = statement.where(Consultation.state == view)
        return fetch_page(self.dbsession, statement, page=page, page_size=QUEUE_PAGE_SIZE)

    def state_counts(self, site) -> dict:
        """state -> number of the site's consultations, in one query."""
        return dict(self.dbsession.execute(
            select(Consultation.state, func.count())
            .where(Consultation.site_id == site.id).group_by(Consultation.state)
        ).all())

    def open_for_staff(self, actor, site, consultation_id: int) -> Consultation | None:
        """Load a consultation for a handler to read, and write the read to the audit log
        (every time: who looked at whose consultation, and when)."""
        consultation = self.for_site(site, consultation_id)
        if consultation is not None:
            self.audit.record(actor, "consultation.read", site_id=site.id, target=consultation,
                              registrant_id=consultation.registrant_id)
        return consultation

    def for_site(self, site, consultation_id: int) -> Consultation | None:
        """A consultation of ``site`` for an action that records itself."""
        return self.dbsession.scalar(
            select(Consultation).options(*THREAD_LOADING).where(Consultation.id == consultation_id,
                                       Consultation.site_id == site.id)
        )

    def handlers(self, site) -> list:
        """The accounts who may be assigned: the site's coordinators and site admins."""
        return self._handlers_of(site.id)

    # -- both sides ----------------------------------------------------------------

    def reply(self, author, consultation, body, upload=None, *, actor=None):
        """Add a message from the registrant or from a handler; the other side is told."""
        if consultation.state == "closed":
            raise NotAllowed(_("This consultation is closed and takes no more replies. If you "
                               "have a new question, please open a new consultation."),
                             field="body")
        from_staff = author.id != consultation.registrant_id
        if from_staff and not self._is_handler(consultation.site_id, author.id):
            raise NotAllowed(_("Only the site's coordinators answer consultations."))
        body = checked_body(body)
        attachment = checked_upload(upload, self.settings.upload_max_bytes)
        now = self.clock()
        message = self._add_message(consultation, author, body, attachment,
                                    from_staff=from_staff, now=now)
        consultation.updated_at = now
        if from_staff:
            self._start_work(consultation, author.id)
            self.dbsession.flush()
            self.audit.record(actor or account_actor(author), "consultation.reply", site_id=consultation.site_id,
                              target=consultation, attachment=attachment is not None)
            self._tell_registrant(consultation)
        else:
            self.dbsession.flush()
            self._tell_handlers(consultation, self._handlers_to_tell(consultation))
        return message

    def assign(self, actor, consultation, account_id):
        """Put a handler in charge; assigning someone else tells them by mail."""
        if consultation.state == "closed":
            raise NotAllowed(_("This consultation is closed."))
        handler = next((a for a in self._handlers_of(consultation.site_id)
                        if a.id == account_id), None)
        if handler is None:
            raise InvalidInput(_("Choose one of the site's coordinators."), field="assignee")
        consultation.assigned_to_id = handler.id
        self._start_work(consultation, handler.id)
        consultation.updated_at = self.clock()
        self.dbsession.flush()
        self.audit.record(actor, "consultation.assign", site_id=consultation.site_id,
                          target=consultation, assignee_id=handler.id)
        if handler.id != actor.account_id:
            self._tell_handlers(consultation, [handler])

    def close(self, consultation, *, actor=None):
        """End the consultation; ``actor`` is given when a handler closes it (audited)."""
        if consultation.state == "closed":
            raise NotAllowed(_("This consultation is already closed."))
        now = self.clock()
        consultation.state = "closed"
        consultation.closed_at = now
        consultation.updated_at = now
        self.dbsession.flush()
        if actor is not None:
            self.audit.record(actor, "consultation.close", site_id=consultation.site_id,
                              target=consultation)

    def attachment_of(self, consultation, attachment_id: int):
        return self.dbsession.scalar(
            select(ConsultationAttachment)
            .join(ConsultationMessage, ConsultationMessage.id == ConsultationAttachment.message_id)
            .where(ConsultationAttachment.id == attachment_id,
                   ConsultationMessage.consultation_id == consultation.id)
        )

    def record_download(self, actor, consultation, attachment):
        """A handler's download of a registrant's file is a read of personal data too."""
        self.audit.record(actor, "consultation.attachment_read", site_id=consultation.site_id,
                          target=attachment, consultation_id=consultation.id)

    # -- rules -----------------------------------------------------------------------

    def _check_open_count(self, account, site):
        unfinished = self.dbsession.scalar(
            select(func.count()).select_from(Consultation).where(
                Consultation.registrant_id == account.id, Consultation.site_id == site.id,
                Consultation.state != "closed")
        )
        if unfinished >= OPEN_MAX:
            raise NotAllowed(
                _("You already have ${n} consultations with ${site} that are not closed. "
                  "Please continue in one of them.",
                  mapping={"n": unfinished, "site": site.name}))

    def _add_message(self, consultation, author, body, attachment, *, from_staff, now):
        message = ConsultationMessage(author_id=author.id, from_staff=from_staff, body=body,
                                      created_at=now)
        if attachment is not None:
            filename, media_type, data = attachment
            message.attachments.append(ConsultationAttachment(
                filename=filename, media_type=media_type, byte_size=len(data), data=data,
                created_at=now))
        consultation.messages.append(message)
        return message

    @staticmethod
    def _start_work(consultation, handler_id):
        if consultation.state == "new":
            consultation.state = "in_progress"
        if consultation.assigned_to_id is None:
            consultation.assigned_to_id = handler_id

    def _handlers_of(self, site_id) -> list:
        return list(self.dbsession.scalars(
            select(Account).join(StaffMembership, StaffMembership.account_id == Account.id)
            .where(StaffMembership.site_id == site_id,
                   StaffMembership.role.in_(HANDLER_ROLES), Account.disabled_at.is_(None))
            .order_by(Account.display_name, Account.id)
        ))

    def _is_handler(self, site_id, account_id) -> bool:
        return self.dbsession.scalar(
            select(func.count()).select_from(StaffMembership).where(
                StaffMembership.site_id == site_id, StaffMembership.account_id == account_id,
                StaffMembership.role.in_(HANDLER_ROLES))
        ) > 0

    def _handlers_to_tell(self, consultation) -> list:
        """The assigned handler, or every handler while nobody is assigned."""
        handlers = self._handlers_of(consultation.site_id)
        if consultation.assigned_to_id is None:
            return handlers
        return [a for a in handlers if a.id == consultation.assigned_to_id]

    def _tell_registrant(self, consultation):
        """Through the notifications (inbox and mail, by the person's preferences for the
        site's "consultation_reply" notices, with one-click unsubscribe)."""
        NotificationService(self.dbsession, clock=self.clock, settings=self.settings
                            ).consultation_reply(consultation.registrant_id, consultation.site,
                                                 f"/my/consultations/{consultation.id}")

    def _tell_handlers(self, consultation, handlers):
        """One mail per handler, without the registrant's words or name."""
        url = (f"{self.settings.base_url}/s/{consultation.site.code}/consultations/"
               f"{consultation.id}")
        for handler in handlers:
            translate = localizer_for(self.settings, handler.locale).translate
            mapping = {"site": consultation.site.name, "id": consultation.id,
                       "topic": translate(TOPIC_LABELS[consultation.topic])}
            text = "\n".join([
                translate(_("Consultation No. ${id} (${topic}) at ${site} is waiting for an "
                            "answer.", mapping=mapping)),
                url,
            ]) + "\n"
            queue_mail(self.dbsession, self.settings, Mail(
                to=handler.email, text=text,
                subject=translate(_("[${site}] Consultation No. ${id} is waiting",
                                    mapping=mapping))))
