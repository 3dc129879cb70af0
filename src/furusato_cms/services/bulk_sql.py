"""Set-based writes shared by the imports, the same on SQLite and PostgreSQL."""
from sqlalchemy import bindparam, func, select
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


def _insert_from_arrays(dbsession, table, rows, unique) -> list:
    """PostgreSQL: ``INSERT … SELECT … FROM unnest(one array per column)``. A VALUES list
    has a placeholder per value, which SQLAlchemy writes out and psycopg parses again
    for every thousand rows (a third of a 100,000-row import's time); arrays are one
    parameter per column."""
    columns = list(rows[0])
    arrays = [bindparam(f"values_{index}", [row[column] for row in rows],
                        type_=postgresql.ARRAY(table.c[column].type))
              for index, column in enumerate(columns)]
    source = func.unnest(*arrays).table_valued(*columns).render_derived(name="given")
    statement = (postgresql.insert(table)
                 .from_select(columns, select(*(source.c[column] for column in columns)))
                 .on_conflict_do_nothing(index_elements=list(unique))
                 .returning(table.c.id))
    return list(dbsession.execute(statement).scalars())
