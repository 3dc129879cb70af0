"""Terms of use and privacy notices through the pages: the boxes at sign-up and at
registration, the pages that ask again, the public texts with their versions, and who
may edit them."""
import re

import pytest
from sqlalchemy import func, select

from furusato_cms.models import Account, PrivacyAcceptance, Registration, TermsAcceptance
from furusato_cms.services.policies import PolicyService

from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant
from ..sites_factories import actor_for, operator_actor, signed_in_operator
from ..survey_factories import make_registration
from .test_register import fill

TERMS_ASKED = "利用規約をお読みのうえ、同意してください"
NOTICE_ASKED = "個人情報の取扱いをお読みください"


@pytest.fixture
def policies(dbsession, clock, app_settings):
    return PolicyService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def nagano(dbsession, policies):
    sites = {code: make_site(dbsession, code) for code in (NAGANO_PREF, NAGANO_CITY, MATSUMOTO)}
    for site in sites.values():
        policies.ensure_notice(site)
    return sites


def signed_in(testapp, dbsession, clock, app_settings, **kw):
    person = make_registrant(dbsession, "policy-person@example.jp", **kw)
    sign_in(testapp, dbsession, person, clock, app_settings)
    return person


def csrf(testapp):
    return re.search(r'name="csrf_token" value="([^"]+)"', testapp.get("/").text).group(1)


# -- sign-up ---------------------------------------------------------------------------


def signup_form(testapp):
    page = testapp.get("/signup")
    assert 'href="http://localhost/terms"' in page.text
    form = page.forms["deform"]
    form["email"] = "terms@example.jp"
    form["display_name"] = "規約 花子"
    form["password"] = form["password_again"] = "correct horse battery staple"
    return form


def test_sign_up_without_the_terms_box_is_refused_keeping_the_input(testapp, dbsession):
    page = signup_form(testapp).submit("signup")
    assert "利用規約をお読みのうえ、同意のチェックを入れてください" in page.text
    assert page.forms["deform"]["email"].value == "terms@example.jp"
    assert page.forms["deform"]["display_name"].value == "規約 花子"
    assert dbsession.scalar(select(Account.id).where(Account.email == "terms@example.jp")) is None


def test_sign_up_records_the_accepted_terms_version(testapp, dbsession, clock):
    form = signup_form(testapp)
    form["accept_terms"] = True
    form.submit("signup")
    account = dbsession.scalar(select(Account).where(Account.email == "terms@example.jp"))
    accepted = dbsession.execute(
        select(TermsAcceptance.version, TermsAcceptance.accepted_at)
        .where(TermsAcceptance.account_id == account.id)).all()
    assert accepted == [(1, clock.moment)]


# -- registration ------------------------------------------------------------------------


def fill_registration(page):
    """The registration form answered, the privacy-notice box left as the test sets it."""
    form = fill(page.forms["deform"])
    form["accept_privacy"] = False
    return form


def test_registration_requires_the_site_notice(testapp, dbsession, clock, app_settings,
                                               nagano):
    person = signed_in(testapp, dbsession, clock, app_settings)
    page = testapp.get(f"/s/{NAGANO_CITY}/register")
    assert f'href="http://localhost/s/{NAGANO_CITY}/privacy"' in page.text
    assert f'href="http://localhost/s/{NAGANO_PREF}/privacy"' in page.text
    refused = fill_registration(page).submit("confirm")
    assert "個人情報の取扱いをお読みのうえ、同意のチェックを入れてください" in refused.text
    assert dbsession.scalar(select(func.count(Registration.id))
                            .where(Registration.account_id == person.id)) == 0

    form = fill_registration(refused)
    form["accept_privacy"] = True
    form.submit("confirm").forms["confirm-registration"].submit("register").follow()
    accepted = dbsession.scalars(select(PrivacyAcceptance).where(
        PrivacyAcceptance.account_id == person.id)).all()
    assert len(accepted) == 2 and all(a.accepted_at == clock.moment for a in accepted)
    assert testapp.get("/my/").status_int == 200


