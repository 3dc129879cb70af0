"""Sign-in rules without HTTP: passwords, throttling with the clock, TOTP, sessions."""
import re
from datetime import timedelta

import pytest
from pyramid.testing import DummyRequest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from furusato_cms.models import (
    Account,
    AuditEntry,
    AuthSession,
    RecoveryCode,
    SigninThrottle,
    StaffMembership,
)
from furusato_cms.security import AUTH_COOKIE, FurusatoSecurityPolicy
from furusato_cms.services import authentication
from furusato_cms.services.authentication import (
    AccountSecurityService,
    SessionService,
    SigninFailed,
    SigninLocked,
    SigninService,
    SigninThrottler,
)
from furusato_cms.services.audit import Actor
from furusato_cms.services.errors import Conflict, InvalidInput
from furusato_cms.services.passwords import hash_password, verify_password

from ..auth_factories import TOTP_SECRET, make_totp_account, totp_code
from ..factories import MATSUMOTO, PASSWORD, make_account, make_site, make_staff
from ..statements import statements_during

ADDR = "192.0.2.10"


@pytest.fixture
def signin(dbsession, clock, app_settings):
    return SigninService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def security(dbsession, clock, app_settings):
    return AccountSecurityService(dbsession, clock=clock, settings=app_settings)


def fail(signin, email, addr=ADDR, times=1):
    for _ in range(times):
        with pytest.raises((SigninFailed, SigninLocked)):
            signin.authenticate(email, "wrong password!", addr)


