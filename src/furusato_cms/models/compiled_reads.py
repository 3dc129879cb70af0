"""Public reads compiled once and run straight on the driver (コンパイル済みの読み取り).

SQLAlchemy Core spends about 100 µs of CPU around each SELECT of a public page — the
execution context, the result's metadata, a Row per row — which on PostgreSQL is twice
what psycopg itself needs (issue 16). For the statements the public pages read through
``services.paging.read_rows``, this keeps, per statement shape, what SQLAlchemy compiled
(the SQL, its bind and result processors) and runs it on the session's own connection and
transaction: the same SQL, the same parameter and result conversions, rows as named
tuples. A connection in autocommit (every pooled one: lazy_begin.py) sends it with libpq's
own calls (libpq_statements.py), any other through a psycopg cursor. Listeners of
``before_cursor_execute`` still see every statement with its execution options (the
tests' statement counts, lazy_begin.py, plan_cache.py), and a driver error is raised
through SQLAlchemy's own handling (wrapped, retryable, a lost connection noticed).

Only PostgreSQL takes this path; a statement whose SQL is finished only at execution
(expanding IN lists, literal-rendered parameters) or that cannot be cached goes the
ordinary way, as does every statement on SQLite.

``execute_together`` reads several such statements in one: each becomes a subquery
aggregated to JSON, in one SELECT of one round trip, and its rows come back as if read
alone (the site's page reads four lists: issue 16). JSON carries numbers, strings,
booleans and times as text, so only statements whose columns are of those types are
combined; the rest are read one by one.

A read's parameter may be ``LookedUp``: a value the database finds itself (a site's id
by its code), inlined as a scalar subquery where reads are combined, so a read need not
wait for the round trip that would have found it (the site's page: one statement).
"""
import re
import weakref
from collections import namedtuple
from datetime import date, datetime

from sqlalchemy.dialects.postgresql.psycopg import dialect as postgresql_dialect
from sqlalchemy.exc import InvalidRequestError, MultipleResultsFound, NoResultFound

from . import libpq_statements


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

    __slots__ = ("compiled", "sql", "row_type", "result_processors",
                 "json_converters", "json_readers")

    def __init__(self, compiled):
        self.compiled = compiled
        self.sql = compiled.string
        keys = [column.keyname for column in compiled._result_columns]
        self.row_type = namedtuple("Row", keys, rename=True)
        self.result_processors = None
        self.json_converters = _json_converters(compiled)
        self.json_readers = None

    def rows_from_json(self, dialect, objects) -> Rows:
        """The rows of this statement from its JSON aggregate (one array or object per
        row, its values in column order), converted as the driver and the column types would:
        ``json_readers`` holds only the columns that need it (three of the site record's
        29: its dates and times)."""
        readers = self.json_readers
        if readers is None:
            readers = self.json_readers = tuple(
                (index, read) for index, read in enumerate(
                    _chained(convert, column.type._cached_result_processor(dialect, None))
                    for convert, column in zip(self.json_converters,
                                               self.compiled._result_columns))
                if read is not None)
        make = self.row_type._make
        rows = Rows()
        for row in objects:
            values = row if isinstance(row, list) else list(row.values())
            for index, read in readers:
                value = values[index]
                if value is not None:
                    values[index] = read(value)
            rows.append(make(values))
        return rows

    def bind_plan(self, extracted) -> tuple:
        """How each bind parameter gets its value for a statement whose cache key gave
        ``extracted``: what ``construct_params`` works out on every call, worked out once
        per statement object. Per parameter: its key, its compiled and SQL names, whether
        it must be given, whether its default is computed, where the default comes from
        and its bind processor."""
        compiled = self.compiled
        resolved = {}
        if extracted:
            matches, _ = compiled._cache_key_bind_match
            resolved = {bind: given for original, given in zip(compiled.cache_key[1], extracted)
                        for bind in matches[original]}
        escaped = compiled.escaped_bind_names
        processors = compiled._bind_processors
        plan = []
        for bind, name in compiled.bind_names.items():
            sql_name = escaped.get(name, name)
            plan.append((bind.key, name, sql_name, bind.required, bind.callable is not None,
                         resolved.get(bind, bind), processors.get(sql_name)))
        return tuple(plan)

    @staticmethod
    def parameters(params, plan) -> dict:
        """The driver's parameters: given by ``params`` or the statement's own values, each
        through its bind processor (``construct_params`` and the processors, as SQLAlchemy
        runs them)."""
        values = {}
        params = params or {}
        for key, name, sql_name, required, computed, source, process in plan:
            if key in params:
                value = params[key]
            elif name in params:
                value = params[name]
            elif required:
                raise InvalidRequestError(f"A value is required for bind parameter {key!r}")
            else:
                value = source.effective_value if computed else source.value
            values[sql_name] = value if process is None else process(value)
        return values

    def rows(self, dialect, result) -> Rows:
        """The column types the driver reports are the same on every run of one SQL, so
        the result processors are looked up at the first."""
        processors = self.result_processors
        if processors is None:
            processors = self.result_processors = [
                column.type._cached_result_processor(dialect, type_code)
                for column, type_code in zip(self.compiled._result_columns,
                                             result.type_codes)]
        make = self.row_type._make
        if not any(processors):
            return Rows(result.rows(make))
        return Rows(make([value if process is None else process(value)
                          for process, value in zip(processors, row)])
                    for row in result.rows())


