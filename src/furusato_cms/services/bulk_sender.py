"""The resumable bulk sender (一斉配信): a queue table of mails, claimed in batches, sent
over one SMTP connection, recorded — used for the notices' outbox and the invitations
from member lists alike."""
import smtplib
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import case, func, select, update

from .mail import Mail, build_message

MAX_ATTEMPTS = 5
"""A mail the server keeps refusing for a passing reason is given up after this many tries."""
STUCK_AFTER = timedelta(minutes=15)


@dataclass
class Delivery:
    """What became of a batch: sent, to try again (tried, or not tried at all), refused
    for good."""
    sent: list = field(default_factory=list)
    retry: list = field(default_factory=list)
    untried: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    error: str = ""


def _describe(exc) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class SMTPTransport:
    """One SMTP connection for a batch."""

    def __init__(self, settings):
        self.settings = settings
        self.smtp = None

    def __enter__(self):
        self.smtp = smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=30)
        if self.settings.smtp_starttls:
            self.smtp.starttls()
        if self.settings.smtp_username:
            self.smtp.login(self.settings.smtp_username, self.settings.smtp_password)
        return self

    def send(self, message):
        self.smtp.send_message(message)

    def __exit__(self, *exc):
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self.smtp.close()


class QueueSender(ABC):
    """Sends a queue of mails in batches (the script commits after each step).

    1. ``claim``: take up to N queued rows — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
       so several senders never take the same row — and mark them ``sending``; commit.
    2. ``deliver``: send them over one SMTP connection (no database work).
    3. ``record``: mark the sent ones ``sent``; rows the server refused for good
       ``failed``; the rest back to ``queued`` (given up after MAX_ATTEMPTS); commit.

    A failure the sender sees (the connection drops, the server refuses) is recorded
    exactly, so a resumed run sends only the rest. If the process itself dies between
    1 and 3, that batch's rows stay ``sending``: some of them may have gone out, so they
    are **never sent again automatically** (one message at most once); they are counted
    as ``needs_review`` and, after checking the mail server's log, can be put back with
    ``requeue_stuck``. A small batch keeps this window small.
    """

    model = None
    """The queue's table: id, state, claim, claimed_at, attempts, sent_at, last_error."""
    scope_name = ""
    """The column a run can be limited to (a campaign, an import)."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def _scope(self, scope_id):
        return [getattr(self.model, self.scope_name) == scope_id] if scope_id is not None else []

    @abstractmethod
    def _claimed(self, token) -> list:
        """The rows of batch ``token`` with what their mails need, each with ``outbox_id``."""

    @abstractmethod
    def _mail(self, row) -> Mail:
        """The mail of one claimed row."""

    def claim(self, batch_size, scope_id=None) -> list:
        token = uuid.uuid4().hex
        ids = (
            select(self.model.id)
            .where(self.model.state == "queued", *self._scope(scope_id))
            .order_by(self.model.id).limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        chosen = self.dbsession.scalars(ids).all()
        if not chosen:
            return []
        self.dbsession.execute(
            update(self.model)
            .where(self.model.id.in_(chosen), self.model.state == "queued")
            .values(state="sending", claim=token, claimed_at=self.clock(),
                    attempts=self.model.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return self._claimed(token)

    def deliver(self, claimed, transport) -> Delivery:
        """Send each claimed mail over one connection. A mail refused for good (unknown
        recipient, a 5xx answer to its data) fails alone and the batch goes on; any other
        failure stops the batch: the mail being sent is tried again later (that try
        counts), the ones after it were not tried (no try counted)."""
        delivery = Delivery()
        trying = None
        try:
            with transport:
                for row in claimed:
                    trying = row.outbox_id
                    try:
                        transport.send(build_message(self.settings, self._mail(row)))
                    except smtplib.SMTPRecipientsRefused as exc:
                        delivery.failed[trying] = _describe(exc)
                    except smtplib.SMTPDataError as exc:
                        if exc.smtp_code < 500:
                            raise
                        delivery.failed[trying] = _describe(exc)
                    else:
                        delivery.sent.append(trying)
                    trying = None
        except (OSError, smtplib.SMTPException) as exc:
            delivery.error = _describe(exc)
            done = set(delivery.sent) | set(delivery.failed) | {trying}
            delivery.retry = [trying] if trying is not None else []
            delivery.untried = [r.outbox_id for r in claimed if r.outbox_id not in done]
        return delivery

    def record(self, delivery):
        now = self.clock()
        if delivery.sent:
            self.dbsession.execute(
                update(self.model).where(self.model.id.in_(delivery.sent))
                .values(state="sent", sent_at=now, claim=None, last_error="")
                .execution_options(synchronize_session=False)
            )
        if delivery.failed:
            self.dbsession.execute(update(self.model), [
                {"id": outbox_id, "state": "failed", "claim": None, "last_error": error}
                for outbox_id, error in delivery.failed.items()
            ])
        if delivery.retry:
            self.dbsession.execute(
                update(self.model).where(self.model.id.in_(delivery.retry))
                .values(state=case((self.model.attempts >= MAX_ATTEMPTS, "failed"),
                                   else_="queued"),
                        claim=None, last_error=delivery.error)
                .execution_options(synchronize_session=False)
            )
        if delivery.untried:
            self.dbsession.execute(
                update(self.model).where(self.model.id.in_(delivery.untried))
                .values(state="queued", claim=None, attempts=self.model.attempts - 1)
                .execution_options(synchronize_session=False)
            )

    def needs_review(self, scope_id=None) -> int:
        """Rows left ``sending`` by a sender that died (older than STUCK_AFTER)."""
        return self.dbsession.scalar(
            select(func.count()).where(self.model.state == "sending",
                                       self.model.claimed_at < self.clock() - STUCK_AFTER,
                                       *self._scope(scope_id))
        )

    def requeue_stuck(self, scope_id) -> int:
        """After checking the mail server's log: send the stuck rows of one campaign (or
        import) again."""
        result = self.dbsession.execute(
            update(self.model)
            .where(*self._scope(scope_id), self.model.state == "sending",
                   self.model.claimed_at < self.clock() - STUCK_AFTER)
            .values(state="queued", claim=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount
