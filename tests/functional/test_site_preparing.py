"""A newly approved site is in preparation (準備中) until its admin publishes it: the public
sees nothing and nobody can register; its staff preview the pages; only the site admin
publishes, once, with CSRF, and the publication is audited."""
import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry
from furusato_cms.services.errors import Conflict, NotAllowed
from furusato_cms.services.sites import SiteLifecycleService

from ..content_factories import csrf_token
from ..factories import make_post, make_staff, sign_in
from ..registrant_factories import make_registrant
from ..sites_factories import join_values, operator_actor

CODE = "202029"


@pytest.fixture
def lifecycle(dbsession, clock, app_settings):
    return SiteLifecycleService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def approved(dbsession, lifecycle):
    site = lifecycle.apply(**join_values(code=CODE))
    lifecycle.approve(operator_actor(dbsession)[1], site, "admin@city.example.jp")
    dbsession.flush()
    return site


def test_an_approved_site_is_hidden_until_its_admin_publishes_it(
        testapp, dbsession, clock, app_settings, approved):
    assert approved.state == "active" and approved.preparing and not approved.is_public
    testapp.get(f"/s/{CODE}/", status=404)
    assert "松本市" not in testapp.get("/").text
    assert testapp.get("/api/v1/sites").json["items"] == []
    person = make_registrant(dbsession, "person@example.jp")
    sign_in(testapp, dbsession, person, clock, app_settings)
    assert testapp.get(f"/s/{CODE}/register", expect_errors=True).status_int in (403, 404)

    testapp.reset()
    admin = make_staff(dbsession, approved, "site_admin", email="admin@city.example.jp")
    sign_in(testapp, dbsession, admin, clock, app_settings)
    assert testapp.get(f"/s/{CODE}/").status_int == 200
    dashboard = testapp.get(f"/s/{CODE}/manage")
    assert "準備中：まだ公開されていません" in dashboard.text
    testapp.post(f"/s/{CODE}/publish", status=400)
    testapp.post(f"/s/{CODE}/publish", {"csrf_token": csrf_token(testapp, f"/s/{CODE}/manage")},
                 status=303)

    testapp.reset()
    assert testapp.get(f"/s/{CODE}/").status_int == 200
    assert [s["code"] for s in testapp.get("/api/v1/sites").json["items"]] == [CODE]
    assert dbsession.scalars(select(AuditEntry.action).where(
        AuditEntry.site_id == approved.id, AuditEntry.action == "site.publish")).all() == [
        "site.publish"]


def test_posts_read_with_the_site_stay_hidden_while_it_prepares(testapp, dbsession, approved):
    """The site's page reads its lists with the site itself, before the permission
    check (resources/site.py): what it read must not reach a visitor."""
    make_post(dbsession, approved, "opening", title="開設準備のお知らせ")
    page = testapp.get(f"/s/{CODE}/", status=404)
    assert "開設準備のお知らせ" not in page.text


def test_only_the_site_admin_may_publish(testapp, dbsession, clock, app_settings, approved):
    editor = make_staff(dbsession, approved, "editor")
    sign_in(testapp, dbsession, editor, clock, app_settings)
    page = testapp.get(f"/s/{CODE}/manage")
    assert "サイトの公開は、自治体管理者が行います。" in page.text
    assert testapp.get(f"/s/{CODE}/").status_int == 200
    testapp.post(f"/s/{CODE}/publish", {"csrf_token": csrf_token(testapp, f"/s/{CODE}/manage")},
                 status=403)
    assert approved.preparing


def test_publishing_happens_once_and_only_for_an_active_site(dbsession, lifecycle, approved):
    actor = operator_actor(dbsession, "other@soumu.example.jp")[1]
    lifecycle.publish(actor, approved)
    with pytest.raises(Conflict):
        lifecycle.publish(actor, approved)
    approved.preparing = True
    lifecycle.suspend(actor, approved, "確認のため")
    with pytest.raises(NotAllowed):
        lifecycle.publish(actor, approved)
