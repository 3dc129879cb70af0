"""How many cores the national peak needs: ``python bench/capacity.py [RESULTS.json]``.

Reads the figures ``make bench`` measured (bench/results/latest.json by default) and turns
them, with the assumptions below (each stated with its reason), into app cores and
database cores for the whole country at its busiest. Nothing measured is written here:
every rate and time comes from the JSON, so a new run gives a new table.

How a measured figure becomes a per-core figure:

- **App**: the benchmark serves furusato-cms from one waitress process (bench/serve.py).
  A Python process runs Python code on at most one core at a time (the GIL), so one app
  process is counted as one core. Its measured rate is taken as the rate of one app core,
  although in the benchmark that process shared the machine's two cores with PostgreSQL
  and the load generator and so had less than a core: the per-core figure is low, the
  core count high.
- **Database**: pgbench TPC-B on the same server in the same run gives transactions per
  second for the machine's cores; a request's database work is counted in TPC-B
  transactions by its SQL statements (a TPC-B transaction has 5: four writes and a read).
  Our requests are mostly indexed reads, so counting statements alike overstates them.
- **Batch and in-process figures** (eligibility, statistics, renewal) were measured with
  the app and the database in one run, so their time is counted in full on each side.
"""
import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "latest.json"
BENCH_CORES = 2
"""Cores of the machine that ran the benchmark (app, PostgreSQL and load generator)."""
TPCB_STATEMENTS = 5
FULL_RUN = 100_000
"""People below which a run is a smoke test, not a measurement."""


@dataclass(frozen=True)
class Assumption:
    value: float
    unit: str
    why: str


A = {
    "people": Assumption(10_000_000, "people", "the national aim (DESIGN.md)"),
    "registrations": Assumption(100_000_000, "registrations",
                                "the national aim: ten registrations per person"),
    "checkins": Assumption(
        1_000, "check-ins/s",
        "a nationwide activity day: 1 % of the people (100,000) scan within the same five "
        "minutes as sessions open = 333/s, times 3 for the burst at the start"),
    "public_views": Assumption(
        5_000, "public page views/s",
        "10 M people reading ~2 pages a day = 231/s on average, ×10 at the evening peak, "
        "and as much again from visitors without an account (search, tourism, the "
        "furusato nozei season), rounded up"),
    "public_cache_hits": Assumption(
        0.5, "of public views answered from the anonymous-page cache",
        "each process empties its cache whenever public content changes anywhere in the "
        "country: rare at the evening peak, frequent in office hours; a miss is costed like "
        "a check-in on the app side and like an uncached page on the database side"),
    "signed_in_views": Assumption(
        1_000, "signed-in page views/s",
        "my page, card, history, feed: a fifth of the public traffic; costed like a "
        "check-in (a signed-in request that also writes), which overstates them"),
    "evaluations": Assumption(
        100, "premium evaluations/s",
        "people looking at their premium progress or applying, 1 in 10 check-ins"),
    "stats_views": Assumption(
        50, "statistics pages/s",
        "operator, prefecture and large-site dashboards, all read from the snapshot; on the "
        "primary, because they need a sign-in"),
    "renewals_due": Assumption(
        100_000, "renewals in one night",
        "a tenth of the ~1 M premium registrations (10 % of people) falling due together, "
        "as the opening month's approvals will a year later"),
    "night_hours": Assumption(4, "hours", "the nightly batch window (01:00–05:00 JST)"),
    "page_statements": Assumption(
        6, "SQL statements per public page",
        "counted on 2026-11-25 at commit d10a8a4: a SQLAlchemy before_cursor_execute "
        "listener around one WebTest GET of a site page with 12 posts, on PostgreSQL, the "
        "cache off"),
    "checkin_statements": Assumption(
        4, "SQL statements per check-in",
        "counted the same way for one check-in POST (3 reads, 1 insert; 12 before commit "
        "6cb3715); tests/functional/test_checkin.py holds the tap to 4; /my/card sends 4"),
    "utilisation": Assumption(
        0.5, "of each core at peak",
        "headroom for bursts inside the peak and for losing one machine (N+1)"),
}


class MissingFigure(SystemExit):
    def __init__(self, name):
        super().__init__(f"bench results have no usable figure {name!r}: run `make bench`")


def figure(results, name) -> dict:
    found = results.get("figures", {}).get(name)
    if found is None:
        raise MissingFigure(name)
    return found


def from_unit(results, name, pattern) -> float:
    """A number written into a figure's unit string, such as the site's req/s."""
    match = re.search(pattern, figure(results, name)["unit"])
    if match is None:
        raise MissingFigure(f"{name} ({pattern})")
    return float(match.group(1))


@dataclass(frozen=True)
class Measured:
    """The per-core figures of one benchmark run."""
    site_rate: float
    """Public site page, req/s of one app process."""
    checkin_rate: float
    """Check-ins/s of one app process."""
    tpcb_per_core: float
    """pgbench TPC-B tps per database core."""
    eligibility_ms: float
    stats_ms: float
    renew_seconds: float
    renew_due: float

    @classmethod
    def of(cls, results):
        return cls(
            site_rate=from_unit(results, "page_ratio", r"site ([0-9.]+) req/s"),
            checkin_rate=figure(results, "checkin_rate")["value"],
            tpcb_per_core=from_unit(results, "checkin_vs_pgbench",
                                    r"pgbench \(([0-9.]+) tps\)") / BENCH_CORES,
            eligibility_ms=figure(results, "eligibility_p99")["value"],
            stats_ms=figure(results, "stats_national")["value"],
            renew_seconds=figure(results, "renew_run")["value"],
            renew_due=from_unit(results, "renew_run", r"for ([0-9]+) due"),
        )

    def db_busy(self, rate: float, statements: float) -> float:
        """Database cores busy for ``rate`` requests/s of ``statements`` statements each,
        counting TPC-B transactions by their statements."""
        return rate * statements / TPCB_STATEMENTS / self.tpcb_per_core


