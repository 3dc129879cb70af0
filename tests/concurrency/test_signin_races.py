"""Sign-in under parallel requests, on real concurrent PostgreSQL connections with
committed data: a fresh TOTP code is accepted once however many pending sign-ins send
it at the same moment, and parallel wrong guesses never reach the password check more
often than the throttle allows."""
import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import Account, AuthSession
from furusato_cms.services import authentication
from furusato_cms.services.authentication import (
    RecoveryCodes,
    SigninFailed,
    SigninLocked,
    SigninService,
)

from ..auth_factories import make_totp_account, totp_code
from ..conftest import NOW
from ..factories import make_account
from .support import POSTGRESQL_ONLY, run_at_once

pytestmark = POSTGRESQL_ONLY

SETTINGS = AppSettings(session_secret="test-secret", base_url="http://localhost")
CLOCK = FixedClock(NOW)


@pytest.fixture
def engine(own_database):
    return own_database.engine


def service(session):
    return SigninService(session, clock=CLOCK, settings=SETTINGS)


def test_one_fresh_totp_code_sent_by_six_pending_sign_ins_wins_once(engine):
    with Session(engine) as setup:
        account = make_totp_account(setup, CLOCK, email="six@example.jp")
        pending_ids = [service(setup).open_session(account, f"192.0.2.{n}")[1].id
                       for n in range(6)]
        setup.commit()
    code = totp_code(CLOCK)

    def send_code(session, pending_id):
        pending = session.get(AuthSession, pending_id)
        try:
            service(session).pass_second_factor(pending, code, pending.client_addr)
            session.commit()
            return "in"
        except SigninFailed:
            session.commit()
            return "refused"

    outcomes, errors = run_at_once(engine, send_code, pending_ids)
    assert errors == []
    assert sorted(outcomes) == ["in"] + ["refused"] * 5
    with Session(engine) as check:
        complete = check.scalars(select(AuthSession).where(
            AuthSession.second_factor_at.is_not(None))).all()
        assert len(complete) == 1


def test_one_recovery_code_sent_by_six_pending_sign_ins_wins_once(engine):
    with Session(engine) as setup:
        account = make_totp_account(setup, CLOCK, email="lost-phone@example.jp")
        [code, *_others] = RecoveryCodes(setup, CLOCK).issue(account)
        pending_ids = [service(setup).open_session(account, f"192.0.2.{n}")[1].id
                       for n in range(6)]
        setup.commit()

    def send_code(session, pending_id):
        pending = session.get(AuthSession, pending_id)
        try:
            service(session).pass_second_factor(pending, code, pending.client_addr)
            outcome = "in"
        except SigninFailed:
            outcome = "refused"
        session.commit()
        return outcome

    outcomes, errors = run_at_once(engine, send_code, pending_ids)
    assert errors == []
    assert sorted(outcomes) == ["in"] + ["refused"] * 5


@pytest.fixture
def password_checks(monkeypatch):
    """How many sign-ins reached the password check; each check takes a while, so the
    parallel requests overlap there as they would in production."""
    reached, lock = [], threading.Lock()
    real = authentication.verify_password

    def counting(password_hash, password):
        with lock:
            reached.append(password)
        time.sleep(0.02)
        return real(password_hash, password)

    monkeypatch.setattr(authentication, "verify_password", counting)
    return reached


def guess_at_once(engine, guesses):
    """``(email, address)`` pairs, each a wrong password in its own transaction."""
    def guess(session, pair):
        email, addr = pair
        try:
            service(session).authenticate(email, "a wrong guess!", addr)
            outcome = "in"
        except SigninLocked:
            outcome = "locked"
        except SigninFailed:
            outcome = "wrong"
        session.commit()  # what the sign-in view does after a refusal
        return outcome

    return run_at_once(engine, guess, guesses)


def test_forty_parallel_guesses_on_one_account_reach_the_password_at_most_five_times(
        engine, password_checks):
    with Session(engine) as setup:
        make_account(setup, "target@example.jp")
        setup.commit()
    outcomes, errors = guess_at_once(engine, [("target@example.jp", "198.51.100.9")] * 40)
    assert errors == []
    assert len(password_checks) == SETTINGS.signin_max_failures
    assert outcomes.count("wrong") == SETTINGS.signin_max_failures - 1
    assert outcomes.count("locked") == 40 - outcomes.count("wrong")


def test_parallel_guesses_on_many_accounts_from_one_address_stop_at_its_limit(
        engine, password_checks):
    with Session(engine) as setup:
        setup.add_all(Account(email=f"many{n}@example.jp", display_name="職員", created_at=NOW)
                      for n in range(40))
        setup.commit()
    guesses = [(f"many{n}@example.jp", "198.51.100.10") for n in range(40)]
    outcomes, errors = guess_at_once(engine, guesses)
    assert errors == []
    assert len(password_checks) == SETTINGS.signin_max_failures_per_address
    assert "in" not in outcomes
