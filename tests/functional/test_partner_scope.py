"""Who may open what among partners, projects and sessions, and the partner scope:
partner staff manage only their own organisation's projects; the site sees all.

Allowed means the page answers (200, a form message, or a redirect that is not to
sign-in); denied means 403, 404, or a redirect to sign-in.
"""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import Project, StaffMembership

from ..access import get_outcome, post_outcome
from ..auth_factories import enrol_totp
from ..activity_factories import make_partner, make_project, make_session
from ..conftest import NOW
from ..content_factories import csrf_token
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff, sign_in
from ..projects_factories import make_partner_staff
from ..registrant_factories import make_registrant

C = NAGANO_CITY
BASE = f"/s/{C}"
NEW_PASSWORD = "rice terraces at dawn"

ROLES = ("anonymous", "registrant", "site_admin", "editor", "coordinator", "partner",
         "other_partner", "other_site_admin")
EVERYONE = set(ROLES)
SITE_SIDE = {"site_admin", "coordinator"}
CREATORS = SITE_SIDE | {"partner", "other_partner"}
OWN_PARTNER = SITE_SIDE | {"partner"}


@pytest.fixture
def world(dbsession):
    site = make_site(dbsession, C)
    other_site = make_site(dbsession, MATSUMOTO)
    partner = make_partner(dbsession, site, "中央町自治会")
    other = make_partner(dbsession, site, "北町NPO", kind="npo")
    draft = make_project(dbsession, site, "自治会の草刈り", state="draft", partner=partner)
    published = make_project(dbsession, site, "自治会の雪かき", partner=partner)
    own = make_project(dbsession, site, "市の清掃活動", state="draft")
    starts = NOW + timedelta(days=7)
    ids = {
        "partner": partner.id, "draft": draft.id, "published": published.id, "own": own.id,
        "draft_session": make_session(dbsession, draft, starts, capacity=5,
                                      application_required=True).id,
        "session": make_session(dbsession, published, starts, capacity=5,
                                application_required=True).id,
    }
    accounts = {
        "registrant": make_registrant(dbsession, "person@example.jp"),
        "site_admin": make_staff(dbsession, site, "site_admin"),
        "editor": make_staff(dbsession, site, "editor"),
        "coordinator": make_staff(dbsession, site, "coordinator"),
        "partner": make_partner_staff(dbsession, site, partner, "jichikai@example.jp"),
        "other_partner": make_partner_staff(dbsession, site, other, "npo@example.jp"),
        "other_site_admin": make_staff(dbsession, other_site, "site_admin"),
    }
    return ids, accounts


def _urls(ids):
    project = f"{BASE}/projects/{ids['draft']}"
    session = f"{project}/sessions/{ids['draft_session']}"
    public = f"{BASE}/projects/{ids['published']}"
    public_session = f"{public}/sessions/{ids['session']}"
    partner = f"{BASE}/partners/{ids['partner']}"
    get = [
        (f"{BASE}/partners/", {"site_admin"}),
        (f"{BASE}/partners/new", {"site_admin"}),
        (f"{partner}/edit", {"site_admin"}),
        (f"{partner}/invite", {"site_admin"}),
        (f"{partner}/retire", {"site_admin"}),
        (f"{BASE}/projects/", EVERYONE),
        (f"{BASE}/projects/manage", CREATORS),
        (f"{BASE}/projects/new", CREATORS),
        (f"{project}/edit", OWN_PARTNER),
        (f"{project}/sessions/new", OWN_PARTNER),
        (f"{session}/edit", OWN_PARTNER),
        (f"{session}/cancel", OWN_PARTNER),
        (f"{session}/applicants", OWN_PARTNER),
        (f"{session}/applicants.csv", OWN_PARTNER),
        (f"{BASE}/projects/{ids['own']}/edit", SITE_SIDE),
        (project, set()),
        (public, EVERYONE),
        (f"{public_session}/apply", {"registrant"}),
        (f"{session}/apply", set()),
    ]
    post = [
        # Empty input: an allowed role gets a form message (or 400), never a change.
        (f"{BASE}/partners/new", {"site_admin"}),
        (f"{partner}/edit", {"site_admin"}),
        (f"{partner}/invite", {"site_admin"}),
        (f"{BASE}/projects/new", CREATORS),
        (f"{project}/edit", OWN_PARTNER),
        (f"{project}/transition", OWN_PARTNER),
        (f"{project}/designate", SITE_SIDE),
        (f"{project}/sessions/new", OWN_PARTNER),
        (f"{session}/edit", OWN_PARTNER),
        (f"{public_session}/apply", {"registrant"}),
        (f"{public_session}/withdraw", {"registrant"}),
    ]
    return get, post


@pytest.mark.parametrize("role", ROLES)
def test_views_by_role(testapp, dbsession, clock, app_settings, world, role):
    ids, accounts = world
    if role != "anonymous":
        sign_in(testapp, dbsession, accounts[role], clock, app_settings)
    get, post = _urls(ids)
    wrong = []
    for url, allowed in get:
        expected = "allowed" if role in allowed else "denied"
        actual = get_outcome(testapp.get(url, expect_errors=True))
        if actual != expected:
            wrong.append(("GET", url, expected, actual))
    token = csrf_token(testapp)
    for url, allowed in post:
        expected = "allowed" if role in allowed else "denied"
        actual = post_outcome(testapp.post(url, {"csrf_token": token}, expect_errors=True))
        if actual != expected:
            wrong.append(("POST", url, expected, actual))
    assert wrong == []


