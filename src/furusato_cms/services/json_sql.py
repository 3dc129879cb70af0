"""JSON arrays in SQL, the same on SQLite and PostgreSQL: set-based reads of list columns
(connections, relationship types) without loading rows into Python."""
from sqlalchemy import String, cast, exists, func, literal, select


def json_array_values(dialect: str, column, key: str | None = None):
    """The text values of a JSON array column (or of the array under ``key`` of a JSON
    object), as a table to join: one row per element, in the column ``value``."""
    if dialect == "postgresql":
        target = column if key is None else column.op("->")(literal(key))
        return func.json_array_elements_text(target).table_valued("value")
    if key is None:
        return func.json_each(column).table_valued("value")
    return func.json_each(column, f"$.{key}").table_valued("value")


def json_array_of(dialect: str, column):
    """Aggregate: the values of ``column`` in a group, as a JSON array."""
    if dialect == "postgresql":
        return func.json_agg(column)
    return func.json_group_array(column)


def holds_any(dialect: str, column, values):
    """SQL condition: the JSON array ``column`` holds at least one of ``values``
    (compared as text, so numbers and strings both work)."""
    texts = [str(value) for value in values]
    return _holding(dialect, column, lambda element: element.in_(texts))


def holds(dialect: str, column, expression):
    """SQL condition: the JSON array ``column`` holds the value of ``expression``."""
    return _holding(dialect, column, lambda element: element == cast(expression, String))


def _holding(dialect, column, test):
    elements = json_array_values(dialect, column)
    return exists(
        select(literal(1)).select_from(elements).where(test(cast(elements.c.value, String)))
    )
