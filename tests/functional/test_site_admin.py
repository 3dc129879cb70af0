"""A site's own screens: the dashboard for all its staff, settings and staff management
for its site admins only, and nobody else."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, StaffMembership
from furusato_cms.services.invitations import InvitationService

from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff, sign_in
from ..sites_factories import form_with_action, signed_in_operator, signed_in_staff

STAFF_PAGES = ("settings", "staff/", "staff/invite")


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY, joined_on=date(2027, 4, 1))


@pytest.fixture
def as_role(testapp, dbsession, clock, app_settings, site):
    def sign_in_as(role, **kw):
        return signed_in_staff(testapp, dbsession, clock, app_settings, site, role, **kw)
    return sign_in_as


def _role_field(form):
    """The role radio buttons' field name (deform renames radio groups to their oid)."""
    return next(
        name for name, fields in form.fields.items()
        if any("editor" in [opt[0] for opt in getattr(f, "options", [])] for f in fields)
    )


def _membership(dbsession, account):
    return dbsession.scalars(
        select(StaffMembership).where(StaffMembership.account_id == account.id)
    ).one()


# -- who may see what ---------------------------------------------------------------------


def test_anonymous_people_are_sent_to_sign_in(testapp, site):
    for path in ("manage", *STAFF_PAGES):
        response = testapp.get(f"/s/{NAGANO_CITY}/{path}", status=302)
        assert "/signin?came_from=" in response.location


def test_unknown_site_is_404(testapp):
    testapp.get("/s/999999/manage", status=404)


@pytest.mark.parametrize(
    "role, expected",
    [
        ("site_admin", ["/settings", "/staff/", "/intro/edit", "/posts/manage"]),
        ("editor", ["/intro/edit", "/posts/manage"]),
        ("coordinator", []),
    ],
)
def test_dashboard_links_follow_permissions(testapp, site, as_role, role, expected):
    as_role(role)
    page = testapp.get(f"/s/{NAGANO_CITY}/manage")
    assert "参加中" in page.text and "2027年4月1日" in page.text
    assert "一定期間無料" in page.text and "2031年" not in page.text
    cards = page.text.split("できること")[1]
    shown = [p for p in ("/settings", "/staff/", "/intro/edit", "/posts/manage")
             if f"/s/{NAGANO_CITY}{p}" in cards]
    assert shown == expected
    assert "/operator/" not in cards


@pytest.mark.parametrize("role", ["editor", "coordinator"])
def test_editors_and_coordinators_cannot_manage_settings_or_staff(testapp, site, as_role, role):
    as_role(role)
    for path in STAFF_PAGES:
        testapp.get(f"/s/{NAGANO_CITY}/{path}", status=403)


def test_operator_sees_the_dashboard_but_not_the_sites_own_settings(
    testapp, dbsession, clock, app_settings, site
):
    signed_in_operator(testapp, dbsession, clock, app_settings)
    page = testapp.get(f"/s/{NAGANO_CITY}/manage")
    assert f"/operator/{NAGANO_CITY}" in page.text
    for path in STAFF_PAGES:
        testapp.get(f"/s/{NAGANO_CITY}/{path}", status=403)


def test_admin_of_another_site_is_refused(testapp, dbsession, clock, app_settings, site):
    other = make_site(dbsession, MATSUMOTO)
    sign_in(testapp, dbsession, make_staff(dbsession, other, "site_admin"), clock, app_settings)
    for path in ("manage", *STAFF_PAGES):
        testapp.get(f"/s/{NAGANO_CITY}/{path}", status=403)


def test_later_joiners_see_fees_to_be_decided(testapp, dbsession, as_role, site):
    site.joined_on = date(2028, 4, 1)
    dbsession.flush()
    as_role("site_admin")
    assert "利用料は未定です" in testapp.get(f"/s/{NAGANO_CITY}/manage").text


def test_suspended_sites_keep_staff_screens_withdrawn_do_not(testapp, dbsession, as_role, site):
    as_role("site_admin")
    site.state = "suspended"
    dbsession.flush()
    assert "停止中" in testapp.get(f"/s/{NAGANO_CITY}/manage").text
    site.state = "withdrawn"
    dbsession.flush()
    testapp.get(f"/s/{NAGANO_CITY}/manage", status=403)


# -- settings --------------------------------------------------------------------------------


def test_settings_form_shows_current_values_and_saves(testapp, dbsession, as_role, site):
    as_role("site_admin")
    form = testapp.get(f"/s/{NAGANO_CITY}/settings").forms["deform"]
    assert form["inactivity_days"].value == "730" and form["auto_renewal"].checked
    form["theme"] = "contrast"
    form["premium_min_activities"] = "4"
    form["auto_renewal"] = False
    page = form.submit("save").follow()
    assert "設定を保存しました" in page.text
    dbsession.expire_all()
    assert (site.theme, site.premium_min_activities, site.auto_renewal) == ("contrast", 4, False)
    entry = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "site.settings")).one()
    assert set(entry.detail["changed"]) == {"theme", "premium_min_activities", "auto_renewal"}


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("premium_min_activities", "2", "3回以上"),
        ("inactivity_days", "10", "30 日から"),
        ("inactivity_days", "700", "国の解除期間（730 日）より短くできません"),
        ("checkin_after_minutes", "2000", "1440"),
        ("inactivity_days", "たくさん", "invalid-feedback"),
    ],
)
def test_settings_outside_the_rules_re_render_with_the_message(
    testapp, dbsession, as_role, site, field, value, words
):
    as_role("site_admin")
    form = testapp.get(f"/s/{NAGANO_CITY}/settings").forms["deform"]
    form[field] = value
    form["contact_name"] = "入力した名前"
    page = form.submit("save", status=400)
    assert words in page.text
    assert page.forms["deform"][field].value == value
    assert page.forms["deform"]["contact_name"].value == "入力した名前"
    dbsession.expire_all()
    assert site.contact_name == "" and site.premium_min_activities == 3


