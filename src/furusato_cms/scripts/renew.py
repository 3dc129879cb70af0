"""furusato-renew <ini> [--at ISO-DATETIME]: premium renewal (プレミアム登録の更新), once a
day from cron.

In one transaction it sends the 30-days-before notices (once per premium period), and
judges every premium registration that has ended: renewed where the site renews
automatically and the requirements hold, queued for a coordinator where the site
reviews renewals (the person keeps premium for a 30-day grace period), fallen back to
basic where the requirements fail or the grace period ended undecided (never deleted).
Mails go out after the commit. Running it twice at the same moment changes nothing the
second time. It prints a JSON summary: ``{"at": ..., "noticed": ..., "renewed": ...,
"queued": ..., "fell_back": ...}``. The rules are in services/renewal.py.

``--at`` runs as of another moment (with a time zone, e.g. 2027-11-25T04:00:00+09:00),
for catching up or rehearsals.
"""
from ..services.renewal import RenewalService
from .common import run_service_at


def main(argv=None):
    run_service_at(argv, __doc__, "the moment to run the renewal for (default: now)",
                   RenewalService, lambda service, now: service.run(now))
