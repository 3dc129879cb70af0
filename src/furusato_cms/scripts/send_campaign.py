"""furusato-send-campaign <ini> [--campaign ID] [--batch-size 500] [--reminders]
[--requeue-stuck] [--at ISO-DATETIME]: send the mail outbox (一斉配信) in batches.

Run it from cron every few minutes, and hourly with ``--reminders``: that first queues
the day-before reminders of tomorrow's sessions and announces projects whose scheduled
publication has come (each only once, however often it runs).
Each batch is claimed in one transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so several senders can run side by side), sent over one SMTP connection and recorded
in a second transaction. Stopping at any point and running again resumes with the
rows still queued; a row marked sent is never sent again.

If the sender dies after claiming a batch and before recording it, the batch's rows
stay "sending": some may have gone out, so they are not sent again automatically.
They are reported as ``needs_review``; after checking the mail server's log, put them
back with ``--campaign ID --requeue-stuck``. ``--batch-size`` bounds that window.

The invitations from member lists (furusato-import-members, /s/{code}/members/) are a
second queue sent the same way after the outbox (not when ``--campaign`` names one
campaign); the run also empties the address and name of invitations whose link expired
unused.

Prints a JSON summary; exits 1 when the mail server stopped the run (run it again).
"""
import logging
import sys
import time

from ..models import get_engine, get_session_factory
from ..appsettings import AppSettings
from ..services.bulk_sender import SMTPTransport
from ..services.member_invitations import InvitationSender, MemberInvitationService
from ..services.notifications import NotificationService, OutboxSender
from .common import (
    add_at_option,
    add_setting_option,
    clock_at,
    ini_parser,
    load_settings,
    print_json,
)

log = logging.getLogger(__name__)


def _positive(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 10_000:
        raise ValueError(raw)
    return value


def run(session_factory, settings, clock, *, campaign_id=None, batch_size=500,
        reminders=False, requeue_stuck=False, transport_factory=SMTPTransport) -> dict:
    """The whole run; each step in its own committed transaction. The notices' outbox
    goes first, then the invitations from member lists (unless one campaign is named)."""
    summary = {"reminded": 0, "announced": 0, "requeued": 0, "batches": 0, "sent": 0, "failed": 0,
               "retry": 0, "needs_review": 0, "invitations_sent": 0, "invitations_forgotten": 0,
               "error": ""}

    def outbox(dbsession):
        return OutboxSender(dbsession, clock=clock, settings=settings)

    def invitations(dbsession):
        return InvitationSender(dbsession, clock=clock, settings=settings)

    if reminders:
        with session_factory.begin() as dbsession:
            notices = NotificationService(dbsession, clock=clock, settings=settings)
            summary["reminded"] = notices.session_reminders(clock())
            summary["announced"] = notices.scheduled_notices(clock())
    if requeue_stuck:
        with session_factory.begin() as dbsession:
            summary["requeued"] = outbox(dbsession).requeue_stuck(campaign_id)
    queues = [(outbox, campaign_id)]
    if campaign_id is None:
        queues.append((invitations, None))
        with session_factory.begin() as dbsession:
            summary["invitations_forgotten"] = MemberInvitationService(
                dbsession, clock=clock, settings=settings).forget_expired()
    for sender, scope_id in queues:
        sent_before = summary["sent"]
        _drain(session_factory, sender, scope_id, batch_size, transport_factory, settings,
               summary)
        if sender is invitations:
            summary["invitations_sent"] = summary["sent"] - sent_before
        with session_factory.begin() as dbsession:
            summary["needs_review"] += sender(dbsession).needs_review(scope_id)
        if summary["error"]:
            break
    return summary


def _drain(session_factory, sender, scope_id, batch_size, transport_factory, settings, summary):
    """Claim, send and record batches of one queue until it is empty or the server stops us."""
    while True:
        with session_factory.begin() as dbsession:
            claimed = sender(dbsession).claim(batch_size, scope_id)
        if not claimed:
            return
        delivery = sender(None).deliver(claimed, transport_factory(settings))
        with session_factory.begin() as dbsession:
            sender(dbsession).record(delivery)
        summary["batches"] += 1
        summary["sent"] += len(delivery.sent)
        summary["failed"] += len(delivery.failed)
        summary["retry"] += len(delivery.retry) + len(delivery.untried)
        if delivery.error:
            summary["error"] = delivery.error
            return


def main(argv=None):
    parser = ini_parser(__doc__)
    parser.add_argument("--campaign", type=int, default=None, help="only this campaign's mails")
    parser.add_argument("--batch-size", type=_positive, default=500,
                        help="mails per batch (1-10000, default 500)")
    parser.add_argument("--reminders", action="store_true",
                        help="first queue the reminders of sessions starting tomorrow")
    parser.add_argument("--requeue-stuck", action="store_true",
                        help="send again the campaign's rows left 'sending' by a dead run")
    add_at_option(parser, "the moment to run as (default: now)")
    parser.add_argument("--every", type=int, metavar="SECONDS",
                        help="keep running: a run every SECONDS (make run does, with 30)")
    add_setting_option(parser)
    args = parser.parse_args(argv)
    if args.requeue_stuck and args.campaign is None:
        parser.error("--requeue-stuck needs --campaign ID")
    settings = load_settings(args.config_uri, args.setting)
    status = _run_once(settings, args)
    while args.every:
        time.sleep(args.every)
        try:
            _run_once(settings, args)
        except Exception:  # the next round tries again; cron would too
            log.exception("sending the outbox failed")
    return status


def _run_once(settings, args) -> int:
    clock = clock_at(args.at)
    app_settings = AppSettings.from_settings(settings)
    engine = get_engine(settings, timeouts=app_settings.job_db_timeouts)
    try:
        summary = run(get_session_factory(engine), app_settings, clock,
                      campaign_id=args.campaign, batch_size=args.batch_size,
                      reminders=args.reminders, requeue_stuck=args.requeue_stuck)
    finally:
        engine.dispose()
    print_json(summary)
    return 1 if summary["error"] else 0

if __name__ == "__main__":
    sys.exit(main())
