"""One page of a longer list: counted pages for the HTML screens, keyset slices with an
opaque cursor for the API (no count, no offset: as fast on the last page as the first)."""
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from ..models import compiled_reads
from ..models.lazy_begin import READS_APART
from ..models.transaction_join import mark_written


@dataclass(frozen=True)
class Page:
    """``more`` says whether a next page exists; ``total`` is known only for screens
    that print it (``counted=True``): counting the whole list on every view is what a
    feed or an inbox must not pay for."""

    items: list
    page: int
    page_size: int
    more: bool
    total: int | None = None

    @property
    def has_next(self) -> bool:
        return self.more


def fetch_page(dbsession, statement, *, page: int, page_size: int, counted: bool = False,
               cls=Page, **extra):
    """Run ``statement`` (an ordered select) for one page: one query reading one row more
    than the page to learn whether another follows, and a count only when ``counted``."""
    rows = list(dbsession.scalars(statement.limit(page_size + 1).offset((page - 1) * page_size))
                .unique())
    total = (dbsession.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
             if counted else None)
    return cls(items=rows[:page_size], page=page, page_size=page_size,
               more=len(rows) > page_size, total=total, **extra)


def _flush_pending(dbsession):
    if dbsession.autoflush and (dbsession.new or dbsession.dirty or dbsession.deleted):
        dbsession.flush()


def _borrows(dbsession, statements) -> bool:
    """Whether ``statements`` run on a pooled connection borrowed for them alone rather
    than on the session's: while a request's session has not begun (nothing of it
    written, locked or loaded through the ORM), for statements that take no row lock
    (a lock taken in autocommit would end with the statement). Under READ COMMITTED in
    autocommit (models/lazy_begin.py) both connections see the same rows; the borrowed
    one spares the request the session's transaction, its join to the request's and its
    closing (about 30 µs of CPU a request, issue 16)."""
    if not dbsession.info.get(READS_APART) or dbsession.in_transaction():
        return False
    bind = dbsession.get_bind()
    return (type(bind) is Engine and bind.dialect.name == "postgresql"
            and all(getattr(statement, "_for_update_arg", None) is None
                    for statement in statements))


def _on_connection(dbsession, statements, run):
    """``run(connection)`` on a borrowed connection when ``_borrows``, else on the
    session's."""
    if _borrows(dbsession, statements):
        with dbsession.get_bind().connect() as connection:
            return run(connection)
    return run(dbsession.connection())


def read_rows(dbsession, statement, params=None):
    """Run a prepared Core ``statement`` (columns, not ORM entities; ``params`` for its
    bind parameters): the public pages' reads. It skips the ORM's per-statement work
    (entity loading, identity map, building the statement again), which was most of a
    public page's CPU, and on PostgreSQL most of Core's too (models/compiled_reads.py);
    pending changes are flushed first, as the session itself would. A statement carrying
    ``WRITES`` (an INSERT in a data-modifying CTE) runs on the session's connection and
    marks the request's transaction written, as the session's own execution would —
    unless it is also a ``STANDALONE_WRITE`` (whole in itself, the check-in's) and the
    session has not begun: it then commits by itself on a borrowed connection, as it
    would have on the session's, and leaves nothing to commit."""
    _flush_pending(dbsession)
    params = params or {}
    options = statement._execution_options
    writes = options.get("furusato_writes")
    if not writes or options.get("furusato_standalone_write"):
        rows = _on_connection(dbsession, (statement,),
                              lambda connection: compiled_reads.execute(connection, statement,
                                                                        params))
    else:
        rows = compiled_reads.execute(dbsession.connection(), statement, params)
    if writes and dbsession.in_transaction():
        mark_written(dbsession)
    return rows


@dataclass(frozen=True)
class Read:
    """One prepared read and what its rows become, so that a page reading several lists
    can read them in one round trip (``read_together``) and a service still offers each
    alone (``read_one``)."""

    statement: object
    params: dict
    finish: Callable = lambda rows: rows


def read_one(dbsession, read: Read):
    return read.finish(read_rows(dbsession, read.statement, read.params))


