"""furusato-release-inactive <ini> [--at ISO-DATETIME]: release basic registrations of
people who stopped signing in (解除), once a day from cron.

In one transaction it cancels the notices of people who signed in since, releases
registrations whose notice is 30 days old, and gives notice (one mail per person) to
newly inactive people; the notice mails go out after the commit. Running it twice
at the same moment changes nothing the second time. It prints a JSON summary:
``{"at": ..., "notified": registrations, "people_notified": mails, "released": ...,
"cancelled": ...}``.

``--at`` runs the rule as of another moment (with a time zone, e.g.
2026-11-25T12:00:00+09:00), for catching up or for rehearsals.
"""
import argparse
import json
from datetime import datetime

from ..clock import FixedClock, system_clock
from ..services.registration import RegistrationService
from .common import db_transaction, ini_parser, load_settings


def aware_moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {raw!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-11-25T12:00:00+09:00")
    return moment


def main(argv=None):
    parser = ini_parser(__doc__)
    parser.add_argument("--at", type=aware_moment, default=None,
                        help="the moment to run the rule for (default: now)")
    args = parser.parse_args(argv)
    settings = load_settings(args.config_uri)
    now = args.at or system_clock()
    with db_transaction(settings) as (dbsession, app_settings):
        service = RegistrationService(dbsession, clock=FixedClock(now), settings=app_settings)
        summary = service.release_inactive(now)
    print(json.dumps(summary, ensure_ascii=False))
