"""Compiled reads sent with libpq's own calls (models/libpq_statements.py) answer what a
psycopg cursor answers, are prepared on a connection at their second run, fail with
psycopg's own exception classes and recover from a prepared statement gone stale."""
from datetime import datetime, timezone

import pytest
from psycopg import errors
from sqlalchemy import select, text

from furusato_cms.models import Site, compiled_reads, libpq_statements

SQL = ("SELECT %(number)s::int + 1 AS next, %(word)s::text || '%%' AS word, "
       "%(at)s::timestamptz AS at, %(nothing)s::int IS NULL AS empty, %(number)s::int AS again")
VALUES = {"number": 41, "word": "ふるさと", "at": datetime(2026, 12, 6, 3, tzinfo=timezone.utc),
          "nothing": None}


@pytest.fixture
def driver(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("libpq is PostgreSQL's")
    with engine.connect() as connection:
        yield connection.connection.driver_connection


def prepared_names(driver, marker) -> set:
    """Names of the connection's prepared statements whose text holds ``marker``."""
    return {name for (name,) in driver.execute(
        "SELECT name FROM pg_prepared_statements WHERE strpos(statement, %s) > 0",
        (marker,), prepare=False)}


def test_rows_equal_what_a_cursor_reads(driver):
    assert libpq_statements.usable(driver)
    ours = libpq_statements.run(driver, SQL, VALUES).rows()
    theirs = driver.execute(SQL, VALUES).fetchall()
    assert ours == theirs == [(42, "ふるさと%", VALUES["at"], True, 41)]


def test_a_statement_is_prepared_at_the_connections_threshold_and_then_reused(driver):
    sql = SQL + " , 'threshold' AS marker"
    for _ in range(driver.prepare_threshold):
        libpq_statements.run(driver, sql, VALUES)
    assert not prepared_names(driver, "'threshold'")
    assert libpq_statements.run(driver, sql, VALUES).first()[0] == 42
    prepared = prepared_names(driver, "'threshold'")
    assert len(prepared) == 1
    assert libpq_statements.run(driver, sql, {**VALUES, "number": 1}).first()[0] == 2
    assert prepared_names(driver, "'threshold'") == prepared


def test_a_server_error_has_psycopgs_class_and_leaves_the_connection_usable(driver):
    with pytest.raises(errors.DivisionByZero):
        libpq_statements.run(driver, "SELECT 1 / %(zero)s::int", {"zero": 0})
    assert libpq_statements.run(driver, SQL, VALUES).first()[0] == 42


@pytest.mark.parametrize("ending", ["ROLLBACK", "ROLLBACK TO SAVEPOINT s"])
def test_statements_psycopg_deallocates_are_prepared_again(driver, ending):
    """psycopg sends DEALLOCATE ALL after a rollback; a statement of ours prepared before
    it runs in the same transaction afterwards (not 'prepared statement does not
    exist', which would abort the transaction)."""
    sql = SQL + f" , '{ending}' AS marker"
    for _ in range(driver.prepare_threshold + 1):
        libpq_statements.run(driver, sql, VALUES)
    assert prepared_names(driver, ending)
    driver.execute("BEGIN")
    driver.execute("SAVEPOINT s")
    if ending == "ROLLBACK":
        driver.rollback()
        driver.execute("BEGIN")
    else:
        driver.execute(ending)
    assert libpq_statements.run(driver, sql, VALUES).first()[0] == 42
    for _ in range(driver.prepare_threshold + 1):
        libpq_statements.run(driver, sql, VALUES)
    driver.execute("COMMIT")
    assert len(prepared_names(driver, ending)) == 1


def test_a_connection_outside_autocommit_reads_through_a_cursor(engine):
    """psycopg begins such a connection's transaction itself (an isolation level given)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("libpq is PostgreSQL's")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        driver = connection.connection.driver_connection
        assert not libpq_statements.usable(driver)
        rows = compiled_reads.execute(connection, select(Site.id).limit(1), {}).all()
        assert driver.info.transaction_status.name == "INTRANS"
        assert rows == connection.execute(text("SELECT id FROM sites LIMIT 1")).all()