# -- asking again ----------------------------------------------------------------------


def test_terms_not_accepted_are_asked_before_any_registrant_page(testapp, dbsession, clock,
                                                                 app_settings, nagano):
    signed_in(testapp, dbsession, clock, app_settings, terms_accepted=False)
    for path in ("/my/", f"/s/{NAGANO_CITY}/register", f"/s/{NAGANO_CITY}/"):
        asked = testapp.get(path, status=303)
        assert "/terms/accept?came_from=" in asked.location
    testapp.get("/terms", status=200)
    testapp.get(f"/s/{NAGANO_CITY}/privacy", status=200)
    page = testapp.get("/my/").follow()
    assert TERMS_ASKED in page.text and "ひな形" in page.text
    refused = page.forms["deform"].submit("accept", status=400)
    assert "同意のチェックを入れてください" in refused.text
    form = refused.forms["deform"]
    form["accept_terms"] = True
    back = form.submit("accept", status=303)
    assert back.location == "http://localhost/my/"
    assert testapp.get("/my/").status_int == 200


def test_new_terms_ask_existing_registrants_again(testapp, dbsession, clock, app_settings,
                                                  policies):
    signed_in(testapp, dbsession, clock, app_settings)
    assert testapp.get("/my/").status_int == 200
    policies.publish_terms(operator_actor(dbsession)[1], "# 利用規約\n\n第2版")
    page = testapp.get("/my/").follow()
    assert "第2版" in page.text
    form = page.forms["deform"]
    form["accept_terms"] = True
    form.submit("accept").follow()
    assert testapp.get("/my/").status_int == 200


def test_terms_changed_while_reading_show_the_new_version(testapp, dbsession, clock,
                                                          app_settings, policies):
    person = signed_in(testapp, dbsession, clock, app_settings, terms_accepted=False)
    form = testapp.get("/terms/accept").forms["deform"]
    policies.publish_terms(operator_actor(dbsession)[1], "# 利用規約\n\n読んでいる間の第2版")
    form["accept_terms"] = True
    page = form.submit("accept", status=409)
    assert "この間に利用規約が変更されました" in page.text and "読んでいる間の第2版" in page.text
    assert not policies.has_accepted_terms(person, 1)
    again = page.forms["deform"]
    assert again["version"].value == "2"
    again["accept_terms"] = True
    again.submit("accept", status=303)
    assert policies.has_accepted_terms(person, 2)


def test_staff_are_not_asked_for_the_registrants_terms(testapp, dbsession, clock,
                                                       app_settings, nagano):
    admin = make_staff(dbsession, nagano[NAGANO_CITY], "site_admin")
    sign_in(testapp, dbsession, admin, clock, app_settings)
    testapp.get(f"/s/{NAGANO_CITY}/manage", status=200)


def test_a_changed_site_notice_is_asked_on_my_page(testapp, dbsession, clock, app_settings,
                                                   nagano, policies):
    person = signed_in(testapp, dbsession, clock, app_settings)
    make_registration(dbsession, nagano[NAGANO_CITY], person)
    policies.accept_notices(person, [nagano[NAGANO_CITY]])
    assert testapp.get("/my/").status_int == 200
    admin = actor_for(make_staff(dbsession, nagano[NAGANO_CITY], "site_admin"))
    policies.publish_notice(admin, nagano[NAGANO_CITY], "## 変更\n\n第2版です。")
    asked = testapp.get("/my/", status=303)
    assert asked.location.endswith("/my/privacy")
    page = asked.follow()
    assert NOTICE_ASKED in page.text and "長野市の個人情報の取扱い" in page.text
    page.forms["deform"].submit("accept", status=400)
    form = page.forms["deform"]
    form["accept_privacy"] = True
    form.submit("accept").follow()
    assert testapp.get("/my/").status_int == 200


# -- public pages --------------------------------------------------------------------------


