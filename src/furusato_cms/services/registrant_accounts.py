"""Registrant accounts (登録者アカウント): sign-up with a confirmed email address, password
reset by mail, and deleting the account (the person's own data as a download is
services/personal_data.py).

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

- deleted: identity verification and guardian consent, mail links, the card code,
  sign-in sessions, sign-in throttle rows keyed by the email address, answers to free-text
  survey questions, interests, explicit site follows, notification preferences and
  unsubscribe records, the inbox, outbox mails not yet sent (queued, sending or
  failed: they would go to the tombstone address, and a failure may quote the real
  one), the premium slots (the registrations no longer count), imported attendance
  claims attached to the person's attendance (name, date of birth, postal code),
  the files of stay declarations and support applications, and the consultations
  (相談) whole — thread, messages of both sides and attachments: they are one
  conversation about the person and no figure counts them;
- emptied but kept: the note of a stay declaration, the answers to a support
  measure's and a project's own questions, the free-text answers of monitor survey
  responses (choice and scale answers stay, and are counted through
  ``monitor_choices``), and the reason given in a community room report; the
  person's community room posts and thread titles read ``DELETED_POST_TEXT``, so
  the threads others replied in keep their shape;
- cancelled: applications to sessions that have not ended; each place freed goes
  to the first person waiting (``ApplicationService.fill_places``), as when the
  person cancels themselves;
- kept without personal data: the registrations (so each site's count and its
  breakdown by relationship type stay right) — marked left, with a history event —
  the answers to choice and scale questions, attendance, stay days, and premium and
  support applications with their states, amounts, computations and cost lines
  (the accounting record of public money), all attached to the tombstone;
- the account row stays as a tombstone: email ``deleted-<id>@invalid``, no name,
  no password or TOTP secret, sign-in and confirmation times cleared, disabled;
- the audit log (append-only) keeps its entries: they name a registrant by
  account id only (``authentication.account_actor``), never by name or address.
"""
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..i18n import LOCALES, _
from ..models import (
    Account,
    ActivitySession,
    Attendance,
    AuthSession,
    CardCode,
    Consultation,
    ConsultationAttachment,
    ConsultationMessage,
    EmailToken,
    GuardianConsent,
    IdentityVerification,
    InboxMessage,
    MonitorQuestion,
    MonitorResponse,
    NotificationPreference,
    OutboxMail,
    PendingAttendanceClaim,
    PremiumSlot,
    RegistrantInterest,
    Registration,
    RegistrationEvent,
    RoomPost,
    RoomReport,
    RoomThread,
    SessionApplication,
    SigninThrottle,
    SiteFollow,
    StayDeclaration,
    StayDocument,
    SupportApplication,
    SupportReceipt,
    SurveyAnswer,
    SurveyQuestion,
    Unsubscribe,
)
from .authentication import (  # noqa: F401 - RequestsThrottled is part of this API
    AccountServiceBase,
    RequestsThrottled,
    account_actor,
    hash_token,
    normalise_email,
    throttle_keys,
)
from .errors import Conflict, InvalidInput, NotAllowed
from .mail import Mail, localizer_for, queue_mail
from .passwords import check_new_password, hash_password, verify_password
from .session_applications import ApplicationService
from .webhooks import registration_changed

CONFIRM_HOURS = 48
RESET_MINUTES = 60
DISPLAY_NAME_MAX = 100
CONFIRM = "confirm_email"
RESET = "reset_password"
DELETED_POST_TEXT = "（削除されたアカウントの投稿）"
"""What a deleted person's community room posts and thread titles read afterwards."""


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


