"""The three-site limit under concurrent applications, on real PostgreSQL connections with
committed data in a database of its own: a person applying to four sites at once (all
eligible, all approving automatically) ends with exactly three premium registrations.

Each thread waits at a barrier, then applies in its own session and commits; grants for
one person queue on the locked account row, and the slot rows refuse a fourth."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import Account, PremiumSlot, Registration
from furusato_cms.services.premium import PremiumRefused, PremiumService

from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY
from ..premium_factories import MAEBASHI, NAGAOKA, give_activities, make_person, register, site_of
from .support import POSTGRESQL_ONLY, run_at_once

pytestmark = POSTGRESQL_ONLY

SITES = (NAGANO_CITY, MATSUMOTO, MAEBASHI, NAGAOKA)
PEOPLE = 5


@pytest.fixture
def settings(mail_catcher):
    """The granted mails go to the test session's catcher."""
    return AppSettings(session_secret="test-secret", base_url="http://localhost",
                       smtp_host=mail_catcher.smtp_host, smtp_port=mail_catcher.smtp_port)


@pytest.fixture
def engine(own_database):
    return own_database.engine


def committed_people(engine):
    """PEOPLE verified people, each registered with the four sites (automatic approval)
    with three designated activities at each; returns [(account id, [registration ids])]."""
    with Session(engine) as setup:
        sites = [site_of(setup, code, premium_auto_approve=True) for code in SITES]
        people = []
        for n in range(PEOPLE):
            person = make_person(setup, f"racer{n}@example.jp")
            registrations = []
            for site in sites:
                registrations.append(register(setup, person, site).id)
                give_activities(setup, person, site,
                                [NOW - timedelta(days=d) for d in (3, 10, 20)])
            people.append((person.id, registrations))
        setup.commit()
    return people


def apply_at_once(engine, settings, pairs):
    """One thread per (account id, registration id), released together; returns outcomes
    ("granted" / "refused") in order, and unexpected errors."""
    def apply(session, pair):
        account_id, registration_id = pair
        service = PremiumService(session, clock=FixedClock(NOW), settings=settings)
        try:
            service.apply(session.get(Account, account_id),
                          session.get(Registration, registration_id))
            outcome = "granted"
        except PremiumRefused:
            outcome = "refused"
        session.commit()
        return outcome

    return run_at_once(engine, apply, pairs)


def test_four_sites_at_once_grant_exactly_three(engine, settings):
    people = committed_people(engine)
    pairs = [(account_id, registration_id) for account_id, registrations in people
             for registration_id in registrations]

    outcomes, errors = apply_at_once(engine, settings, pairs)

    assert errors == []
    for n, (account_id, _registrations) in enumerate(people):
        mine = outcomes[n * len(SITES):(n + 1) * len(SITES)]
        assert sorted(mine) == ["granted"] * 3 + ["refused"], account_id
    with engine.connect() as connection:
        premium = connection.execute(
            select(Registration.account_id, func.count())
            .where(Registration.tier == "premium").group_by(Registration.account_id)
        ).all()
        slots = connection.execute(
            select(PremiumSlot.account_id, func.count(), func.max(PremiumSlot.slot))
            .group_by(PremiumSlot.account_id)
        ).all()
    assert sorted(count for _account, count in premium) == [3] * PEOPLE
    assert sorted((count, top) for _account, count, top in slots) == [(3, 3)] * PEOPLE
