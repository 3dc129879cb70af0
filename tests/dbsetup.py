"""Test databases: one per xdist worker, migrated by Alembic (never create_all)."""
import os

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


def fresh_database_url(name: str, tmp_dir) -> str:
    """A new, empty database called ``name`` on the configured server (or a SQLite file)."""
    setting = test_db_setting()
    if setting == "sqlite":
        return f"sqlite:///{tmp_dir}/{name}.sqlite"
    admin_url = psycopg_url(setting)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def migrate(url: str):
    cfg = Config()
    cfg.set_main_option("script_location", "furusato_cms:alembic")
    engine = get_engine({"furusato.db_url": url})
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")
    engine.dispose()
