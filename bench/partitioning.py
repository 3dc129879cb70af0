"""Partitioning on this machine (docs/scaling.md): ``python bench/partitioning.py [--rows N]``.

In a scratch database (``furusato_partition_demo``, created and dropped here) migrated
with the app's own Alembic revisions, the two tables that grow with the country —
``registrations`` and ``attendances`` — are copied twice with the app's columns, checks
and indexes: once as a plain table and once hash-partitioned by ``account_id``. Both
copies get ``--rows`` rows each, generated set-based in SQL (``generate_series`` and
``INSERT … SELECT`` in batches of a million, logged tables as in production). Then, for
the hot queries, it prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the partitioned table
(partition pruning shows as one partition scanned), times the same query on both
copies alternately, shows that the uniqueness rules still hold (an attempted duplicate
is refused) and why a partition key outside the unique key would break them, and prints
a summary.

Why hash by ``account_id`` for both tables (the choice docs/scaling.md explains):

- the most frequent questions are one person's: their registrations (home, card,
  eligibility, feed), their activity history, their premium evaluation, and the
  check-in insert; all carry ``account_id``, so they touch one partition;
- both unique rules — one registration per person and site, one attendance per person
  and session — already contain ``account_id``, and PostgreSQL only enforces a unique
  key on a partitioned table when it contains the partition key. A range by
  ``recorded_at`` (fiscal years) cannot enforce one attendance per person and session
  at all, which this script demonstrates; a list by prefecture would split one person's
  registrations over many partitions and need a prefecture column in the key;
- Citus, the next step, distributes by the same key, so the partitioned layout is the
  distributed one on a single machine.
"""
import argparse
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from furusato_cms.models import get_engine

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "furusato_partition_demo"
KEY = "account_id"
TABLES = ("registrations", "attendances")
BATCH = 1_000_000
SITES = 1_788
"""47 prefectures and 1,741 municipalities: site ids 1–47 are the prefectures."""
PER_SESSION = 40
"""Attendance rows per activity session."""
START = datetime(2026, 4, 1)
"""The system opens in fiscal 2026; data spans three fiscal years from here."""
NOW = datetime(2029, 3, 1)
MAINTENANCE_MEMORY = "512MB"
"""For this session's index builds only (the server's default is 64MB)."""
"""The moment the national figures are counted at (inside the data's span)."""


# -- the scratch database ----------------------------------------------------------------


def database_url(admin_url: str) -> str:
    return make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)


def create_database(admin_url: str) -> str:
    """A fresh scratch database at the app's newest Alembic revision; its URL."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    url = database_url(admin_url)
    engine = get_engine({"furusato.db_url": url.replace("postgresql://",
                                                        "postgresql+psycopg://", 1)})
    config = Config()
    config.set_main_option("script_location", "furusato_cms:alembic")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    engine.dispose()
    return url


def drop_database(admin_url: str):
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


# -- the copies: the app's columns and keys, plain and partitioned -------------------------


@dataclass
class AppKeys:
    """The app's own unique keys and other indexes of one table, read from the catalogue
    so the copies cannot drift from the migrations."""
    uniques: list
    """Constraint definitions: ``PRIMARY KEY (id)``, ``UNIQUE (account_id, site_id)``."""
    indexes: list
    """Index column lists: ``(site_id, state)``."""


def app_keys(db, table: str) -> AppKeys:
    uniques = db.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass"
        " AND contype IN ('p', 'u') ORDER BY contype, conname", (table,)).fetchall()
    indexes = db.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass"
        " AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        " ORDER BY 1", (table,)).fetchall()
    return AppKeys([row[0] for row in uniques],
                   [row[0].split(" USING btree ", 1)[1] for row in indexes])


def columns_of(definition: str) -> list:
    return [name.strip() for name in definition[definition.index("(") + 1:-1].split(",")]


def with_partition_key(definition: str) -> str:
    """A unique key as PostgreSQL accepts it on a table partitioned by ``KEY``: the key
    appended when missing (``PRIMARY KEY (id)`` becomes ``PRIMARY KEY (id, account_id)``)."""
    if KEY in columns_of(definition):
        return definition
    return definition[:-1] + f", {KEY})"


def as_plain(definition: str) -> str:
    """The key as a plain table has it: the app's tables are partitioned already
    (migration 0032), so their primary key carries ``KEY``; the plain copy's is ``(id)``."""
    return definition.replace(f"PRIMARY KEY (id, {KEY})", "PRIMARY KEY (id)")