def audit_actions(dbsession):
    return [e.action for e in dbsession.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# Passwords ------------------------------------------------------------------

def test_argon2id_parameters_meet_asvs_minimum():
    encoded = hash_password("a long enough password")
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", encoded)
    assert match, encoded
    memory, time_cost, parallelism = map(int, match.groups())
    assert memory >= 19456 and time_cost >= 2 and parallelism >= 1
    assert verify_password(encoded, "a long enough password")
    assert not verify_password(encoded, "another password")


# Password sign-in -----------------------------------------------------------

def test_right_password_returns_the_account_whatever_the_case_of_the_email(signin, dbsession):
    account = make_account(dbsession, "hanako@example.jp")
    assert signin.authenticate(" Hanako@Example.JP", PASSWORD, ADDR) is account


def test_wrong_password_and_unknown_email_are_refused_alike(signin, dbsession):
    make_account(dbsession, "hanako@example.jp")
    with pytest.raises(SigninFailed) as wrong_password:
        signin.authenticate("hanako@example.jp", "not the password", ADDR)
    with pytest.raises(SigninFailed) as unknown:
        signin.authenticate("nobody@example.jp", PASSWORD, ADDR)
    assert wrong_password.value.message == unknown.value.message
    assert wrong_password.value.field is None and unknown.value.field is None


def test_unknown_email_still_costs_a_password_hash(signin, monkeypatch):
    """The dummy-hash verification keeps an unknown account as slow as a known one."""
    calls = []

    def spy(password_hash, password):
        calls.append(password_hash)
        return verify_password(password_hash, password)

    monkeypatch.setattr(authentication, "verify_password", spy)
    with pytest.raises(SigninFailed):
        signin.authenticate("nobody@example.jp", PASSWORD, ADDR)
    assert calls == [None]


def test_disabled_account_cannot_sign_in(signin, dbsession, clock):
    make_account(dbsession, "gone@example.jp", disabled_at=clock())
    with pytest.raises(SigninFailed):
        signin.authenticate("gone@example.jp", PASSWORD, ADDR)


def test_failures_are_audited_without_what_was_typed(signin, dbsession):
    account = make_account(dbsession)
    fail(signin, account.email)
    entry = dbsession.scalars(select(AuditEntry)).one()
    assert entry.action == "auth.signin_failed"
    assert entry.target_id == str(account.id) and entry.client_addr == ADDR
    assert "wrong password" not in repr(entry.detail)


# Throttling -----------------------------------------------------------------

def test_lock_out_after_max_failures_refuses_even_the_right_password(signin, dbsession, clock,
                                                                       app_settings):
    account = make_account(dbsession)
    fail(signin, account.email, times=app_settings.signin_max_failures - 1)
    with pytest.raises(SigninLocked) as locked:
        signin.authenticate(account.email, "still wrong", ADDR)
    assert locked.value.minutes == app_settings.signin_lockout_minutes
    clock.advance(timedelta(minutes=5))
    with pytest.raises(SigninLocked) as still_locked:
        signin.authenticate(account.email, PASSWORD, ADDR)
    assert still_locked.value.minutes == app_settings.signin_lockout_minutes - 5
    assert "${minutes}" in still_locked.value.message
    assert still_locked.value.message.mapping["minutes"] == still_locked.value.minutes


def test_lock_ends_after_the_lockout_time(signin, dbsession, clock, app_settings):
    account = make_account(dbsession)
    fail(signin, account.email, times=app_settings.signin_max_failures)
    clock.advance(timedelta(minutes=app_settings.signin_lockout_minutes))
    assert signin.authenticate(account.email, PASSWORD, "198.51.100.1") is account
    assert signin.authenticate(account.email, PASSWORD, ADDR) is account


def test_failures_spread_beyond_the_window_do_not_lock(signin, dbsession, clock, app_settings):
    account = make_account(dbsession)
    fail(signin, account.email, times=app_settings.signin_max_failures - 1)
    clock.advance(timedelta(minutes=app_settings.signin_window_minutes))
    fail(signin, account.email, times=app_settings.signin_max_failures - 1)
    assert signin.authenticate(account.email, PASSWORD, ADDR) is account


def test_success_clears_this_address_key_and_gives_the_try_back(signin, dbsession, app_settings):
    account = make_account(dbsession)
    n = app_settings.signin_max_failures
    fail(signin, account.email, times=n - 1)
    signin.authenticate(account.email, PASSWORD, ADDR)
    assert dbsession.get(SigninThrottle, f"account:{account.email}|addr:{ADDR}") is None
    assert dbsession.get(SigninThrottle, f"addr:{ADDR}").failures == n - 1
    assert dbsession.get(SigninThrottle, f"account:{account.email}").failures == n - 1
    fail(signin, account.email, times=n - 1)
    assert signin.authenticate(account.email, PASSWORD, ADDR) is account


def test_failures_on_one_account_lock_it_from_that_address_only(signin, dbsession,
                                                                 app_settings):
    """The office behind one NAT: a colleague's mistakes do not lock anybody else out."""
    account, colleague = make_account(dbsession), make_account(dbsession, "b@example.jp")
    fail(signin, account.email, times=app_settings.signin_max_failures)
    with pytest.raises(SigninLocked):
        signin.authenticate(account.email, PASSWORD, ADDR)
    assert signin.authenticate(colleague.email, PASSWORD, ADDR) is colleague
    assert signin.authenticate(account.email, PASSWORD, "198.51.100.7") is account


def test_one_address_trying_many_accounts_is_locked(signin, dbsession, app_settings):
    account = make_account(dbsession)
    per_account = app_settings.signin_max_failures - 1
    for i in range(app_settings.signin_max_failures_per_address // per_account + 1):
        fail(signin, f"guess{i}@example.jp", times=per_account)
    with pytest.raises(SigninLocked):
        signin.authenticate(account.email, PASSWORD, ADDR)
    assert signin.authenticate(account.email, PASSWORD, "198.51.100.7") is account


def test_one_account_guessed_from_many_addresses_is_locked(signin, dbsession, app_settings):
    account = make_account(dbsession)
    per_address = app_settings.signin_max_failures - 1
    for i in range(app_settings.signin_max_failures_per_account // per_address + 1):
        fail(signin, account.email, f"198.51.100.{i}", times=per_address)
    with pytest.raises(SigninLocked):
        signin.authenticate(account.email, PASSWORD, "203.0.113.1")


def test_throttle_fails_closed(signin, dbsession, monkeypatch):
    """If the throttle cannot be read, nobody is signed in: the error is not swallowed."""
    account = make_account(dbsession)

    def broken(self, limited):
        raise OperationalError("INSERT", {}, Exception("database unavailable"))

    monkeypatch.setattr(SigninThrottler, "_count", broken)
    with pytest.raises(OperationalError):
        signin.authenticate(account.email, PASSWORD, ADDR)


# Sessions -------------------------------------------------------------------

def test_open_session_revokes_the_browsers_previous_session(signin, dbsession, clock):
    account = make_account(dbsession, enrolled=False)
    first, first_session = signin.open_session(account, ADDR)
    second, second_session = signin.open_session(account, ADDR, previous_token=first)
    sessions = SessionService(dbsession, clock=clock, settings=signin.settings)
    assert first != second
    assert sessions.find(first) is None and sessions.find(second) is second_session
    assert account.last_signin_at == clock()
    assert audit_actions(dbsession) == ["auth.signin", "auth.signin"]


def test_sign_out_revokes_and_audits(signin, dbsession):
    account = make_account(dbsession)
    token, auth_session = signin.open_session(account, ADDR)
    signin.sign_out(token, ADDR)
    assert auth_session.revoked_at is not None
    assert signin.sessions.find(token) is None
    assert audit_actions(dbsession)[-1] == "auth.signout"


def identity_for(dbsession, clock, settings, token):
    """What the security policy makes of a browser holding ``token`` now."""
    request = DummyRequest(cookies={AUTH_COOKIE: token})
    request.dbsession, request.clock = dbsession, clock
    return FurusatoSecurityPolicy(settings).identity(request)


def test_the_policy_reads_session_account_and_memberships_in_one_query(dbsession, clock,
                                                                      app_settings):
    first, second = make_site(dbsession, MATSUMOTO), make_site(dbsession)
    account = make_staff(dbsession, first, "editor")
    dbsession.add(StaffMembership(site_id=second.id, account_id=account.id, role="editor",
                                  created_at=clock()))
    sessions = SessionService(dbsession, clock=clock, settings=app_settings)
    token, _session = sessions.start(account, ADDR, second_factor_done=True)
    dbsession.flush()
    found = []
    statements = statements_during(dbsession.connection(), lambda: found.append(
        identity_for(dbsession, clock, app_settings, token)))
    assert len(statements) == 1
    assert found[0].account is account and not found[0].must_enrol
    assert sorted(m.site_id for m in found[0].memberships) == sorted([first.id, second.id])
    unenrolled = make_staff(dbsession, first, "coordinator", enrolled=False)
    token, _session = sessions.start(unenrolled, ADDR, second_factor_done=True)
    identity = identity_for(dbsession, clock, app_settings, token)
    assert identity.must_enrol and identity.memberships == []  # staff rights wait for TOTP
    visitor = make_account(dbsession, "visitor@example.jp")
    token, _session = SessionService(dbsession, clock=clock, settings=app_settings).start(
        visitor, ADDR, second_factor_done=True)
    assert identity_for(dbsession, clock, app_settings, token).memberships == []


def test_a_registrant_on_a_sites_staff_must_enrol_too(dbsession, clock, app_settings):
    """An invitation accepted with a registrant account makes it staff in all but kind."""
    site = make_site(dbsession)
    person = make_account(dbsession, "person@example.jp", kind="registrant")
    assert not authentication.second_factor_required(person)
    dbsession.add(StaffMembership(site_id=site.id, account_id=person.id, role="editor",
                                  created_at=clock()))
    dbsession.flush()
    dbsession.expire(person, ["memberships"])
    assert authentication.second_factor_required(person)
    token, _session = SessionService(dbsession, clock=clock, settings=app_settings).start(
        person, ADDR, second_factor_done=True)
    identity = identity_for(dbsession, clock, app_settings, token)
    assert identity.must_enrol and identity.memberships == []


def test_the_policy_refuses_ended_sessions_disabled_accounts_and_a_missing_code(
        dbsession, clock, app_settings):
    sessions = SessionService(dbsession, clock=clock, settings=app_settings)
    account = make_account(dbsession)
    revoked, idle, disabled = (sessions.start(account, ADDR, second_factor_done=True)
                               for _ in range(3))
    sessions.revoke(revoked[1])
    idle[1].last_seen_at -= timedelta(minutes=app_settings.session_idle_minutes)
    waiting = sessions.start(make_totp_account(dbsession, clock), ADDR)
    dbsession.flush()
    for token, _session in (revoked, idle, waiting):
        assert identity_for(dbsession, clock, app_settings, token) is None
    assert identity_for(dbsession, clock, app_settings, disabled[0]) is not None
    account.disabled_at = clock()
    dbsession.flush()
    assert identity_for(dbsession, clock, app_settings, disabled[0]) is None


# TOTP -----------------------------------------------------------------------

def test_totp_account_session_waits_for_the_code(signin, dbsession, clock):
    account = make_totp_account(dbsession, clock)
    token, pending = signin.open_session(account, ADDR)
    assert pending.second_factor_at is None and account.last_signin_at is None
    assert signin.pending_session(token) is pending
    new_token, complete = signin.pass_second_factor(pending, totp_code(clock), ADDR)
    assert new_token != token and complete.second_factor_at == clock()
    assert pending.revoked_at is not None
    assert account.last_signin_at == clock()
    assert signin.pending_session(new_token) is None


def test_totp_accepts_one_step_of_drift_and_no_more(signin, dbsession, clock):
    account = make_totp_account(dbsession, clock)
    _token, pending = signin.open_session(account, ADDR)
    with pytest.raises(SigninFailed):
        signin.pass_second_factor(pending, totp_code(clock, steps=-2), ADDR)
    signin.pass_second_factor(pending, totp_code(clock, steps=-1), ADDR)


def test_totp_code_cannot_be_replayed(signin, dbsession, clock):
    account = make_totp_account(dbsession, clock)
    code = totp_code(clock)
    _token, pending = signin.open_session(account, ADDR)
    signin.pass_second_factor(pending, code, ADDR)
    _token, again = signin.open_session(account, ADDR)
    with pytest.raises(SigninFailed) as replay:
        signin.pass_second_factor(again, code, ADDR)
    assert replay.value.field == "code"
    clock.advance(timedelta(seconds=30))
    signin.pass_second_factor(again, totp_code(clock), ADDR)


def test_a_code_used_by_another_request_meanwhile_is_refused(signin, dbsession, clock):
    """The step is claimed by the database, not by what this request read earlier: another
    request that used the code after this one loaded the account still wins alone."""
    account = make_totp_account(dbsession, clock)
    _token, pending = signin.open_session(account, ADDR)
    code = totp_code(clock)
    used_elsewhere = authentication.totp_step(TOTP_SECRET, code, clock())
    dbsession.execute(update(Account.__table__).where(Account.__table__.c.id == account.id)
                      .values(totp_last_step=used_elsewhere))
    with pytest.raises(SigninFailed) as reused:
        signin.pass_second_factor(pending, code, ADDR)
    assert reused.value.field == "code"


def test_totp_failures_count_toward_the_lock(signin, dbsession, clock, app_settings):
    account = make_totp_account(dbsession, clock)
    _token, pending = signin.open_session(account, ADDR)
    for _ in range(app_settings.signin_max_failures - 1):
        with pytest.raises(SigninFailed):
            signin.pass_second_factor(pending, "000000", ADDR)
    with pytest.raises(SigninLocked):
        signin.pass_second_factor(pending, "000001", ADDR)
    with pytest.raises(SigninLocked):
        signin.pass_second_factor(pending, totp_code(clock), ADDR)


# Account security -----------------------------------------------------------

def actor(account):
    return Actor(account_id=account.id, label=account.email, client_addr=ADDR)


def test_change_password_checks_the_current_one_and_ends_other_sessions(security, dbsession,
                                                                          clock):
    account = make_account(dbsession)
    sessions = security.sessions
    _mine, current = sessions.start(account, ADDR, second_factor_done=True)
    other_token, other = sessions.start(account, ADDR, second_factor_done=True)
    with pytest.raises(InvalidInput) as wrong:
        security.change_password(actor(account), account, "not it", "a brand new password",
                                 keep=current)
    assert wrong.value.field == "current_password"
    with pytest.raises(InvalidInput) as short:
        security.change_password(actor(account), account, PASSWORD, "short", keep=current)
    assert short.value.field == "new_password"
    security.change_password(actor(account), account, PASSWORD, "a brand new password",
                             keep=current)
    dbsession.flush()
    dbsession.expire_all()
    assert verify_password(account.password_hash, "a brand new password")
    assert other.revoked_at is not None and current.revoked_at is None
    assert sessions.find(other_token) is None
    assert "account.password_change" in audit_actions(dbsession)


def test_totp_enrolment_needs_a_code_from_the_new_secret(security, dbsession, clock):
    account = make_account(dbsession, enrolled=False)
    _token, current = security.sessions.start(account, ADDR, second_factor_done=True)
    _other, other = security.sessions.start(account, ADDR, second_factor_done=True)
    secret = security.begin_totp(actor(account), account)
    assert not account.has_totp and "secret=" + secret in security.provisioning_uri(account)
    with pytest.raises(SigninFailed) as wrong:
        security.enable_totp(actor(account), account, "123456", keep=current)
    assert wrong.value.field == "code" and not account.has_totp
    codes = security.enable_totp(actor(account), account, totp_code(clock, secret),
                                 keep=current)
    assert len(set(codes)) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c)
                                          for c in codes)
    stored = dbsession.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    dbsession.flush()
    dbsession.expire_all()
    assert account.has_totp and current.second_factor_at == clock()
    assert other.revoked_at is not None
    with pytest.raises(Conflict):
        security.begin_totp(actor(account), account)


def test_disabling_totp_needs_a_fresh_code(security, dbsession, clock):
    account = make_totp_account(dbsession, clock)
    _token, current = security.sessions.start(account, ADDR, second_factor_done=True)
    code = totp_code(clock)
    account.totp_last_step = int(clock().timestamp()) // 30
    with pytest.raises(SigninFailed):
        security.disable_totp(actor(account), account, code, keep=current)
    assert account.has_totp
    clock.advance(timedelta(seconds=30))
    security.disable_totp(actor(account), account, totp_code(clock), keep=current)
    assert not account.has_totp and account.totp_secret is None


def test_staff_and_the_operator_must_use_two_step_sign_in():
    assert authentication.second_factor_required(Account(kind="staff"))
    assert authentication.second_factor_required(Account(kind="registrant", is_operator=True))
    assert not authentication.second_factor_required(Account(kind="registrant",
                                                             is_operator=False))


def test_a_recovery_code_passes_the_second_factor_once(signin, security, dbsession, clock):
    account = make_totp_account(dbsession, clock)
    codes = security.recovery.issue(account)
    _token, pending = signin.open_session(account, ADDR)
    signin.pass_second_factor(pending, codes[0].upper(), ADDR)
    _token, again = signin.open_session(account, ADDR)
    with pytest.raises(SigninFailed) as spent:
        signin.pass_second_factor(again, codes[0], ADDR)
    assert spent.value.field == "code"
    assert security.recovery_codes_left(account) == 9
    entry = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "auth.signin")).one()
    assert entry.detail["second_factor"] == "recovery_code"


