"""Sign-in (サインイン) and account security, OWASP ASVS 5.0 level 2 as the yardstick.

- Sessions live in the database (V7): random tokens, hashed at rest, idle and
  absolute time-outs, revocable one by one or all at once; a new one at every
  sign-in, and a fresh one again once the second factor is passed.
- Sign-in throttling (V6) is kept in the database too, per account and per client
  address. It fails closed: the check runs before the password and any error in it
  ends the request without signing anybody in.
- The second factor (二段階認証) is TOTP (RFC 6238): 6 digits, 30 s steps, one step of
  clock drift either side, and a step once accepted is never accepted again.

Email addresses are compared lower-cased; wrong email and wrong password give the
same refusal in about the same time, so accounts cannot be discovered.
"""
import hashlib
import math
import secrets
from datetime import timedelta
from typing import NoReturn

import pyotp
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..i18n import _
from ..models import Account, AuthSession, SigninThrottle, Site, StaffMembership
from .audit import Actor, AuditLog
from .errors import Conflict, InvalidInput, NotAllowed, ServiceError
from .passwords import check_new_password, hash_password, needs_rehash, verify_password

TOTP_ISSUER = "ふるさと住民登録"
TOTP_VALID_WINDOW = 1
"""Steps of clock drift accepted either side of now (30 s each)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email) -> str:
    return (email or "").strip().lower()


def account_actor(account, client_addr="") -> Actor:
    """The audit log's view of a person acting on their own account.

    Registrants are named by account id only: the log is append-only, and a
    registrant's name and address must disappear when the account is deleted.
    """
    if account.kind == "registrant":
        label = f"registrant #{account.id}"
    else:
        label = f"{account.display_name} <{account.email}>"
    return Actor(account_id=account.id, label=label, client_addr=client_addr or "")


class SigninFailed(NotAllowed):
    """Wrong email, password or code. The message never says which."""

    def __init__(self, message=None, field=None):
        super().__init__(message or _("The email address or password is not correct."), field)


class EmailNotConfirmed(NotAllowed):
    """A registrant who has not yet opened the confirmation link sent at sign-up."""

    def __init__(self):
        super().__init__(_("Your email address is not confirmed yet. Open the link in the mail "
                           "we sent you, or have the mail sent again."))


class SigninLocked(NotAllowed):
    """Too many failures: refused, even with the right password, until the lock ends."""

    def __init__(self, minutes: int):
        super().__init__(
            _("Too many failed attempts. Please wait ${minutes} minutes and try again.",
              mapping={"minutes": minutes})
        )
        self.minutes = minutes


class SessionService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def start(self, account, client_addr="", second_factor_done=False):
        """Open a new session and return its cookie token (shown once, stored hashed)."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        session = AuthSession(
            token_hash=hash_token(token),
            account_id=account.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=self.settings.session_max_hours),
            second_factor_at=now if second_factor_done else None,
            client_addr=client_addr or "",
        )
        self.dbsession.add(session)
        self.dbsession.flush()
        return token, session

    def find(self, token):
        """The live session for a cookie token, touched; None when unknown, revoked or timed out."""
        if not token:
            return None
        return self.live(self.dbsession.scalar(
            select(AuthSession).where(AuthSession.token_hash == hash_token(token))
        ))

    def live(self, session):
        """``session`` touched when it may still be used; None when missing, revoked or
        timed out. Callers that load the session with other rows in one query (the
        security policy) apply the same rules through here."""
        if session is None or session.revoked_at is not None:
            return None
        now = self.clock()
        idle_limit = session.last_seen_at + timedelta(minutes=self.settings.session_idle_minutes)
        if now >= session.expires_at or now >= idle_limit:
            return None
        if (now - session.last_seen_at) > timedelta(minutes=1):
            session.last_seen_at = now
        return session

    def revoke(self, session):
        if session.revoked_at is None:
            session.revoked_at = self.clock()

    def revoke_all(self, account_id, *, keep=None):
        """Sign out everywhere (but in ``keep``, the session making the change, when given)."""
        criteria = [AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None)]
        if keep is not None:
            criteria.append(AuthSession.id != keep.id)
        self.dbsession.execute(
            update(AuthSession).where(*criteria).values(revoked_at=self.clock())
        )


def throttle_keys(email, client_addr) -> tuple:
    return (f"account:{normalise_email(email)}", f"addr:{client_addr or ''}")


class RequestsThrottled(SigninLocked):
    """Too many sign-ups, mail requests or join applications from one place, or for one
    address."""

    def __init__(self, minutes: int):
        super().__init__(minutes)
        self.message = _("Too many requests. Please wait ${minutes} minutes and try again.",
                         mapping={"minutes": minutes})


