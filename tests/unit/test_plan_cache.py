"""Keyed reads run with generic plans on PostgreSQL, everything else with the server's
default (models/plan_cache.py); the mode changes only between transactions."""
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from furusato_cms.models import GENERIC_PLAN, Site
from furusato_cms.security import IDENTITY_QUERY
from furusato_cms.services.attendance_statements import SCAN_QUERY
from furusato_cms.services.feed import FOR_YOU
from furusato_cms.services.paging import read_rows
from furusato_cms.services.projects import FEATURED_PROJECTS
from furusato_cms.services.publishing import SITE_FRONT, VISIBLE_POSTS
from furusato_cms.services.registration import LISTING
from furusato_cms.services.support import FEATURED_MEASURES

KEYED = select(Site.id).where(Site.code == "000000").execution_options(**GENERIC_PLAN)
OTHER = select(Site.id).where(Site.code == "000000")


def mode(connection) -> str:
    """Read on the driver itself: a statement through SQLAlchemy would steer first."""
    return connection.connection.driver_connection.execute("SHOW plan_cache_mode").fetchone()[0]


@pytest.fixture
def pg_engine(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no plan cache to steer")
    return engine


def test_a_keyed_read_runs_generic_and_the_next_other_read_runs_default(pg_engine):
    with pg_engine.connect() as connection:
        assert mode(connection) == "auto"
        connection.execute(KEYED).all()
        assert mode(connection) == "force_generic_plan"
        connection.execute(KEYED).all()
        assert mode(connection) == "force_generic_plan"
        connection.execute(OTHER).all()
        assert mode(connection) == "auto"


def test_public_reads_through_compiled_statements_steer_too(pg_engine):
    with Session(pg_engine) as session:
        read_rows(session, KEYED)
        assert mode(session.connection()) == "force_generic_plan"
        read_rows(session, OTHER)
        assert mode(session.connection()) == "auto"


def test_the_mode_is_not_changed_inside_a_transaction(pg_engine):
    """A SET inside a transaction would be undone by its rollback, leaving the
    connection in a mode it is not known to be in."""
    with pg_engine.connect() as connection:
        connection.execute(text("CREATE TEMP TABLE plan_probe (x int)"))
        connection.execute(KEYED).all()
        assert mode(connection) == "auto"
        connection.rollback()
        connection.execute(KEYED).all()
        assert mode(connection) == "force_generic_plan"
        connection.execute(text("CREATE TEMP TABLE plan_probe (x int)")
                           .execution_options(**GENERIC_PLAN))
        connection.execute(OTHER).all()
        assert mode(connection) == "force_generic_plan"
        connection.rollback()
        assert mode(connection) == "force_generic_plan"


def test_a_connection_back_from_the_pool_keeps_its_known_mode(pg_engine):
    with pg_engine.connect() as connection:
        connection.execute(KEYED).all()
        raw = connection.connection.driver_connection
    with pg_engine.connect() as connection:
        if connection.connection.driver_connection is raw:
            assert mode(connection) == "force_generic_plan"
        connection.execute(OTHER).all()
        assert mode(connection) == "auto"


@pytest.mark.parametrize("statement", [
    IDENTITY_QUERY, SCAN_QUERY, LISTING, FOR_YOU, FEATURED_PROJECTS, FEATURED_MEASURES,
    SITE_FRONT, VISIBLE_POSTS[False], VISIBLE_POSTS[True],
])
def test_every_signed_in_and_site_page_read_is_keyed(statement):
    """The reads each signed-in page and the site page make, each by a key (a token's
    hash, a person, a session, a site): custom planning was most of their database time."""
    assert statement.get_execution_options().get("furusato_generic_plan") is True
