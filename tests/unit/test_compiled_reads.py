"""Public reads run straight on the driver (models/compiled_reads.py) answer exactly what
SQLAlchemy would, are seen by statement listeners and fail the way SQLAlchemy fails."""
from datetime import timedelta

import pytest
import transaction
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, InvalidRequestError, MultipleResultsFound, NoResultFound

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


def test_a_prebuilt_statement_is_worked_out_once_and_derived_ones_apart(dbsession, posts,
                                                                        monkeypatch):
    """The shape of a module-constant statement is looked up on its first read only; a
    statement derived from it (which inherits its attributes) reads with its own values."""
    if dbsession.bind.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL reads on the driver")
    prebuilt = POSTS.limit(bindparam("limit"))
    params = {"site_id": posts.id, "now": NOW, "limit": 3}
    assert len(read(dbsession, prebuilt, params).all()) == 3
    shapes = []
    real_shape = compiled_reads._shape
    monkeypatch.setattr(compiled_reads, "_shape",
                        lambda dialect, statement: shapes.append(statement)
                        or real_shape(dialect, statement))
    assert len(read(dbsession, prebuilt, {**params, "limit": 1}).all()) == 1
    assert shapes == []
    derived = prebuilt.where(ContentItem.slug != "p-0")
    assert [row.slug for row in read(dbsession, derived, params)] == ["p-1", "p-2"]
    assert shapes == [derived]


def test_parameters_are_what_sqlalchemy_would_send(dbsession, posts):
    """Given, defaulted from the statement's own literal (also of a statement sharing a
    compiled shape) or computed: the same values as ``construct_params`` and the bind
    processors; a missing required value is refused as SQLAlchemy refuses it."""
    dialect = dbsession.bind.dialect
    computed = POSTS.where(ContentItem.id > bindparam("low", callable_=lambda: 0))
    for statement in (POSTS.limit(1), POSTS.limit(2), computed):
        entry, extracted = compiled_reads._shape(dialect, statement)
        plan = entry.bind_plan(extracted)
        params = {"site_id": posts.id, "now": NOW}
        expected = entry.compiled.construct_params(
            params, extracted_parameters=statement._generate_cache_key()[1])
        for name, process in entry.compiled._bind_processors.items():
            expected[name] = process(expected[name])
        assert entry.parameters(params, plan) == expected
    with pytest.raises(InvalidRequestError, match="site_id"):
        entry.parameters({"now": NOW}, plan)


def test_a_read_carrying_writes_marks_the_request_transaction_written(dbsession, posts):
    """``read_rows`` of a statement with ``WRITES`` (the check-in's insert) makes the
    request's transaction commit, as the session's own execution does; a plain read does
    not."""
    from zope.sqlalchemy.datamanager import STATUS_CHANGED, _SESSION_STATE

    from furusato_cms.models import WRITES
    from furusato_cms.services.paging import read_rows

    manager = transaction.TransactionManager(explicit=True)
    dbsession.info["transaction_manager"] = manager
    manager.begin()
    try:
        params = {"site_id": posts.id, "now": NOW}
        read_rows(dbsession, POSTS, params).all()
        assert _SESSION_STATE.get(dbsession) != STATUS_CHANGED
        read_rows(dbsession, POSTS.execution_options(**WRITES), params).all()
        assert _SESSION_STATE.get(dbsession) == STATUS_CHANGED
    finally:
        del dbsession.info["transaction_manager"]
        manager.abort()
