"""The national operator's screens: applications first, every decision through its form,
the one-time invitation link, and nobody else getting in."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, IntroPage, Registration
from furusato_cms.services.invitations import InvitationService

from ..attendance_factories import make_registered
from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_site, make_staff, sign_in
from ..sites_factories import form_with_action, signed_in_operator


@pytest.fixture
def operator(testapp, dbsession, clock, app_settings):
    return signed_in_operator(testapp, dbsession, clock, app_settings)


def test_anonymous_people_are_sent_to_sign_in(testapp, dbsession):
    make_site(dbsession, NAGANO_CITY)
    for path in ("/operator/", f"/operator/{NAGANO_CITY}"):
        response = testapp.get(path, status=302)
        assert "/signin?came_from=" in response.location


@pytest.mark.parametrize("role", ["site_admin", "editor", "coordinator"])
def test_site_staff_are_not_operators(testapp, dbsession, clock, app_settings, role):
    site = make_site(dbsession, NAGANO_CITY)
    make_site(dbsession, MATSUMOTO, state="applied", joined_on=None)
    sign_in(testapp, dbsession, make_staff(dbsession, site, role), clock, app_settings)
    testapp.get("/operator/", status=403)
    testapp.get(f"/operator/{MATSUMOTO}", status=403)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', testapp.get("/").text).group(1)
    testapp.post(f"/operator/{MATSUMOTO}/approve",
                 {"csrf_token": csrf, "admin_email": "x@city.example.jp"}, status=403)
    dbsession.expire_all()


def test_list_shows_applications_first_with_state_and_fees(testapp, dbsession, operator):
    make_site(dbsession, NAGANO_CITY, joined_on=date(2028, 3, 31))
    make_site(dbsession, NAGANO_PREF, joined_on=date(2028, 4, 1))
    make_site(dbsession, MATSUMOTO, state="applied", joined_on=None)
    page = testapp.get("/operator/")
    assert "no-store" in page.headers["Cache-Control"]
    pending, everything = page.text.split('id="all"')
    assert "松本市" in pending and "長野市" not in pending
    assert "一定期間無料" in everything and "利用料は未定です" in everything
    assert "申請中" in everything and "参加中" in everything


def test_list_filters_by_state(testapp, dbsession, operator):
    make_site(dbsession, NAGANO_CITY)
    make_site(dbsession, NAGANO_PREF, state="suspended")
    everything = testapp.get("/operator/", {"state": "suspended"}).text.split('id="all"')[1]
    assert "長野県" in everything and "長野市" not in everything
    testapp.get("/operator/", {"state": "nonsense"}, status=400)


def test_approval_shows_the_invitation_link_once(
    testapp, dbsession, operator, clock, app_settings
):
    site = make_site(dbsession, MATSUMOTO, state="applied", joined_on=None, with_intro=False,
                     contact_email="kikaku@city.example.jp")
    page = testapp.get(f"/operator/{MATSUMOTO}")
    form = form_with_action(page, "/approve")
    assert form["admin_email"].value == "kikaku@city.example.jp"
    done = form.submit("approve")
    assert "no-store" in done.headers["Cache-Control"]
    token = re.search(r"/invitation/([A-Za-z0-9_\-]+)", done.text).group(1)
    dbsession.expire_all()
    invitation = InvitationService(dbsession, clock=clock, settings=app_settings).find_valid(token)
    assert invitation.site_id == site.id and invitation.role == "site_admin"
    assert site.state == "active" and site.joined_on == date(2026, 11, 25)
    assert dbsession.scalar(select(IntroPage.id).where(IntroPage.site_id == site.id))
    again = testapp.get(f"/operator/{MATSUMOTO}")
    assert token not in again.text and "/invitation/" not in again.text
    assert "参加中" in again.text and "一定期間無料" in again.text


def test_approving_a_prefecture_registers_its_municipalities_people(testapp, dbsession,
                                                                     operator):
    """Issue 12, rule 5: the back-fill happens with the approval and the site's history
    says how many people it registered."""
    prefecture = make_site(dbsession, NAGANO_PREF, state="applied", joined_on=None,
                           with_intro=False)
    city = make_site(dbsession, NAGANO_CITY)
    person = make_registered(dbsession, city)
    form = form_with_action(testapp.get(f"/operator/{NAGANO_PREF}"), "/approve")
    form["admin_email"] = "kikaku@pref.example.jp"
    form.submit("approve")
    page = testapp.get(f"/operator/{NAGANO_PREF}")
    assert "県内の市町村に登録済みの1人を、都道府県にも登録しました。" in page.text
    derived = dbsession.scalar(select(Registration).where(
        Registration.account_id == person.id, Registration.site_id == prefecture.id))
    assert derived.derived_from_id is not None and derived.state == "active"


def test_approval_needs_a_valid_email(testapp, dbsession, operator):
    site = make_site(dbsession, MATSUMOTO, state="applied", joined_on=None)
    form = form_with_action(testapp.get(f"/operator/{MATSUMOTO}"), "/approve")
    form["admin_email"] = "nobody"
    page = form.submit("approve", status=400)
    assert "正しいメールアドレス" in page.text
    dbsession.expire_all()
    assert site.state == "applied"


def test_rejection_needs_a_reason_then_is_recorded(testapp, dbsession, operator):
    site = make_site(dbsession, MATSUMOTO, state="applied", joined_on=None)
    page = testapp.get(f"/operator/{MATSUMOTO}")
    refused = form_with_action(page, "/reject").submit("reject", status=400)
    assert "invalid-feedback" in refused.text
    form = form_with_action(refused, "/reject")
    form["reason"] = "コードと名称が一致しません"
    done = form.submit("reject").follow()
    assert "申請を却下しました" in done.text and "却下" in done.text
    dbsession.expire_all()
    assert (site.state, site.state_reason) == ("rejected", "コードと名称が一致しません")


def test_suspend_reactivate_withdraw_through_the_forms(testapp, dbsession, operator):
    site = make_site(dbsession, NAGANO_CITY)
    page = testapp.get(f"/operator/{NAGANO_CITY}")
    assert not any(f.action.endswith(("/approve", "/reject", "/reactivate"))
                   for f in page.forms.values())
    form = form_with_action(page, "/suspend")
    form["reason"] = "不正アクセスの調査"
    page = form.submit("suspend").follow()
    dbsession.expire_all()
    assert site.state == "suspended"
    page = form_with_action(page, "/reactivate").submit("reactivate").follow()
    dbsession.expire_all()
    assert site.state == "active"
    form = form_with_action(page, "/withdraw")
    form["reason"] = "制度から脱退"
    page = form.submit("withdraw").follow()
    dbsession.expire_all()
    assert site.state == "withdrawn"
    actions = dbsession.scalars(
        select(AuditEntry.action).where(AuditEntry.site_id == site.id).order_by(AuditEntry.id)
    ).all()
    assert actions == ["site.suspend", "site.reactivate", "site.withdraw"]
    history = page.text.split("履歴")[1]
    assert history.index("停止中") < history.index("参加中") < history.index("脱退")
    assert "不正アクセスの調査" in history


def test_a_decision_that_does_not_fit_the_state_is_refused(testapp, dbsession, operator):
    site = make_site(dbsession, NAGANO_CITY)
    page = testapp.get(f"/operator/{NAGANO_CITY}")
    csrf = form_with_action(page, "/suspend")["csrf_token"].value
    refused = testapp.post(f"/operator/{NAGANO_CITY}/reactivate", {"csrf_token": csrf},
                           status=400)
    assert "参加中のため" in refused.text
    dbsession.expire_all()
    assert site.state == "active"


def test_operator_can_invite_another_admin(testapp, dbsession, operator, clock, app_settings):
    make_site(dbsession, NAGANO_CITY)
    form = form_with_action(testapp.get(f"/operator/{NAGANO_CITY}"), "/invite_admin")
    form["admin_email"] = "second@city.example.jp"
    token = re.search(r"/invitation/([A-Za-z0-9_\-]+)", form.submit("invite_admin").text).group(1)
    found = InvitationService(dbsession, clock=clock, settings=app_settings).find_valid(token)
    assert found.email == "second@city.example.jp"


def test_unknown_code_is_404(testapp, operator):
    testapp.get("/operator/999999", status=404)


def test_posts_without_csrf_token_are_refused(testapp, dbsession, operator):
    site = make_site(dbsession, MATSUMOTO, state="applied", joined_on=None)
    testapp.post(f"/operator/{MATSUMOTO}/approve", {"admin_email": "a@city.example.jp"},
                 status=400)
    dbsession.expire_all()
    assert site.state == "applied"


def test_a_stale_form_still_shows_its_messages(testapp, dbsession, operator):
    """The application was decided in another tab; the empty reason is still explained."""
    site = make_site(dbsession, MATSUMOTO, state="applied", joined_on=None)
    form = form_with_action(testapp.get(f"/operator/{MATSUMOTO}"), "/reject")
    site.state = "active"
    dbsession.flush()
    page = form.submit("reject", status=400)
    assert "invalid-feedback" in page.text
    form = form_with_action(page, "/reject")
    form["reason"] = "重複"
    refused = form.submit("reject", status=400)
    assert "参加中のため" in refused.text
