"""Workers side by side on PostgreSQL: ``FOR UPDATE SKIP LOCKED`` hands each due delivery
to one worker only, and a row another transaction holds is skipped, not waited for."""
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from furusato_cms.clock import FixedClock
from furusato_cms.models import WebhookDelivery
from furusato_cms.services.audit import Actor
from furusato_cms.services.webhooks import (
    DeliveryWorker,
    WebhookEndpoints,
    WebhookSettings,
    registration_changed,
)

from ..conftest import NOW
from ..factories import NAGANO_CITY, make_site
from ..premium_factories import register
from ..registrant_factories import make_registrant
from .support import POSTGRESQL_ONLY, own_database, run_at_once  # noqa: F401 - a fixture

pytestmark = POSTGRESQL_ONLY
ADMIN = Actor(account_id=None, label="site admin")
OPTIONS = WebhookSettings(allow_private_addresses=True, pseudonym_key=b"k", batch_size=3)


def test_each_due_delivery_goes_to_one_worker(own_database):
    engine = own_database.engine
    with Session(engine) as session:
        site = make_site(session, NAGANO_CITY)
        WebhookEndpoints(session, clock=lambda: NOW, settings=None, options=OPTIONS).create(
            ADMIN, site, url="https://a.example.jp/", description="",
            event_types=["registration.created"])
        ids = [register(session, make_registrant(session, f"p{n}@example.jp"), site).id
               for n in range(6)]
        registration_changed(session, "joined", NOW, ids)
        session.commit()
    clock = FixedClock(NOW)
    workers = [DeliveryWorker(sessionmaker(bind=engine), clock=clock, options=OPTIONS)
               for _ in range(2)]

    with engine.connect() as held:
        transaction = held.begin()
        locked = held.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)
                              .limit(2).with_for_update()).all()
        claimed = {job.delivery_id for job in workers[0].claim()}
        transaction.rollback()
    assert len(claimed) == 3 and claimed.isdisjoint(locked)

    clock.advance(timedelta(seconds=OPTIONS.lease_seconds + 1))
    results, errors = run_at_once(
        engine, lambda _session, worker: [job.delivery_id for job in worker.claim()], workers)
    assert errors == []
    first, second = (set(result) for result in results)
    assert first.isdisjoint(second) and len(first | second) == 6