def test_new_recovery_codes_replace_the_old_and_turning_off_forgets_them(security, dbsession,
                                                                         clock):
    account = make_totp_account(dbsession, clock)
    _token, current = security.sessions.start(account, ADDR, second_factor_done=True)
    old = security.recovery.issue(account)
    fresh = security.regenerate_recovery_codes(actor(account), account, totp_code(clock))
    assert not set(old) & set(fresh) and security.recovery_codes_left(account) == 10
    with pytest.raises(SigninFailed):
        security.recovery.use(account, old[0])
    clock.advance(timedelta(seconds=30))
    security.disable_totp(actor(account), account, totp_code(clock), keep=current)
    assert security.recovery_codes_left(account) == 0


def test_sign_out_everywhere_revokes_every_session(security, dbsession):
    account = make_account(dbsession)
    tokens = [security.sessions.start(account, ADDR)[0] for _ in range(3)]
    security.sign_out_everywhere(actor(account), account)
    dbsession.flush()
    assert all(security.sessions.find(token) is None for token in tokens)
    assert dbsession.scalars(
        select(AuthSession).where(AuthSession.revoked_at.is_(None))
    ).all() == []


def test_password_guesses_from_a_signed_in_session_count_toward_the_lock(security, dbsession,
                                                                         app_settings):
    account = make_account(dbsession)
    _token, current = security.sessions.start(account, ADDR, second_factor_done=True)
    for _ in range(app_settings.signin_max_failures - 1):
        with pytest.raises(InvalidInput):
            security.change_password(actor(account), account, "guess", "a brand new password",
                                     keep=current)
    with pytest.raises(SigninLocked):
        security.change_password(actor(account), account, "guess", "a brand new password",
                                 keep=current)
    with pytest.raises(SigninLocked):
        security.change_password(actor(account), account, PASSWORD, "a brand new password",
                                 keep=current)
