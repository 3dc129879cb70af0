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
from ..services.inactivity_release import InactivityRelease
from .common import run_service_at


def main(argv=None):
    run_service_at(argv, __doc__, "the moment to run the rule for (default: now)",
                   InactivityRelease, lambda service, now: service.run(now))