def test_the_settings_form_offers_no_switch_for_two_step_sign_in(testapp, as_role):
    as_role("site_admin")
    form = testapp.get(f"/s/{NAGANO_CITY}/settings").forms["deform"]
    assert "require_totp" not in form.fields
    assert "2段階認証" not in testapp.get(f"/s/{NAGANO_CITY}/settings").text


# -- staff -------------------------------------------------------------------------------------


def test_staff_list_shows_members_and_open_invitations(testapp, dbsession, as_role, site):
    admin = as_role("site_admin")
    make_staff(dbsession, site, "editor", email="editor@city.example.jp", name="編集 一郎")
    page = testapp.get(f"/s/{NAGANO_CITY}/staff/")
    assert "編集 一郎" in page.text and "編集者" in page.text and admin.email in page.text
    assert "有効な招待はありません" in page.text


def test_invite_shows_the_link_once(testapp, dbsession, clock, app_settings, as_role, site):
    as_role("site_admin")
    form = testapp.get(f"/s/{NAGANO_CITY}/staff/invite").forms["deform"]
    form["email"] = "New.Editor@city.example.jp"
    form[_role_field(form)] = "editor"
    form["is_reviewer"] = True
    page = form.submit("invite")
    assert "no-store" in page.headers["Cache-Control"]
    token = re.search(r"/invitation/([A-Za-z0-9_\-]+)", page.text).group(1)
    invitation = InvitationService(dbsession, clock=clock, settings=app_settings).find_valid(token)
    assert (invitation.email, invitation.role, invitation.is_reviewer) == (
        "new.editor@city.example.jp", "editor", True
    )
    listing = testapp.get(f"/s/{NAGANO_CITY}/staff/")
    assert "new.editor@city.example.jp" in listing.text and token not in listing.text


def test_invite_refuses_a_bad_address_and_keeps_the_input(testapp, as_role, site):
    as_role("site_admin")
    form = testapp.get(f"/s/{NAGANO_CITY}/staff/invite").forms["deform"]
    form["email"] = "nobody"
    page = form.submit("invite", status=400)
    assert "正しいメールアドレス" in page.text
    assert page.forms["deform"]["email"].value == "nobody"


def test_invite_refuses_roles_a_site_admin_cannot_give(testapp, dbsession, as_role, site):
    as_role("site_admin")
    form = testapp.get(f"/s/{NAGANO_CITY}/staff/invite").forms["deform"]
    form["email"] = "x@city.example.jp"
    form[_role_field(form)].force_value("site_admin")
    page = form.submit("invite", status=400)
    assert "invalid-feedback" in page.text
    invited = select(AuditEntry.id).where(AuditEntry.action == "staff.invite")
    assert dbsession.scalar(invited) is None


def test_removing_an_editor_ends_their_rights_at_once(
    testapp, dbsession, clock, app_settings, as_role, site
):
    import webtest

    as_role("site_admin")
    editor = make_staff(dbsession, site, "editor", email="editor@city.example.jp")
    editor_client = webtest.TestApp(testapp.app, extra_environ=testapp.extra_environ)
    sign_in(editor_client, dbsession, editor, clock, app_settings)
    editor_client.get(f"/s/{NAGANO_CITY}/manage", status=200)
    membership = _membership(dbsession, editor)
    confirm = testapp.get(f"/s/{NAGANO_CITY}/staff/{membership.id}/remove")
    done = form_with_action(confirm, "/remove").submit().follow()
    assert "職員から外しました" in done.text
    dbsession.expire_all()
    assert dbsession.scalar(
        select(StaffMembership).where(StaffMembership.account_id == editor.id)
    ) is None
    editor_client.get(f"/s/{NAGANO_CITY}/manage", status=403)
    entry = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "staff.remove")).one()
    assert entry.detail["email"] == "editor@city.example.jp"


def test_the_last_site_admin_cannot_remove_themselves(testapp, dbsession, as_role, site):
    admin = as_role("site_admin")
    membership = _membership(dbsession, admin)
    confirm = testapp.get(f"/s/{NAGANO_CITY}/staff/{membership.id}/remove")
    form = form_with_action(confirm, "/remove")
    page = form.submit(status=400)
    assert "最後の自治体管理者は削除できません" in page.text
    dbsession.expire_all()
    assert _membership(dbsession, admin) is not None


def test_reviewer_flag_is_toggled_from_the_list(testapp, dbsession, as_role, site):
    as_role("site_admin")
    editor = make_staff(dbsession, site, "editor", email="editor@city.example.jp")
    membership = _membership(dbsession, editor)
    page = testapp.get(f"/s/{NAGANO_CITY}/staff/")
    page = form_with_action(page, f"/staff/{membership.id}/reviewer").submit().follow()
    dbsession.expire_all()
    assert membership.is_reviewer
    assert "公開の権限を外す" in page.text
    form_with_action(page, f"/staff/{membership.id}/reviewer").submit().follow()
    dbsession.expire_all()
    assert not membership.is_reviewer


def test_staff_of_another_site_cannot_be_reached(testapp, dbsession, as_role, site):
    as_role("site_admin")
    other = make_site(dbsession, MATSUMOTO)
    stranger = make_staff(dbsession, other, "editor", email="stranger@city.example.jp")
    membership = _membership(dbsession, stranger)
    testapp.get(f"/s/{NAGANO_CITY}/staff/{membership.id}/remove", status=404)