@dataclass(frozen=True)
class Workload:
    name: str
    rate: float
    app_busy: float
    """App cores fully busy at this rate (before headroom)."""
    db_busy: float
    """Database cores fully busy at this rate (before headroom)."""
    where: str


def workloads(m: Measured) -> list:
    """The national peak, one row per kind of request."""
    v = {name: assumption.value for name, assumption in A.items()}
    hits = v["public_cache_hits"]
    return [
        Workload("public pages", v["public_views"],
                 v["public_views"] * (hits / m.site_rate + (1 - hits) / m.checkin_rate),
                 m.db_busy(v["public_views"] * (1 - hits), v["page_statements"]), "replicas"),
        Workload("signed-in pages", v["signed_in_views"],
                 v["signed_in_views"] / m.checkin_rate,
                 m.db_busy(v["signed_in_views"], v["checkin_statements"]), "primary"),
        Workload("check-ins", v["checkins"], v["checkins"] / m.checkin_rate,
                 m.db_busy(v["checkins"], v["checkin_statements"]), "primary"),
        Workload("premium evaluations", v["evaluations"],
                 v["evaluations"] * m.eligibility_ms / 1000,
                 v["evaluations"] * m.eligibility_ms / 1000, "primary"),
        Workload("statistics pages", v["stats_views"], v["stats_views"] * m.stats_ms / 1000,
                 v["stats_views"] * m.stats_ms / 1000, "primary"),
    ]


def cores(busy: float) -> int:
    return math.ceil(busy / A["utilisation"].value)


def heading(path: Path, results) -> list:
    """Which run: the file's time (the JSON has no date), database, size, versions."""
    modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    people = results.get("people", 0)
    lines = [f"bench run: {path} written {modified:%Y-%m-%d %H:%M} UTC, "
             f"{results.get('database')}, {people:,} people, rows {results.get('rows')}, "
             f"versions {results.get('versions')}"]
    if people < FULL_RUN:
        lines.append(f"WARNING: a run of {people:,} people (fewer than {FULL_RUN:,}) measures "
                     "start-up and warm-up more than load: run the full `make bench`")
    return lines


def inputs(m: Measured) -> list:
    return (["", "assumptions:"]
            + [f"  {name}: {a.value:,} {a.unit} — {a.why}" for name, a in A.items()]
            + ["", "per core, from the run:",
               f"  public site page: {m.site_rate:,.0f} req/s per app process",
               f"  check-in: {m.checkin_rate:,.0f} /s per app process",
               f"  pgbench TPC-B: {m.tpcb_per_core:,.0f} tps per database core",
               f"  premium evaluation p99 {m.eligibility_ms} ms, national statistics p50 "
               f"{m.stats_ms} ms, renewal {m.renew_seconds} s for {m.renew_due:,.0f} due", ""])


def table(rows: list) -> list:
    header = (f"{'workload':22} {'peak/s':>8} {'app busy':>9} {'app cores':>10} "
              f"{'db busy':>8} {'db cores':>9}  database")
    lines = [header, "-" * len(header)]
    lines += [f"{w.name:22} {w.rate:>8,.0f} {w.app_busy:>9.2f} {cores(w.app_busy):>10}"
              f" {w.db_busy:>8.2f} {cores(w.db_busy):>9}  {w.where}" for w in rows]
    app, db = sum(w.app_busy for w in rows), sum(w.db_busy for w in rows)
    primary = sum(w.db_busy for w in rows if w.where == "primary")
    return lines + [
        "-" * len(header),
        f"{'total':22} {'':>8} {app:>9.2f} {cores(app):>10} {db:>8.2f} {cores(db):>9}",
        f"  database, at {A['utilisation'].value:.0%} of each core at peak: primary "
        f"{cores(primary)} cores and read replicas {cores(db - primary)} cores together, or "
        f"{cores(db)} cores on the primary alone"]


def checks(m: Measured) -> list:
    """The whole-machine bound on check-ins, and the night's renewal run."""
    checkins = A["checkins"].value
    renew = m.renew_seconds / m.renew_due * A["renewals_due"].value
    window = A["night_hours"].value * 3600
    return [
        f"  cross-check: the whole {BENCH_CORES}-core bench machine (app, database and load "
        f"generator) took {m.checkin_rate:,.0f} check-ins/s, so {checkins:,.0f}/s need at most "
        f"{checkins / m.checkin_rate * BENCH_CORES:.1f} such cores fully busy, app and "
        "database together",
        f"  renewal: {A['renewals_due'].value:,.0f} due take {renew:,.0f} s at the measured "
        f"{m.renew_due / m.renew_seconds:,.0f}/s on one core ({renew / window:.1%} of the "
        f"{A['night_hours'].value:.0f}-hour window)"]


def report(path: Path, results) -> str:
    m = Measured.of(results)
    return "\n".join(heading(path, results) + inputs(m) + table(workloads(m)) + checks(m))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.results.exists():
        sys.exit(f"{args.results} does not exist: run `make bench` first")
    print(report(args.results, json.loads(args.results.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
