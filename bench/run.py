"""Benchmarks at national scale (性能測定):
``python bench/run.py [--people N | --growth N1,N2,…] [--only-growth] [--smoke]``.

Generates ``furusato-generate`` data into a fresh PostgreSQL database on the local server,
then measures, in the same run, one figure per line — ``name: value unit (goal …,
met/MISSED)`` — and writes them with the database, data size and versions to
bench/results/latest.json:

- ``page_ratio``, ``page_p99``, ``rss``: the public site page against a bare Pyramid +
  Jinja2 page over HTTP, loaded by wrk (bench/web_figures.py);
- ``page_uncached_ratio`` (one process; ``_all_cores`` through furusato-serve),
  ``my_page_ratio`` and ``my_page_p99``: the site page with the cache off and a signed-in
  /my/, against the same bare page in the same rounds;
- ``stats_refresh``: seconds of the statistics refresh after 1,000 new registrations;
- ``checkin_rate`` (and ``checkin_vs_pgbench``, ``checkin_rows_match``): check-ins/s
  over HTTP by distinct signed-in registrants, against pgbench TPC-B in the same run;
- ``renew_run`` (and ``renew_judged``): ``furusato-renew`` after min(people / 10, premium
  count) premium registrations were moved into the due window, seconds and peak RSS
  of the subprocess (bench/batch_figures.py);
- ``eligibility_p99``: one person's premium evaluation with its evidence, over many people;
- ``stats_national``: the operator's national report from the newest snapshot, warm;
- ``activity_search_p99``: the nationwide activity search (/activities/) through its
  service, over a mix of filters, as seen from the day the generated sessions begin;
- ``checkin_dup_storm``: 200 concurrent check-ins of one person to one session through
  the service, each on its own connection: exactly one row, no error;
- ``import_100k`` (and ``import_rss``, ``import_rows_match``): furusato-import-activities
  of a 100,000-row workbook in the national template (bench/template_xlsx.py);
- with ``--growth``: renew_run, eligibility_p99 and stats_national at every size, each
  in freshly generated data (the largest size is the full run), and ``growth_*``: the
  largest size against the smallest.

``--smoke`` uses a few hundred people and few repetitions, so it takes seconds. The run
exits non-zero only when a correctness figure fails, never on a speed goal.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import TOKYO, FixedClock
from furusato_cms.models import (
    Account,
    ActivitySession,
    Attendance,
    Project,
    Registration,
    Site,
    get_engine,
)
from furusato_cms.scripts.generate import DEFAULT_AT, generate
from furusato_cms.services.activity_search import ActivityQuery, ActivitySearch
from furusato_cms.services.attendance import AttendanceService
from furusato_cms.services.eligibility import PREMIUM_COUNTS_FROM
from furusato_cms.services.eligibility import EligibilityService
from furusato_cms.services.statistics import StatisticsService, default_period

import batch_figures
import http_load
import web_figures

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE = "furusato_bench"
RESULTS = Path(__file__).parent / "results" / "latest.json"
SECRET = "bench-secret"
SETTINGS = AppSettings(session_secret=SECRET, base_url="http://localhost")
STORM = 200
POOL = 20


STARTED = time.monotonic()


def note(message: str):
    """Progress on stderr, so a long run shows where it is."""
    print(f"[{time.monotonic() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def database_url(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def fresh_database(admin_url: str, database: str = DATABASE) -> str:
    """Drop and create the benchmark database, migrate it; its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return migrated(database_url(admin_url, database))


def migrated(url: str) -> str:
    """The database at ``url`` upgraded to the newest revision; its URL."""
    cfg = Config()
    cfg.set_main_option("script_location", "furusato_cms:alembic")
    engine = get_engine({"furusato.db_url": url})
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")
    engine.dispose()
    return url


def percentile(samples, fraction) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def eligibility_p99(engine, persons: int) -> float:
    """Milliseconds, p99 over ``persons`` people: evaluate one active registration and
    turn the answer into its stored evidence."""
    clock = FixedClock(DEFAULT_AT)
    with Session(engine) as session:
        pairs = session.execute(
            select(Registration.account_id, Registration.site_id)
            .where(Registration.state == "active", Registration.derived_from_id.is_(None))
            .order_by(Registration.id).limit(persons)).all()
        samples = []
        for account_id, site_id in pairs:
            session.expunge_all()
            started = time.perf_counter()
            service = EligibilityService(session, clock=clock, settings=SETTINGS)
            service.evaluate(session.get(Account, account_id), session.get(Site, site_id)
                             ).to_json()
            samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 0.99)


