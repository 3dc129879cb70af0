"""The national-size benchmark (issue 17): ``python bench/national.py [--sizes N1,N2] [--smoke]``
(``make bench-national``: 1 M and 10 M people).

At each size, in a freshly generated PostgreSQL database (bench/run.py's generator and
figures), in this order:

- ``stats_rebuild``: seconds of the statistics counted from scratch (the first refresh and
  the repair tool, ``furusato-refresh-stats --full``), committed;
- ``stats_refresh``: seconds of the refresh by changes after 1,000 new registrations;
- ``stats_national``: ms, the operator's national report from the newest snapshot (p50);
- ``eligibility_p99``: ms, one person's premium evaluation with its evidence;
- ``activity_search_p99``: ms per page of the nationwide activity search;
- ``stats_refresh_day``: seconds of the refresh by changes after a simulated day
  (``simulated_day``: 1 % of people register with one more site, 1 % attend a session,
  0.1 % leave a site, and the clock moves on a day — birthdays and the 365-day window);
- the database's size on disk and the seconds the size took;

then ``growth_*``: the largest size against the smallest. Results go to
bench/results/national.json. Speed goals never fail the run; only a refresh that did not
count by changes does.

The changes and the refresh after them run in one transaction that is rolled back, so
the data stays as generated. Each size has its own database
(``furusato_national_<people>``); ``--reuse`` measures again what an earlier run
generated (10 M people take half an hour to generate and as long to count from scratch),
after upgrading it to the newest revision, and takes ``stats_rebuild`` from the full
snapshot kept there when nothing has changed since.
"""
import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import run as bench
from furusato_cms.clock import FixedClock
from furusato_cms.models import Site, StatsChange
from furusato_cms.scripts.generate import DEFAULT_AT
from furusato_cms.services.statistics import StatisticsService

RESULTS = Path(__file__).parent / "results" / "national.json"
STATS_TABLES = ("stats_changes", "stats_key_rows", "stats_figures", "stats_snapshots",
                "stats_registration_keys", "stats_keys")


def timed_refresh(engine, at, *, full=False) -> float:
    with Session(engine) as session:
        started = time.perf_counter()
        summary = StatisticsService(session, clock=FixedClock(at),
                                    settings=bench.SETTINGS).refresh(full=full)
        session.commit()
        seconds = time.perf_counter() - started
    if summary["method"] != ("full" if full else "changes"):
        raise RuntimeError(f"the refresh did not count as asked: {summary}")
    return seconds


DAY_SQL = (
    # 1 %: one more registration each, with a site chosen by the account id
    """INSERT INTO registrations (account_id, site_id, tier, state, at_home, long_stay,
           relationship_types, connections, registered_at, state_changed_at)
       SELECT a.id, (CAST(:sites AS int[]))[a.id % :n + 1], 'basic', 'active', false, false,
              '[2]', '["birthplace"]', :at, :at
       FROM accounts a
       WHERE a.kind = 'registrant' AND a.disabled_at IS NULL AND a.id % 100 = 0
         AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.account_id = a.id
                         AND r.site_id = (CAST(:sites AS int[]))[a.id % :n + 1])""",
    """INSERT INTO registration_events (registration_id, kind, at, detail)
       SELECT id, 'joined', :at, '{}' FROM registrations WHERE registered_at = :at""",
    # 1 %: attendance at the first session of one of their sites
    """INSERT INTO attendances (session_id, account_id, site_id, attended_at, designated,
           recorded_at, source, void_reason)
       SELECT s.id, r.account_id, r.site_id, :at, false, :at, 'staff', ''
       FROM registrations r
       JOIN LATERAL (SELECT id FROM activity_sessions WHERE site_id = r.site_id
                     ORDER BY id LIMIT 1) s ON true
       WHERE r.account_id % 100 = 1 AND r.state = 'active'
       ON CONFLICT DO NOTHING""",
    # 0.1 %: leave a site
    """INSERT INTO registration_events (registration_id, kind, at, detail)
       SELECT id, 'left', :at, '{}' FROM registrations
       WHERE account_id % 1000 = 2 AND state = 'active'""",
    """UPDATE registrations SET state = 'left', state_changed_at = :at
       WHERE account_id % 1000 = 2 AND state = 'active'""",
)


