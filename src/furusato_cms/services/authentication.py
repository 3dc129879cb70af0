"""Sign-in (ログイン) and account security, OWASP ASVS 5.0 level 2 as the yardstick.

- Sessions live in the database (V7): random tokens, hashed at rest, idle and
  absolute time-outs, revocable one by one or all at once; a new one at every
  sign-in, and a fresh one again once the second factor is passed.
- Sign-in throttling (V6) is kept in the database too: each try is counted atomically
  before the password or code is checked, per account from one address, per address
  and per account (see SigninThrottler). It fails closed: any error in it ends the
  request without signing anybody in.
- The second factor (二段階認証) is TOTP (RFC 6238): 6 digits, 30 s steps, one step of
  clock drift either side, and a step once accepted is never accepted again. It is
  required of every staff account and the operator (no site can turn it off): until
  they enrol they hold no staff rights and are sent to enrol. Ten one-time recovery
  codes, shown once and stored hashed, stand in for a lost phone.

Email addresses are compared lower-cased; wrong email and wrong password give the
same refusal in about the same time, so accounts cannot be discovered.
"""
import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

import pyotp
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ..i18n import _
from ..models import Account, AuthSession, RecoveryCode, SigninThrottle, Site, StaffMembership
from ..models.meta import UTCDateTime
from .audit import Actor, AuditLog
from .errors import Conflict, InvalidInput, NotAllowed, ServiceError
from .passwords import check_new_password, hash_password, needs_rehash, verify_password

