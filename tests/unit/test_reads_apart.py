"""A request's reads borrow a pooled connection while its session holds none
(services/paging.py ``_borrows``, models.get_tm_session): the same rows, the connection
back in the pool at once, and the session's own connection as soon as the session has
begun — so a request still reads what it wrote — or for a read that locks rows. A
standalone write (the check-in's) commits by itself on a borrowed connection, and a
change to an object read apart commits with the request."""
from types import SimpleNamespace

import pytest
import transaction
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from furusato_cms.models import (
    READS_APART,
    STANDALONE_WRITE,
    WRITES,
    get_session_factory,
    get_tm_session,
)
from furusato_cms.models.row_entities import EntityColumns, columns_of
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


def _rows_others_see(engine) -> int:
    with engine.connect() as other:
        return other.scalar(COUNT)


def test_a_request_session_reads_apart_and_a_script_session_does_not(pg_engine):
    manager, session = _session(pg_engine, "POST")
    assert session.info[READS_APART] is True
    manager.abort()
    script_manager = transaction.TransactionManager(explicit=True)
    script_manager.begin()
    script = get_tm_session(get_session_factory(pg_engine), script_manager)
    assert READS_APART not in script.info
    assert _values(read_rows(script, ALL, {"least": 0})) == [1, 2]
    assert script.in_transaction()
    script_manager.abort()


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
    assert _rows_others_see(pg_engine) == 2
    manager.abort()
    assert _rows_others_see(pg_engine) == 2


def test_a_read_that_locks_rows_stays_on_the_session(pg_engine):
    """A row lock taken in autocommit would end with its statement: it is taken in the
    session's transaction and held until the request ends."""
    manager, session = _session(pg_engine, "POST")
    assert _values(read_rows(session, ALL.with_for_update(), {"least": 2})) == [2]
    assert session.in_transaction()
    driver = session.connection().connection.driver_connection
    assert driver.info.transaction_status.name == "INTRANS"
    manager.abort()


STANDALONE = (
    select(insert(PROBE).values(x=bindparam("x")).returning(PROBE.c.x).cte("added").c.x)
    .execution_options(**WRITES, **STANDALONE_WRITE)
)


def test_a_standalone_write_commits_by_itself_on_a_borrowed_connection(pg_engine):
    manager, session = _session(pg_engine, "POST")
    assert _values(read_rows(session, STANDALONE, {"x": 4})) == [4]
    assert not session.in_transaction()
    assert pg_engine.pool.checkedout() == 0
    manager.abort()
    assert _rows_others_see(pg_engine) == 3


def test_a_standalone_write_of_a_begun_session_is_the_session_s(pg_engine):
    """After a write of its own the request's transaction holds the standalone write too:
    it is committed with the request, or undone with it."""
    manager, session = _session(pg_engine, "POST")
    session.execute(insert(PROBE).values(x=5))
    assert _values(read_rows(session, STANDALONE, {"x": 6})) == [6]
    assert _rows_others_see(pg_engine) == 2
    manager.abort()
    assert _rows_others_see(pg_engine) == 2


class _Probes(DeclarativeBase):
    pass


class SeenProbe(_Probes):
    __tablename__ = "reads_apart_seen"
    id: Mapped[int] = mapped_column(primary_key=True)
    seen: Mapped[int]


SEEN = EntityColumns(SeenProbe)
SEEN_ROW = select(*columns_of(SEEN))


@pytest.fixture
def seen_probe(pg_engine):
    table = SeenProbe.__table__
    with pg_engine.connect() as setup:
        table.create(setup, checkfirst=True)
        setup.execute(table.delete())
        setup.execute(insert(table).values(id=1, seen=0))
        setup.commit()
    yield
    with pg_engine.connect() as cleanup:
        table.drop(cleanup)
        cleanup.commit()


def test_a_change_to_an_object_read_apart_commits_with_the_request(pg_engine, seen_probe):
    """The signed-in session's touch (``last_seen_at``, once a minute) is such a change:
    its object comes from the identity's read on a borrowed connection, and on a page
    like /my/ no statement follows it. The change begins the session's transaction,
    which joins the request's, so it is flushed and committed with it."""
    manager, session = _session(pg_engine, "GET")
    probe = SEEN.entity(session, list(read_rows(session, SEEN_ROW))[0])
    assert not session.in_transaction()
    probe.seen = 1
    manager.commit()
    with pg_engine.connect() as other:
        assert other.scalar(select(SeenProbe.seen)) == 1


def test_a_change_to_an_object_read_apart_is_undone_with_the_request(pg_engine, seen_probe):
    manager, session = _session(pg_engine, "GET")
    SEEN.entity(session, list(read_rows(session, SEEN_ROW))[0]).seen = 2
    manager.abort()
    with pg_engine.connect() as other:
        assert other.scalar(select(SeenProbe.seen)) == 0