def stats_national(engine, repeats: int, *, refresh: bool = True) -> float:
    """Milliseconds, p50 of the national report after one refresh (unless a snapshot is
    known to be there) and one warm-up."""
    clock = FixedClock(DEFAULT_AT)
    if refresh:
        with Session(engine) as session:
            StatisticsService(session, clock=clock, settings=SETTINGS).refresh()
            session.commit()
    samples = []
    with Session(engine) as session:
        for attempt in range(repeats + 1):
            session.expunge_all()
            started = time.perf_counter()
            service = StatisticsService(session, clock=clock, settings=SETTINGS)
            report = service.national_report(default_period(DEFAULT_AT))
            assert report is not None and report.sites
            if attempt:
                samples.append((time.perf_counter() - started) * 1000)
            session.rollback()
    return statistics.median(samples)


def stats_refresh(engine, changes: int = 1000) -> float:
    """Seconds of the statistics refresh (集計) after ``changes`` new registrations: that
    many registrants join the last municipality, then one refresh runs, timed — counted
    by changes (services/stats_refresh.py) from the snapshot before, made first when
    there is none."""
    clock = FixedClock(DEFAULT_AT)
    with Session(engine) as session:
        service = StatisticsService(session, clock=clock, settings=SETTINGS)
        if service.latest_snapshot() is None:
            service.refresh()
            session.commit()
    with Session(engine) as session:
        join_last_municipality(session, changes)
        session.commit()
    with Session(engine) as session:
        started = time.perf_counter()
        summary = StatisticsService(session, clock=clock, settings=SETTINGS).refresh()
        session.commit()
        assert summary["method"] == "changes", summary
        return time.perf_counter() - started


def join_last_municipality(session, people: int):
    """``people`` registrants not yet registered there join the last municipality."""
    site_id = session.scalar(select(Site.id).where(Site.kind == "municipality")
                             .order_by(Site.code.desc()).limit(1))
    account_ids = session.scalars(
        select(Account.id).where(
            Account.kind == "registrant",
            ~select(Registration.id).where(Registration.account_id == Account.id,
                                           Registration.site_id == site_id).exists())
        .order_by(Account.id).limit(people)).all()
    session.add_all(Registration(account_id=account_id, site_id=site_id,
                                 registered_at=DEFAULT_AT, state_changed_at=DEFAULT_AT)
                    for account_id in account_ids)
    session.flush()


ACTIVITY_QUERIES = [
    ActivityQuery(),
    ActivityQuery(prefecture="20"),
    ActivityQuery(keyword="担い手活動 7"),
    ActivityQuery(tag="agriculture", designated=True),
    ActivityQuery(places_left=True, mode="onsite"),
    ActivityQuery(prefecture="47", tag="festival", keyword="活動"),
]
"""What visitors ask for: everything, a prefecture, a keyword, a theme with premium, places
left on site, and a narrow combination (few or no rows: the longest walk)."""


def activity_search_p99(engine, repeats: int) -> tuple[float, int]:
    """Milliseconds, p99 of one page (20) of the activity search over ``repeats`` rounds of
    the queries above, and the sessions the search can see. The clock is the generated
    sessions' first day, so every one of them is still to come; each query's second page
    (by cursor) is measured too."""
    clock = FixedClock(datetime.combine(PREMIUM_COUNTS_FROM, datetime.min.time(), TOKYO))
    samples = []
    with Session(engine) as session:
        search = ActivitySearch(session, clock=clock, settings=SETTINGS)
        visible = session.scalar(select(func.count()).select_from(ActivitySession))
        for attempt in range(repeats + 1):
            for query in ACTIVITY_QUERIES:
                session.expunge_all()
                started = time.perf_counter()
                first = search.search(query)
                if first.next_cursor:
                    search.search(query, cursor=first.next_cursor)
                if attempt:
                    samples.append((time.perf_counter() - started) * 1000 / 2)
            session.rollback()
    return percentile(samples, 0.99), visible