TOTP_ISSUER = "ふるさと住民登録"
TOTP_VALID_WINDOW = 1
"""Steps of clock drift accepted either side of now (30 s each)."""
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""Lower-case letters and digits without look-alikes (i, l, o, 0, 1): 10 of them carry
about 49 bits, and a code is tried under the sign-in throttle."""


def second_factor_required(account, holds_staff_role=None) -> bool:
    """Staff accounts, the operator and any account on a site's staff (a registrant
    who accepted an invitation) must use two-step sign-in; registrants may.
    ``holds_staff_role`` saves a query when the caller knows the memberships."""
    if account.kind == "staff" or account.is_operator:
        return True
    return bool(account.memberships) if holds_staff_role is None else holds_staff_role


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
    """The keys one sign-in try counts on: this account from this address, the
    address, and the account from anywhere (see SigninThrottler for their limits)."""
    email, addr = normalise_email(email), client_addr or ""
    return (f"account:{email}|addr:{addr}", f"addr:{addr}", f"account:{email}")


class RequestsThrottled(SigninLocked):
    """Too many sign-ups, mail requests or join applications from one place, or for one
    address."""

    def __init__(self, minutes: int):
        super().__init__(minutes)
        self.message = _("Too many requests. Please wait ${minutes} minutes and try again.",
                         mapping={"minutes": minutes})


@dataclass(frozen=True)
class Attempt:
    """One reserved try: the keys it was counted on with their limits, and whether it was
    the last try one of them allows (a failure then locks)."""

    keys: tuple
    last: bool


class SigninThrottler:
    """Counts tries per key in ``signin_throttles`` (ログイン試行の制限) and locks a key
    that has too many within ``signin_window_minutes``, for ``signin_lockout_minutes``.

    A try is counted *before* the password or code is checked, by one
    ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per key (both databases): the
    statement locks the key's row until the transaction ends, so parallel guesses are
    counted one after the other and no more than the limit ever reach the check. A
    success gives its try back. The price: on PostgreSQL, sign-ins from one address
    (or to one account) wait for each other, one password check (~50 ms) each.

    Sign-in tries count on three keys, so one office behind a NAT cannot lock its
    colleagues out:

    - this account *from this address* — ``signin_max_failures`` (5): the guesser is
      locked out of the account, everybody else is not;
    - the address, whatever the account — ``signin_max_failures_per_address`` (30):
      one address trying many accounts is stopped, while a colleague behind the same
      address still signs in to their own account below that number;
    - the account, from anywhere — ``signin_max_failures_per_account`` (30): guessing
      one password from many addresses is bounded too.

    Keys are counted in sorted order, so two requests never wait on each other crosswise.
    """

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def limits(self, keys) -> tuple:
        """``(key, limit)`` for the three keys of ``throttle_keys``."""
        pair, addr, account = keys
        return ((pair, self.settings.signin_max_failures),
                (addr, self.settings.signin_max_failures_per_address),
                (account, self.settings.signin_max_failures_per_account))

    def begin(self, keys) -> Attempt:
        """Count one try on every key; SigninLocked (nothing else done) when any is over."""
        limited = self.limits(keys)
        counts = self._count(limited)
        return Attempt(keys=limited,
                       last=any(counts[key] >= limit for key, limit in limited))

    def succeeded(self, attempt: Attempt):
        """The try was right: this account's key from this address starts again, the
        others get the try back (only failures stay counted)."""
        (pair, _limit), *others = attempt.keys
        self.reset(pair)
        for key, limit in others:
            self.dbsession.execute(
                update(SigninThrottle).where(SigninThrottle.key == key,
                                             SigninThrottle.failures > 0)
                .values(failures=SigninThrottle.failures - 1,
                        locked_until=case((SigninThrottle.failures - 1 < limit, None),
                                          else_=SigninThrottle.locked_until))
            )

    def guarded(self, keys, check):
        """Run ``check`` (which raises a ServiceError when the password or code is wrong)
        as one counted try; a wrong last try raises SigninLocked instead."""
        attempt = self.begin(keys)
        try:
            result = check()
        except ServiceError:
            if attempt.last:
                raise SigninLocked(self.settings.signin_lockout_minutes) from None
            raise
        self.succeeded(attempt)
        return result

    def count_request(self, keys):
        """For requests limited by number rather than by failure: count this request on
        every key (``signin_max_failures`` each) and refuse (RequestsThrottled) over it."""
        try:
            self._count([(key, self.settings.signin_max_failures) for key in keys])
        except SigninLocked as locked:
            raise RequestsThrottled(locked.minutes) from None

    def reset(self, *keys):
        self.dbsession.execute(delete(SigninThrottle).where(SigninThrottle.key.in_(keys)))

    def _count(self, limited) -> dict:
        """One more on each key, atomically; the counts, or SigninLocked when one is over."""
        now = self.clock()
        counts, refused_until = {}, []
        for key, limit in sorted(limited):
            failures, locked_until = self.dbsession.execute(
                COUNT_STATEMENTS[self.dbsession.bind.dialect.name],
                {"key": key, "now": now, "limit": limit,
                 "window_start": now - timedelta(minutes=self.settings.signin_window_minutes),
                 "lock_end": now + timedelta(minutes=self.settings.signin_lockout_minutes)},
            ).one()
            counts[key] = failures
            if failures > limit:
                refused_until.append(locked_until or now)
        if refused_until:
            raise SigninLocked(_minutes_until(max(refused_until), now))
        return counts


def _build_count_statement(dialect):
    """``INSERT … ON CONFLICT (key) DO UPDATE … RETURNING failures, locked_until``: a
    new window when the last one or its lock is over, else one more; the lock starts
    with the try that reaches the limit."""
    table = SigninThrottle.__table__
    now = bindparam("now", type_=UTCDateTime())
    lock_end = bindparam("lock_end", type_=UTCDateTime())
    limit = bindparam("limit", type_=Integer())
    over = or_(and_(table.c.locked_until.is_not(None), table.c.locked_until <= now),
               and_(table.c.locked_until.is_(None),
                    table.c.window_started_at <= bindparam("window_start",
                                                           type_=UTCDateTime())))
    first_lock = case((literal(1) >= limit, lock_end), else_=null())
    statement = dialect.insert(table).values(
        key=bindparam("key"), failures=1, window_started_at=now, locked_until=first_lock)
    return statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((over, 1), else_=table.c.failures + 1),
            "window_started_at": case((over, now), else_=table.c.window_started_at),
            "locked_until": case(
                (over, first_lock),
                (and_(table.c.locked_until.is_(None), table.c.failures + 1 >= limit), lock_end),
                else_=table.c.locked_until),
        },
    ).returning(table.c.failures, table.c.locked_until)


COUNT_STATEMENTS = {"postgresql": _build_count_statement(postgresql),
                    "sqlite": _build_count_statement(sqlite)}
"""The counting upsert of each supported database, built once."""


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
        raise _code_used()
    return step


def _code_used():
    return SigninFailed(
        _("This code has already been used. Wait for the next code and enter it."), "code"
    )


def claim_totp_step(dbsession, account, code, now) -> int:
    """Check the code and mark its step used in one conditional UPDATE, so of several
    requests sending the same fresh code at once exactly one wins (the others find the
    step taken once the winner commits); SigninFailed otherwise."""
    step = fresh_totp_step(account, code, now)
    claimed = dbsession.execute(
        update(Account)
        .where(Account.id == account.id,
               or_(Account.totp_last_step.is_(None), Account.totp_last_step < step))
        .values(totp_last_step=step)
    ).rowcount
    if claimed != 1:
        raise _code_used()
    return step


def _recovery_hash(code) -> str:
    """People type codes with or without the hyphen, in either case."""
    return hash_token("".join(ch for ch in (code or "").lower() if ch.isalnum()))


class RecoveryCodes:
    """One-time recovery codes (リカバリーコード), hashed like tokens, each used once."""

    def __init__(self, dbsession, clock):
        self.dbsession = dbsession
        self.clock = clock

    def issue(self, account) -> list:
        """Ten new codes, replacing any earlier ones; the plain codes exist only here."""
        self.dbsession.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
        codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
                 for _ in range(RECOVERY_CODES)]
        now = self.clock()
        self.dbsession.add_all(
            RecoveryCode(account_id=account.id, code_hash=_recovery_hash(code), created_at=now)
            for code in codes)
        self.dbsession.flush()
        return [f"{code[:5]}-{code[5:]}" for code in codes]

    def use(self, account, code):
        """Spend one code by a conditional UPDATE (used_at still empty), so a code sent
        twice at once is accepted once; SigninFailed when unknown or spent."""
        spent = self.dbsession.execute(
            update(RecoveryCode)
            .where(RecoveryCode.account_id == account.id,
                   RecoveryCode.code_hash == _recovery_hash(code),
                   RecoveryCode.used_at.is_(None))
            .values(used_at=self.clock())
        ).rowcount
        if spent != 1:
            raise SigninFailed(
                _("This recovery code is not valid or has been used already."), "code")

    def remaining(self, account) -> int:
        return self.dbsession.scalar(
            select(func.count()).select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None)))

    def forget(self, account):
        self.dbsession.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))


def is_totp_code(code) -> bool:
    return len(code or "") == 6 and code.isdigit()


class AccountServiceBase:
    """What every service acting on accounts holds: the sign-in sessions, the sign-in
    throttle (ログイン試行の制限) and the audit log."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.sessions = SessionService(dbsession, clock=clock, settings=settings)
        self.throttle = SigninThrottler(dbsession, clock=clock, settings=settings)
        self.recovery = RecoveryCodes(dbsession, clock)
        self.audit = AuditLog(dbsession, clock)


