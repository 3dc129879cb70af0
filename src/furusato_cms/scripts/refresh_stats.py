"""furusato-refresh-stats <ini>: count every statistic into a new snapshot (関係人口の集計),
from cron every few minutes (e.g. ``*/10 * * * *``).

In one transaction (REPEATABLE READ on PostgreSQL, so every figure is counted at the
same moment) it counts every figure of every site and of the nation set-based
(``services.statistics``), so the new snapshot appears all at once when it commits,
and drops all but the two newest snapshots; on PostgreSQL the commit also tells every
app process to drop its cached public pages (the public dashboard /stats/ among them).
The national dashboards and large sites read the newest snapshot, so the figures there
are at most one interval plus one run old.
It prints a JSON summary: ``{"snapshot": id, "as_of": ..., "rows": ...,
"dropped_snapshots": ..., "duration_ms": ...}``.
"""
from .. import public_cache  # noqa: F401 - its commit hooks tell every app process
from ..clock import system_clock
from ..services.statistics import StatisticsService
from .common import db_transaction, ini_parser, load_settings, print_json


def main(argv=None):
    args = ini_parser(__doc__).parse_args(argv)
    settings = load_settings(args.config_uri)
    with db_transaction(settings) as (dbsession, app_settings):
        if dbsession.get_bind().dialect.name == "postgresql":
            dbsession.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        summary = StatisticsService(dbsession, clock=system_clock,
                                    settings=app_settings).refresh()
    print_json(summary)