def _chained(convert, process):
    """``process(convert(value))``, skipping whichever is None."""
    if convert is None or process is None:
        return convert or process
    return lambda value: process(convert(value))


_JSON_AS_IS = {"integer", "string", "boolean", "float", "json"}
_FROM_JSON_TEXT = {"datetime": datetime.fromisoformat, "date": date.fromisoformat}


def _json_converters(compiled):
    """Per column, how its JSON value becomes the driver's value (None: as it is);
    None for the whole statement when a column's type does not survive JSON, or two
    columns share a name (a JSON object keeps one)."""
    names = [column.name for column in compiled._result_columns]
    if len(set(names)) != len(names):
        return None
    converters = []
    for column in compiled._result_columns:
        kind = _json_kind(column.type)
        if kind in _JSON_AS_IS:
            converters.append(None)
        elif kind in _FROM_JSON_TEXT:
            converters.append(_FROM_JSON_TEXT[kind])
        else:
            return None
    return converters


def _json_kind(type_):
    """The family of a column type as far as JSON is concerned."""
    impl = getattr(type_, "impl_instance", type_)
    visit = getattr(impl, "__visit_name__", "")
    if visit in ("integer", "big_integer", "small_integer", "INTEGER", "BIGINT", "SMALLINT"):
        return "integer"
    if visit in ("string", "text", "unicode", "unicode_text", "VARCHAR", "TEXT", "enum"):
        return "string"
    if visit in ("boolean", "BOOLEAN"):
        return "boolean"
    if visit in ("float", "double", "FLOAT", "DOUBLE_PRECISION"):
        return "float"
    if visit in ("datetime", "TIMESTAMP", "date", "DATE"):
        return "date" if visit in ("date", "DATE") else "datetime"
    if visit in ("JSON", "json"):
        return "json"
    return None


_shapes: dict = {}
_MEMO = "_furusato_compiled_read"


def _compiled_read(dialect, statement):
    """The statement's shape and how its parameters are filled in. Working out the cache
    key walks the whole statement (46 µs for the signed-in identity's, 66 µs for the
    check-in scan's), so the answer is kept on the statement itself, which a prebuilt
    statement (a module constant) then pays once per process. SQLAlchemy copies
    ``__dict__`` into every statement derived from it, so the memo names the object it
    belongs to by a weak reference: a derived statement is not it and works out its
    own."""
    memo = statement.__dict__.get(_MEMO)
    if memo is not None and memo[0]() is statement:
        return memo[1], memo[2]
    entry, extracted = _shape(dialect, statement)
    plan = entry.bind_plan(extracted) if entry else None
    statement.__dict__[_MEMO] = (weakref.ref(statement), entry, plan)
    return entry, plan


def _shape(dialect, statement):
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


class LookedUp:
    """A bind parameter's value that the database looks up: ``statement`` (a SELECT of
    one column and at most one row) with ``params``. Combined reads carry it as a scalar
    subquery of their one statement; a read run alone reads it first."""

    __slots__ = ("statement", "params")

    def __init__(self, statement, params):
        self.statement = statement
        self.params = params


class KnownBy:
    """A row the reads know only by another key (a site by its code, an account by its
    session's token): its ``id`` is ``LookedUp`` by the statement that reads with it."""

    __slots__ = ("id",)

    def __init__(self, statement, params):
        self.id = LookedUp(statement, params)


def _lookups_read(connection, params) -> dict:
    """``params`` with each ``LookedUp`` value read (for a statement run alone)."""
    if not any(isinstance(value, LookedUp) for value in params.values()):
        return params
    return {name: execute(connection, value.statement, value.params).scalar()
            if isinstance(value, LookedUp) else value for name, value in params.items()}


