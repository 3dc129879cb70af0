"""Registrant accounts (登録者アカウント): sign-up with a confirmed email address, password
reset by mail, the person's own data as a download, and deleting the account.

Links sent by mail carry a random token; only its SHA-256 is stored
(``EmailToken``). A new link of one purpose replaces the person's earlier unused
ones, and a link works once: it is claimed with a conditional UPDATE, so two tabs
cannot both use it.

Nothing here tells a stranger whether an email address has an account: sign-up
with a known address, a reset for an unknown one and a resend for a confirmed one
all give the caller the same answer, and the real owner hears about it by mail.
Each of these requests is throttled per client address and, where it sends mail
to a given address, per email address too.

Deleting an account (退会) removes the personal data and keeps the anonymous counts:

- deleted: identity verification and guardian consent, mail links, sign-in
  sessions, sign-in throttle rows keyed by the email address, and answers to
  free-text survey questions;
- kept without personal data: the registrations (so each site's count and its
  breakdown by relationship type stay right) — marked left, with a history event —
  and the answers to choice and scale questions;
- the account row stays as a tombstone: email ``deleted-<id>@invalid``, no name,
  no password or TOTP secret, sign-in and confirmation times cleared, disabled;
- the audit log (append-only) keeps its entries: they name a registrant by
  account id only (``authentication.account_actor``), never by name or address.
"""
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..i18n import LOCALES, _
from ..models import (
    Account,
    AuditEntry,
    AuthSession,
    EmailToken,
    GuardianConsent,
    IdentityVerification,
    Registration,
    RegistrationEvent,
    SigninThrottle,
    Site,
    SurveyAnswer,
    SurveyQuestion,
)
from .audit import AuditLog
from .authentication import (
    SessionService,
    SigninLocked,
    SigninThrottler,
    account_actor,
    hash_token,
    normalise_email,
    throttle_keys,
)
from .errors import InvalidInput, NotAllowed
from .mail import Mail, localizer_for, queue_mail
from .passwords import check_new_password, hash_password, verify_password

CONFIRM_HOURS = 48
RESET_MINUTES = 60
DISPLAY_NAME_MAX = 100
CONFIRM = "confirm_email"
RESET = "reset_password"
SECRET_COLUMNS = frozenset({"password_hash", "totp_secret", "totp_last_step", "token_hash"})
"""Columns never shown, not even to the person: they would help an attacker."""


class RequestsThrottled(SigninLocked):
    """Too many sign-ups or mail requests from one place, or for one address."""

    def __init__(self, minutes: int):
        super().__init__(minutes)
        self.message = _("Too many requests. Please wait ${minutes} minutes and try again.",
                         mapping={"minutes": minutes})


class LinkNotValid(NotAllowed):
    """A mail link that is unknown, already used, replaced by a newer one or expired."""

    def __init__(self):
        super().__init__(_("This link cannot be used. It may have expired or been used already."))


def confirm_path(token: str) -> str:
    return f"/confirm/{token}"


def reset_path(token: str) -> str:
    return f"/password-reset/{token}"


def tombstone_email(account_id: int) -> str:
    return f"deleted-{account_id}@invalid"