def test_anonymous_apply_is_sent_to_sign_in_and_back(testapp, world):
    ids, _accounts = world
    path = f"{BASE}/projects/{ids['published']}/sessions/{ids['session']}/apply"
    response = testapp.get(path, status=302)
    assert response.location == f"http://localhost/signin?came_from={path}"


def test_partner_staff_see_only_their_projects_and_the_site_sees_all(
        testapp, dbsession, clock, app_settings, world):
    _ids, accounts = world
    sign_in(testapp, dbsession, accounts["partner"], clock, app_settings)
    page = testapp.get(f"{BASE}/projects/manage")
    assert "自治会の草刈り" in page.text and "自治会の雪かき" in page.text
    assert "市の清掃活動" not in page.text
    assert "所属する団体の事業が表示されています。" in page.text
    sign_in(testapp, dbsession, accounts["coordinator"], clock, app_settings)
    page = testapp.get(f"{BASE}/projects/manage")
    assert all(title in page.text for title in ("自治会の草刈り", "自治会の雪かき", "市の清掃活動"))
    assert "中央町自治会" in page.text


def test_partner_staff_create_for_their_own_organisation_even_if_the_form_is_forged(
        testapp, dbsession, clock, app_settings, world):
    ids, accounts = world
    sign_in(testapp, dbsession, accounts["other_partner"], clock, app_settings)
    page = testapp.get(f"{BASE}/projects/new")
    assert "partner_id" not in page.forms["deform"].fields
    testapp.post(f"{BASE}/projects/new", {
        "csrf_token": csrf_token(testapp), "title": "NPOの農業体験", "field": "agriculture",
        "partner_id": str(ids["partner"]), "save": "save",
    }, status=303)
    project = dbsession.scalar(select(Project).where(Project.title == "NPOの農業体験"))
    other_partner_id = dbsession.scalar(
        select(StaffMembership.partner_id)
        .where(StaffMembership.account_id == accounts["other_partner"].id))
    assert (project.partner_id, project.designated) == (other_partner_id, False)


def test_partner_staff_cannot_publish_or_designate(testapp, dbsession, clock, app_settings,
                                                   world):
    ids, accounts = world
    sign_in(testapp, dbsession, accounts["partner"], clock, app_settings)
    project_url = f"{BASE}/projects/{ids['draft']}"
    page = testapp.get(f"{project_url}/edit")
    buttons = {b["value"] for b in page.html.select('button[name="to_state"]')}
    assert buttons == {"review"}
    assert "対象指定は自治体が決めます。" in page.text
    token = csrf_token(testapp)
    refused = testapp.post(f"{project_url}/transition",
                           {"csrf_token": token, "to_state": "published"}, status=403)
    assert "自治体の管理者" in refused.text or "公開" in refused.text
    testapp.post(f"{project_url}/designate", {"csrf_token": token, "designated": "1"},
                 status=403)
    testapp.post(f"{project_url}/transition", {"csrf_token": token, "to_state": "review"},
                 status=303)
    dbsession.expire_all()
    project = dbsession.get(Project, ids["draft"])
    assert (project.state, project.designated) == ("review", True)


def test_invited_partner_staff_join_their_organisation_and_work_in_its_scope(
        testapp, dbsession, clock, app_settings, world):
    """Site admin invites through the partner screen; the person accepts the link and
    creates a project, which belongs to the organisation."""
    ids, accounts = world
    sign_in(testapp, dbsession, accounts["site_admin"], clock, app_settings)
    form = testapp.get(f"{BASE}/partners/{ids['partner']}/invite").forms["deform"]
    form["email"] = "new-member@example.jp"
    page = form.submit("invite", status=200)
    assert "中央町自治会 の職員として招待します" in page.text
    link = page.html.select_one("section.flash a")["href"].replace("http://localhost", "")
    testapp.reset()
    form = testapp.get(link).forms["deform"]
    form["display_name"] = "自治会 次郎"
    form["password"] = form["password_again"] = NEW_PASSWORD
    assert form.submit("accept", status=303).location == "http://localhost/account/totp"
    enrol_totp(testapp, clock)
    membership = dbsession.scalar(
        select(StaffMembership).join(StaffMembership.account)
        .where(StaffMembership.account.has(email="new-member@example.jp")))
    assert (membership.role, membership.partner_id) == ("partner", ids["partner"])
    form = testapp.get(f"{BASE}/projects/new").forms["deform"]
    form["title"] = "自治会の夏祭り"
    form["field"] = "festival"
    form.submit("save", status=303)
    project = dbsession.scalar(select(Project).where(Project.title == "自治会の夏祭り"))
    assert project.partner_id == ids["partner"]
    assert testapp.get(f"{BASE}/projects/{ids['own']}/edit", expect_errors=True).status_int == 403