def checkin_dup_storm(engine) -> int:
    """Rows after 200 check-ins of one person to one session at the same moment (each
    thread on its own connection, released together at a barrier); errors are raised."""
    with Session(engine) as session:
        account_id, session_id, starts = session.execute(
            select(Registration.account_id, ActivitySession.id, ActivitySession.starts_at)
            .join(ActivitySession, ActivitySession.site_id == Registration.site_id)
            .join(Project, Project.id == ActivitySession.project_id)
            .where(Registration.state == "active", Project.designated.is_(True),
                   ~select(Attendance.id).where(
                       Attendance.session_id == ActivitySession.id,
                       Attendance.account_id == Registration.account_id).exists())
            .order_by(Registration.id, ActivitySession.id).limit(1)).one()
        token = AttendanceService(session, clock=FixedClock(starts), settings=SETTINGS
                                  ).tokens.token_for(session.get(ActivitySession, session_id))
    clock = FixedClock(starts + timedelta(minutes=5))
    barrier, errors = threading.Barrier(STORM), []

    def scan():
        try:
            barrier.wait(timeout=60)
            with Session(engine) as session:
                AttendanceService(session, clock=clock, settings=SETTINGS).check_in(
                    session.get(Account, account_id), token)
                session.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(STORM)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    if errors:
        raise RuntimeError(f"{len(errors)} check-ins failed, first: {errors[0]!r}")
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.session_id == session_id, Attendance.account_id == account_id))


def versions(engine) -> dict:
    with engine.connect() as connection:
        server = connection.scalar(text("SHOW server_version"))
    return {"postgresql": server, "python": platform.python_version(),
            "sqlalchemy": sqlalchemy.__version__, "psycopg": psycopg.__version__}


@dataclass
class Figure:
    """One printed line: ``name: value unit (goal …, met/MISSED)``. A correctness figure
    (rows written, duplicates, a real import) fails the run when missed; speed goals
    never do, since this machine is shared and noisy."""
    value: float
    unit: str
    goal: str
    met: bool
    correctness: bool = False

    def as_dict(self) -> dict:
        return {"value": round(self.value, 3), "unit": self.unit, "goal": self.goal,
                "met": self.met, "correctness": self.correctness}


def sized(size: int, smoke: bool) -> dict:
    """How many samples each figure takes."""
    return {"eligibility": 50 if smoke else 2000, "stats": 5 if smoke else 30,
            "activity_rounds": 3 if smoke else 50,
            "rounds": 1 if smoke else 3, "seconds": 1.0 if smoke else 5.0,
            "checkins": min(size, 200 if smoke else 8000),
            "pgbench_scale": 1 if smoke else 16, "pgbench_seconds": 2 if smoke else 10,
            "import_rows": 1_000 if smoke else 100_000}


@dataclass
class Dataset:
    people: int
    url: str
    engine: object
    ini: Path
    rows: dict
    seconds: float


def bench_engine(url: str):
    return get_engine({"furusato.db_url": url, "sqlalchemy.pool_size": str(POOL),
                       "sqlalchemy.max_overflow": "0", "sqlalchemy.pool_timeout": "120"})


def dataset(args, people: int, *, database: str | None = None, **options) -> Dataset:
    """A fresh database with ``people`` generated people (``options`` go to the
    generator), analyzed, and an ini for it."""
    database = database or args.database
    note(f"generating {people} people into {database}")
    url = fresh_database(args.admin_url, database)
    engine = bench_engine(url)
    started = time.monotonic()
    rows = generate(engine, people=people, seed=args.seed, **options)
    generated = time.monotonic() - started
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    ini = http_load.write_ini(Path(tempfile.mkdtemp(prefix="furusato-bench-")), url, SECRET)
    return Dataset(people, url, engine, ini, rows, generated)


def scale_point(data: Dataset, samples: dict) -> dict:
    """The figures ``growth`` compares across sizes, measured in this order at every
    size: renew_run, then eligibility_p99, then stats_national."""
    note(f"renew_run, eligibility_p99, stats_national at {data.people} people")
    renewal = batch_figures.renew_run(data.engine, data.ini, DEFAULT_AT, data.people)
    return {"people": data.people, "generate_seconds": round(data.seconds, 1),
            "renewal": renewal,
            "eligibility_p99": eligibility_p99(data.engine, samples["eligibility"]),
            "stats_national": stats_national(data.engine, samples["stats"])}


def scale_figures(point: dict) -> dict:
    renewal = point["renewal"]
    return {
        "renew_run": Figure(renewal.run.seconds, renewal.describe(),
                            "≤ 60 s at 1M people, 100k due", renewal.run.seconds <= 60),
        "renew_judged": Figure(renewal.judged, "rows", f"== {renewal.due} due "
                               f"({renewal.summary})", renewal.judged == renewal.due,
                               correctness=True),
        "eligibility_p99": Figure(point["eligibility_p99"], "ms", "≤ 5",
                                  point["eligibility_p99"] <= 5),
        "stats_national": Figure(point["stats_national"], "ms", "≤ 50 p50",
                                 point["stats_national"] <= 50),
    }


