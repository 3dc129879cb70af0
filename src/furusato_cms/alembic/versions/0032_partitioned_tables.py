"""registrations and attendances hash-partitioned by account_id on PostgreSQL (no-op on SQLite)

Revision ID: 0032_partitioned_tables
Revises: 0031_member_invitations
Create Date: 2026-12-05 00:00:00

Why and how (docs/scaling.md §4): a person's registrations and attendance live in one of
``PARTITIONS`` partitions, chosen by ``account_id``, so one person's queries and the
check-in insert read one partition, and VACUUM, REINDEX and ANALYZE work a partition at a
time. Everything about the tables is read from the catalogue and rebuilt on the
partitioned table under the same names — columns, defaults, CHECK constraints, indexes,
the statistics triggers, foreign keys both ways — so the revision follows the schema as
it is, not as it was when this was written.

PostgreSQL enforces a unique key on a partitioned table only when it holds the partition
key. Both uniqueness rules already do (one registration per person and site, one
attendance per person and session), so they stay database constraints; the primary key
becomes ``(id, account_id)``. A foreign key must name such a key, so:

- tables that refer to these rows and carry ``account_id`` themselves refer to
  ``(id, account_id)`` (the same person's row, which the data always is);
- tables without ``account_id`` (registration_events, survey_answers, pending claims,
  external attendance ids) get a constraint trigger doing what the foreign key did: the
  parent must exist (and is locked FOR KEY SHARE, as a foreign key locks it), and deleting
  a parent cascades or is refused as the key said. The original definition is kept in the
  trigger function's comment, which the downgrade reads back.

Online, as far as one transaction allows. Alembic runs the revision in one transaction
(``alembic/env.py``), so every lock it takes is held until the commit. It works in two
steps, both ways:

1. For each table, the old table is locked in SHARE mode and the new one,
   ``<table>__new``, is made beside it and filled with one ``INSERT … SELECT``. Then
   everything that belongs to the table itself is built on the new one: the primary key,
   the unique keys and the indexes (their names end in ``__new`` until the swap, as the
   old table's still hold theirs), the table's foreign keys (``derived_from_id`` refers to
   ``registrations__new``) and the statistics triggers (after the copy, so they see none
   of the copied rows). All this while the old table is read as usual; writes to it
   wait, until the commit. The new foreign keys lock the tables they refer to (accounts,
   sites, activity_sessions, attendance_imports) in SHARE ROW EXCLUSIVE mode: those are
   read as usual, and writes to them wait for the commit.
2. Then, table by table, the swap. The keys of other tables to the old table are dropped
   (the downgrade also drops the trigger pairs here), the old table is dropped, and the
   new one, its keys, its indexes and the clones PostgreSQL made of its key to itself are
   renamed. The id sequence is given to it, and the keys of other tables are made again:
   composite keys, which read the referring table to check it, or trigger pairs. From the
   first of these statements to the commit, the moved tables and the tables that refer
   to them are ACCESS EXCLUSIVE, so reads of them wait too. Nothing is copied and no
   index is built in that time: the wait is for changes of the catalogue, the checks of
   the referring tables' keys and the commit. A read still running when the swap starts
   holds the swap up, and later reads queue behind it.

Measured on 2026-12-05 on this 2-core machine (while another benchmark ran on it), 200,000
generated people (1.18 M registrations, 0.96 M attendances), two runs each: up 16-23 s,
of which reads of the moved tables waited 0.1-0.2 s; down 10-16 s, of which reads waited
1.2-1.7 s (the check of registration_events' key, 1.2 M rows, made again at the swap).
The revision as it was before, with keys and indexes built after the swap, took as long
on the same data (up 15-27 s, down 10-12 s), but reads waited for nearly all of it
(13-24 s up, 10-11 s down).
"""
import re

import sqlalchemy as sa
from alembic import op

revision = '0032_partitioned_tables'
down_revision = '0031_member_invitations'
branch_labels = None
depends_on = None

TABLES = ("registrations", "attendances")
PARTITIONS = 16
"""Chosen up front; a partition can later be split by detaching it and re-inserting its
rows into two of twice the modulus (docs/scaling.md §4)."""
KEY = "account_id"
TRIGGER_FK_PREFIX = "fkt_"
NEW = "__new"
"""The suffix of the new table, and of its key and index names, until the swap."""
NAME_BYTES = 63
"""PostgreSQL's longest identifier (NAMEDATALEN - 1); a longer name is cut, not refused."""


def _rows(bind, sql, **params):
    return bind.execute(sa.text(sql), params).all()