def execute(connection, statement, params):
    """Rows of ``statement`` (a Core SELECT) with ``params``, read on ``connection``."""
    params = _lookups_read(connection, params or {})
    dialect = connection.dialect
    if dialect.name != "postgresql":
        return connection.execute(statement, params)
    entry, plan = _compiled_read(dialect, statement)
    if not entry:
        return connection.execute(statement, params)
    values = entry.parameters(params, plan)
    return _on_driver(connection, entry.sql, values,
                      lambda result: entry.rows(dialect, result), statement._execution_options)


class DriverContext:
    """What the engine's ``before_cursor_execute`` listeners read of an execution context
    for a statement run here: its execution options, the connection's with the
    statement's over them, as SQLAlchemy merges them (the plan mode, a standalone write,
    an isolation level)."""

    __slots__ = ("execution_options",)

    def __init__(self, execution_options):
        self.execution_options = execution_options


class _NoCursor:
    """What listeners and SQLAlchemy's error handling get as the cursor of a statement
    sent without one (models/libpq_statements.py): its connection."""

    __slots__ = ("connection",)

    def __init__(self, connection):
        self.connection = connection

    def close(self):
        pass


class _CursorResult:
    """A cursor's rows as ``libpq_statements.Result`` gives them."""

    __slots__ = ("cursor",)

    def __init__(self, cursor):
        self.cursor = cursor

    @property
    def type_codes(self) -> list:
        return [description.type_code for description in self.cursor.description]

    def rows(self, make=tuple) -> list:
        return [make(row) for row in self.cursor.fetchall()]

    def first(self, make=tuple):
        row = self.cursor.fetchone()
        return None if row is None else make(row)


def _on_driver(connection, sql, values, read, options):
    """``read(result)`` after ``sql`` ran with ``values`` on the connection's own driver
    connection (with libpq's calls where it can, else a cursor): seen by the engine's
    listeners with the statement's execution ``options``, a driver error raised as
    SQLAlchemy raises it."""
    driver = connection.connection.driver_connection
    direct = libpq_statements.usable(driver)
    cursor = _NoCursor(driver) if direct else driver.cursor()
    try:
        if connection._has_events or connection.engine._has_events:
            context = DriverContext(connection._execution_options.union(options))
            connection.dispatch.before_cursor_execute(connection, cursor, sql, values, context,
                                                      False)
        try:
            if direct:
                result = libpq_statements.run(driver, sql, values)
            else:
                cursor.execute(sql, values)
                result = _CursorResult(cursor)
        except connection.dialect.loaded_dbapi.Error as error:
            connection._handle_dbapi_exception(error, sql, values, cursor, None)
        return read(result)
    finally:
        cursor.close()


_PLACEHOLDER = re.compile(r"(?<!%)%\((\w+)\)s")
_together: dict = {}


def _renamed(sql: str, prefix: str, lookups=()) -> str:
    """``sql`` with each parameter renamed ``<prefix><name>``, and each named in
    ``lookups`` (``(name, CompiledRead)`` pairs) replaced by that lookup as a scalar
    subquery, its own parameters renamed ``<prefix><name>__<its name>``."""
    inlined = {name: "(" + _renamed(entry.sql, f"{prefix}{name}__") + ")"
               for name, entry in lookups}

    def rename(match):
        name = match.group(1)
        return inlined.get(name) or f"%({prefix}{name})s"

    return _PLACEHOLDER.sub(rename, sql)


def _combined_sql(shapes) -> str:
    """One SELECT of each statement's rows as a JSON array, its parameters renamed
    ``r<i>_<name>`` so two statements' parameters of one name stay apart. ``shapes``
    holds per statement its ``CompiledRead`` and its lookups."""
    sql = _together.get(shapes)
    if sql is None:
        parts = [
            f"(SELECT coalesce(json_agg({_json_row(entry, f'r{index}')}), '[]') FROM ("
            + _renamed(entry.sql, f"r{index}_", lookups) + f") AS r{index}) AS r{index}"
            for index, (entry, lookups) in enumerate(shapes)
        ]
        sql = "SELECT " + ",\n".join(parts)
        if len(_together) < MAX_SHAPES:
            _together[shapes] = sql
    return sql


_QUOTE = postgresql_dialect().identifier_preparer.quote
_MAX_ARGS = 100
"""PostgreSQL's limit on a function's arguments."""


def _json_row(entry, alias: str) -> str:
    """One row of a combined read as JSON: an array of its columns in order, cheaper to
    send and to parse than an object repeating every column's name on every row; an
    object (read back in the same order) past PostgreSQL's 100 arguments a call."""
    names = [column.name for column in entry.compiled._result_columns]
    if len(names) > _MAX_ARGS:
        return alias
    return "json_build_array(" + ", ".join(f"{alias}.{_QUOTE(name)}" for name in names) + ")"


