"""furusato-webhooks <ini> [--once]: sends the webhook outbox (services/webhooks).

Without ``--once`` it runs until stopped (SIGTERM or Ctrl-C finish the batch in hand),
looking for due deliveries every ``furusato.webhooks.poll_seconds`` (5 s): run it under
systemd or a process supervisor, as many copies as needed on PostgreSQL (each claims its
own rows with ``FOR UPDATE SKIP LOCKED``), one on SQLite. With ``--once`` it sends what is
due now and prints a JSON summary ``{"sent", "delivered", "retrying", "failed"}`` (for
cron, or for trying an endpoint by hand)."""
import logging
import signal
import threading

from ..appsettings import AppSettings
from ..clock import system_clock
from ..models import get_engine, get_session_factory
from ..services.webhooks import DeliveryWorker, WebhookSettings
from .common import ini_parser, load_settings, print_json

log = logging.getLogger(__name__)


def main(argv=None):
    parser = ini_parser(__doc__)
    parser.add_argument("--once", action="store_true",
                        help="send what is due now, print a summary and stop")
    args = parser.parse_args(argv)
    settings = load_settings(args.config_uri)
    app_settings = AppSettings.from_settings(settings)
    options = WebhookSettings.from_settings(settings, app_settings.session_secret)
    engine = get_engine(settings, timeouts=app_settings.job_db_timeouts)
    worker = DeliveryWorker(get_session_factory(engine), clock=system_clock, options=options)
    try:
        if args.once:
            print_json(worker.run_once())
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_args: stop.set())
        while not stop.is_set():
            counts = worker.run_once()
            if counts["sent"]:
                log.info("webhooks: %s", counts)
            stop.wait(options.poll_seconds)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