def web_figures_of(data: Dataset, args, samples: dict) -> dict:
    note("page_ratio, page_uncached_ratio, my_page_ratio, checkin_rate, pgbench, stats_refresh")
    page = web_figures.page_ratio(data.engine, data.ini, SETTINGS, rounds=samples["rounds"],
                                  seconds=samples["seconds"])
    checkin = web_figures.checkin_rate(data.engine, data.ini, SETTINGS,
                                       people=samples["checkins"])
    tps = web_figures.pgbench_tps(args.admin_url, f"{args.database}_pgbench",
                                  scale=samples["pgbench_scale"],
                                  seconds=samples["pgbench_seconds"])
    refresh = stats_refresh(data.engine)
    bare = f"{page.bare.rate:.0f} req/s"
    return {
        "page_ratio": Figure(page.ratio(page.site), f"(site {page.site.rate:.0f} req/s ÷ bare "
                             f"{bare})", "≥ 0.5", page.ratio(page.site) >= 0.5),
        "page_p99": Figure(page.site.percentile_ms(0.99),
                           f"ms (bare page p99 {page.bare.percentile_ms(0.99):.1f} ms)", "≤ 25",
                           page.site.percentile_ms(0.99) <= 25),
        "page_uncached_ratio": Figure(
            page.ratio(page.uncached), f"(site, cache off, one process "
            f"{page.uncached.rate:.0f} req/s ÷ bare {bare})", "≥ 0.25",
            page.ratio(page.uncached) >= 0.25),
        "page_uncached_ratio_all_cores": Figure(
            page.ratio(page.all_cores), f"(site, cache off, furusato-serve on "
            f"{os.cpu_count()} cores {page.all_cores.rate:.0f} req/s ÷ bare {bare} "
            "in one process)", "≥ 0.25", page.ratio(page.all_cores) >= 0.25),
        "my_page_ratio": Figure(page.ratio(page.my_page), f"(signed-in /my/ "
                                f"{page.my_page.rate:.0f} req/s ÷ bare {bare})", "≥ 0.2",
                                page.ratio(page.my_page) >= 0.2),
        "my_page_p99": Figure(page.my_page.percentile_ms(0.99), "ms at c16", "≤ 50",
                              page.my_page.percentile_ms(0.99) <= 50),
        "rss": Figure(page.rss, "MB", "≤ 150 after the page load", page.rss <= 150),
        "checkin_rate": Figure(checkin.rate, "check-ins/s", "≥ 800 (≥ 400 on the way)",
                               checkin.rate >= 800),
        "checkin_vs_pgbench": Figure(checkin.rate / tps, f"× pgbench ({tps:.0f} tps)",
                                     "≥ 0.2", checkin.rate / tps >= 0.2),
        "checkin_rows_match": Figure(
            int(checkin.consistent), "rows",
            f"1 (sent {checkin.prepared} == answered {checkin.answered} == accepted "
            f"{checkin.accepted} == rows {checkin.rows} == distinct {checkin.distinct}; "
            f"answers {checkin.statuses})", checkin.consistent, correctness=True),
        "stats_refresh": Figure(refresh, f"s after 1,000 new registrations at {data.people} "
                                "people", "≤ 5 (issue 17: at 10 M people)", refresh <= 5),
    }


def import_figures(data: Dataset, rows: int) -> dict:
    note(f"import of {rows} rows")
    with Session(data.engine) as session:
        code = session.scalar(select(Site.code).where(Site.kind == "municipality")
                              .order_by(Site.code.desc()).limit(1))
    result = batch_figures.import_run(data.engine, data.ini, code, rows, DEFAULT_AT)
    report = {key: result.report.get(key) for key in (
        "rows_read", "activities_created", "attendance_recorded", "pending_claims",
        "already_recorded", "error_count", "imported")}
    return {
        "import_100k": Figure(result.run.seconds, f"s for {rows} rows", "≤ 30",
                              result.run.seconds <= 30),
        "import_rss": Figure(result.run.peak_mb, "MB peak RSS", "≤ 300",
                             result.run.peak_mb <= 300),
        "import_rows_match": Figure(
            int(result.succeeded), "rows",
            f"1 (exit {result.run.status}, expected {result.expected}, report {report})",
            result.succeeded, correctness=True),
    }


