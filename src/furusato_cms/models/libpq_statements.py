"""Compiled reads sent with libpq's own calls (libpqで直接送る文).

A psycopg cursor spends about 35 µs of Python on each statement around what libpq does:
converting the query, building and checking the cursor's state. That is half of what a
statement costs the web process, and a public page runs two (issue 16). The statements
of ``compiled_reads`` are fixed SQL whose shape is known, so here they go to the server
with libpq's calls directly: the query converted once per SQL, the parameters dumped and
the rows loaded by psycopg's own ``Transformer`` (the conversions a cursor uses).

Preparing is left to the connection's own prepared-statement manager, as a cursor
leaves it: a statement is prepared at the connection's ``prepare_threshold``, and when
psycopg deallocates its statements (after a ROLLBACK, a DROP or ALTER, or when more than
``prepared_max`` are kept) these go with them and are prepared again. That manager is
psycopg's internal ``PrepareManager`` (``get``, ``maybe_add_to_cache``, ``validate``,
``maintain_gen``), used the way ``psycopg._cursor_base`` uses it; the tests pin it.

What a cursor does around that is kept: the connection's lock is held, a server error is
raised as psycopg raises it (its SQLSTATE's exception class), and a connection outside
autocommit (one given an isolation level, whose transaction psycopg begins itself) or in
pipeline mode takes the cursor's way (``usable`` is False).
"""
import re

from psycopg import errors
from psycopg.adapt import PyFormat, Transformer
from psycopg.generators import execute
from psycopg.pq import ExecStatus
from psycopg._preparing import Prepare

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_FATAL = ExecStatus.FATAL_ERROR
_queries: dict = {}
MAX_QUERIES = 1024
"""SQL texts kept converted per process (compiled_reads keeps at most 512 shapes and 512
combinations of them)."""


class _Query:
    """One SQL text as libpq takes it: ``$n`` placeholders and the order of the names."""

    __slots__ = ("text", "order", "formats", "encoded")

    def __init__(self, sql: str):
        order = []

        def number(match):
            name = match.group(1)
            if name is None:
                return "%"
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}"

        self.text = _PLACEHOLDER.sub(number, sql)
        self.order = tuple(order)
        self.formats = [PyFormat.AUTO] * len(order)
        self.encoded = {}

    def encode(self, encoding: str) -> bytes:
        text = self.encoded.get(encoding)
        if text is None:
            text = self.encoded[encoding] = self.text.encode(encoding)
        return text


def _query(sql: str) -> _Query:
    query = _queries.get(sql)
    if query is None:
        query = _Query(sql)
        if len(_queries) < MAX_QUERIES:
            _queries[sql] = query
    return query


class _Key:
    """What psycopg's prepared-statement manager reads of a query: its text and types."""

    __slots__ = ("query", "types")

    def __init__(self, query: bytes, types: tuple):
        self.query = query
        self.types = types


class _ConnectionState:
    """What one driver connection keeps here: its transformer and encoding."""

    __slots__ = ("transformer", "encoding")

    def __init__(self, driver):
        self.transformer = Transformer(driver)
        self.encoding = driver.info.encoding


_STATE = "_furusato_libpq_state"


def _state(driver) -> _ConnectionState:
    state = driver.__dict__.get(_STATE)
    if state is None:
        state = driver.__dict__[_STATE] = _ConnectionState(driver)
    return state


class Result:
    """The rows of one statement, loaded as a cursor would load them."""

    __slots__ = ("pgresult", "transformer")

    def __init__(self, pgresult, transformer):
        self.pgresult = pgresult
        self.transformer = transformer

    @property
    def type_codes(self) -> list:
        result = self.pgresult
        return [result.ftype(index) for index in range(result.nfields)]

    def rows(self, make=tuple) -> list:
        return self.transformer.load_rows(0, self.pgresult.ntuples, make)

    def first(self, make=tuple):
        return self.transformer.load_row(0, make) if self.pgresult.ntuples else None


def usable(driver) -> bool:
    return driver.autocommit and driver._pipeline is None


def run(driver, sql: str, values: dict) -> Result:
    """``sql`` (pyformat placeholders, as SQLAlchemy compiles for psycopg) with ``values``
    on ``driver``, a psycopg connection that is ``usable``."""
    query = _query(sql)
    state = _state(driver)
    transformer = state.transformer
    params = transformer.dump_sequence([values[name] for name in query.order],
                                       query.formats)
    key = _Key(query.encode(state.encoding), transformer.types)
    formats = transformer.formats
    manager = driver._prepared
    with driver.lock:
        if manager._to_flush:
            driver.wait(manager.maintain_gen(driver))
        pgconn = driver.pgconn
        prepare, name = manager.get(key)
        if prepare is Prepare.NO:
            pgconn.send_query_params(key.query, params, param_types=key.types,
                                     param_formats=formats)
        else:
            if prepare is Prepare.SHOULD:
                pgconn.send_prepare(name, key.query, param_types=key.types)
                _check(driver.wait(execute(pgconn)), state.encoding)
            pgconn.send_query_prepared(name, params, param_formats=formats)
        cached = manager.maybe_add_to_cache(key, prepare, name)
        results = driver.wait(execute(pgconn))
        if cached is not None:
            manager.validate(cached, prepare, name, results)
    _check(results, state.encoding)
    transformer.set_pgresult(results[-1])
    return Result(results[-1], transformer)


def _check(results, encoding):
    for result in results:
        if result.status == _FATAL:
            raise errors.error_from_result(result, encoding=encoding)