class RegistrantAccountService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.sessions = SessionService(dbsession, clock=clock, settings=settings)
        self.throttle = SigninThrottler(dbsession, clock=clock, settings=settings)
        self.audit = AuditLog(dbsession, clock)

    # Sign-up and confirmation -------------------------------------------------------

    def sign_up(self, email, display_name, password, locale, client_addr=""):
        """Create an unconfirmed registrant account and mail its confirmation link.

        Returns the new account, or None when the address already had one: that
        owner is told by mail instead, and the caller answers exactly as for a new one.
        """
        email = normalise_email(email)
        display_name = (display_name or "").strip()
        if not display_name or len(display_name) > DISPLAY_NAME_MAX:
            raise InvalidInput(
                _("Enter a name of up to ${max} characters.", mapping={"max": DISPLAY_NAME_MAX}),
                field="display_name",
            )
        check_new_password(password, email=email, field="password")
        if locale not in LOCALES:
            raise InvalidInput(_("Choose a language."), field="locale")
        self._count_request([f"signup:{client_addr or ''}"])
        password_hash = hash_password(password)  # before the lookup: both answers take as long
        existing = self._account_by_email(email)
        account = None if existing else self._new_registrant(email, display_name, password_hash,
                                                             locale)
        if account is None:
            self._mail_signup_attempt(existing or self._account_by_email(email))
            return None
        self.audit.record(account_actor(account, client_addr), "account.signup", target=account)
        self._mail_confirmation(account)
        return account

    def confirm(self, token, client_addr=""):
        """Mark the address confirmed through a confirmation link; returns the account."""
        account = self._claim(token, CONFIRM)
        if account.email_confirmed_at is None:
            account.email_confirmed_at = self.clock()
        self.audit.record(account_actor(account, client_addr), "account.email_confirm",
                          target=account)
        return account

    def resend_confirmation(self, email, client_addr=""):
        """Mail a new confirmation link when an unconfirmed registrant has this address."""
        email = normalise_email(email)
        self._count_request([f"confirm:{client_addr or ''}", f"confirm:{email}"])
        account = self._account_by_email(email)
        if account is not None and account.kind == "registrant" and (
            account.email_confirmed_at is None and account.disabled_at is None
        ):
            self._mail_confirmation(account)

    def find_link(self, token, purpose):
        """The open mail link for ``token`` (for showing its page), or None when it is
        unknown, used, replaced, expired or its account is disabled."""
        if not token:
            return None
        return self.dbsession.scalar(
            select(EmailToken)
            .join(Account, Account.id == EmailToken.account_id)
            .where(EmailToken.token_hash == hash_token(token), EmailToken.purpose == purpose,
                   EmailToken.used_at.is_(None), EmailToken.expires_at > self.clock(),
                   Account.disabled_at.is_(None))
        )

    # Password reset -----------------------------------------------------------------

    def request_password_reset(self, email, client_addr=""):
        """Mail a reset link to the account with this address, staff or registrant, if any."""
        email = normalise_email(email)
        self._count_request([f"reset:{client_addr or ''}", f"reset:{email}"])
        account = self._account_by_email(email)
        if account is None or account.disabled_at is not None:
            return
        token = self._issue(account, RESET, timedelta(minutes=RESET_MINUTES))
        self._mail(account, _("Set a new password"), _(
            "Hello ${name},\n\n"
            "We received a request to set a new password for your account at Furusato "
            "resident registration. Open this link within ${minutes} minutes to choose "
            "a new password:\n\n${link}\n\n"
            "If you did not ask for this, you can ignore this mail. Your password stays "
            "as it is.",
            mapping={"name": account.display_name, "minutes": RESET_MINUTES,
                     "link": self.settings.base_url + reset_path(token)},
        ))

    def reset_password(self, token, password, client_addr=""):
        """Set a new password through a reset link; every session of the account ends.

        Using the link proves the person reads mail at the address, so an
        unconfirmed registrant's address counts as confirmed from then on.
        """
        link = self.find_link(token, RESET)
        if link is None:
            raise LinkNotValid()
        account = self.dbsession.get(Account, link.account_id)
        check_new_password(password, email=account.email, field="password")
        self._claim(token, RESET)
        now = self.clock()
        account.password_hash = hash_password(password)
        if account.email_confirmed_at is None:
            account.email_confirmed_at = now
        self.sessions.revoke_all(account.id)
        self.throttle.reset(throttle_keys(account.email, client_addr)[0])
        self.audit.record(account_actor(account, client_addr), "account.password_reset",
                          target=account)
        return account

    # The person's own data ----------------------------------------------------------

    def export_data(self, account) -> dict:
        """Everything held about ``account``, as plain JSON-ready data (one query per table)."""
        verification = self.dbsession.scalar(
            select(IdentityVerification).where(IdentityVerification.account_id == account.id)
        )
        consent = self.dbsession.scalar(
            select(GuardianConsent)
            .join(IdentityVerification,
                  IdentityVerification.id == GuardianConsent.verification_id)
            .where(IdentityVerification.account_id == account.id)
        )
        registrations = self.dbsession.execute(
            select(Registration, Site.code, Site.name)
            .join(Site, Site.id == Registration.site_id)
            .where(Registration.account_id == account.id)
            .order_by(Registration.id)
        ).all()
        registration_ids = [row.Registration.id for row in registrations]
        return {
            "account": _columns(account),
            "identity_verification": _columns(verification) if verification else None,
            "guardian_consent": _columns(consent) if consent else None,
            "registrations": self._registrations_export(registrations, registration_ids),
            "sign_in_sessions": [
                _columns(row)
                for row in self.dbsession.scalars(
                    select(AuthSession).where(AuthSession.account_id == account.id)
                    .order_by(AuthSession.id)
                )
            ],
            "audit_entries": [
                _columns(entry)
                for entry in self.dbsession.scalars(self._audit_about(account, registration_ids))
            ],
        }

    def _registrations_export(self, rows, registration_ids) -> list:
        events = self.dbsession.scalars(
            select(RegistrationEvent)
            .where(RegistrationEvent.registration_id.in_(registration_ids))
            .order_by(RegistrationEvent.id)
        ).all()
        answers = self.dbsession.execute(
            select(SurveyAnswer, SurveyQuestion)
            .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
            .where(SurveyAnswer.registration_id.in_(registration_ids))
            .order_by(SurveyQuestion.position, SurveyQuestion.id)
        ).all()
        exported = []
        for registration, site_code, site_name in rows:
            exported.append({
                **_columns(registration),
                "site": {"code": site_code, "name": site_name},
                "events": [_columns(e) for e in events if e.registration_id == registration.id],
                "survey_answers": [
                    _answer(answer, question)
                    for answer, question in answers
                    if answer.registration_id == registration.id
                ],
            })
        return exported

    @staticmethod
    def _audit_about(account, registration_ids):
        """Entries made by the person, or about their account or registrations."""
        return (
            select(AuditEntry)
            .where(or_(
                AuditEntry.actor_id == account.id,
                (AuditEntry.target_type == "Account") & (AuditEntry.target_id == str(account.id)),
                (AuditEntry.target_type == "Registration")
                & AuditEntry.target_id.in_([str(i) for i in registration_ids]),
            ))
            .order_by(AuditEntry.id)
        )

    # Deleting the account -----------------------------------------------------------

    def delete_account(self, account, password, client_addr=""):
        """Remove the person's data after checking their password (see the module text)."""
        keys = throttle_keys(account.email, client_addr)
        self.throttle.check(keys)
        if not verify_password(account.password_hash, password or ""):
            if self.throttle.failure(keys):
                raise SigninLocked(self.settings.signin_lockout_minutes)
            raise InvalidInput(_("The password is not correct."), "password")
        left = self._leave_all(account)
        self._delete_personal_rows(account)
        self._make_tombstone(account)
        self.audit.record(account_actor(account, client_addr), "account.delete",
                          target=account, registrations_left=left)

    def _leave_all(self, account) -> int:
        now = self.clock()
        active = self.dbsession.scalars(
            select(Registration.id).where(Registration.account_id == account.id,
                                          Registration.state == "active")
        ).all()
        if active:
            self.dbsession.execute(
                update(Registration).where(Registration.id.in_(active))
                .values(state="left", state_changed_at=now)
            )
            self.dbsession.add_all(
                RegistrationEvent(registration_id=registration_id, kind="left", at=now,
                                  detail={"reason": "account_deleted"})
                for registration_id in active
            )
        return len(active)

    def _delete_personal_rows(self, account):
        registrations = select(Registration.id).where(Registration.account_id == account.id)
        verifications = select(IdentityVerification.id).where(
            IdentityVerification.account_id == account.id
        )
        text_questions = select(SurveyQuestion.id).where(SurveyQuestion.kind == "text")
        email = normalise_email(account.email)
        statements = [
            delete(SurveyAnswer).where(SurveyAnswer.registration_id.in_(registrations),
                                       SurveyAnswer.question_id.in_(text_questions)),
            delete(GuardianConsent).where(GuardianConsent.verification_id.in_(verifications)),
            delete(IdentityVerification).where(IdentityVerification.account_id == account.id),
            delete(EmailToken).where(EmailToken.account_id == account.id),
            delete(AuthSession).where(AuthSession.account_id == account.id),
            delete(SigninThrottle).where(SigninThrottle.key.in_(
                [f"{prefix}:{email}" for prefix in ("account", "confirm", "reset")]
            )),
        ]
        for statement in statements:
            self.dbsession.execute(statement.execution_options(synchronize_session="fetch"))

    def _make_tombstone(self, account):
        account.email = tombstone_email(account.id)
        account.display_name = ""
        account.password_hash = None
        account.totp_secret = None
        account.totp_enabled_at = None
        account.totp_last_step = None
        account.email_confirmed_at = None
        account.last_signin_at = None
        account.disabled_at = self.clock()
        self.dbsession.flush()

    # Helpers ------------------------------------------------------------------------

    def _account_by_email(self, email):
        return self.dbsession.scalar(select(Account).where(Account.email == email))

    def _new_registrant(self, email, display_name, password_hash, locale):
        """The new account, or None when another request took the address a moment ago."""
        account = Account(email=email, display_name=display_name, kind="registrant",
                          password_hash=password_hash, locale=locale, created_at=self.clock())
        try:
            with self.dbsession.begin_nested():
                self.dbsession.add(account)
        except IntegrityError:
            return None
        return account

    def _count_request(self, keys):
        """Refuse while any key is locked, then count this request on every key."""
        try:
            self.throttle.check(keys)
        except SigninLocked as locked:
            raise RequestsThrottled(locked.minutes) from None
        self.throttle.failure(keys)

    def _issue(self, account, purpose, lifetime) -> str:
        """A new link token for ``account``; its earlier unused ones of ``purpose`` stop working."""
        now = self.clock()
        self.dbsession.execute(
            delete(EmailToken).where(EmailToken.account_id == account.id,
                                     EmailToken.purpose == purpose,
                                     EmailToken.used_at.is_(None))
            .execution_options(synchronize_session="fetch")
        )
        token = secrets.token_urlsafe(32)
        self.dbsession.add(EmailToken(token_hash=hash_token(token), account_id=account.id,
                                      purpose=purpose, created_at=now,
                                      expires_at=now + lifetime))
        self.dbsession.flush()
        return token

    def _claim(self, token, purpose) -> Account:
        """Use a link once and return its account: LinkNotValid unless this request is
        the one that marks it used."""
        link = self.find_link(token, purpose)
        if link is None:
            raise LinkNotValid()
        now = self.clock()
        claimed = self.dbsession.execute(
            update(EmailToken)
            .where(EmailToken.id == link.id, EmailToken.used_at.is_(None),
                   EmailToken.expires_at > now)
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise LinkNotValid()
        self.dbsession.refresh(link, ["used_at"])
        return self.dbsession.get(Account, link.account_id)

    def _mail_confirmation(self, account):
        token = self._issue(account, CONFIRM, timedelta(hours=CONFIRM_HOURS))
        self._mail(account, _("Confirm your email address"), _(
            "Hello ${name},\n\n"
            "Thank you for signing up for Furusato resident registration. Open this link "
            "within ${hours} hours to confirm your email address:\n\n${link}\n\n"
            "If you did not sign up, you can ignore this mail. The account cannot be used "
            "until the address is confirmed.",
            mapping={"name": account.display_name, "hours": CONFIRM_HOURS,
                     "link": self.settings.base_url + confirm_path(token)},
        ))

    def _mail_signup_attempt(self, account):
        """Tell the owner of a known address that someone tried to sign up with it."""
        if account is None or account.disabled_at is not None:
            return
        self._mail(account, _("Someone tried to sign up with your email address"), _(
            "Hello ${name},\n\n"
            "Someone, perhaps you, tried to sign up for Furusato resident registration "
            "with this email address. It already has an account, so no new account was "
            "made.\n\n"
            "If you have forgotten your password, you can set a new one here:\n\n${link}\n\n"
            "If it was not you, you can ignore this mail.",
            mapping={"name": account.display_name,
                     "link": self.settings.base_url + "/password-reset"},
        ))

    def _mail(self, account, subject, text):
        """Queue a mail to ``account`` written in the person's own language."""
        localizer = localizer_for(self.settings, account.locale)
        queue_mail(self.dbsession, self.settings, Mail(
            to=account.email, subject=localizer.translate(subject),
            text=localizer.translate(text),
        ))


def _plain(value):
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def _columns(obj) -> dict:
    return {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in obj.__mapper__.column_attrs
        if attr.key not in SECRET_COLUMNS
    }


def _answer(answer, question) -> dict:
    """An answer with its question's wording and the labels of the chosen options."""
    labels = {choice.get("key"): choice.get("label") for choice in question.choices or []}
    value = answer.value or {}
    chosen = value.get("choices") or ([value["choice"]] if "choice" in value else [])
    return {
        "question": question.label,
        "question_kind": question.kind,
        "value": value,
        "chosen_labels": [labels.get(key, key) for key in chosen],
        "answered_at": _plain(answer.answered_at),
    }