def test_public_pages_show_the_current_version_and_keep_the_old(testapp, dbsession, nagano,
                                                                policies):
    admin = actor_for(make_staff(dbsession, nagano[NAGANO_CITY], "site_admin"))
    policies.publish_notice(admin, nagano[NAGANO_CITY], "第2版の取扱い")
    page = testapp.get(f"/s/{NAGANO_CITY}/privacy")
    assert "第2版（2026年11月25日" in page.text and "第2版の取扱い" in page.text
    old = testapp.get(f"/s/{NAGANO_CITY}/privacy", {"version": "1"})
    assert "ひな形" in old.text
    testapp.get(f"/s/{NAGANO_CITY}/privacy", {"version": "9"}, status=404)
    testapp.get(f"/s/{NAGANO_CITY}/privacy", {"version": "x"}, status=404)
    terms = testapp.get("/terms")
    assert "第1版（" in terms.text and "利用規約" in terms.text


# -- editing --------------------------------------------------------------------------------


def test_operator_publishes_new_terms(testapp, dbsession, clock, app_settings, policies):
    signed_in_operator(testapp, dbsession, clock, app_settings)
    assert "/operator/terms" in testapp.get("/operator/").text
    form = testapp.get("/operator/terms").forms["deform"]
    form["body"] = "# 利用規約\n\n新しい版"
    form.submit("publish").follow()
    assert policies.current_terms().version == 2
    unchanged = testapp.get("/operator/terms").forms["deform"].submit("publish", status=400)
    assert "現在の版と同じ内容" in unchanged.text


def test_site_admin_publishes_the_sites_notice(testapp, dbsession, clock, app_settings,
                                               nagano, policies):
    make_staff_signed = make_staff(dbsession, nagano[NAGANO_CITY], "site_admin")
    sign_in(testapp, dbsession, make_staff_signed, clock, app_settings)
    assert f"/s/{NAGANO_CITY}/privacy/edit" in testapp.get(f"/s/{NAGANO_CITY}/settings").text
    form = testapp.get(f"/s/{NAGANO_CITY}/privacy/edit").forms["deform"]
    form["body"] = "長野市の取扱い 第2版"
    form.submit("publish").follow()
    assert policies.current_notice(nagano[NAGANO_CITY]).body == "長野市の取扱い 第2版"


@pytest.mark.parametrize("who", ["editor", "coordinator", "other_admin", "registrant",
                                 "operator"])
def test_only_the_sites_admin_may_edit_its_notice(testapp, dbsession, clock, app_settings,
                                                  nagano, policies, who):
    if who == "registrant":
        account = make_registrant(dbsession)
    elif who == "operator":
        account = operator_actor(dbsession)[0]
    elif who == "other_admin":
        account = make_staff(dbsession, nagano[MATSUMOTO], "site_admin")
    else:
        account = make_staff(dbsession, nagano[NAGANO_CITY], who)
    sign_in(testapp, dbsession, account, clock, app_settings)
    testapp.get(f"/s/{NAGANO_CITY}/privacy/edit", status=403)
    testapp.post(f"/s/{NAGANO_CITY}/privacy/edit",
                 {"csrf_token": csrf(testapp), "body": "乗っ取り"}, status=403)
    assert policies.current_notice(nagano[NAGANO_CITY]).version == 1


@pytest.mark.parametrize("who", ["site_admin", "registrant"])
def test_only_the_operator_may_edit_the_terms(testapp, dbsession, clock, app_settings,
                                              nagano, policies, who):
    account = (make_registrant(dbsession) if who == "registrant"
               else make_staff(dbsession, nagano[NAGANO_CITY], who))
    sign_in(testapp, dbsession, account, clock, app_settings)
    testapp.get("/operator/terms", status=403)
    testapp.post("/operator/terms", {"csrf_token": csrf(testapp), "body": "x"}, status=403)
    assert policies.current_terms().version == 1


def test_anonymous_editors_are_sent_to_sign_in(testapp, nagano):
    assert "/signin" in testapp.get("/operator/terms", status=302).location
    assert "/signin" in testapp.get(f"/s/{NAGANO_CITY}/privacy/edit", status=302).location
