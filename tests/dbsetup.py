"""Test databases: one per xdist worker, migrated by Alembic (never create_all)."""
import os
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from furusato_cms.models import get_engine

REQUIRE_ALL = os.environ.get("FURUSATO_REQUIRE_ALL") == "1"


def test_db_setting() -> str:
    return os.environ.get("FURUSATO_TEST_DB", "sqlite")


def is_postgresql() -> bool:
    return test_db_setting().startswith("postgresql")


def psycopg_url(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _admin_execute(*statements):
    admin = create_engine(psycopg_url(test_db_setting()), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def fresh_database_url(name: str, tmp_dir) -> str:
    """A new, empty database on the configured server (or a SQLite file). The process id
    is part of the name, so test runs side by side never touch each other's databases."""
    name = f"{name}_{os.getpid()}"
    setting = test_db_setting()
    if setting == "sqlite":
        return f"sqlite:///{tmp_dir}/{name}.sqlite"
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return make_url(psycopg_url(setting)).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str):
    """Remove a database made by fresh_database_url (nothing to do for SQLite files)."""
    if url.startswith("postgresql"):
        _admin_execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def migrate(url: str):
    cfg = Config()
    cfg.set_main_option("script_location", "furusato_cms:alembic")
    engine = get_engine({"furusato.db_url": url})
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")
    engine.dispose()


@contextmanager
def scratch_database(name: str, tmp_dir):
    """A fresh database for a migration test, and an engine on it; dropped afterwards."""
    url = fresh_database_url(name, tmp_dir)
    engine = get_engine({"furusato.db_url": url})
    try:
        yield engine
    finally:
        engine.dispose()
        drop_database(url)


def migrate_to(engine, direction: str, revision: str):
    """``upgrade`` or ``downgrade`` to ``revision`` as furusato-initdb runs it: Alembic on
    an engine of its own (foreign keys off while migrating on SQLite), so data that other
    rows point at is carried through table rebuilds as in a real upgrade."""
    cfg = Config()
    cfg.set_main_option("script_location", "furusato_cms:alembic")
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    getattr(command, direction)(cfg, revision)
