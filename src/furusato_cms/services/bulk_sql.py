"""Set-based writes shared by the imports, the same on SQLite and PostgreSQL."""
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_duplicates(dbsession, table, rows: list, unique: tuple) -> list:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL): the ids of the rows that
    were new. A row the unique constraint already holds is left as it is."""
    if not rows:
        return []
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[dbsession.get_bind().dialect.name]
    statement = (dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
                 .returning(table.c.id))
    return list(dbsession.execute(statement, rows).scalars())
