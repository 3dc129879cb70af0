"""Public reads run straight on the driver (models/compiled_reads.py) answer exactly what
SQLAlchemy would, are seen by statement listeners and fail the way SQLAlchemy fails."""
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound

from furusato_cms.models import ContentItem, Site, compiled_reads

from ..conftest import NOW
from ..factories import make_post, make_site
from ..statements import statements_during

POSTS = (
    select(ContentItem.id, ContentItem.slug, ContentItem.published_at, Site.code)
    .join(Site, Site.id == ContentItem.site_id)
    .where(ContentItem.site_id == bindparam("site_id"), ContentItem.type == "post",
           ContentItem.published_at <= bindparam("now"))
    .order_by(ContentItem.published_at.desc())
)


@pytest.fixture
def posts(dbsession):
    site = make_site(dbsession)
    for n in range(3):
        make_post(dbsession, site, f"p-{n}", published_at=NOW - timedelta(days=n + 1))
    dbsession.flush()
    return site


def read(dbsession, statement, params):
    return compiled_reads.execute(dbsession.connection(), statement, params)


def test_rows_equal_what_sqlalchemy_reads(dbsession, posts):
    params = {"site_id": posts.id, "now": NOW}
    ours = read(dbsession, POSTS, params).all()
    theirs = dbsession.connection().execute(POSTS, params).all()
    assert [tuple(row) for row in ours] == [tuple(row) for row in theirs]
    assert len(ours) == 3
    assert ours[0].slug == "p-0" and ours[0].code == posts.code
    assert ours[0].published_at == NOW - timedelta(days=1)
    assert ours[0].published_at.utcoffset() == timedelta(0)


def test_a_literal_value_of_a_cached_shape_is_taken_from_each_statement(dbsession, posts):
    """Two statements of one shape with different literal limits share the compiled SQL
    but each reads with its own limit."""
    params = {"site_id": posts.id, "now": NOW}
    assert len(read(dbsession, POSTS.limit(1), params).all()) == 1
    assert len(read(dbsession, POSTS.limit(2), params).all()) == 2


def test_one_scalar_and_first(dbsession, posts):
    one = POSTS.where(ContentItem.slug == bindparam("slug"))
    params = {"site_id": posts.id, "now": NOW}
    assert read(dbsession, one, {**params, "slug": "p-1"}).one().slug == "p-1"
    assert read(dbsession, one, {**params, "slug": "p-1"}).scalar() is not None
    with pytest.raises(NoResultFound):
        read(dbsession, one, {**params, "slug": "none"}).one()
    assert read(dbsession, one, {**params, "slug": "none"}).first() is None
    with pytest.raises(MultipleResultsFound):
        read(dbsession, POSTS, params).one()


def test_listeners_see_the_statement(dbsession, posts):
    seen = statements_during(dbsession.connection(),
                             lambda: read(dbsession, POSTS, {"site_id": posts.id, "now": NOW}))
    assert len(seen) == 1 and seen[0].startswith("SELECT content_items.id")


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(dbsession, posts):
    if dbsession.bind.dialect.name != "postgresql":
        pytest.skip("SQLite takes a text for a number; and its reads go through SQLAlchemy")
    dbsession.begin_nested()
    with pytest.raises(DBAPIError):
        read(dbsession, POSTS, {"site_id": "not a number", "now": NOW})
