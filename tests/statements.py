"""Counting the SQL a piece of work sends, for tests that hold hot paths to a count."""
from sqlalchemy import event

SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def statements_during(connection, action) -> list:
    """The SQL statements ``action()`` sends on ``connection``, savepoints left out (the
    test wiring wraps each request in one)."""
    statements = []

    def note(_connection, _cursor, statement, *_args):
        if not statement.startswith(SAVEPOINTS):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(connection, "before_cursor_execute", note)
    return statements