def create_copies(db, table: str, partitions: int) -> AppKeys:
    """``<table>_plain`` and ``<table>_part`` (hash by account_id, ``partitions`` ways),
    with the app's columns, defaults and checks; keys are added after the load."""
    like = f"LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
    db.execute(f"CREATE TABLE {table}_plain ({like})")
    db.execute(f"CREATE TABLE {table}_part ({like}) PARTITION BY HASH ({KEY})")
    for remainder in range(partitions):
        db.execute(f"CREATE TABLE {table}_part_{remainder:02d} PARTITION OF {table}_part"
                   f" FOR VALUES WITH (MODULUS {partitions}, REMAINDER {remainder})")
    return app_keys(db, table)


def add_keys(db, table: str, keys: AppKeys):
    """After the load (faster than maintaining indexes row by row): the app's keys on the
    plain copy, the same keys with the partition key added on the partitioned one."""
    for definition in keys.uniques:
        db.execute(f"ALTER TABLE {table}_plain ADD {as_plain(definition)}")
        db.execute(f"ALTER TABLE {table}_part ADD {with_partition_key(definition)}")
    for columns in keys.indexes:
        for copy in ("plain", "part"):
            db.execute(f"CREATE INDEX ON {table}_{copy} {columns}")


# -- the rows, set-based ---------------------------------------------------------------------

REGISTRATIONS = """
INSERT INTO {table} (id, account_id, site_id, tier, state, at_home, relationship_types,
                     connections, registered_at, state_changed_at, premium_since,
                     premium_until, long_stay)
SELECT g, account_id, 1 + (account_id * 7 + k * 331) %% {sites},
       CASE WHEN g %% 31 = 0 AND g %% 50 > 2 THEN 'premium' ELSE 'basic' END,
       CASE WHEN g %% 50 = 0 THEN 'released' WHEN g %% 50 IN (1, 2) THEN 'left'
            ELSE 'active' END,
       g %% 47 = 0, ('[' || (1 + g %% 4) || ']')::json,
       (ARRAY['["birthplace"]', '["former_residence"]', '["furusato_nozei"]',
              '["tourism", "volunteering"]', '["side_job"]', '[]'])[1 + g %% 6]::json,
       at, at,
       CASE WHEN g %% 31 = 0 AND g %% 50 > 2 THEN at + interval '60 days' END,
       CASE WHEN g %% 31 = 0 AND g %% 50 > 2 THEN at + interval '425 days' END,
       g %% 31 = 0 AND g %% 7 = 0
FROM generate_series(%(low)s::bigint, %(high)s::bigint) AS s(g),
     LATERAL (SELECT (g - 1) / 15 AS block, (g - 1) %% 15 AS slot) b,
     LATERAL (SELECT floor((sqrt(8 * slot + 1) - 1) / 2)::int AS nth) p,
     LATERAL (SELECT 5 * block + nth + 1 AS account_id, slot - nth * (nth + 1) / 2 AS k,
                     %(start)s::timestamp + (g * 7919 %% 1095) * interval '1 day'
                         + (g %% 86400) * interval '1 second' AS at) r
"""
"""Blocks of five people holding 1, 2, 3, 4 and 5 registrations (three on average): row
``g`` is the ``k``-th registration of person ``account_id``; the ``k`` sites of one person
differ. 2 %% released, 4 %% left, about 3 %% premium, about 2 %% at home."""