class SigninThrottler:
    """Counts failures per key in ``signin_throttles`` and locks a key that has too many.

    ``signin_max_failures`` failures within ``signin_window_minutes`` lock the key for
    ``signin_lockout_minutes``. Rows are read ``FOR UPDATE`` so concurrent failures
    are all counted on PostgreSQL (SQLite has a single writer anyway).
    """

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def check(self, keys):
        """Raise SigninLocked while any of the keys is locked."""
        now = self.clock()
        locked_until = self.dbsession.scalars(
            select(SigninThrottle.locked_until).where(
                SigninThrottle.key.in_(keys), SigninThrottle.locked_until > now
            )
        ).all()
        if locked_until:
            raise SigninLocked(_minutes_until(max(locked_until), now))

    def failure(self, keys) -> bool:
        """Count one failure on every key; True when this failure locked one of them."""
        now = self.clock()
        window = timedelta(minutes=self.settings.signin_window_minutes)
        locked = False
        for row in self._rows(keys, now):
            if (row.locked_until is not None and row.locked_until <= now) or (
                row.locked_until is None and now - row.window_started_at >= window
            ):
                row.failures, row.window_started_at, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= self.settings.signin_max_failures and row.locked_until is None:
                row.locked_until = now + timedelta(minutes=self.settings.signin_lockout_minutes)
                locked = True
        self.dbsession.flush()
        return locked

    def count_request(self, keys):
        """For requests limited by number rather than by failure: refuse while any key is
        locked (RequestsThrottled), then count this request on every key."""
        try:
            self.check(keys)
        except SigninLocked as locked:
            raise RequestsThrottled(locked.minutes) from None
        self.failure(keys)

    def reset(self, key):
        self.dbsession.execute(delete(SigninThrottle).where(SigninThrottle.key == key))

    def _rows(self, keys, now):
        rows = {row.key: row for row in self._locked_rows(keys)}
        missing = [key for key in keys if key not in rows]
        if missing:
            try:
                with self.dbsession.begin_nested():
                    self.dbsession.add_all(
                        SigninThrottle(key=key, failures=0, window_started_at=now)
                        for key in missing
                    )
            except IntegrityError:
                pass  # another request created them first; read theirs below
            rows = {row.key: row for row in self._locked_rows(keys)}
        return list(rows.values())

    def _locked_rows(self, keys):
        return self.dbsession.scalars(
            select(SigninThrottle)
            .where(SigninThrottle.key.in_(keys))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()


def _minutes_until(moment, now) -> int:
    return max(1, math.ceil((moment - now).total_seconds() / 60))


def totp_step(secret, code, now):
    """The time step a 6-digit code belongs to (now ± one step), or None."""
    code = (code or "").strip()
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(
            code, for_time=now, valid_window=TOTP_VALID_WINDOW
        )
    except OTPVerificationError:
        return None


def fresh_totp_step(account, code, now) -> int:
    """The step of a right code not used before on this account; SigninFailed otherwise."""
    step = totp_step(account.totp_secret, code, now)
    if step is None:
        raise SigninFailed(
            _("The code is not correct. Enter the 6-digit code your app shows now."), "code"
        )
    if account.totp_last_step is not None and step <= account.totp_last_step:
        raise SigninFailed(
            _("This code has already been used. Wait for the next code and enter it."), "code"
        )
    return step


class AccountServiceBase:
    """What every service acting on accounts holds: the sign-in sessions, the sign-in
    throttle (ログイン試行の制限) and the audit log."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.sessions = SessionService(dbsession, clock=clock, settings=settings)
        self.throttle = SigninThrottler(dbsession, clock=clock, settings=settings)
        self.audit = AuditLog(dbsession, clock)


class SigninService(AccountServiceBase):
    """Password sign-in, the TOTP step and sign-out, for any account kind."""

    def authenticate(self, email, password, client_addr) -> Account:
        """The account for this email and password, or SigninFailed / SigninLocked."""
        email = normalise_email(email)
        keys = throttle_keys(email, client_addr)
        self.throttle.check(keys)
        account = self.dbsession.scalar(select(Account).where(Account.email == email))
        matched = verify_password(account.password_hash if account else None, password or "")
        if not matched or account.disabled_at is not None:
            self._failed(keys, account, client_addr, "password", SigninFailed())
        if account.kind == "registrant" and account.email_confirmed_at is None:
            raise EmailNotConfirmed()
        self.throttle.reset(keys[0])
        if needs_rehash(account.password_hash):
            account.password_hash = hash_password(password)
        return account

    def open_session(self, account, client_addr, previous_token=None):
        """Start this browser's new session, ending the one it had; returns ``(token, session)``.

        With TOTP on, the session waits for the code (the security policy ignores it
        until then) and the sign-in is recorded only when the code is passed.
        """
        previous = self.sessions.find(previous_token)
        if previous is not None:
            self.sessions.revoke(previous)
        complete = not account.has_totp
        token, auth_session = self.sessions.start(account, client_addr, second_factor_done=complete)
        if complete:
            self._signed_in(account, client_addr, second_factor=False)
        return token, auth_session

    def pending_session(self, token):
        """The session of a browser that passed the password and now owes the TOTP code."""
        auth_session = self.sessions.find(token)
        if auth_session is None or auth_session.second_factor_at is not None:
            return None
        account = auth_session.account
        if account.disabled_at is not None or not account.has_totp:
            return None
        return auth_session

    def pass_second_factor(self, pending, code, client_addr):
        """Check the code and swap the waiting session for a complete one: ``(token, session)``."""
        account = pending.account
        keys = throttle_keys(account.email, client_addr)
        self.throttle.check(keys)
        try:
            step = fresh_totp_step(account, code, self.clock())
        except SigninFailed as error:
            self._failed(keys, account, client_addr, "totp", error)
        account.totp_last_step = step
        self.throttle.reset(keys[0])
        self.sessions.revoke(pending)
        token, auth_session = self.sessions.start(account, client_addr, second_factor_done=True)
        self._signed_in(account, client_addr, second_factor=True)
        return token, auth_session

    def sign_out(self, token, client_addr):
        auth_session = self.sessions.find(token)
        if auth_session is None:
            return
        self.sessions.revoke(auth_session)
        self.audit.record(
            account_actor(auth_session.account, client_addr), "auth.signout",
            target=auth_session.account,
        )

    def _signed_in(self, account, client_addr, *, second_factor):
        account.last_signin_at = self.clock()
        self.audit.record(
            account_actor(account, client_addr), "auth.signin",
            target=account, second_factor=second_factor,
        )

    def _failed(self, keys, account, client_addr, reason, error) -> NoReturn:
        """Count the failure, log it (never what was typed) and raise."""
        locked = self.throttle.failure(keys)
        self.audit.record(
            Actor(account_id=None, label="anonymous", client_addr=client_addr or ""),
            "auth.signin_failed",
            target=account, reason=reason, locked=locked,
        )
        if locked:
            raise SigninLocked(self.settings.signin_lockout_minutes)
        raise error


class AccountSecurityService(AccountServiceBase):
    """What a signed-in person changes on their own account (アカウント設定):
    password, the TOTP second factor, and signing out everywhere."""

    def memberships(self, account) -> list:
        """``(membership, site)`` pairs of this account, by site code."""
        return self.dbsession.execute(
            select(StaffMembership, Site)
            .join(Site, Site.id == StaffMembership.site_id)
            .where(StaffMembership.account_id == account.id)
            .order_by(Site.code)
        ).all()

    @staticmethod
    def sites_withheld_for_totp(account, memberships) -> list:
        """Sites whose staff rights this account lacks until it sets up TOTP."""
        if account.has_totp:
            return []
        return [site for _membership, site in memberships if site.require_totp]

    def change_password(self, actor, account, current, new, *, keep):
        """Replace the password after checking the current one; other sessions end."""

        def check_current():
            if not verify_password(account.password_hash, current or ""):
                raise InvalidInput(_("The current password is not correct."), "current_password")

        self._guarded(account, actor, check_current)
        check_new_password(new, email=account.email, field="new_password")
        account.password_hash = hash_password(new)
        self.sessions.revoke_all(account.id, keep=keep)
        self.audit.record(actor, "account.password_change", target=account)

    def begin_totp(self, actor, account) -> str:
        """Make a new secret, kept aside until a code from it is confirmed."""
        if account.has_totp:
            raise Conflict(_("Two-step sign-in is already on."))
        account.totp_secret = pyotp.random_base32()
        account.totp_last_step = None
        self.dbsession.flush()
        return account.totp_secret

    @staticmethod
    def provisioning_uri(account) -> str:
        return pyotp.TOTP(account.totp_secret).provisioning_uri(
            name=account.email, issuer_name=TOTP_ISSUER
        )

    def enable_totp(self, actor, account, code, *, keep):
        """Turn TOTP on once a code from the new secret matches; other sessions end and
        this one counts as having passed the second factor."""
        if account.has_totp:
            raise Conflict(_("Two-step sign-in is already on."))
        if not account.totp_secret:
            raise NotAllowed(_("Start the set-up again."))
        now = self.clock()
        step = self._guarded(account, actor, lambda: fresh_totp_step(account, code, now))
        account.totp_enabled_at = now
        account.totp_last_step = step
        keep.second_factor_at = now
        self.sessions.revoke_all(account.id, keep=keep)
        self.audit.record(actor, "account.totp_enable", target=account)

    def disable_totp(self, actor, account, code, *, keep):
        """Turn TOTP off; needs a current, unused code."""
        if not account.has_totp:
            raise Conflict(_("Two-step sign-in is not on."))
        self._guarded(account, actor, lambda: fresh_totp_step(account, code, self.clock()))
        account.totp_secret = None
        account.totp_enabled_at = None
        account.totp_last_step = None
        self.sessions.revoke_all(account.id, keep=keep)
        self.audit.record(actor, "account.totp_disable", target=account)

    def sign_out_everywhere(self, actor, account):
        self.sessions.revoke_all(account.id)
        self.audit.record(actor, "account.signout_everywhere", target=account)

    def _guarded(self, account, actor, attempt):
        """Run ``attempt``, which raises on a wrong password or code, under the throttle:
        guesses made from a signed-in session count like sign-in failures."""
        keys = throttle_keys(account.email, actor.client_addr)
        self.throttle.check(keys)
        try:
            return attempt()
        except ServiceError:
            if self.throttle.failure(keys):
                raise SigninLocked(self.settings.signin_lockout_minutes) from None
            raise
