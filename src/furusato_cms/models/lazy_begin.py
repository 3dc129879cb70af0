"""Transactions that begin at the first write (書き込み時に開始するトランザクション).

psycopg opens every transaction with a ``BEGIN`` of its own round trip before the first
statement, and pyramid_tm ends each request with a ``ROLLBACK`` (or ``COMMIT``) of another;
most pages only read, so a third of a public page's round trips were these two (issue 16).

Under PostgreSQL's READ COMMITTED, which the application uses, each statement of a
transaction takes its own snapshot anyway, so a plain SELECT sees the same rows inside a
transaction or outside. Connections of the pool therefore run in autocommit, and ``BEGIN``
is sent just before the first statement that needs a transaction: any write, DDL,
``SET LOCAL``, ``SAVEPOINT``, a row lock (``FOR UPDATE`` and kin), an advisory lock or a
server-side cursor. The
COMMIT or ROLLBACK that ends a request is then sent only when a transaction was begun
(psycopg skips both on an idle connection). A connection given an explicit isolation
level (the statistics refresh's REPEATABLE READ, VACUUM's AUTOCOMMIT) keeps SQLAlchemy's
own handling: its snapshot or its lack of a transaction is the point.

A write that is whole in one statement (``STANDALONE_WRITE``: the check-in's insert with
its webhook events in data-modifying CTEs) runs without ``BEGIN`` when no transaction is
open: PostgreSQL makes the statement atomic and durable by itself, so the request saves
the ``BEGIN`` and the ``COMMIT`` round trips. A write after it in the same request begins
a transaction of its own as usual; one already inside a transaction stays in it.
"""
from functools import lru_cache

from sqlalchemy import event

LOCKING = (" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE", "advisory")
"""What makes a SELECT need its transaction: a row lock or an advisory lock is held until
the transaction ends, which in autocommit would be at once."""


READS_APART = "furusato.reads_apart"
"""A session's ``info`` key: while it holds no connection, its reads (and a
``STANDALONE_WRITE``) may borrow a pooled connection for the one statement (a request's
session, models.get_tm_session; services/paging.py): under READ COMMITTED in autocommit
they see what the session's own connection would."""

STANDALONE_WRITE = {"furusato_standalone_write": True}
"""Execution options of a write that is complete in itself (see the module's note)."""


@lru_cache(maxsize=1024)
def is_plain_read(statement: str) -> bool:
    """Kept per SQL text: the texts are the few a program compiles, and a page's merged
    read is 10 KB that would be searched for each locking word on every request."""
    return statement.startswith("SELECT") and not any(word in statement for word in LOCKING)


def _autocommit_at_checkout(dbapi_connection, _record, _proxy):
    """Set once per connection: psycopg's setter takes the connection's lock and runs
    a wait loop even when nothing changes."""
    if not dbapi_connection.autocommit:
        dbapi_connection.autocommit = True


def install(engine):
    """PostgreSQL only: SQLite's transactions cost no round trip."""
    if engine.dialect.name != "postgresql":
        return
    from psycopg.pq import TransactionStatus

    idle = TransactionStatus.IDLE

    def begin_before_writes(connection, cursor, statement, _parameters, context, _many):
        raw = cursor.connection
        if not raw.autocommit or raw.info.transaction_status != idle:
            return
        options = (context.execution_options if context is not None
                   else connection.get_execution_options())
        if "isolation_level" in options:
            return
        if options.get("furusato_standalone_write"):
            return
        if options.get("stream_results") or not is_plain_read(statement):
            raw.execute("BEGIN")

    event.listen(engine, "checkout", _autocommit_at_checkout)
    event.listen(engine, "before_cursor_execute", begin_before_writes)
