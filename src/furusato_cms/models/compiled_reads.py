"""Public reads compiled once and run straight on the driver (コンパイル済みの読み取り).

SQLAlchemy Core spends about 100 µs of CPU around each SELECT of a public page — the
execution context, the result's metadata, a Row per row — which on PostgreSQL is twice
what psycopg itself needs (issue 16). For the statements the public pages read through
``services.paging.read_rows``, this keeps, per statement shape, what SQLAlchemy compiled
(the SQL, its bind and result processors) and runs it on the session's own connection and
transaction: the same SQL, the same parameter and result conversions, rows as named
tuples. Listeners of ``before_cursor_execute`` still see every statement (the tests'
statement counts, lazy_begin.py), and a driver error is raised through SQLAlchemy's own
handling (wrapped, retryable, a lost connection noticed).

Only PostgreSQL takes this path; a statement whose SQL is finished only at execution
(expanding IN lists, literal-rendered parameters) or that cannot be cached goes the
ordinary way, as does every statement on SQLite.
"""
from collections import namedtuple

from sqlalchemy.exc import MultipleResultsFound, NoResultFound

from . import plan_cache

MAX_SHAPES = 512
"""Statement shapes kept per process; the public pages have a few dozen."""


class Rows(list):
    """The rows of one read, with the few ``Result`` methods the services use."""

    def all(self):
        return self

    def first(self):
        return self[0] if self else None

    def one(self):
        if len(self) != 1:
            raise (NoResultFound if not self else MultipleResultsFound)(
                f"expected one row, got {len(self)}")
        return self[0]

    def scalar(self):
        return self[0][0] if self else None


class CompiledRead:
    """One statement shape: its SQL and how values go in and come out."""

    __slots__ = ("compiled", "sql", "bind_processors", "row_type", "result_processors")

    def __init__(self, compiled):
        self.compiled = compiled
        self.sql = compiled.string
        self.bind_processors = tuple(compiled._bind_processors.items())
        keys = [column.keyname for column in compiled._result_columns]
        self.row_type = namedtuple("Row", keys, rename=True)
        self.result_processors = None

    def parameters(self, params, extracted):
        values = self.compiled.construct_params(params, extracted_parameters=extracted)
        for name, process in self.bind_processors:
            if name in values:
                values[name] = process(values[name])
        return values

    def rows(self, dialect, cursor) -> Rows:
        """The column types the driver reports are the same on every run of one SQL, so
        the result processors are looked up at the first."""
        processors = self.result_processors
        if processors is None:
            processors = self.result_processors = [
                column.type._cached_result_processor(dialect, description.type_code)
                for column, description in zip(self.compiled._result_columns,
                                               cursor.description)]
        make = self.row_type._make
        raw = cursor.fetchall()
        if not any(processors):
            return Rows(make(row) for row in raw)
        return Rows(make([value if process is None else process(value)
                          for process, value in zip(processors, row)]) for row in raw)


_shapes: dict = {}


def _compiled_read(dialect, statement):
    cache_key = statement._generate_cache_key()
    if cache_key is None:
        return None, None
    entry = _shapes.get(cache_key.key)
    if entry is None:
        compiled = dialect.statement_compiler(dialect, statement, cache_key=cache_key)
        if compiled.post_compile_params or compiled.literal_execute_params:
            entry = False
        else:
            entry = CompiledRead(compiled)
        if len(_shapes) < MAX_SHAPES:
            _shapes[cache_key.key] = entry
    return entry, cache_key.bindparams


def execute(connection, statement, params):
    """Rows of ``statement`` (a Core SELECT) with ``params``, read on ``connection``."""
    dialect = connection.dialect
    if dialect.name != "postgresql":
        return connection.execute(statement, params)
    entry, extracted = _compiled_read(dialect, statement)
    if not entry:
        return connection.execute(statement, params)
    values = entry.parameters(params, extracted)
    plan_cache.steer(connection, statement._execution_options)
    cursor = connection.connection.driver_connection.cursor()
    try:
        if connection._has_events or connection.engine._has_events:
            connection.dispatch.before_cursor_execute(connection, cursor, entry.sql, values,
                                                      None, False)
        try:
            cursor.execute(entry.sql, values)
        except dialect.loaded_dbapi.Error as error:
            connection._handle_dbapi_exception(error, entry.sql, values, cursor, None)
        return entry.rows(dialect, cursor)
    finally:
        cursor.close()
