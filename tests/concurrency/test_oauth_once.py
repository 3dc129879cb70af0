"""OAuth's exactly-once rules on real concurrent PostgreSQL connections with committed
data: a refresh token and an authorization code are each exchanged once however many
requests race for them, and the rate limit admits no more than its number."""
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import OAuthAuthorizationCode, OAuthClient, OAuthToken
from furusato_cms.services.authentication import hash_token
from furusato_cms.services.oauth import TokenService
from furusato_cms.services.oauth.ratelimit import ApiRateLimiter
from furusato_cms.services.oauth.server import FurusatoAuthorizationServer

from ..conftest import NOW
from ..factories import make_account
from ..oauth_factories import make_client
from .support import POSTGRESQL_ONLY, run_at_once

pytestmark = POSTGRESQL_ONLY

RACERS = 20
SETTINGS = AppSettings(session_secret="test-secret", base_url="http://localhost")


@pytest.fixture
def engine(own_database):
    return own_database.engine


def committed_client_and_person(engine, email):
    with Session(engine) as setup:
        client = make_client(setup)
        person = make_account(setup, email, kind="registrant")
        ids = client.id, person.id
        setup.commit()
    return ids


def test_a_refresh_token_is_exchanged_once(engine):
    client_id, person_id = committed_client_and_person(engine, "refresh@example.jp")
    with Session(engine) as setup:
        issued = TokenService(setup, clock=FixedClock(NOW), settings=SETTINGS).issue(
            setup.get(OAuthClient, client_id), person_id, "profile")
        token_id = issued.row.id
        setup.commit()

    def claim(session, _n):
        tokens = TokenService(session, clock=FixedClock(NOW), settings=SETTINGS)
        won = tokens.claim_refresh(session.get(OAuthToken, token_id))
        session.commit()
        return won

    results, errors = run_at_once(engine, claim, range(RACERS))
    assert errors == []
    assert results.count(True) == 1


def test_an_authorization_code_is_exchanged_once(engine):
    client_id, person_id = committed_client_and_person(engine, "code@example.jp")
    with Session(engine) as setup:
        setup.add(OAuthAuthorizationCode(
            code_hash=hash_token("fsc_race"), client_pk=client_id, account_id=person_id,
            redirect_uri="http://127.0.0.1:8765/callback", scope="profile",
            code_challenge="x" * 43, created_at=NOW, expires_at=NOW + timedelta(minutes=2)))
        setup.commit()

    def claim(session, _n):
        server = FurusatoAuthorizationServer(session, clock=FixedClock(NOW), settings=SETTINGS)
        code = server.claim_code("fsc_race", session.get(OAuthClient, client_id))
        session.commit()
        return code is not None

    results, errors = run_at_once(engine, claim, range(RACERS))
    assert errors == []
    assert results.count(True) == 1


def test_the_rate_limit_admits_exactly_its_number(engine):
    settings = dataclasses.replace(SETTINGS, api_rate_per_minute=7)

    def count(session, _n):
        decision = ApiRateLimiter(session, clock=FixedClock(NOW), settings=settings).count("race")
        session.commit()
        return decision.allowed

    results, errors = run_at_once(engine, count, range(RACERS))
    assert errors == []
    assert results.count(True) == 7
