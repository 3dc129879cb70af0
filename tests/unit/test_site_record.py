"""Anonymous reads under /s/ get the site as a lean SiteRecord; anyone who may change it
gets the mapped Site (resources/site.py)."""
import pytest
from pyramid.testing import DummyRequest

from furusato_cms.models import Site
from furusato_cms.models.site import SiteRecord
from furusato_cms.resources.site import SiteContainer
from furusato_cms.security import AUTH_COOKIE

from ..factories import make_site


def site_for(dbsession, code, **request_kw):
    request = DummyRequest(dbsession=dbsession, **request_kw)
    return SiteContainer(None, request)[code].site


def test_an_anonymous_read_gets_the_record_with_every_column(dbsession):
    site = make_site(dbsession, state="active", accent_color="#1a5276")
    dbsession.flush()
    record = site_for(dbsession, site.code)
    assert isinstance(record, SiteRecord)
    for column in Site.__table__.columns:
        assert getattr(record, column.key) == getattr(site, column.key), column.key
    assert record.is_public is site.is_public is True
    assert record.is_prefecture is site.is_prefecture


@pytest.mark.parametrize("request_kw", [
    {"cookies": {AUTH_COOKIE: "a-token"}},
    {"method": "POST"},
])
def test_a_signed_in_or_writing_request_gets_the_mapped_site(dbsession, request_kw):
    site = make_site(dbsession)
    dbsession.flush()
    assert site_for(dbsession, site.code, **request_kw) is site


def test_an_unknown_code_is_not_found(dbsession):
    with pytest.raises(KeyError):
        site_for(dbsession, "999999")