def simulated_day(session) -> dict:
    """A day's changes at national rates (see the module's docstring); the rows each
    statement wrote."""
    at = DEFAULT_AT + timedelta(hours=12)
    sites = list(session.scalars(select(Site.id).where(Site.kind == "municipality")
                                 .order_by(Site.id)))
    written = [session.execute(text(sql), {"sites": sites, "n": len(sites), "at": at}
                               ).rowcount for sql in DAY_SQL]
    return dict(zip(("registered", "joined_events", "attended", "left_events", "left"),
                    written))


def refresh_after(engine, change, at) -> tuple:
    """Seconds of the refresh by changes (at ``at``) after ``change(session)``, and what
    the change returned. Both run in one transaction that is rolled back, so the
    database stays as generated and a ``--reuse`` run measures the same again."""
    with Session(engine) as session:
        changed = change(session)
        session.flush()
        started = time.perf_counter()
        summary = StatisticsService(session, clock=FixedClock(at),
                                    settings=bench.SETTINGS).refresh()
        seconds = time.perf_counter() - started
        session.rollback()
    if summary["method"] != "changes":
        raise RuntimeError(f"the refresh did not count by changes: {summary}")
    bench.note(f"refreshed by changes in {seconds:.1f} s: {summary}")
    return seconds, changed


def rebuilt(engine, reuse: bool) -> float:
    """Seconds of every figure counted from scratch: timed now, or with ``--reuse`` those
    the kept full snapshot took, when nothing has changed since it was made."""
    with Session(engine) as session:
        latest = StatisticsService(session, clock=FixedClock(DEFAULT_AT),
                                   settings=bench.SETTINGS).latest_snapshot()
        pending = session.scalar(select(func.count()).select_from(StatsChange))
    if reuse and latest is not None and latest.method == "full" and not pending:
        bench.note(f"from scratch: the kept full snapshot {latest.id} took "
                   f"{latest.duration_ms / 1000:.1f} s")
        return latest.duration_ms / 1000
    return timed_refresh(engine, DEFAULT_AT, full=True)


def disk_mb(engine) -> float:
    with engine.connect() as connection:
        return connection.scalar(select(func.pg_database_size(func.current_database()))) / 2**20


def generated(args, people: int):
    """``people`` generated into the size's own database (``--max-sites``), or with
    ``--reuse`` the one an earlier run generated, upgraded to the newest revision. The
    generation's summary is kept beside the results so a reused size still reports it."""
    database = f"{args.database}_{people}"
    summary = RESULTS.parent / f"{database}.json"
    if args.reuse and summary.exists():
        kept = json.loads(summary.read_text(encoding="utf-8"))
        if kept["max_sites"] == args.max_sites:
            bench.note(f"reusing {database} ({people} people)")
            url = bench.migrated(bench.database_url(args.admin_url, database))
            engine = bench.bench_engine(url)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                # what autovacuum does between runs: the earlier run's rolled-back refreshes
                # left dead rows in the statistics tables
                connection.execute(text(f"VACUUM ANALYZE {', '.join(STATS_TABLES)}"))
                connection.execute(text("ANALYZE"))
            return bench.Dataset(people, url, engine, None, kept["rows"], kept["seconds"])
    data = bench.dataset(args, people, database=database, max_sites=args.max_sites)
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps({"max_sites": args.max_sites, "rows": data.rows,
                                   "seconds": data.seconds}) + "\n", encoding="utf-8")
    return data


