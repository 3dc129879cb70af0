"""Benchmarks at national scale (性能測定): ``python bench/run.py [--people N] [--smoke]``.

Generates ``furusato-generate`` data into a fresh PostgreSQL database on the local server,
then measures, in the same run, one figure per line — ``name: value unit (goal …)`` —
and writes them with the database, data size and versions to bench/results/latest.json:

- ``page_ratio``, ``page_p99``, ``rss``: the public site page against a bare Pyramid +
  Jinja2 page over HTTP, loaded by wrk (bench/web_figures.py);
- ``checkin_rate`` (and ``checkin_vs_pgbench``, ``checkin_rows_match``): check-ins/s
  over HTTP by distinct signed-in registrants, against pgbench TPC-B in the same run;
- ``renew_run``: ``furusato-renew`` over all premium registrations moved into the due
  window, seconds and peak RSS of the subprocess (bench/batch_figures.py);
- ``eligibility_p99``: one person's premium evaluation with its evidence, over many people;
- ``stats_national``: the operator's national report from the newest snapshot, warm;
- ``checkin_dup_storm``: 200 concurrent check-ins of one person to one session through
  the service, each on its own connection: exactly one row, no error.

``--smoke`` uses a few hundred people and few repetitions, so it takes seconds.
"""
import argparse
import json
import platform
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
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
from furusato_cms.services.attendance import AttendanceService
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


def fresh_database(admin_url: str, database: str = DATABASE) -> str:
    """Drop and create the benchmark database, migrate it; its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
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


def stats_national(engine, repeats: int) -> float:
    """Milliseconds, p50 of the national report after one refresh and one warm-up."""
    clock = FixedClock(DEFAULT_AT)
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


def run(args) -> dict:
    people = args.people or (300 if args.smoke else 1_000_000)
    url = fresh_database(args.admin_url, args.database)
    engine = get_engine({"furusato.db_url": url, "sqlalchemy.pool_size": str(POOL),
                         "sqlalchemy.max_overflow": "0", "sqlalchemy.pool_timeout": "120"})
    started = time.monotonic()
    rows = generate(engine, people=people, seed=args.seed)
    generated = time.monotonic() - started
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    ini = http_load.write_ini(Path(tempfile.mkdtemp(prefix="furusato-bench-")), url, SECRET)
    page = web_figures.page_ratio(engine, ini, rounds=1 if args.smoke else 3,
                                  seconds=1.0 if args.smoke else 5.0)
    checkin = web_figures.checkin_rate(engine, ini, SETTINGS,
                                       people=min(people, 200 if args.smoke else 8000))
    tps = web_figures.pgbench_tps(args.admin_url, f"{args.database}_pgbench", scale=1 if args.smoke else 16,
                                  seconds=2 if args.smoke else 10)
    renewal, due, renewed = batch_figures.renew_run(engine, ini, DEFAULT_AT)
    figures = {
        "renew_run": (renewal.seconds, f"s for {due} due (peak RSS "
                      f"{renewal.peak_mb:.0f} MB; {renewed})", "≤ 60 at 1M people, 100k due",
                      lambda v: v <= 60),
        "checkin_rate": (checkin.rate, "check-ins/s", "≥ 800", lambda v: v >= 800),
        "checkin_vs_pgbench": (checkin.rate / tps, f"× pgbench ({tps:.0f} tps)", "≥ 0.2",
                               lambda v: v >= 0.2),
        "checkin_rows_match": (int(checkin.consistent), "rows",
                               f"1 (sent {checkin.prepared} == answered {checkin.answered} "
                               f"== accepted {checkin.accepted} == rows {checkin.rows} == "
                               f"distinct {checkin.distinct}; answers {checkin.statuses})",
                               lambda v: v == 1),
        "page_ratio": (page.ratio, f"(site {page.site_rate:.0f} req/s ÷ bare "
                       f"{page.bare_rate:.0f} req/s)", "≥ 0.5", lambda v: v >= 0.5),
        "page_p99": (page.p99, "ms", "≤ 25", lambda v: v <= 25),
        "rss": (page.rss, "MB", "≤ 150 after the page load", lambda v: v <= 150),
        "eligibility_p99": (eligibility_p99(engine, 50 if args.smoke else 2000), "ms",
                            "≤ 5", lambda v: v <= 5),
        "stats_national": (stats_national(engine, 5 if args.smoke else 30), "ms",
                           "≤ 50 p50", lambda v: v <= 50),
        "checkin_dup_storm": (checkin_dup_storm(engine), "rows", "exactly 1",
                              lambda v: v == 1),
    }
    result = {
        "database": f"PostgreSQL {args.database} at {make_url(url).host}",
        "people": people, "seed": args.seed, "rows": rows,
        "generate_seconds": round(generated, 1), "versions": versions(engine),
        "figures": {name: {"value": round(value, 2), "unit": unit, "goal": goal,
                           "met": met(value)}
                    for name, (value, unit, goal, met) in figures.items()},
    }
    engine.dispose()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="seconds-long run")
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--database", default=DATABASE,
                        help="scratch database to (re)create on that server")
    result = run(parser.parse_args(argv))
    print(f"database: {result['database']}, {result['people']} people "
          f"(generated in {result['generate_seconds']} s), {result['versions']}")
    for name, figure in result["figures"].items():
        mark = "met" if figure["met"] else "MISSED"
        print(f"{name}: {figure['value']} {figure['unit']} (goal {figure['goal']}, {mark})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n",
                       encoding="utf-8")
    if not all(figure["met"] for figure in result["figures"].values()
               if figure["unit"] == "rows"):
        raise SystemExit("a correctness figure failed")


if __name__ == "__main__":
    main()
