"""Mail over SMTP, sent only after the transaction commits (nothing goes out for work
that was rolled back). Messages are written in the recipient's language."""
import logging
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pyramid.i18n import make_localizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    headers: dict = field(default_factory=dict)


def localizer_for(settings, locale: str):
    """A localizer without a request, for mail and scripts."""
    dirs = [settings.locale_dir] if settings.locale_dir else []
    return make_localizer(locale if locale in ("ja", "en") else "ja", dirs)


def build_message(settings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="furusato-cms")
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text, charset="utf-8")
    return message


def send_now(settings, mail: Mail):
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(build_message(settings, mail))


def _after_commit(committed, settings, mail):
    if not committed:
        return
    try:
        send_now(settings, mail)
    except (OSError, smtplib.SMTPException) as error:
        # Neither the address nor the subject is logged: both can be personal data.
        log.error("mail could not be sent: %s", type(error).__name__)


def queue_mail(dbsession, settings, mail: Mail):
    """Send ``mail`` when the session's transaction commits; at once when there is no
    managed transaction (console scripts that commit themselves)."""
    manager = dbsession.info.get("transaction_manager")
    if manager is None:
        send_now(settings, mail)
        return
    manager.get().addAfterCommitHook(_after_commit, args=(settings, mail))
