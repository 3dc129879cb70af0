"""furusato-oauth-purge <ini> [--at ISO-DATETIME]: delete expired OAuth codes and tokens,
used assertion ids and old rate-limit windows (services/oauth/housekeeping.py), daily
from cron. Prints a JSON summary of the rows deleted per kind."""
from ..services.oauth.housekeeping import OAuthHousekeeping
from .common import run_service_at


def main(argv=None):
    run_service_at(argv, __doc__, "purge as of this moment", OAuthHousekeeping,
                   lambda service, now: service.purge())