def reads_in_one_statement(dbsession) -> bool:
    """Whether ``read_together`` sends one statement here (PostgreSQL; SQLite reads each
    in turn, and a ``LookedUp`` parameter there costs a statement of its own)."""
    return dbsession.get_bind().dialect.name == "postgresql"


def read_together(dbsession, *reads: Read) -> list:
    """What each read becomes, in order; one statement on PostgreSQL."""
    _flush_pending(dbsession)
    statements = [(read.statement, read.params) for read in reads]
    results = _on_connection(
        dbsession, [read.statement for read in reads],
        lambda connection: compiled_reads.execute_together(connection, statements))
    return [read.finish(rows) for read, rows in zip(reads, results)]


def read_first_with(dbsession, first: Read, ahead: list) -> tuple:
    """``first``'s result and the rows of the ``ahead`` reads, in one statement where
    reads combine; the ``ahead`` reads are left unfinished, to be ``finished`` only once
    ``first`` says they are wanted (a lookup whose reads were sent along with it)."""
    value, *rows = read_together(dbsession, first,
                                 *(Read(read.statement, read.params) for read in ahead))
    return value, rows


def finished(reads, rows) -> list:
    """What each read becomes from its rows (``read_first_with``)."""
    return [read.finish(found) for read, found in zip(reads, rows)]


def rows_page_read(statement, params, *, page: int, page_size: int, make=None, cls=Page,
                   **extra) -> Read:
    """One page of a prepared Core statement whose LIMIT and OFFSET are the bind
    parameters ``limit`` and ``offset`` (one row more than the page, to learn whether
    another follows); ``make(row)`` turns each row into an item."""

    def finish(rows):
        rows = rows.all()
        items = rows[:page_size]
        if make is not None:
            items = [make(row) for row in items]
        return cls(items=items, page=page, page_size=page_size, more=len(rows) > page_size,
                   **extra)

    return Read(statement, {**params, "limit": page_size + 1,
                            "offset": (page - 1) * page_size}, finish)


def fetch_rows_page(dbsession, statement, params, **paging):
    """``fetch_page`` for a prepared Core statement (``rows_page_read``)."""
    return read_one(dbsession, rows_page_read(statement, params, **paging))


# -- keyset paging (the API's cursors) --------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset order: the expression, its direction, how to read a value
    back from a cursor, and how to take it from an item."""

    column: object
    descending: bool
    parse: Callable[[str], object]
    value_of: Callable[[object], object]


@dataclass(frozen=True)
class Slice:
    """Items after a cursor, and the cursor after the last of them (None at the end)."""

    items: list
    next_cursor: str | None


class BadCursor(ValueError):
    """A cursor this service did not make (or made for another list)."""


def encode_cursor(values) -> str:
    raw = json.dumps([str(v) for v in values], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, keys) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError(cursor)
        return [key.parse(value) for key, value in zip(keys, values)]
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc


def _after(keys, values):
    """Rows strictly after ``values`` in the keys' order, as one OR of prefixes (works
    for mixed directions on every database)."""
    alternatives = []
    for index, key in enumerate(keys):
        equal = [k.column == v for k, v in zip(keys[:index], values[:index])]
        beyond = key.column < values[index] if key.descending else key.column > values[index]
        alternatives.append(and_(*equal, beyond))
    return or_(*alternatives)


def fetch_slice(dbsession, statement, keys, *, cursor: str | None, limit: int) -> Slice:
    """One slice of ``statement`` (a select without order) in the keys' order, after
    ``cursor``; one query, no count (the next cursor comes from reading one row more)."""
    if cursor:
        statement = statement.where(_after(keys, decode_cursor(cursor, keys)))
    order = [k.column.desc() if k.descending else k.column.asc() for k in keys]
    rows = list(dbsession.scalars(statement.order_by(*order).limit(limit + 1)).unique())
    if len(rows) <= limit:
        return Slice(rows, None)
    last = rows[limit - 1]
    return Slice(rows[:limit], encode_cursor([k.value_of(last) for k in keys]))
