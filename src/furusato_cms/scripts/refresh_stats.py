"""furusato-refresh-stats <ini> [--full]: count the statistics into a new snapshot
(関係人口の集計), from cron every minute (``* * * * *``).

In one transaction (REPEATABLE READ on PostgreSQL, so every figure is counted at the
same moment) it counts again what changed since the last snapshot — the sites and people
the change log names (``services.stats_refresh``) — or, with ``--full`` or when there is
no snapshot to follow, every figure of every site and of the nation from scratch (the
repair tool). The new snapshot appears all at once when it commits, and all but the two
newest are dropped; on PostgreSQL the commit also tells every app process to drop its
cached public pages (the public dashboard /stats/ among them). One refresh runs at a
time: on PostgreSQL a second one started meanwhile stops at once (``"skipped"``).
It prints a JSON summary: ``{"snapshot": id, "as_of": ..., "method": "changes"|"full",
"sites_counted": ..., "people_counted": ..., "registrations_counted": ..., "rows": ..., "dropped_snapshots": ...,
"duration_ms": ...}``.
"""
import logging
import time

from sqlalchemy import text

from .. import public_cache  # noqa: F401 - its commit hooks tell every app process
from ..clock import system_clock
from ..services.statistics import StatisticsService
from .common import db_transaction, ini_parser, load_settings, print_json

log = logging.getLogger(__name__)
REFRESH_LOCK = 0x5354_4154
"""The advisory lock one refresh holds (any number the app uses for nothing else)."""


def main(argv=None):
    parser = ini_parser(__doc__)
    parser.add_argument("--full", action="store_true",
                        help="count every figure from scratch (repair; minutes at national size)")
    parser.add_argument("--every", type=int, metavar="SECONDS",
                        help="keep running: a refresh every SECONDS (make run does, with 60)")
    args = parser.parse_args(argv)
    settings = load_settings(args.config_uri)
    refresh(settings, full=args.full)
    while args.every:
        time.sleep(args.every)
        try:
            refresh(settings)
        except Exception:  # the next round tries again; cron would too
            log.exception("statistics refresh failed")


def refresh(settings, *, full=False):
    with db_transaction(settings) as (dbsession, app_settings):
        if dbsession.get_bind().dialect.name == "postgresql":
            dbsession.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            if not dbsession.scalar(text(f"SELECT pg_try_advisory_xact_lock({REFRESH_LOCK})")):
                print_json({"skipped": "another refresh is running"})
                return
        summary = StatisticsService(dbsession, clock=system_clock,
                                    settings=app_settings).refresh(full=full)
    print_json(summary)


if __name__ == "__main__":
    main()