ATTENDANCES = """
INSERT INTO {table} (id, session_id, account_id, site_id, attended_at, recorded_at,
                     source, voided_at, void_reason, designated)
SELECT g, session_id, 1 + (session_id * 7919 + j * %(stride)s) %% %(people)s,
       1 + session_id * 13 %% {sites}, starts, starts + j * interval '20 seconds',
       CASE WHEN j %% 10 = 0 THEN 'staff' ELSE 'qr' END,
       CASE WHEN g %% 200 = 0 THEN starts + interval '1 day' END,
       CASE WHEN g %% 200 = 0 THEN 'recorded twice by hand' ELSE '' END,
       session_id %% 4 <> 0
FROM generate_series(%(low)s::bigint, %(high)s::bigint) AS s(g),
     LATERAL (SELECT 1 + (g - 1) / {per} AS session_id, (g - 1) %% {per} AS j) a,
     LATERAL (SELECT %(start)s::timestamp + (session_id * 1095.0 / %(sessions)s)
                  * interval '1 day' + interval '1 hour' AS starts) t
"""
"""Sessions of forty people each, spread evenly over three fiscal years; the forty
people of one session are distinct (``stride`` × 40 ≤ people); 0.5 %% voided; three
sessions in four are of designated projects."""


def people_of(rows: int) -> int:
    return max(1, rows // 3)


def fill(db, table: str, copy: str, rows: int) -> float:
    """Generate ``rows`` rows into ``<table>_<copy>`` in batches; seconds taken."""
    people = people_of(rows)
    shape = {"registrations": REGISTRATIONS, "attendances": ATTENDANCES}[table]
    statement = shape.format(table=f"{table}_{copy}", sites=SITES, per=PER_SESSION)
    started = time.monotonic()
    for low in range(1, rows + 1, BATCH):
        db.execute(statement, {"low": low, "high": min(rows, low + BATCH - 1),
                               "start": START, "people": people,
                               "stride": max(1, people // PER_SESSION),
                               "sessions": max(1, rows // PER_SESSION)})
        db.commit()
    return time.monotonic() - started


# -- the hot queries -----------------------------------------------------------------------


@dataclass
class Query:
    name: str
    what: str
    sql: str
    keys: str
    """Which sample keys it takes: 'account', 'session', 'site' or 'none'."""
    repeats: int = 200


WINDOW_START = NOW - timedelta(days=365)
QUERIES = [
    Query("person_registrations", "one person's registrations (home, card, feed)",
          "SELECT id, site_id, tier, state, premium_until FROM registrations_{copy}"
          " WHERE account_id = %(key)s", "account"),
    Query("site_registrants", "one site's active registrants (coordinator list)",
          "SELECT count(*) FROM registrations_{copy} WHERE site_id = %(key)s"
          " AND state = 'active'", "site", repeats=50),
    Query("national_people", "national real people: distinct persons with a counted"
          " registration", "SELECT count(*) FROM (SELECT account_id FROM registrations_{copy}"
          " WHERE state = 'active' AND NOT at_home GROUP BY account_id) people", "none",
          repeats=3),
    Query("person_history", "one person's activity history (活動履歴)",
          "SELECT id, site_id, attended_at, source FROM attendances_{copy}"
          " WHERE account_id = %(key)s AND voided_at IS NULL ORDER BY attended_at DESC",
          "account"),
    Query("eligibility", "one person's countable attendance at one site, last 12 months",
          "SELECT id, attended_at, session_id FROM attendances_{copy}"
          " WHERE account_id = %(key)s AND site_id = %(site)s AND voided_at IS NULL"
          " AND designated"
          f" AND attended_at >= '{WINDOW_START:%Y-%m-%d}' AND attended_at < '{NOW:%Y-%m-%d}'"
          " ORDER BY attended_at", "account"),
    Query("session_checkins", "one session's check-ins (coordinator's list)",
          "SELECT id, account_id, recorded_at FROM attendances_{copy}"
          " WHERE session_id = %(key)s ORDER BY recorded_at", "session"),
    Query("national_attendance", "attendance per site over the last 365 days"
          " (statistics snapshot)", "SELECT site_id, count(*) FROM attendances_{copy}"
          " WHERE voided_at IS NULL AND attended_at > %(since)s AND attended_at <= %(now)s"
          " GROUP BY site_id", "none", repeats=3),
]


def sample_keys(db, kind: str, count: int) -> list:
    """Parameters for ``count`` runs of a query: real keys spread over the data."""
    if kind == "none":
        return [{"since": WINDOW_START, "now": NOW}] * count
    if kind == "site":
        return [{"key": 48 + n * 37 % (SITES - 47)} for n in range(count)]
    column = {"account": "account_id", "session": "session_id"}[kind]
    rows = db.execute(
        f"SELECT {column}, site_id FROM attendances_plain WHERE id IN"
        " (SELECT (1 + n::bigint * 104729 %% (SELECT max(id) FROM attendances_plain))"
        "  FROM generate_series(1, %s) n)", (count,)).fetchall()
    return [{"key": key, "site": site} for key, site in rows]


def explain(db, sql: str, params: dict) -> list:
    return [row[0] for row in db.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)]


PARTITION_SCAN = re.compile(r" on (\w+_part_\d+)\b")


def partitions_scanned(plan: list) -> int:
    """Partitions the executed plan read: named in the plan and not "never executed"."""
    return len({match.group(1) for line in plan if "never executed" not in line
                for match in PARTITION_SCAN.finditer(line)})


@dataclass
class Timing:
    plain: list = field(default_factory=list)
    part: list = field(default_factory=list)


def time_query(db, query: Query, keys: list) -> Timing:
    """Milliseconds per run, client side (planning included), the two copies taking turns
    on each key so the machine's noise hits both alike."""
    timing = Timing()
    for params in keys:
        for copy in ("plain", "part"):
            started = time.perf_counter()
            db.execute(query.sql.format(copy=copy), params).fetchall()
            getattr(timing, copy).append((time.perf_counter() - started) * 1000)
    return timing


def percentile(samples, fraction) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the uniqueness rules ------------------------------------------------------------------


def refused(db, sql: str, params=None) -> str:
    """The error PostgreSQL answers a statement with (rolled back), or '' if accepted."""
    try:
        with db.transaction():
            db.execute(sql, params)
            raise _Accepted
    except _Accepted:
        return ""
    except psycopg.Error as error:
        return f"{type(error).__name__}: {error.diag.message_primary}"


class _Accepted(Exception):
    """Rolls back a statement that was accepted, so the demonstration leaves no trace."""


def uniqueness(db) -> dict:
    """Every outcome of the uniqueness demonstration, by name, as PostgreSQL gave it."""
    row = db.execute("SELECT session_id, account_id, site_id, attended_at FROM"
                     " attendances_part ORDER BY id LIMIT 1").fetchone()
    reg = db.execute("SELECT account_id, site_id FROM registrations_part ORDER BY id LIMIT 1"
                     ).fetchone()
    new_id = "(SELECT max(id) + 1 FROM attendances_part)"
    insert = ("INSERT INTO attendances_part (id, session_id, account_id, site_id,"
              " attended_at, recorded_at, source, void_reason, designated) VALUES"
              f" ({new_id}, %s, %s, %s, %s, %s, 'qr', '', true)")
    again = row + (NOW,)
    with db.transaction():
        on_conflict = db.execute(
            insert + " ON CONFLICT (session_id, account_id) DO NOTHING RETURNING id", again
        ).fetchall()
    outcomes = {
        "second attendance, same person and session": refused(db, insert, again),
        "the app's ON CONFLICT (session_id, account_id) DO NOTHING": (
            f"{len(on_conflict)} rows inserted"),
        "rows for that person and session afterwards": str(db.execute(
            "SELECT count(*) FROM attendances_part WHERE session_id = %s AND account_id = %s",
            row[:2]).fetchone()[0]),
        "second registration, same person and site": refused(
            db, "INSERT INTO registrations_part (id, account_id, site_id, tier, state,"
            " at_home, relationship_types, connections, registered_at, state_changed_at,"
            " long_stay) SELECT max(id) + 1, %s, %s, 'basic', 'active', false, '[1]', '[]',"
            " now(), now(), false FROM registrations_part", reg),
        "UNIQUE (id) alone on the partitioned table": refused(
            db, "ALTER TABLE attendances_part ADD UNIQUE (id)"),
        "a foreign key to registrations_part (id) alone": refused(
            db, "CREATE TABLE demo_events (registration_id bigint"
            " REFERENCES registrations_part (id))"),
        "a foreign key to registrations_part (id, account_id)": refused(
            db, "CREATE TABLE demo_events (registration_id bigint, account_id bigint,"
            " FOREIGN KEY (registration_id, account_id)"
            " REFERENCES registrations_part (id, account_id))") or "accepted",
    }
    outcomes.update(range_by_recorded_at(db, row))
    return outcomes


def range_by_recorded_at(db, row) -> dict:
    """The alternative layout, attendances by fiscal year of ``recorded_at``: the one rule
    cannot be declared, and the key PostgreSQL does accept lets a second scan in."""
    db.execute("CREATE TABLE attendances_by_year (LIKE attendances INCLUDING DEFAULTS)"
               " PARTITION BY RANGE (recorded_at)")
    for year in range(START.year, NOW.year + 1):
        db.execute(f"CREATE TABLE attendances_by_year_fy{year} PARTITION OF"
                   f" attendances_by_year FOR VALUES FROM ('{year}-04-01') TO"
                   f" ('{year + 1}-04-01')")
    db.commit()
    outcomes = {"UNIQUE (session_id, account_id) on a range by recorded_at": refused(
        db, "ALTER TABLE attendances_by_year ADD UNIQUE (session_id, account_id)")}
    db.execute("ALTER TABLE attendances_by_year ADD UNIQUE (session_id, account_id,"
               " recorded_at)")
    scan = ("INSERT INTO attendances_by_year (id, session_id, account_id, site_id,"
            " attended_at, recorded_at, source, void_reason, designated) VALUES (%s, %s, %s,"
            " %s, %s, %s::timestamp + %s * interval '1 minute', 'qr', '', true)")
    for minute in (0, 1):
        db.execute(scan, (minute + 1, *row, row[3], minute))
    outcomes["two scans a minute apart under UNIQUE (session_id, account_id, recorded_at)"] = (
        f"{db.execute('SELECT count(*) FROM attendances_by_year').fetchone()[0]} rows kept")
    db.execute("DROP TABLE attendances_by_year")
    db.commit()
    return outcomes


# -- the run ---------------------------------------------------------------------------------


def sizes(db, table: str) -> dict:
    """Total size (MB) of each copy, and the smallest and largest partition's row count."""
    plain, part = db.execute(
        "SELECT pg_total_relation_size(%s) / 1048576.0, (SELECT sum(pg_total_relation_size("
        "inhrelid)) FROM pg_inherits WHERE inhparent = %s::regclass) / 1048576.0",
        (f"{table}_plain", f"{table}_part")).fetchone()
    low, high = db.execute(
        "SELECT min(reltuples), max(reltuples) FROM pg_class c JOIN pg_inherits i"
        " ON i.inhrelid = c.oid WHERE i.inhparent = %s::regclass", (f"{table}_part",)
    ).fetchone()
    return {"plain_mb": float(plain), "part_mb": float(part), "smallest": int(low),
            "largest": int(high)}


def build(db, rows: int, partitions: int) -> dict:
    """Both copies of both tables, loaded, keyed and analysed; seconds per step."""
    seconds = {}
    db.execute(f"SET maintenance_work_mem = '{MAINTENANCE_MEMORY}'")
    for table in TABLES:
        keys = create_copies(db, table, partitions)
        db.commit()
        for copy in ("plain", "part"):
            seconds[f"{table} load {copy}"] = fill(db, table, copy, rows)
            print(f"  {table}_{copy}: {rows:,} rows in {seconds[f'{table} load {copy}']:.1f} s",
                  flush=True)
        started = time.monotonic()
        add_keys(db, table, keys)
        db.commit()
        seconds[f"{table} keys (both copies)"] = time.monotonic() - started
        print(f"  keys on both copies: {', '.join(keys.uniques)}; indexes "
              f"{', '.join(keys.indexes)}; {seconds[f'{table} keys (both copies)']:.1f} s",
              flush=True)
    started = time.monotonic()
    db.execute("ANALYZE")
    db.commit()
    seconds["ANALYZE"] = time.monotonic() - started
    return seconds


def show_query(db, query: Query, keys: list) -> dict:
    plan = explain(db, query.sql.format(copy="part"), keys[0])
    used = {name: value for name, value in keys[0].items() if f"%({name})s" in query.sql}
    print(f"\n== {query.name}: {query.what}\n{query.sql.format(copy='part')}"
          + (f"\n   -- with {used}" if used else ""))
    print("\n".join(plan))
    timing = time_query(db, query, keys)
    figures = {"runs": len(keys), "partitions": partitions_scanned(plan),
               "plain_p50": statistics.median(timing.plain),
               "part_p50": statistics.median(timing.part),
               "plain_p99": percentile(timing.plain, 0.99),
               "part_p99": percentile(timing.part, 0.99)}
    print(f"-- {figures['partitions']} partition(s) scanned; over {len(keys)} runs, "
          f"plain p50 {figures['plain_p50']:.2f} ms p99 {figures['plain_p99']:.2f} ms, "
          f"partitioned p50 {figures['part_p50']:.2f} ms p99 {figures['part_p99']:.2f} ms")
    return figures


def summary(args, server, seconds, table_sizes, figures, outcomes):
    print(f"\n== summary: {server}, {args.rows:,} rows per table ({people_of(args.rows):,}"
          f" people), {args.partitions} hash partitions by {KEY}; load average now "
          + " ".join(f"{load:.1f}" for load in os.getloadavg())
          + f" on {os.cpu_count()} cores")
    for step, value in seconds.items():
        print(f"  {step}: {value:.1f} s")
    for table, size in table_sizes.items():
        print(f"  {table}: plain {size['plain_mb']:.0f} MB, partitioned {size['part_mb']:.0f}"
              f" MB; rows per partition {size['smallest']:,}–{size['largest']:,}")
    print(f"  {'query':22} {'parts':>5} {'plain p50':>10} {'part p50':>10} {'plain p99':>10}"
          f" {'part p99':>10}  (ms)")
    for name, f in figures.items():
        print(f"  {name:22} {f['partitions']:>2}/{args.partitions:<2} {f['plain_p50']:>10.2f}"
              f" {f['part_p50']:>10.2f} {f['plain_p99']:>10.2f} {f['part_p99']:>10.2f}")
    for what, outcome in outcomes.items():
        print(f"  {what}: {outcome or 'ACCEPTED'}")


def run(args):
    url = create_database(args.admin_url)
    try:
        with psycopg.connect(url) as db:
            server = db.execute("SELECT 'PostgreSQL ' || current_setting('server_version')"
                                ).fetchone()[0]
            print(f"{server}, database {DATABASE}: {args.rows:,} rows per table, "
                  f"{args.partitions} partitions", flush=True)
            seconds = build(db, args.rows, args.partitions)
            table_sizes = {table: sizes(db, table) for table in TABLES}
            db.execute("SET enable_partitionwise_aggregate = on")
            figures = {}
            for query in QUERIES:
                repeats = query.repeats if args.rows >= BATCH else min(query.repeats, 50)
                keys = sample_keys(db, query.keys, repeats)
                figures[query.name] = show_query(db, query, keys)
                db.commit()
            outcomes = uniqueness(db)
            summary(args, server, seconds, table_sizes, figures, outcomes)
    finally:
        if not args.keep:
            drop_database(args.admin_url)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000,
                        help="rows per table and copy (default 10,000,000)")
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="leave the database for a look")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
