"""Shared start-up for console scripts: settings from an ini, a session, a transaction."""
import argparse
from contextlib import contextmanager

import transaction
from pyramid.paster import get_appsettings, setup_logging

from ..appsettings import AppSettings
from ..models import get_engine, get_session_factory, get_tm_session


def ini_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    return parser


def load_settings(config_uri):
    setup_logging(config_uri)
    return get_appsettings(config_uri)


@contextmanager
def db_transaction(settings):
    """One session in one committed transaction (aborted if the body raises)."""
    engine = get_engine(settings)
    factory = get_session_factory(engine)
    try:
        with transaction.manager:
            yield get_tm_session(factory, transaction.manager), AppSettings.from_settings(settings)
    finally:
        engine.dispose()