def growth_figures(points: list) -> dict:
    """The largest size against the smallest: per-request figures flat, batch seconds
    per due registration at most linear, the renewal's memory constant."""
    small, large = points[0], points[-1]
    sizes = f"{large['people']} ÷ {small['people']} people"

    def per_due(point):
        renewal = point["renewal"]
        return renewal.run.seconds / max(renewal.due, 1)

    ratios = {
        "growth_eligibility_p99": (large["eligibility_p99"] / small["eligibility_p99"],
                                   1.5, ""),
        "growth_stats_national": (large["stats_national"] / small["stats_national"],
                                  1.5, ""),
        "growth_renew_per_due": (per_due(large) / per_due(small), 1, " (at most linear)"),
        "growth_renew_rss": (large["renewal"].run.peak_mb / small["renewal"].run.peak_mb,
                             1.5, " (constant memory)"),
    }
    return {name: Figure(value, f"× ({sizes})", f"≤ {limit}{why}", value <= limit)
            for name, (value, limit, why) in ratios.items()}


def point_summary(point: dict) -> dict:
    renewal = point["renewal"]
    return {"people": point["people"], "generate_seconds": point["generate_seconds"],
            "renew_seconds": round(renewal.run.seconds, 2), "due": renewal.due,
            "premium": renewal.premium, "renew_peak_mb": round(renewal.run.peak_mb, 1),
            "renew_summary": renewal.summary,
            "eligibility_p99_ms": round(point["eligibility_p99"], 2),
            "stats_national_ms": round(point["stats_national"], 2)}


def run(args) -> dict:
    """Scale figures at every smaller growth size (each in a fresh database), then every
    figure at the full size; growth figures from the points."""
    sizes = sorted(args.growth or [args.people or (300 if args.smoke else 1_000_000)])
    people = sizes[-1]
    points = []
    for size in sizes[:-1]:
        data = dataset(args, size)
        points.append(scale_point(data, sized(size, args.smoke)))
        data.engine.dispose()
    samples = sized(people, args.smoke)
    data = dataset(args, people)
    figures = {} if args.only_growth else web_figures_of(data, args, samples)
    points.append(scale_point(data, samples))
    figures.update(scale_figures(points[-1]))
    if not args.only_growth:
        search_ms, sessions = activity_search_p99(data.engine, samples["activity_rounds"])
        figures["activity_search_p99"] = Figure(
            search_ms, f"ms per page ({sessions} sessions of {data.rows.get('sites', '?')} "
            "sites)", "≤ 50", search_ms <= 50)
        storm = checkin_dup_storm(data.engine)
        figures["checkin_dup_storm"] = Figure(storm, "rows", "exactly 1", storm == 1,
                                              correctness=True)
        figures.update(import_figures(data, samples["import_rows"]))
    if len(points) > 1:
        figures.update(growth_figures(points))
    result = {
        "database": f"PostgreSQL {args.database} at {make_url(data.url).host}",
        "people": people, "seed": args.seed, "rows": data.rows,
        "generate_seconds": round(data.seconds, 1), "versions": versions(data.engine),
        "growth_points": [point_summary(point) for point in points] if len(points) > 1
        else [],
        "figures": {name: figure.as_dict() for name, figure in figures.items()},
    }
    data.engine.dispose()
    return result


def sizes_list(text: str) -> list:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="seconds-long run")
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--growth", type=sizes_list, default=None,
                        help="comma-separated sizes, e.g. 100000,300000,1000000: scale "
                             "figures at each (fresh data), all figures at the largest")
    parser.add_argument("--only-growth", action="store_true",
                        help="with --growth: only the scale and growth figures")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--database", default=DATABASE,
                        help="scratch database to (re)create on that server")
    args = parser.parse_args(argv)
    if args.growth and args.people:
        parser.error("--growth gives the sizes; leave out --people")
    result = run(args)
    print(f"database: {result['database']}, {result['people']} people "
          f"(generated in {result['generate_seconds']} s), {result['versions']}")
    for point in result["growth_points"]:
        print(f"at {point['people']} people: {point}")
    for name, figure in result["figures"].items():
        mark = "met" if figure["met"] else "MISSED"
        print(f"{name}: {figure['value']} {figure['unit']} (goal {figure['goal']}, {mark})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n",
                       encoding="utf-8")
    failed = [name for name, figure in result["figures"].items()
              if figure["correctness"] and not figure["met"]]
    if failed:
        raise SystemExit(f"correctness figures failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
