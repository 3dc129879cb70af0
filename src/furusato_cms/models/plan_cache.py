"""Generic plans for keyed reads (汎用実行計画).

psycopg prepares a statement the fifth time it runs, and PostgreSQL then plans it anew at
every run (a custom plan) for as long as the plan it would keep (the generic plan) looks
costlier. For a statement over the partitioned registrations or attendances the kept plan
always looks costlier — it counts every partition before run-time pruning drops them — so
the reads a signed-in person makes on every page were planned at every request: planning
took 0.18 ms of the identity read's 0.22 ms, and 0.4 ms of each of /my/'s two reads
(issue 16; ``EXPLAIN (ANALYZE, SUMMARY)`` on the 100k-people database).

A generic plan is as good as a custom one only where the best plan does not depend on the
values: lookups by key (a token's hash, a person, a session, a site). The activity
search's text patterns are the counter-example: its generic plan ran 2.8 ms against 0.9
ms planned each time. So this is chosen per statement: a statement carrying
``GENERIC_PLAN`` runs with ``plan_cache_mode = force_generic_plan``, every other one with
the server's default. The connection's mode is changed only between transactions (a
``SET`` inside one would be undone by its rollback) and only when the next statement
wants the other mode, so a process serving the same pages keeps its connections in one
mode and sends no ``SET`` at all.
"""
from sqlalchemy import event

try:
    from psycopg.pq import TransactionStatus
except ImportError:  # SQLite-only installations
    TransactionStatus = None

GENERIC_PLAN = {"furusato_generic_plan": True}
"""Execution options of a keyed read whose plan PostgreSQL may keep."""

_MODE = "furusato.generic_plan"
"""Key in the pooled connection's ``info``: whether it is in generic mode now."""

_SET = {True: "SET plan_cache_mode = force_generic_plan", False: "RESET plan_cache_mode"}


def steer(connection, options) -> None:
    """Put ``connection`` (a SQLAlchemy Connection on PostgreSQL) in the plan mode the
    statement with execution ``options`` wants, when it can be changed now."""
    wanted = bool(options.get("furusato_generic_plan"))
    fairy = connection.connection
    if fairy.info.get(_MODE, False) == wanted:
        return
    raw = fairy.driver_connection
    if not raw.autocommit or raw.info.transaction_status != TransactionStatus.IDLE:
        return
    raw.execute(_SET[wanted])
    fairy.info[_MODE] = wanted


def install(engine):
    """PostgreSQL only. Statements run through models/compiled_reads.py come with their
    execution options too (``compiled_reads.DriverContext``)."""
    if engine.dialect.name != "postgresql":
        return
    def steer_before_execute(connection, _cursor, _statement, _parameters, context, _many):
        if context is not None:
            steer(connection, context.execution_options)

    event.listen(engine, "before_cursor_execute", steer_before_execute)
