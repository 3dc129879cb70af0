"""Shared start-up for console scripts: settings from an ini, a session, a transaction."""
import argparse
import json
from contextlib import contextmanager
from datetime import datetime

import transaction
from pyramid.paster import get_appsettings, setup_logging

from ..appsettings import AppSettings
from ..clock import FixedClock, system_clock
from ..models import get_engine, get_session_factory, get_tm_session


def ini_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    return parser


def aware_moment(raw: str) -> datetime:
    """``--at`` value: an ISO 8601 moment with a time zone (a naive one would be ambiguous)."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {raw!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-11-25T12:00:00+09:00")
    return moment


def add_at_option(parser, help):
    """``--at ISO-DATETIME``: run as of another moment, for catching up or rehearsals."""
    parser.add_argument("--at", type=aware_moment, default=None, help=help)


def clock_at(moment):
    """A clock frozen at ``--at`` when given, the system clock otherwise."""
    return FixedClock(moment) if moment else system_clock


def print_json(summary, **options):
    print(json.dumps(summary, ensure_ascii=False, **options), flush=True)


def run_service_at(argv, description, at_help, service_class, run):
    """The daily cron shape: ``<ini> [--at]``, ``run(service, now)`` in one committed
    transaction, its summary printed as JSON."""
    parser = ini_parser(description)
    add_at_option(parser, at_help)
    args = parser.parse_args(argv)
    settings = load_settings(args.config_uri)
    now = args.at or system_clock()
    with db_transaction(settings) as (dbsession, app_settings):
        service = service_class(dbsession, clock=FixedClock(now), settings=app_settings)
        summary = run(service, now)
    print_json(summary)


def add_setting_option(parser):
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                        help="override one of the ini's settings (make run passes its ports)")


def load_settings(config_uri, overrides=()):
    """The ini's app settings, with ``KEY=VALUE`` overrides applied."""
    setup_logging(config_uri)
    settings = dict(get_appsettings(config_uri))
    for item in overrides:
        key, _sep, value = item.partition("=")
        settings[key.strip()] = value.strip()
    return settings


@contextmanager
def db_transaction(settings):
    """One session in one committed transaction (aborted if the body raises), under the
    jobs' time-outs (longer than a web request's: see AppSettings)."""
    app_settings = AppSettings.from_settings(settings)
    engine = get_engine(settings, timeouts=app_settings.job_db_timeouts)
    factory = get_session_factory(engine)
    try:
        with transaction.manager:
            yield get_tm_session(factory, transaction.manager), app_settings
    finally:
        engine.dispose()
