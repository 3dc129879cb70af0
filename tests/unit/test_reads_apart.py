"""A GET's reads borrow a pooled connection while its session holds none
(services/paging.py ``_on_connection``, models.get_tm_session): the same rows, the
connection back in the pool at once, and the session's own connection as soon as the
session has begun — so a request still reads what it wrote."""
from types import SimpleNamespace

import pytest
import transaction
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, insert, select, text

from furusato_cms.models import READS_APART, get_session_factory, get_tm_session
from furusato_cms.services.paging import Read, read_rows, read_together

PROBE = Table("reads_apart_probe", MetaData(), Column("x", Integer))
ALL = select(PROBE.c.x).where(PROBE.c.x >= bindparam("least")).order_by(PROBE.c.x)
COUNT = text("SELECT count(*) FROM reads_apart_probe")


@pytest.fixture
def pg_engine(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's reads stay on the session's connection")
    with engine.connect() as setup:
        PROBE.create(setup, checkfirst=True)
        setup.execute(PROBE.delete())
        setup.execute(insert(PROBE), [{"x": 1}, {"x": 2}])
        setup.commit()
    yield engine
    with engine.connect() as cleanup:
        PROBE.drop(cleanup)
        cleanup.commit()


def _session(engine, method):
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = get_tm_session(get_session_factory(engine), manager,
                             request=SimpleNamespace(method=method))
    return manager, session


def _values(rows):
    return [row.x for row in rows]


def test_only_a_get_or_head_session_reads_apart(pg_engine):
    for method, apart in (("GET", True), ("HEAD", True), ("POST", False)):
        manager, session = _session(pg_engine, method)
        assert session.info.get(READS_APART, False) is apart
        manager.abort()
    script = get_tm_session(get_session_factory(pg_engine),
                            transaction.TransactionManager(explicit=True))
    assert READS_APART not in script.info


def test_a_get_reads_on_a_borrowed_connection_given_back_at_once(pg_engine):
    manager, session = _session(pg_engine, "GET")
    reads = (Read(ALL, {"least": 2}, _values), Read(ALL, {"least": 0}, _values))
    assert read_together(session, *reads) == [[2], [1, 2]]
    assert _values(read_rows(session, ALL, {"least": 1})) == [1, 2]
    assert not session.in_transaction()
    assert pg_engine.pool.checkedout() == 0
    manager.commit()


def test_a_begun_session_reads_its_own_writes(pg_engine):
    """Once the request wrote, its reads go through its transaction: the row it added is
    there for it, and for no one else until it commits."""
    manager, session = _session(pg_engine, "GET")
    session.execute(insert(PROBE).values(x=3))
    assert session.in_transaction()
    assert read_together(session, Read(ALL, {"least": 0}, _values),
                         Read(ALL, {"least": 3}, _values)) == [[1, 2, 3], [3]]
    assert _values(read_rows(session, ALL, {"least": 3})) == [3]
    with pg_engine.connect() as other:
        assert other.scalar(COUNT) == 2
    manager.abort()
    with pg_engine.connect() as other:
        assert other.scalar(COUNT) == 2


def test_a_post_reads_on_its_own_session(pg_engine):
    manager, session = _session(pg_engine, "POST")
    assert _values(read_rows(session, ALL, {"least": 0})) == [1, 2]
    assert session.in_transaction()
    manager.abort()
