"""Transactions begin at the first write on PostgreSQL (models/lazy_begin.py): reads send
no BEGIN, while writes, row locks and an explicit isolation level keep their transaction."""
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, insert, select, text

from furusato_cms.models import STANDALONE_WRITE, Site, compiled_reads
from furusato_cms.models.lazy_begin import is_plain_read


def status(connection):
    return connection.connection.driver_connection.info.transaction_status.name


@pytest.fixture
def pg_engine(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's transactions cost no round trip; nothing is deferred there")
    return engine


@pytest.mark.parametrize("statement, plain", [
    ("SELECT sites.id FROM sites WHERE sites.code = %(code)s", True),
    ("SELECT sites.id FROM sites WHERE sites.id = %(id)s FOR UPDATE", False),
    ("SELECT accounts.id FROM accounts FOR NO KEY UPDATE SKIP LOCKED", False),
    ("SELECT registrations.id FROM registrations FOR KEY SHARE", False),
    ("SELECT pg_try_advisory_xact_lock(7)", False),
    ("INSERT INTO sites (code) VALUES (%(code)s)", False),
    ("WITH moved AS (UPDATE sites SET name = 'x' RETURNING id) SELECT id FROM moved", False),
    ("SAVEPOINT sa_savepoint_1", False),
    ("SET LOCAL work_mem = '64MB'", False),
])
def test_what_counts_as_a_plain_read(statement, plain):
    assert is_plain_read(statement) is plain


def test_a_read_opens_no_transaction(pg_engine):
    with pg_engine.connect() as connection:
        connection.execute(select(Site.id).limit(1)).all()
        assert status(connection) == "IDLE"


def test_a_write_begins_a_transaction_that_rollback_undoes(pg_engine):
    with pg_engine.connect() as connection:
        connection.execute(text("CREATE TEMP TABLE lazy_probe (x int)"))
        connection.commit()
        connection.execute(text("SELECT count(*) FROM lazy_probe"))
        assert status(connection) == "IDLE"
        connection.execute(text("INSERT INTO lazy_probe VALUES (1)"))
        assert status(connection) == "INTRANS"
        connection.rollback()
        assert connection.scalar(text("SELECT count(*) FROM lazy_probe")) == 0
        connection.execute(text("INSERT INTO lazy_probe VALUES (2)"))
        connection.commit()
        assert connection.scalar(text("SELECT count(*) FROM lazy_probe")) == 1


def test_a_row_lock_is_held_in_a_transaction(pg_engine):
    with pg_engine.connect() as connection:
        connection.execute(select(Site.id).limit(1).with_for_update()).all()
        assert status(connection) == "INTRANS"
        connection.rollback()


def test_an_explicit_isolation_level_keeps_its_snapshot(pg_engine):
    with pg_engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        assert connection.scalar(text("SHOW transaction_isolation")) == "repeatable read"
        assert status(connection) == "INTRANS"
        connection.rollback()
    with pg_engine.connect() as connection:
        connection.execute(select(Site.id).limit(1)).all()
        assert status(connection) == "IDLE"


def test_a_standalone_write_commits_by_itself_when_no_transaction_is_open(pg_engine):
    """The check-in's insert: no BEGIN, no COMMIT; the row is there for everyone at once,
    and a later write of the same request begins its own transaction."""
    probe = text("INSERT INTO standalone_probe VALUES (1)").execution_options(
        **STANDALONE_WRITE)
    with pg_engine.connect() as setup:
        setup.execute(text("CREATE TABLE IF NOT EXISTS standalone_probe (x int)"))
        setup.execute(text("DELETE FROM standalone_probe"))
        setup.commit()
    try:
        with pg_engine.connect() as connection, pg_engine.connect() as other:
            connection.execute(probe)
            assert status(connection) == "IDLE"
            assert other.scalar(text("SELECT count(*) FROM standalone_probe")) == 1
            connection.execute(text("INSERT INTO standalone_probe VALUES (2)"))
            assert status(connection) == "INTRANS"
            connection.rollback()
            assert other.scalar(text("SELECT count(*) FROM standalone_probe")) == 1
    finally:
        with pg_engine.connect() as cleanup:
            cleanup.execute(text("DROP TABLE standalone_probe"))
            cleanup.commit()


def test_a_standalone_write_inside_a_transaction_stays_in_it(pg_engine):
    with pg_engine.connect() as connection:
        connection.execute(text("CREATE TEMP TABLE standalone_inner (x int)"))
        connection.execute(text("INSERT INTO standalone_inner VALUES (1)")
                           .execution_options(**STANDALONE_WRITE))
        assert status(connection) == "INTRANS"
        connection.rollback()
        assert connection.scalar(text(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'standalone_inner'")) == 0


def test_a_standalone_write_read_on_the_driver_path_sends_no_begin(pg_engine):
    """The check-in's recording insert runs through models/compiled_reads.py: its
    execution options reach the listener, so it commits by itself; the same statement
    without them begins a transaction, as any write does."""
    probe = Table("driver_probe", MetaData(), Column("x", Integer))
    created = insert(probe).values(x=bindparam("x")).returning(probe.c.x).cte("created")
    write = select(created.c.x)
    count = text("SELECT count(*) FROM driver_probe")
    with pg_engine.connect() as setup:
        probe.create(setup, checkfirst=True)
        setup.execute(probe.delete())
        setup.commit()
    try:
        with pg_engine.connect() as connection, pg_engine.connect() as other:
            rows = compiled_reads.execute(
                connection, write.execution_options(**STANDALONE_WRITE), {"x": 5}).all()
            assert [tuple(row) for row in rows] == [(5,)]
            assert status(connection) == "IDLE"
            assert other.scalar(count) == 1
            compiled_reads.execute(connection, write, {"x": 6}).all()
            assert status(connection) == "INTRANS"
            connection.rollback()
            assert other.scalar(count) == 1
    finally:
        with pg_engine.connect() as cleanup:
            probe.drop(cleanup)
            cleanup.commit()