class SigninService(AccountServiceBase):
    """Password sign-in, the TOTP step and sign-out, for any account kind."""

    def authenticate(self, email, password, client_addr) -> Account:
        """The account for this email and password, or SigninFailed / SigninLocked."""
        email = normalise_email(email)
        attempt = self.throttle.begin(throttle_keys(email, client_addr))
        account = self.dbsession.scalar(select(Account).where(Account.email == email))
        matched = verify_password(account.password_hash if account else None, password or "")
        if not matched or account.disabled_at is not None:
            self._failed(attempt, account, client_addr, "password", SigninFailed())
        self.throttle.succeeded(attempt)
        if account.kind == "registrant" and account.email_confirmed_at is None:
            raise EmailNotConfirmed()
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
        """Check the code from the app, or a recovery code, and swap the waiting session
        for a complete one: ``(token, session)``."""
        account = pending.account
        attempt = self.throttle.begin(throttle_keys(account.email, client_addr))
        kind = "totp" if is_totp_code(code) else "recovery_code"
        try:
            if kind == "totp":
                claim_totp_step(self.dbsession, account, code, self.clock())
            else:
                self.recovery.use(account, code)
        except SigninFailed as error:
            self._failed(attempt, account, client_addr, kind, error)
        self.throttle.succeeded(attempt)
        self.sessions.revoke(pending)
        token, auth_session = self.sessions.start(account, client_addr, second_factor_done=True)
        self._signed_in(account, client_addr, second_factor=kind)
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

    def _failed(self, attempt, account, client_addr, reason, error) -> NoReturn:
        """Log the counted failure (never what was typed) and raise."""
        locked = attempt.last
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

    def enable_totp(self, actor, account, code, *, keep) -> list:
        """Turn TOTP on once a code from the new secret matches; other sessions end and
        this one counts as having passed the second factor. Returns the ten recovery
        codes, to be shown once."""
        if account.has_totp:
            raise Conflict(_("Two-step sign-in is already on."))
        if not account.totp_secret:
            raise NotAllowed(_("Start the set-up again."))
        now = self.clock()
        self._guarded(account, actor, lambda: claim_totp_step(self.dbsession, account, code, now))
        account.totp_enabled_at = now
        keep.second_factor_at = now
        self.sessions.revoke_all(account.id, keep=keep)
        self.audit.record(actor, "account.totp_enable", target=account)
        return self.recovery.issue(account)

    def recovery_codes_left(self, account) -> int:
        return self.recovery.remaining(account)

    def regenerate_recovery_codes(self, actor, account, code) -> list:
        """Ten new recovery codes in place of the old ones; needs a current, unused code."""
        if not account.has_totp:
            raise Conflict(_("Two-step sign-in is not on."))
        self._guarded(account, actor,
                      lambda: claim_totp_step(self.dbsession, account, code, self.clock()))
        self.audit.record(actor, "account.recovery_codes_regenerate", target=account)
        return self.recovery.issue(account)

    def disable_totp(self, actor, account, code, *, keep):
        """Turn TOTP off; needs a current, unused code. Staff and the operator may do it
        only to move to a new phone: they hold no staff rights until they enrol again."""
        if not account.has_totp:
            raise Conflict(_("Two-step sign-in is not on."))
        self._guarded(account, actor,
                      lambda: claim_totp_step(self.dbsession, account, code, self.clock()))
        account.totp_secret = None
        account.totp_enabled_at = None
        account.totp_last_step = None
        self.recovery.forget(account)
        self.sessions.revoke_all(account.id, keep=keep)
        self.audit.record(actor, "account.totp_disable", target=account)

    def sign_out_everywhere(self, actor, account):
        self.sessions.revoke_all(account.id)
        self.audit.record(actor, "account.signout_everywhere", target=account)

    def _guarded(self, account, actor, attempt):
        """Run ``attempt``, which raises on a wrong password or code, under the throttle:
        guesses made from a signed-in session count like sign-in failures."""
        return self.throttle.guarded(throttle_keys(account.email, actor.client_addr), attempt)