class RegistrantAccountService(AccountServiceBase):
    # Sign-up and confirmation -------------------------------------------------------

    def sign_up(self, email, display_name, password, locale, client_addr=""):
        """Create an unconfirmed registrant account and mail its confirmation link.

        Returns the new account, or None when the address already had one: that
        owner is told by mail instead, and the caller answers exactly as for a new one.
        """
        email, display_name = self._checked_signup(email, display_name, password, locale,
                                                   client_addr)
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

    def sign_up_confirmed(self, email, display_name, password, locale, client_addr=""):
        """Create a registrant account whose address is already proven (the person came
        by a link mailed to it: an invitation from a member list). Conflict when the
        address has an account (the caller offers signing in instead)."""
        email, display_name = self._checked_signup(email, display_name, password, locale,
                                                   client_addr)
        account = None
        if self._account_by_email(email) is None:
            account = self._new_registrant(email, display_name, hash_password(password), locale)
        if account is None:
            raise Conflict(_("This email address already has an account. Sign in with it."))
        account.email_confirmed_at = self.clock()
        self.audit.record(account_actor(account, client_addr), "account.signup", target=account,
                          confirmed_by="member_invitation")
        return account

    def _checked_signup(self, email, display_name, password, locale, client_addr) -> tuple:
        """The address and name as stored, after the sign-up rules (and its throttle)."""
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
        return email, display_name

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
        pair, _addr, account_key = throttle_keys(account.email, client_addr)
        self.throttle.reset(pair, account_key)
        self.audit.record(account_actor(account, client_addr), "account.password_reset",
                          target=account)
        return account

    # Deleting the account -----------------------------------------------------------

    def delete_account(self, account, password, client_addr=""):
        """Remove the person's data after checking their password (see the module text)."""
        self.throttle.guarded(throttle_keys(account.email, client_addr),
                              lambda: self._check_password(account, password))
        left = self._leave_all(account)
        self._cancel_upcoming_applications(account)
        self._delete_personal_rows(account)
        self._empty_monitor_text_answers(account)
        self._make_tombstone(account)
        self.audit.record(account_actor(account, client_addr), "account.delete",
                          target=account, registrations_left=left)

    @staticmethod
    def _check_password(account, password):
        if not verify_password(account.password_hash, password or ""):
            raise InvalidInput(_("The password is not correct."), "password")

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
            registration_changed(self.dbsession, "left", now, active, reason="account_deleted")
        return len(active)

    def _cancel_upcoming_applications(self, account):
        """Cancel the person's applications to sessions that have not ended, and give
        each freed place to the first person waiting. The sessions with a freed place
        are locked first (as ``ApplicationService.cancel`` does), then one UPDATE
        cancels, then the waiting list of each of those sessions moves up."""
        now = self.clock()
        upcoming = (
            SessionApplication.account_id == account.id,
            SessionApplication.state.in_(("applied", "waitlisted")),
            SessionApplication.session_id.in_(
                select(ActivitySession.id).where(ActivitySession.ends_at > now)
            ),
        )
        freed = self.dbsession.scalars(
            select(ActivitySession)
            .where(ActivitySession.id.in_(
                select(SessionApplication.session_id)
                .where(*upcoming, SessionApplication.state == "applied")
            ))
            .order_by(ActivitySession.id)
            .with_for_update()
        ).all()
        self.dbsession.execute(
            update(SessionApplication).where(*upcoming)
            .values(state="cancelled", updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
        applications = ApplicationService(self.dbsession, clock=self.clock,
                                          settings=self.settings)
        for session in freed:
            applications.fill_places(session)

    def _delete_personal_rows(self, account):
        for statement in self._personal_statements(account):
            self.dbsession.execute(statement.execution_options(synchronize_session="fetch"))

    @staticmethod
    def _personal_statements(account) -> list:
        """The set-based DELETE and UPDATE statements of the policy in the module text,
        children before the rows they belong to."""
        mine = account.id
        registrations = select(Registration.id).where(Registration.account_id == mine)
        verifications = select(IdentityVerification.id).where(
            IdentityVerification.account_id == mine
        )
        text_questions = select(SurveyQuestion.id).where(SurveyQuestion.kind == "text")
        consultations = select(Consultation.id).where(Consultation.registrant_id == mine)
        messages = select(ConsultationMessage.id).where(
            ConsultationMessage.consultation_id.in_(consultations)
        )
        declarations = select(StayDeclaration.id).where(StayDeclaration.account_id == mine)
        support = select(SupportApplication.id).where(SupportApplication.account_id == mine)
        attendances = select(Attendance.id).where(Attendance.account_id == mine)
        email = normalise_email(account.email)
        return [
            delete(SurveyAnswer).where(SurveyAnswer.registration_id.in_(registrations),
                                       SurveyAnswer.question_id.in_(text_questions)),
            delete(GuardianConsent).where(GuardianConsent.verification_id.in_(verifications)),
            delete(IdentityVerification).where(IdentityVerification.account_id == mine),
            delete(EmailToken).where(EmailToken.account_id == mine),
            delete(CardCode).where(CardCode.account_id == mine),
            delete(AuthSession).where(AuthSession.account_id == mine),
            delete(SigninThrottle).where(SigninThrottle.key.in_(
                [f"{prefix}:{email}" for prefix in ("account", "confirm", "reset")]
            )),
            delete(ConsultationAttachment).where(ConsultationAttachment.message_id.in_(messages)),
            delete(ConsultationMessage).where(
                ConsultationMessage.consultation_id.in_(consultations)
            ),
            delete(Consultation).where(Consultation.registrant_id == mine),
            delete(StayDocument).where(StayDocument.declaration_id.in_(declarations)),
            update(StayDeclaration).where(StayDeclaration.account_id == mine).values(note=""),
            delete(SupportReceipt).where(SupportReceipt.application_id.in_(support)),
            update(SupportApplication).where(SupportApplication.account_id == mine)
            .values(answers={}),
            update(SessionApplication).where(SessionApplication.account_id == mine)
            .values(answers={}),
            update(RoomThread).where(RoomThread.author_id == mine)
            .values(title=DELETED_POST_TEXT),
            update(RoomPost).where(RoomPost.author_id == mine).values(body=DELETED_POST_TEXT),
            update(RoomReport).where(RoomReport.reporter_id == mine).values(reason=""),
            delete(PendingAttendanceClaim).where(
                PendingAttendanceClaim.attendance_id.in_(attendances)
            ),
            delete(PremiumSlot).where(PremiumSlot.account_id == mine),
            delete(RegistrantInterest).where(RegistrantInterest.account_id == mine),
            delete(SiteFollow).where(SiteFollow.account_id == mine),
            delete(NotificationPreference).where(NotificationPreference.account_id == mine),
            delete(Unsubscribe).where(Unsubscribe.account_id == mine),
            delete(InboxMessage).where(InboxMessage.account_id == mine),
            delete(OutboxMail).where(OutboxMail.account_id == mine, OutboxMail.state != "sent"),
        ]

    def _empty_monitor_text_answers(self, account):
        """Drop the free-text answers from the person's monitor survey responses and keep
        the choice and scale ones. JSON cannot be edited the same way on every database,
        so the new answers are made here and written by one executemany UPDATE."""
        text_questions = {
            str(question_id) for question_id in self.dbsession.scalars(
                select(MonitorQuestion.id).where(
                    MonitorQuestion.kind == "text",
                    MonitorQuestion.survey_id.in_(
                        select(MonitorResponse.survey_id)
                        .where(MonitorResponse.account_id == account.id)
                    ),
                )
            )
        }
        responses = self.dbsession.execute(
            select(MonitorResponse.id, MonitorResponse.answers)
            .where(MonitorResponse.account_id == account.id)
        ).all()
        emptied = [
            {"id": response_id,
             "answers": {k: v for k, v in (answers or {}).items() if k not in text_questions}}
            for response_id, answers in responses
            if text_questions & set(answers or {})
        ]
        if emptied:
            self.dbsession.execute(update(MonitorResponse), emptied)

    def _make_tombstone(self, account):
        account.email = tombstone_email(account.id)
        account.display_name = ""
        account.password_hash = None
        account.totp_secret = None
        account.totp_enabled_at = None
        account.totp_last_step = None
        account.email_confirmed_at = None
        account.last_signin_at = None
        account.declared_home_code = None
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
        self.throttle.count_request(keys)

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