def _run(bind, sql):
    bind.execute(sa.text(sql))


def _new(name: str) -> str:
    """The name an object has until the swap: ``NEW`` appended, the name cut to fit."""
    cut = name.encode()[:NAME_BYTES - len(NEW)].decode(errors="ignore")
    return cut + NEW


def _quote(bind, name: str) -> str:
    return bind.dialect.identifier_preparer.quote(name)


IDENT = r'(?:"(?:[^"]|"")+"|[^\s."]+)'
INDEX_DDL = re.compile(rf"^(CREATE (?:UNIQUE )?INDEX )({IDENT})( ON (?:ONLY )?)((?:{IDENT}\.)?)"
                       rf"({IDENT})( USING .*)$", re.S)
TRIGGER_DDL = re.compile(rf"^(CREATE (?:CONSTRAINT )?TRIGGER {IDENT} .*? ON )((?:{IDENT}\.)?)"
                         rf"({IDENT})( .*)$", re.S)


def _unquote(identifier: str) -> str:
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier


def _on_new(bind, ddl, pattern, table, name=None):
    """``ddl`` (an index's or trigger's, from the catalogue) aimed at the new table, and
    for an index under its name until the swap."""
    match = pattern.match(ddl)
    parts = list(match.groups()) if match else []
    if not parts or _unquote(parts[-2]) != table:
        raise RuntimeError(f"cannot aim at {table}{NEW}: {ddl}")
    parts[-2] = _quote(bind, _new(table))
    if name is not None:
        parts[1] = _quote(bind, _new(name))
    return "".join(parts)


def _capture(bind, table):
    """Everything to rebuild on the new table, as DDL the catalogue writes."""
    return {
        "indexes": _rows(bind, """
            SELECT indexname, indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = :t
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                              WHERE c.conname = i.indexname AND c.conrelid = :t ::regclass)
            ORDER BY indexname""", t=table),
        "own": _rows(bind, """
            SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = :t ::regclass AND contype IN ('u', 'f') AND conparentid = 0
            ORDER BY conname""",
                     t=table),
        "referencing": _rows(bind, """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE confrelid = :t ::regclass AND contype = 'f' AND conrelid <> confrelid
              AND conparentid = 0
            ORDER BY conname""", t=table),
        # Not the triggers that stand for other tables' keys: they go with those keys.
        "triggers": [r[0] for r in _rows(bind, """
            SELECT pg_get_triggerdef(oid) FROM pg_trigger
            WHERE tgrelid = :t ::regclass AND NOT tgisinternal AND tgname NOT LIKE :prefix
            ORDER BY tgname""", t=table, prefix=TRIGGER_FK_PREFIX.replace("_", r"\_") + "%")],
        "sequence": bind.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                 {"t": table}).scalar(),
    }


def _has_key(bind, table) -> bool:
    return bool(_rows(bind, """SELECT 1 FROM information_schema.columns
                               WHERE table_schema = current_schema() AND table_name = :t
                                 AND column_name = :c""", t=table, c=KEY))


def _fk_parts(definition):
    """``(column, referenced table, on delete)`` of a one-column foreign key."""
    match = re.match(r"FOREIGN KEY \((\w+)\) REFERENCES (\w+)\(id\)(.*)$", definition)
    column, parent, rest = match.groups()
    on_delete = re.search(r"ON DELETE (CASCADE|SET NULL|RESTRICT)", rest)
    return column, parent, on_delete.group(1) if on_delete else None


def _copy(bind, table, create_suffix, partitions=0):
    """The new table beside the old one, filled while writers wait (readers do not)."""
    new = _new(table)
    _run(bind, f"LOCK TABLE {table} IN SHARE MODE")
    _run(bind, f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS "
               f"INCLUDING CONSTRAINTS INCLUDING STORAGE){create_suffix}")
    for remainder in range(partitions):
        _run(bind, f"CREATE TABLE {table}_p{remainder:02d} PARTITION OF {new} "
                   f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {remainder})")
    _run(bind, f"INSERT INTO {new} SELECT * FROM {table}")


