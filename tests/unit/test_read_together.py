"""Several prepared reads in one statement on PostgreSQL (models/compiled_reads.py
``execute_together``, services/paging.py ``read_together``): the same rows, of the same
types, as each read alone; the site's page reads its four lists so. A ``LookedUp``
parameter (a site's id by its code) is read in the same statement where reads combine."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Integer, bindparam, literal, select

from furusato_cms.models import ContentItem, Site
from furusato_cms.models.compiled_reads import LookedUp, _compiled_read, execute_together
from furusato_cms.services.paging import Read, read_one, read_together
from furusato_cms.services.projects import FEATURED_PROJECTS
from furusato_cms.services.publishing import SITE_FRONT, VISIBLE_POSTS
from furusato_cms.services.support import FEATURED_MEASURES

from ..factories import make_post, make_site
from ..statements import statements_during

_CONTENT = ContentItem.__table__
_SITES = Site.__table__
POSTS = (
    select(_CONTENT.c.slug, _CONTENT.c.title, _CONTENT.c.published_at, _CONTENT.c.expire_at,
           _CONTENT.c.site_id)
    .where(_CONTENT.c.site_id == bindparam("site_id")).order_by(_CONTENT.c.slug.desc())
    .limit(bindparam("limit"))
)
SITE = select(_SITES.c.code, _SITES.c.name, _SITES.c.joined_on, _SITES.c.preparing).where(
    _SITES.c.id == bindparam("id"))
SITE_ID = select(_SITES.c.id).where(_SITES.c.code == bindparam("code"))
WITH_LOGO = select(_SITES.c.code, _SITES.c.logo_key).where(_SITES.c.id == bindparam("id"))


def _site_with_posts(dbsession, count=3):
    site = make_site(dbsession, with_intro=False)
    moment = datetime(2026, 12, 1, 3, 4, 5, 678901, tzinfo=timezone.utc)
    for n in range(count):
        make_post(dbsession, site, slug=f"post-{n}", title=f"お知らせ {n}",
                  published_at=moment - timedelta(days=n))
    dbsession.flush()
    return site


def test_reads_together_give_what_each_gives_alone(dbsession):
    site = _site_with_posts(dbsession)
    reads = [Read(POSTS, {"site_id": site.id, "limit": 2}), Read(SITE, {"id": site.id}),
             Read(POSTS, {"site_id": site.id, "limit": 5}),
             Read(POSTS, {"site_id": -1, "limit": 5})]
    together = [list(rows) for rows in read_together(dbsession, *reads)]
    alone = [list(read_one(dbsession, read)) for read in reads]
    assert together == alone
    assert [row.slug for row in together[0]] == ["post-2", "post-1"]
    assert len(together[2]) == 3 and together[3] == []
    published = together[0][0].published_at
    assert published == datetime(2026, 11, 29, 3, 4, 5, 678901, tzinfo=timezone.utc)
    assert published.utcoffset() == timedelta(0)
    assert together[0][0].expire_at is None
    assert together[1][0].preparing is False and together[1][0].code == site.code


def test_reads_together_are_one_statement_on_postgresql(dbsession, connection):
    site = _site_with_posts(dbsession)
    sent = statements_during(connection, lambda: read_together(
        dbsession, Read(POSTS, {"site_id": site.id, "limit": 1}), Read(SITE, {"id": site.id})))
    assert len(sent) == (1 if connection.dialect.name == "postgresql" else 2)


def test_a_statement_repeating_a_column_name_is_read_alone(dbsession, connection):
    """A JSON object cannot hold one name twice, so such a statement is not combined."""
    site = _site_with_posts(dbsession)
    repeated = select(_SITES.c.code, _SITES.c.code.label("code")).where(
        _SITES.c.id == bindparam("id"))
    sent = []
    rows = statements_during(connection, lambda: sent.append(execute_together(
        connection, [(repeated, {"id": site.id}), (WITH_LOGO, {"id": site.id})])))
    assert len(rows) == 2
    assert [tuple(result.all()[0]) for result in sent[0]] == [
        (site.code, site.code), (site.code, site.logo_key)]


@pytest.mark.parametrize("statement", [
    SITE_FRONT, FEATURED_PROJECTS, FEATURED_MEASURES, VISIBLE_POSTS[False], VISIBLE_POSTS[True],
])
def test_the_site_pages_four_reads_can_be_combined(connection, statement):
    """Their columns all survive JSON (no bytes, no decimals) and carry distinct names;
    a change that breaks this would silently send four statements again."""
    if connection.dialect.name != "postgresql":
        pytest.skip("SQLite reads each statement alone")
    entry, _ = _compiled_read(connection.dialect, statement)
    assert entry and entry.json_converters is not None


def _by_code(site_or_code):
    return LookedUp(SITE_ID, {"code": getattr(site_or_code, "code", site_or_code)})


def test_a_looked_up_parameter_reads_what_its_value_reads(dbsession):
    site = _site_with_posts(dbsession)
    make_site(dbsession, code="202037", name="別の町")
    by_code = _by_code(site)
    looked_up = [list(rows) for rows in read_together(
        dbsession, Read(SITE, {"id": by_code}), Read(POSTS, {"site_id": by_code, "limit": 2}))]
    given = [list(rows) for rows in read_together(
        dbsession, Read(SITE, {"id": site.id}), Read(POSTS, {"site_id": site.id, "limit": 2}))]
    assert looked_up == given
    assert [row.slug for row in looked_up[1]] == ["post-2", "post-1"]
    assert list(read_one(dbsession, Read(POSTS, {"site_id": by_code, "limit": 1}))) == given[1][:1]


def test_an_unknown_code_looks_up_no_rows(dbsession):
    _site_with_posts(dbsession)
    by_code = _by_code("999999")
    rows = read_together(dbsession, Read(SITE, {"id": by_code}),
                         Read(POSTS, {"site_id": by_code, "limit": 3}))
    assert [list(found) for found in rows] == [[], []]


def test_a_looked_up_parameter_costs_a_statement_only_where_reads_are_sent_alone(
        dbsession, connection):
    site = _site_with_posts(dbsession)
    by_code = _by_code(site)
    together = statements_during(connection, lambda: read_together(
        dbsession, Read(SITE, {"id": by_code}), Read(POSTS, {"site_id": by_code, "limit": 1})))
    alone = statements_during(connection, lambda: read_one(
        dbsession, Read(POSTS, {"site_id": by_code, "limit": 1})))
    # PostgreSQL: one statement, the lookup a subquery of each read; SQLite reads each
    # read after its lookup. A read alone always looks up first.
    assert len(together) == (1 if connection.dialect.name == "postgresql" else 4)
    assert len(alone) == 2
    if connection.dialect.name == "postgresql":
        assert together[0].count("sites.code = %(r0_id__code)s") == 1
        assert together[0].count("sites.code = %(r1_site_id__code)s") == 1


def test_rows_of_more_columns_than_a_json_array_call_takes_read_back_in_order(
        dbsession, connection):
    """Each combined row travels as a JSON array of its columns; PostgreSQL's functions
    take at most 100 arguments, so a wider row travels as an object."""
    site = _site_with_posts(dbsession, count=1)
    wide = select(*(literal(n, Integer).label(f"c{n}") for n in range(101)))
    together = [list(rows) for rows in read_together(
        dbsession, Read(wide, {}), Read(SITE, {"id": site.id}))]
    assert [tuple(row) for row in together[0]] == [tuple(range(101))]
    assert together[1][0].code == site.code
    if connection.dialect.name == "postgresql":
        sql = statements_during(connection, lambda: read_together(
            dbsession, Read(wide, {}), Read(SITE, {"id": site.id})))[0]
        assert "json_agg(r0)" in sql and "json_agg(json_build_array(r1.code, " in sql