def point(args, people: int) -> dict:
    samples = bench.sized(people, args.smoke)
    started = time.monotonic()
    data = generated(args, people)
    try:
        bench.note(f"statistics at {people} people")
        figures = {"stats_rebuild": rebuilt(data.engine, args.reuse)}
        figures["stats_refresh"], _ = refresh_after(
            data.engine, lambda session: bench.join_last_municipality(session, 1000),
            DEFAULT_AT)
        figures["stats_national"] = bench.stats_national(data.engine, samples["stats"],
                                                         refresh=False)
        bench.note(f"eligibility and activity search at {people} people")
        figures["eligibility_p99"] = bench.eligibility_p99(data.engine, samples["eligibility"])
        figures["activity_search_p99"], _sessions = bench.activity_search_p99(
            data.engine, samples["activity_rounds"])
        bench.note(f"a simulated day at {people} people")
        figures["stats_refresh_day"], day = refresh_after(data.engine, simulated_day,
                                                          DEFAULT_AT + timedelta(days=1))
        return {"people": people, "rows": data.rows, "generate_seconds": round(data.seconds, 1),
                "day": day, "disk_mb": round(disk_mb(data.engine), 1),
                "seconds": round(time.monotonic() - started, 1),
                "figures": {name: round(value, 3) for name, value in figures.items()}}
    finally:
        data.engine.dispose()


GOALS = {
    # name: (unit, goal text, test) at the largest size
    "stats_rebuild": ("s, every figure from scratch", "none (the repair tool)", lambda v: True),
    "stats_refresh": ("s after 1,000 changes", "≤ 5", lambda v: v <= 5),
    "stats_refresh_day": ("s after a simulated day", "≤ 60", lambda v: v <= 60),
    "eligibility_p99": ("ms", "≤ 5", lambda v: v <= 5),
    "stats_national": ("ms p50", "≤ 50", lambda v: v <= 50),
    "activity_search_p99": ("ms per page", "≤ 50", lambda v: v <= 50),
}
GROWTH = {"stats_refresh": 1.5, "stats_refresh_day": None, "eligibility_p99": 1.5,
          "stats_national": 1.5, "activity_search_p99": 1.5}


def report(points: list) -> list:
    """The printed lines: every figure at the largest size, then the growth ratios."""
    large, small = points[-1], points[0]
    lines = []
    for name, (unit, goal, met) in GOALS.items():
        value = large["figures"][name]
        lines.append(f"{name}: {value} {unit} at {large['people']} people "
                     f"(goal {goal}, {'met' if met(value) else 'MISSED'})")
    if len(points) > 1:
        sizes = f"{large['people']} ÷ {small['people']} people"
        for name, limit in GROWTH.items():
            ratio = large["figures"][name] / max(small["figures"][name], 1e-9)
            goal = f"≤ {limit}" if limit else "none (the day grows with the people)"
            mark = "met" if limit is None or ratio <= limit else "MISSED"
            lines.append(f"growth_{name}: {ratio:.3f} × ({sizes}) (goal {goal}, {mark})")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=bench.sizes_list, default=None,
                        help="comma-separated people counts (default 1000000,10000000)")
    parser.add_argument("--smoke", action="store_true", help="a few hundred people")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default=bench.ADMIN_URL)
    parser.add_argument("--database", default="furusato_national",
                        help="scratch databases' name on that server (the size is added)")
    parser.add_argument("--max-sites", type=int, default=2,
                        help="municipalities per person at most (default 2: about 2.9 "
                             "registrations per person, 20 M+ at 10 M people)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the databases an earlier run generated, if any")
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes or ([100, 300] if args.smoke else [1_000_000, 10_000_000]))
    points = [point(args, people) for people in sizes]
    for each in points:
        print(f"at {each['people']} people: generated in {each['generate_seconds']} s, "
              f"{each['disk_mb']} MB on disk, whole point {each['seconds']} s, "
              f"day {each['day']}", flush=True)
    for line in report(points):
        print(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(points, ensure_ascii=False, indent=2) + "\n",
                       encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