def _build(bind, table, captured, primary_key, own_fk):
    """Keys, indexes and triggers on the filled new table, while the old one is still in
    use: names an index carries (the keys' too) end in ``NEW`` until the swap; foreign
    keys and triggers are named per table, so they have their own names already. The
    triggers come after the copy, so the statistics trigger saw none of its rows."""
    new = _new(table)
    _run(bind, f"ALTER TABLE {new} ADD CONSTRAINT {_quote(bind, _new(f'pk_{table}'))} "
               f"PRIMARY KEY ({primary_key})")
    for name, kind, definition in captured["own"]:
        if kind == "f":
            _run(bind, f"ALTER TABLE {new} ADD CONSTRAINT {name} {own_fk(table, definition)}")
        else:
            _run(bind, f"ALTER TABLE {new} ADD CONSTRAINT {_quote(bind, _new(name))} "
                       f"{definition}")
    for name, index in captured["indexes"]:
        _run(bind, _on_new(bind, index, INDEX_DDL, table, name))
    for trigger in captured["triggers"]:
        _run(bind, _on_new(bind, trigger, TRIGGER_DDL, table))


def _swap(bind, table, captured, referencing_fk):
    """Drop the old table (its keys from other tables first), give the new one and its
    keys and indexes their names, and make the keys from other tables again. Everything
    but those keys is a change of the catalogue only."""
    new, sequence = _new(table), captured["sequence"]
    for child, name, _definition in captured["referencing"]:
        _run(bind, f"ALTER TABLE {child} DROP CONSTRAINT {name}")
    _run(bind, f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    _run(bind, f"DROP TABLE {table}")
    _run(bind, f"ALTER TABLE {new} RENAME TO {table}")
    for name in [f"pk_{table}"] + [name for name, kind, _ in captured["own"] if kind == "u"]:
        _run(bind, f"ALTER TABLE {table} RENAME CONSTRAINT {_quote(bind, _new(name))} "
                   f"TO {_quote(bind, name)}")
    for name, _index in captured["indexes"]:
        _run(bind, f"ALTER INDEX {_quote(bind, _new(name))} RENAME TO {_quote(bind, name)}")
    _rename_self_fk_clones(bind, table)
    _run(bind, f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    for child, name, definition in captured["referencing"]:
        referencing_fk(table, child, name, definition)


def _fk_clone_name(relation, columns, number):
    """The name PostgreSQL makes up for a clone of a foreign key (ChooseConstraintName):
    relation, columns and ``fkey`` joined by ``_``, the longer of the first two cut until
    the name fits, and ``fkey1``, ``fkey2`` ... while the name is taken."""
    label = f"fkey{number or ''}"
    first, second = relation.encode(), "_".join(columns).encode()
    room = NAME_BYTES - 1 - len(label) - 1
    while len(first) + len(second) > room:
        if len(first) > len(second):
            first = first[:-1]
        else:
            second = second[:-1]
    return "_".join(part.decode(errors="ignore") for part in (first, second)) + f"_{label}"


def _rename_self_fk_clones(bind, table):
    """A partitioned table's key to itself has a clone for each partition it refers to,
    named by PostgreSQL after the table: made on the new table, they are renamed as if
    made on this one (``registrations__new_derived_from_id_account_id_fkey3`` becomes
    ``registrations_derived_from_id_account_id_fkey3``)."""
    clones = _rows(bind, """
        SELECT c.conname, array_agg(a.attname ORDER BY k.n) FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = :t ::regclass AND c.contype = 'f' AND c.conparentid <> 0
        GROUP BY c.conname""", t=table)
    for name, columns in clones:
        number = next((n for n in range(len(clones) + 100)
                       if _fk_clone_name(_new(table), columns, n) == name), None)
        if number is not None:
            _run(bind, f"ALTER TABLE {table} RENAME CONSTRAINT {_quote(bind, name)} TO "
                       f"{_quote(bind, _fk_clone_name(table, columns, number))}")


# -- upgrade --------------------------------------------------------------------------

def _composite_self_fk(table, definition):
    """A registration derived from another is the same person's: (id, account_id), of the
    new table while it is built."""
    column, parent, _on_delete = (_fk_parts(definition) if f"REFERENCES {table}(" in definition
                                  else (None, None, None))
    if parent != table:
        return definition
    return f"FOREIGN KEY ({column}, {KEY}) REFERENCES {_new(table)}(id, {KEY})"


def _partitioned_fk(bind):
    def add(table, child, name, definition):
        column, parent, on_delete = _fk_parts(definition)
        if _has_key(bind, child):
            suffix = f" ON DELETE {on_delete}" if on_delete else ""
            _run(bind, f"ALTER TABLE {child} ADD CONSTRAINT {name} FOREIGN KEY "
                       f"({column}, {KEY}) REFERENCES {parent}(id, {KEY}){suffix}")
        else:
            _trigger_fk(bind, child, name, column, parent, on_delete, definition)
    return add


def _trigger_fk(bind, child, name, column, parent, on_delete, definition):
    """What the foreign key did, by triggers: the parent must exist; deleting it cascades
    (ON DELETE CASCADE) or is refused."""
    check, guard = f"{TRIGGER_FK_PREFIX}{name}"[:63], f"{TRIGGER_FK_PREFIX}d_{name}"[:63]
    _run(bind, f"""
        CREATE FUNCTION {check}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.{column} IS NOT NULL THEN
            PERFORM 1 FROM {parent} WHERE id = NEW.{column} FOR KEY SHARE;
            IF NOT FOUND THEN
              RAISE foreign_key_violation USING MESSAGE = format(
                '{child}.{column} = %s: no such row in {parent}', NEW.{column});
            END IF;
          END IF;
          RETURN NULL;
        END $$""")
    _run(bind, f"COMMENT ON FUNCTION {check}() IS "
               f"'{child} {name} {definition.replace(chr(39), chr(39) * 2)}'")
    _run(bind, f"CREATE CONSTRAINT TRIGGER {check} AFTER INSERT OR UPDATE OF {column} "
               f"ON {child} FOR EACH ROW EXECUTE FUNCTION {check}()")
    action = (f"DELETE FROM {child} WHERE {column} = OLD.id;" if on_delete == "CASCADE" else
              f"UPDATE {child} SET {column} = NULL WHERE {column} = OLD.id;"
              if on_delete == "SET NULL" else
              f"""IF EXISTS (SELECT 1 FROM {child} WHERE {column} = OLD.id) THEN
                    RAISE foreign_key_violation USING MESSAGE = format(
                      '{parent} %s is still referred to from {child}', OLD.id);
                  END IF;""")
    _run(bind, f"""
        CREATE FUNCTION {guard}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {action}
          RETURN NULL;
        END $$""")
    _run(bind, f"CREATE TRIGGER {guard} AFTER DELETE ON {parent} FOR EACH ROW "
               f"EXECUTE FUNCTION {guard}()")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    captured = {}
    for table in TABLES:
        captured[table] = _capture(bind, table)
        _copy(bind, table, f" PARTITION BY HASH ({KEY})", PARTITIONS)
        _build(bind, table, captured[table], f"id, {KEY}", _composite_self_fk)
    for table in TABLES:
        _swap(bind, table, captured[table], _partitioned_fk(bind))


# -- downgrade ------------------------------------------------------------------------

def _single_self_fk(table, definition):
    if f"REFERENCES {table}(id, {KEY})" not in definition:
        return definition
    column = re.match(r"FOREIGN KEY \((\w+), " + KEY, definition).group(1)
    return f"FOREIGN KEY ({column}) REFERENCES {_new(table)}(id)"


def _plain_fk(bind):
    def add(table, child, name, definition):
        match = re.match(r"FOREIGN KEY \((\w+), \w+\) REFERENCES (\w+)\(id, \w+\)(.*)$",
                         definition)
        column, parent, rest = match.groups()
        _run(bind, f"ALTER TABLE {child} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
                   f"REFERENCES {parent}(id){rest}")
    return add


def _drop_trigger_fks(bind, table):
    """Turn the trigger pairs standing for foreign keys to ``table`` back into keys."""
    found = _rows(bind, """
        SELECT p.proname, obj_description(p.oid, 'pg_proc') FROM pg_proc p
        WHERE p.proname LIKE :prefix AND p.proname NOT LIKE :guards
          AND obj_description(p.oid, 'pg_proc') LIKE :refers""",
                  prefix=f"{TRIGGER_FK_PREFIX}%", guards=f"{TRIGGER_FK_PREFIX}d\\_%",
                  refers=f"% REFERENCES {table}(%")
    keys = []
    for check, comment in found:
        child, name, definition = comment.split(" ", 2)
        guard = f"{TRIGGER_FK_PREFIX}d_{name}"[:63]
        _run(bind, f"DROP TRIGGER {check} ON {child}")
        _run(bind, f"DROP FUNCTION {check}()")
        _run(bind, f"DROP TRIGGER {guard} ON {table}")
        _run(bind, f"DROP FUNCTION {guard}()")
        keys.append((child, name, definition))
    return keys


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    captured = {}
    for table in reversed(TABLES):
        captured[table] = _capture(bind, table)
        _copy(bind, table, "")
        _build(bind, table, captured[table], "id", _single_self_fk)
    for table in reversed(TABLES):
        restored = _drop_trigger_fks(bind, table)
        _swap(bind, table, captured[table], _plain_fk(bind))
        for child, name, definition in restored:
            _run(bind, f"ALTER TABLE {child} ADD CONSTRAINT {name} {definition}")
