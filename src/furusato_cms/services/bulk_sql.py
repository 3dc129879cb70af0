"""Set-based writes shared by the imports and the batch jobs, the same on SQLite and
PostgreSQL."""
from sqlalchemy import and_, bindparam, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

ARRAY_CHUNK = 10_000
"""Rows per statement on PostgreSQL: one array per column, each of this many values."""


def insert_ignoring_duplicates(dbsession, table, rows: list, unique: tuple) -> list:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL): the ids of the rows that
    were new. A row the unique constraint already holds is left as it is. Every row has
    the same keys."""
    if not rows:
        return []
    if dbsession.get_bind().dialect.name == "postgresql":
        return [new_id for start in range(0, len(rows), ARRAY_CHUNK)
                for new_id in _insert_from_arrays(dbsession, table,
                                                  rows[start:start + ARRAY_CHUNK], unique)]
    statement = (sqlite.insert(table).on_conflict_do_nothing(index_elements=list(unique))
                 .returning(table.c.id))
    return list(dbsession.execute(statement, rows).scalars())


def update_rows(dbsession, table, rows: list, key: tuple) -> None:
    """Each row's other columns set where its ``key`` columns match (every row has the
    same keys). Naming a partitioned table's partition key in ``key`` (registrations'
    ``account_id``) lets PostgreSQL update each row in its one partition, where an
    update by id alone probes all of them."""
    if not rows:
        return
    columns = list(rows[0])
    changed = [column for column in columns if column not in key]
    if dbsession.get_bind().dialect.name == "postgresql":
        for start in range(0, len(rows), ARRAY_CHUNK):
            given = _arrays(table, rows[start:start + ARRAY_CHUNK], columns)
            dbsession.execute(
                update(table)
                .where(and_(*(table.c[column] == given.c[column] for column in key)))
                .values({column: given.c[column] for column in changed}))
        return
    dbsession.execute(
        update(table)
        .where(and_(*(table.c[column] == bindparam(f"key_{column}") for column in key)))
        .values({column: bindparam(f"new_{column}") for column in changed}),
        [{f"{'key' if column in key else 'new'}_{column}": value
          for column, value in row.items()} for row in rows])


def among(dbsession, columns: tuple, rows: list):
    """The condition that ``columns`` hold one of the value tuples ``rows``: on
    PostgreSQL the tuples go as one array per column (``unnest``), elsewhere as an IN
    list."""
    if dbsession.get_bind().dialect.name == "postgresql":
        given = _unnest("given", {f"c{index}": column.type
                                  for index, column in enumerate(columns)},
                        [[row[index] for row in rows] for index in range(len(columns))])
        return tuple_(*columns).in_(select(*given.c))
    return tuple_(*columns).in_(rows)


def _unnest(name, types, arrays):
    """``unnest(one array per column) AS name(columns)``. A VALUES list or an executemany
    has a placeholder or a statement per row, which SQLAlchemy writes out and psycopg
    parses again for every thousand rows (a third of a 100,000-row import's time);
    arrays are one parameter per column."""
    parameters = [bindparam(f"{name}_{index}", array, type_=postgresql.ARRAY(type_))
                  for index, (type_, array) in enumerate(zip(types.values(), arrays))]
    return func.unnest(*parameters).table_valued(*types).render_derived(name=name)


def _arrays(table, rows, columns):
    """PostgreSQL: the rows (dicts) as ``given``, typed as ``table``'s columns."""
    return _unnest("given", {column: table.c[column].type for column in columns},
                   [[row[column] for row in rows] for column in columns])


def _insert_from_arrays(dbsession, table, rows, unique) -> list:
    """PostgreSQL: ``INSERT … SELECT … FROM unnest(…)`` (see ``_arrays``)."""
    columns = list(rows[0])
    source = _arrays(table, rows, columns)
    statement = (postgresql.insert(table)
                 .from_select(columns, select(*(source.c[column] for column in columns)))
                 .on_conflict_do_nothing(index_elements=list(unique))
                 .returning(table.c.id))
    return list(dbsession.execute(statement).scalars())
