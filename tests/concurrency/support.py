"""Scaffolding for tests that race real transactions (同時実行): a freshly migrated
database of the test module's own, so committed data never meets the rolled-back tests,
and helpers that run work on several connections at the same moment."""
import threading
import time
from typing import NamedTuple

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from furusato_cms.models import get_engine

from ..dbsetup import drop_database, fresh_database_url, is_postgresql, migrate

POOL_SIZE = 20

POSTGRESQL_ONLY = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(not is_postgresql(), reason="needs concurrent PostgreSQL connections"),
]
"""The ``pytestmark`` of a module that only PostgreSQL's concurrency can run."""


def needs_postgresql(test):
    """Marks one test as POSTGRESQL_ONLY."""
    for mark in POSTGRESQL_ONLY:
        test = mark(test)
    return test


class OwnDatabase(NamedTuple):
    url: str
    engine: object


@pytest.fixture(scope="module")
def own_database(request, worker_id_name, tmp_path_factory):
    """A new database migrated for this test module alone, dropped afterwards."""
    name = f"{worker_id_name}_{request.module.__name__.rsplit('.', 1)[-1]}"
    url = fresh_database_url(name, tmp_path_factory.mktemp("own"))
    migrate(url)
    engine = get_engine({
        "furusato.db_url": url, "sqlalchemy.pool_size": str(POOL_SIZE),
        "sqlalchemy.max_overflow": "0", "sqlalchemy.pool_timeout": "120",
    })
    yield OwnDatabase(url, engine)
    engine.dispose()
    drop_database(url)


def run_at_once(engine, work, items, *, timeout=120):
    """One thread per item, all released together at a barrier; each calls
    ``work(session, item)`` in a session of its own (work commits). Returns the results in
    the items' order and the unexpected errors, which the test asserts empty."""
    barrier = threading.Barrier(len(items))
    results, errors = [None] * len(items), []

    def run(index, item):
        try:
            barrier.wait(timeout=30)
            with Session(engine) as session:
                results[index] = work(session, item)
        except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results, errors


def second_behind_first(engine, first, second, *, what, timeout=30):
    """``first(session)`` runs and keeps its transaction open; ``second(session)`` runs
    in a thread until it waits on a lock the first holds; then the first commits and the
    second finishes and commits. Returns both results; an error in the second is raised."""
    outcome = {}

    def run_second(session):
        try:
            outcome["result"] = second(session)
            session.commit()
        except Exception as exc:  # noqa: BLE001 - raised again in the test's thread
            outcome["error"] = exc

    with Session(engine) as one, Session(engine) as two:
        first_result = first(one)
        worker = threading.Thread(target=run_second, args=(two,))
        worker.start()
        wait_for_lock_wait(engine, what)
        one.commit()
        worker.join(timeout=timeout)
    if "error" in outcome:
        raise outcome["error"]
    return first_result, outcome.get("result")


def wait_for_lock_wait(engine, what, timeout=10.0):
    """Until some other connection waits on a lock in this database."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"))
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError(f"the second {what} never waited for the first")
