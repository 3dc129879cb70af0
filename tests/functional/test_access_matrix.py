"""Who may open what: every staff view against every role (deny by default).

Allowed means the page answers (200, or a redirect that is not to sign-in); denied
means 403, 404, or a redirect to sign-in. Each role signs in with a real session.
"""
import pytest

from ..access import csrf_token, get_outcome, post_outcome
from ..factories import MATSUMOTO, NAGANO_CITY, make_account, make_post, make_site, make_staff, sign_in

ROLES = (
    "anonymous", "registrant", "operator", "site_admin", "editor", "reviewer",
    "coordinator", "partner", "other_site_admin",
)
SITE_STAFF = {"site_admin", "editor", "reviewer", "coordinator", "partner"}
CONTENT = {"site_admin", "editor", "reviewer"}
SIGNED_IN = set(ROLES) - {"anonymous"}
EVERYONE = set(ROLES)

C = NAGANO_CITY
GET_MATRIX = [
    ("/", EVERYONE),
    (f"/s/{C}/", EVERYONE),
    (f"/s/{C}/posts/", EVERYONE),
    ("/join", EVERYONE),
    ("/account", SIGNED_IN),
    ("/operator/", {"operator"}),
    (f"/operator/{C}", {"operator"}),
    ("/operator/settings", {"operator"}),
    ("/operator/terms", {"operator"}),
    (f"/s/{C}/privacy/edit", {"site_admin"}),
    ("/terms", EVERYONE),
    (f"/s/{C}/manage", SITE_STAFF | {"operator"}),
    (f"/s/{C}/settings", {"site_admin"}),
    (f"/s/{C}/staff/", {"site_admin"}),
    (f"/s/{C}/staff/invite", {"site_admin"}),
    (f"/s/{C}/intro/edit", CONTENT),
    (f"/s/{C}/intro/versions", CONTENT),
    (f"/s/{C}/posts/manage", CONTENT),
    (f"/s/{C}/posts/new", CONTENT),
    (f"/s/{C}/posts/draft-post/edit", CONTENT),
    (f"/s/{C}/posts/draft-post/preview", CONTENT),
    (f"/s/{C}/posts/draft-post/versions", CONTENT),
    (f"/s/{C}/images/upload", CONTENT),
    (f"/s/{C}/posts/draft-post", set()),
    (f"/s/{C}/survey/", CONTENT),
    (f"/s/{C}/survey/new", CONTENT),
    (f"/s/{C}/survey/answers.csv", {"site_admin"}),
    (f"/s/{C}/register", {"registrant"}),
    (f"/s/{C}/members/", {"site_admin", "coordinator"}),
    ("/my/", {"registrant"}),
    ("/my/card", {"registrant"}),
    ("/my/identity", {"registrant"}),
    ("/my/data.json", {"registrant"}),
]


@pytest.fixture
def world(dbsession):
    site = make_site(dbsession, NAGANO_CITY)
    other = make_site(dbsession, MATSUMOTO)
    make_post(dbsession, site, "draft-post", state="draft")
    accounts = {
        "registrant": make_account(dbsession, "person@example.jp", kind="registrant"),
        "operator": make_account(dbsession, "operator@example.jp", is_operator=True),
        "site_admin": make_staff(dbsession, site, "site_admin"),
        "editor": make_staff(dbsession, site, "editor"),
        "reviewer": make_staff(dbsession, site, "editor", email="reviewer@example.jp",
                               is_reviewer=True),
        "coordinator": make_staff(dbsession, site, "coordinator"),
        "partner": make_staff(dbsession, site, "partner"),
        "other_site_admin": make_staff(dbsession, other, "site_admin"),
    }
    return accounts


@pytest.mark.parametrize("role", ROLES)
def test_get_views_by_role(testapp, dbsession, clock, app_settings, world, role):
    if role != "anonymous":
        sign_in(testapp, dbsession, world[role], clock, app_settings)
    wrong = []
    for url, allowed in GET_MATRIX:
        expected = "allowed" if role in allowed else "denied"
        actual = get_outcome(testapp.get(url, expect_errors=True))
        if actual != expected:
            wrong.append((url, expected, actual))
    assert wrong == []


POST_MATRIX = [
    # Empty or incomplete input: an allowed role gets a form message, never a change.
    (f"/s/{C}/settings", {"site_admin"}),
    (f"/s/{C}/staff/invite", {"site_admin"}),
    (f"/s/{C}/intro/edit", CONTENT),
    (f"/s/{C}/posts/new", CONTENT),
    (f"/s/{C}/posts/draft-post/edit", CONTENT),
    (f"/s/{C}/images/upload", CONTENT),
    (f"/operator/{C}/suspend", {"operator"}),
    ("/operator/settings", {"operator"}),
    ("/operator/terms", {"operator"}),
    (f"/s/{C}/privacy/edit", {"site_admin"}),
    (f"/s/{C}/members/", {"site_admin", "coordinator"}),
    (f"/s/{C}/survey/new", CONTENT),
    (f"/s/{C}/register?confirm=1", {"registrant"}),
    ("/my/delete", {"registrant"}),
    ("/account/password", SIGNED_IN),
    (f"/s/{C}/posts/markdown-preview", CONTENT),
    (f"/s/{C}/projects/markdown-preview", {"site_admin", "coordinator", "partner"}),
    (f"/s/{C}/support/markdown-preview", {"site_admin", "editor", "reviewer"}),
]


@pytest.mark.parametrize("role", ROLES)
def test_post_views_by_role(testapp, dbsession, clock, app_settings, world, role):
    if role != "anonymous":
        sign_in(testapp, dbsession, world[role], clock, app_settings)
    token = csrf_token(testapp)
    wrong = []
    for url, allowed in POST_MATRIX:
        expected = "allowed" if role in allowed else "denied"
        actual = post_outcome(testapp.post(url, {"csrf_token": token}, expect_errors=True))
        if actual != expected:
            wrong.append((url, expected, actual))
    assert wrong == []