def _combinable(entry) -> bool:
    return bool(entry) and entry.json_converters is not None


class _Combination:
    """How reads of given shapes are sent in one statement: its SQL and, per read and per
    looked-up value, a plan carrying the combined parameter names (``fill``), worked out
    once per combination of plans and looked-up keys; renaming every parameter on every
    page (an f-string and a dict per parameter) was a twentieth of the site page's CPU.
    ``plans`` keeps the plans whose ids key the cache alive, so an id is never reused
    while it is kept."""

    __slots__ = ("sql", "fill", "shapes", "plans")

    def __init__(self, sql, fill, shapes, plans):
        self.sql = sql
        self.fill = fill
        self.shapes = shapes
        self.plans = plans

    def values(self, all_params) -> dict:
        """The driver's values for the reads' ``params``, filled by
        ``CompiledRead.parameters`` from plans that carry the combined names."""
        values = {}
        for index, lookup, plan in self.fill:
            params = all_params[index]
            if lookup is not None:
                params = params[lookup].params
            values.update(CompiledRead.parameters(params, plan))
        return values


_combinations: dict = {}


def _looked_up(dialect, params) -> tuple | None:
    """``(key, (CompiledRead, plan))`` of each ``LookedUp`` parameter; None when one
    cannot be inlined."""
    found = []
    for key, value in params.items():
        if isinstance(value, LookedUp):
            entry, plan = _compiled_read(dialect, value.statement)
            if not entry:
                return None
            found.append((key, (entry, plan)))
    return tuple(found)


def _combination(dialect, compiled, all_params):
    """The ``_Combination`` of reads of ``compiled`` shapes with ``all_params``; None
    when a looked-up value cannot be inlined."""
    lookups = []
    for params in all_params:
        found = _looked_up(dialect, params)
        if found is None:
            return None
        lookups.append(found)
    cache_key = tuple((id(plan), tuple((key, id(lookup_plan)) for key, (_e, lookup_plan) in found))
                      for (_entry, plan), found in zip(compiled, lookups))
    combination = _combinations.get(cache_key)
    if combination is None:
        combination = _combine(compiled, lookups)
        if len(_combinations) < MAX_SHAPES:
            _combinations[cache_key] = combination
    return combination


def _renamed_plan(plan, prefix: str) -> tuple:
    """``plan`` with each parameter's SQL name given ``prefix``."""
    return tuple((key, name, prefix + sql_name, *how) for key, name, sql_name, *how in plan)


def _combine(compiled, lookups) -> _Combination:
    shapes, fill, plans = [], [], []
    for index, ((entry, plan), found) in enumerate(zip(compiled, lookups)):
        prefix = f"r{index}_"
        looked_up = dict(found)
        inlined = []
        plans.append(plan)
        fill.append((index, None, _renamed_plan(
            [bind for bind in plan if bind[0] not in looked_up], prefix)))
        for key, _name, sql_name, *_how in plan:
            if key in looked_up:
                lookup_entry, lookup_plan = looked_up[key]
                inlined.append((sql_name, lookup_entry))
                plans.append(lookup_plan)
                fill.append((index, key, _renamed_plan(lookup_plan, f"{prefix}{sql_name}__")))
        shapes.append((entry, tuple(inlined)))
    return _Combination(_combined_sql(tuple(shapes)), tuple(fill), tuple(shapes), tuple(plans))


def execute_together(connection, reads) -> list:
    """The rows of each ``(statement, params)`` of ``reads``, as ``execute`` would give
    them, read in one statement where they can be (see the module's note)."""
    dialect = connection.dialect
    if dialect.name != "postgresql" or len(reads) < 2:
        return [execute(connection, statement, params) for statement, params in reads]
    compiled = [_compiled_read(dialect, statement) for statement, _params in reads]
    if not all(_combinable(entry) for entry, _ in compiled):
        return [execute(connection, statement, params) for statement, params in reads]
    all_params = [params or {} for _statement, params in reads]
    combination = _combination(dialect, compiled, all_params)
    if combination is None:
        return [execute(connection, statement, params) for statement, params in reads]
    generic = all(statement._execution_options.get("furusato_generic_plan")
                  for statement, _params in reads)
    row = _on_driver(connection, combination.sql, combination.values(all_params),
                     lambda result: result.first(), {"furusato_generic_plan": generic})
    return [entry.rows_from_json(dialect, objects)
            for (entry, _lookups), objects in zip(combination.shapes, row)]
