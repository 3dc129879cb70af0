"""The three-site limit under concurrent applications, on real PostgreSQL connections with
committed data in a database of its own: a person applying to four sites at once (all
eligible, all approving automatically) ends with exactly three premium registrations.

Each thread waits at a barrier, then applies in its own session and commits; grants for
one person queue on the locked account row, and the slot rows refuse a fourth."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import Account, PremiumSlot, Registration, get_engine
from furusato_cms.services.premium import PremiumRefused, PremiumService

from ..conftest import NOW
from ..dbsetup import drop_database, fresh_database_url, is_postgresql, migrate
from ..factories import MATSUMOTO, NAGANO_CITY
from ..premium_factories import MAEBASHI, NAGAOKA, give_activities, make_person, register, site_of

pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(not is_postgresql(), reason="needs concurrent PostgreSQL connections"),
]

POOL_SIZE = 20
SITES = (NAGANO_CITY, MATSUMOTO, MAEBASHI, NAGAOKA)
PEOPLE = 5


@pytest.fixture
def settings(mail_catcher):
    """The granted mails go to the test session's catcher."""
    return AppSettings(session_secret="test-secret", base_url="http://localhost",
                       smtp_host=mail_catcher.smtp_host, smtp_port=mail_catcher.smtp_port)


@pytest.fixture(scope="module")
def engine(worker_id_name, tmp_path_factory):
    url = fresh_database_url(worker_id_name + "_premium", tmp_path_factory.mktemp("premium"))
    migrate(url)
    engine = get_engine({
        "furusato.db_url": url, "sqlalchemy.pool_size": str(POOL_SIZE),
        "sqlalchemy.max_overflow": "0", "sqlalchemy.pool_timeout": "120",
    })
    yield engine
    engine.dispose()
    drop_database(url)


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
    barrier = threading.Barrier(len(pairs))
    outcomes, errors = [None] * len(pairs), []

    def apply(index, account_id, registration_id):
        try:
            barrier.wait(timeout=30)
            with Session(engine) as session:
                service = PremiumService(session, clock=FixedClock(NOW), settings=settings)
                try:
                    service.apply(session.get(Account, account_id),
                                  session.get(Registration, registration_id))
                    outcomes[index] = "granted"
                except PremiumRefused:
                    outcomes[index] = "refused"
                session.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(i, *pair)) for i, pair in enumerate(pairs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes, errors


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
