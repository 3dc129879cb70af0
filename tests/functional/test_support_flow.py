"""Support measures through the screens: editors write and a reviewer publishes,
registrants apply with receipts, coordinators decide and export; who may open what."""
import csv
import io
import re

import pytest
from sqlalchemy import func, select
from webtest import Upload

from furusato_cms.models import AuditEntry, PartnerOffer, SupportApplication, SupportMeasure
from furusato_cms.services import support, support_rules

from ..access import post_outcome
from ..content_factories import actor_for, csrf_token, signed_in_staff
from ..factories import MATSUMOTO, NAGANO_CITY, make_account, make_site, make_staff, sign_in
from ..support_factories import (
    JPEG_BYTES,
    PDF_BYTES,
    make_applicant,
    make_measure,
    make_offer,
)

BASE = f"/s/{NAGANO_CITY}/support"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


def audit(dbsession, action):
    dbsession.expire_all()
    return dbsession.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def fill(form, **values):
    for name, value in values.items():
        form[name] = value
    return form


def choose(form, value):
    """Tick the radio button with ``value`` (deform names radio groups by their id)."""
    for name, fields in form.fields.items():
        if any(getattr(f, "options", None) and value in [o[0] for o in f.options]
               for f in fields):
            form[name] = value
            return form
    raise AssertionError(f"no radio button for {value}")


def checkbox(form):
    """deform's single check box has a generated name; it is the form's only one."""
    return next(f for fields in form.fields.values() for f in fields
                if getattr(f, "tag", "") == "input" and f.attrs.get("type") == "checkbox")


def attach(form, index, filename, data):
    """Put a file in the ``index``-th receipt slot (deform names every slot "upload")."""
    form.set("upload", Upload(filename, data, "application/octet-stream"), index=index)


def submitted(dbsession, measure, person, **kw):
    service = support.SupportService(dbsession, clock=kw.pop("clock"),
                                     settings=kw.pop("settings"))
    return service.apply(person, measure, answers={},
                         receipts=[support_rules.Upload("r.pdf", PDF_BYTES)],
                         costs=[{"label": "新幹線", "amount": kw.pop("amount", 100_000)}])


# -- editors and reviewers ------------------------------------------------------------


def test_editor_writes_a_measure_and_a_reviewer_publishes_it(testapp, dbsession, site, clock,
                                                             app_settings):
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "editor")
    page = testapp.get(f"{BASE}/new")
    assert "返礼品" in page.text and "住民と同等の支援" in page.text
    form = fill(page.forms["deform"], title="お試し移住の交通費補助", family="travel",
                rate_numerator="3", rate_denominator="4", cap_yen="300,000",
                budget_yen="１０００００００", form_fields="* 来訪日 | date\n同行者")
    choose(form, "premium")
    choose(form, "per_application")
    refused = form.submit("save", status=400)
    assert "返礼品ではないことを確認し" in refused.text
    assert dbsession.scalar(select(SupportMeasure.id)) is None
    form = refused.forms["deform"]
    checkbox(form).checked = True
    edit = form.submit("save", status=303).follow()
    assert "下書き" in edit.text
    measure = dbsession.scalar(select(SupportMeasure))
    assert (measure.cap_yen, measure.budget_yen, measure.state) == (300_000, 10_000_000, "draft")
    assert measure.form_fields == [
        {"key": "f1", "label": "来訪日", "kind": "date", "required": True},
        {"key": "f2", "label": "同行者", "kind": "text", "required": False}]

    testapp.get(f"{BASE}/{measure.id}", status=404)
    assert "お試し移住" not in testapp.get(f"{BASE}/").text
    token = csrf_token(testapp)
    testapp.post(f"{BASE}/{measure.id}/transition", {"csrf_token": token,
                                                     "to_state": "review"}, status=303)
    refused = testapp.post(f"{BASE}/{measure.id}/transition",
                           {"csrf_token": token, "to_state": "published"}, status=403)
    assert "公開承認者" in refused.text

    testapp.reset()
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "editor",
                    is_reviewer=True, email="reviewer@example.jp")
    testapp.post(f"{BASE}/{measure.id}/transition",
                 {"csrf_token": csrf_token(testapp), "to_state": "published"}, status=303)
    testapp.reset()
    listing = testapp.get(f"{BASE}/")
    assert "お試し移住の交通費補助" in listing.text
    assert "対象経費の3/4（1回の申請あたり上限300,000円）" in listing.text
    assert "プレミアム登録の方のみ" in testapp.get(f"{BASE}/{measure.id}").text


def test_a_forged_return_gift_family_is_refused_with_the_rule(testapp, dbsession, site, clock,
                                                              app_settings):
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "editor")
    form = testapp.get(f"{BASE}/new").forms["deform"]
    fill(form, title="特産品お届け", rate_numerator="1", rate_denominator="1", cap_yen="5000",
         budget_yen="100000")
    form["family"].force_value("local_products_delivery")
    checkbox(form).checked = True
    refused = form.submit("save", status=400)
    assert "返礼品は認められません" in refused.text
    assert dbsession.scalar(select(SupportMeasure.id)) is None


def test_a_business_offer_is_used_at_the_counter_and_links_to_verify(
        testapp, dbsession, site, clock, app_settings):
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "site_admin")
    form = fill(testapp.get(f"{BASE}/offers/new").forms["deform"], title="そば処 松葉の割引",
                business_name="そば処 松葉", business_kind="restaurant", place="長野市大門町1",
                summary="お会計から10%割引")
    checkbox(form).checked = True
    form.submit("save", status=303)
    offer = dbsession.scalar(select(PartnerOffer))
    testapp.post(f"{BASE}/offers/{offer.id}/transition",
                 {"csrf_token": csrf_token(testapp), "to_state": "published"}, status=303)
    testapp.reset()
    page = testapp.get(f"{BASE}/offers/{offer.id}")
    assert "お会計から10%割引" in page.text and 'href="http://localhost/verify"' in page.text
    assert "そば処 松葉" in testapp.get(f"{BASE}/").text


# -- registrants ---------------------------------------------------------------------


def test_premium_registrant_applies_with_receipts_and_sees_the_amount(testapp, dbsession, site,
                                                                      clock, app_settings):
    measure = make_measure(dbsession, site, form_fields=[
        {"key": "f1", "label": "来訪日", "kind": "date", "required": True}])
    person = make_applicant(dbsession, site)
    sign_in(testapp, dbsession, person, clock, app_settings)
    assert "この施策に申請する" in testapp.get(f"{BASE}/{measure.id}").text
    form = fill(testapp.get(f"{BASE}/{measure.id}/apply").forms["deform"], f1="2026-12-01",
                cost1_label="新幹線 東京–長野 往復", cost1_amount="300,000",
                cost2_label="宿泊", cost2_amount="200000")
    attach(form, 0, "receipt.pdf", PDF_BYTES)
    attach(form, 1, "photo.jpg", JPEG_BYTES)
    mine = form.submit("apply", status=303).follow()
    assert "300,000円" in mine.text
    assert "上限額の300,000円を適用しました。" in mine.text
    assert "500,000円 × 3/4 = 375,000円（1円未満切り捨て）" in mine.text
    application = dbsession.scalar(select(SupportApplication))
    assert (application.submitted_amount, application.answers) == (300_000, {"f1": "2026-12-01"})
    assert [r.media_type for r in application.receipts] == ["application/pdf", "image/jpeg"]


def test_a_double_click_answers_with_the_first_application(testapp, dbsession, site, clock,
                                                           app_settings):
    measure = make_measure(dbsession, site, "住民料金での施設利用", family="resident_rate",
                           rate=(0, 1))
    sign_in(testapp, dbsession, make_applicant(dbsession, site), clock, app_settings)
    form = testapp.get(f"{BASE}/{measure.id}/apply").forms["deform"]
    assert len(form["request_token"].value) >= 32
    first = form.submit("apply", status=303)
    second = form.submit("apply", status=303)
    [application] = dbsession.scalars(select(SupportApplication)).all()
    assert first.location == second.location == (
        f"http://localhost/my/support#application-{application.id}")
    assert f'id="application-{application.id}"' in second.follow().text
    other_tab = testapp.get(f"{BASE}/{measure.id}/apply").forms["deform"]
    refused = other_tab.submit("apply", status=409)
    assert "この施策には、審査待ちの申請がすでにあります" in refused.text
    assert dbsession.scalar(select(func.count()).select_from(SupportApplication)) == 1


def test_a_receipt_that_is_not_pdf_jpeg_or_png_is_refused(testapp, dbsession, site, clock,
                                                          app_settings):
    measure = make_measure(dbsession, site)
    sign_in(testapp, dbsession, make_applicant(dbsession, site), clock, app_settings)
    form = fill(testapp.get(f"{BASE}/{measure.id}/apply").forms["deform"],
                cost1_label="バス", cost1_amount="3000")
    attach(form, 0, "receipt.pdf", b"MZ\x90\x00 not a pdf")
    refused = form.submit("apply", status=400)
    assert "PDF、JPEG、PNG のいずれでもありません" in refused.text
    assert refused.forms["deform"]["cost1_amount"].value == "3000"
    assert dbsession.scalar(select(SupportApplication.id)) is None


def test_basic_registrant_is_told_resident_support_is_for_premium(testapp, dbsession, site,
                                                                  clock, app_settings):
    measure = make_measure(dbsession, site, "住民料金での施設利用", family="resident_rate")
    sign_in(testapp, dbsession, make_applicant(dbsession, site, tier="basic"), clock,
            app_settings)
    message = "住民と同等の支援は、プレミアム登録の方だけが対象です。"
    assert message in testapp.get(f"{BASE}/{measure.id}").text
    page = testapp.get(f"{BASE}/{measure.id}/apply")
    assert message in page.text and "deform" not in page.forms
    refused = testapp.post(f"{BASE}/{measure.id}/apply", {
        "csrf_token": csrf_token(testapp), "cost1_label": "入館料", "cost1_amount": "500"},
        status=403)
    assert message in refused.text
    assert dbsession.scalar(select(SupportApplication.id)) is None


# -- coordinators --------------------------------------------------------------------


def test_coordinator_approves_pays_and_exports(testapp, dbsession, site, clock, app_settings):
    measure = make_measure(dbsession, site, budget_yen=100_000)
    first = submitted(dbsession, measure, make_applicant(dbsession, site, name="申請 一郎"),
                      clock=clock, settings=app_settings)
    second = submitted(dbsession, measure, make_applicant(dbsession, site, "b@example.jp"),
                       clock=clock, settings=app_settings)
    coordinator = signed_in_staff(testapp, dbsession, site, clock, app_settings, "coordinator")
    queue = testapp.get(f"{BASE}/applications/")
    assert "申請 一郎" in queue.text and "75,000" in queue.text
    assert audit(dbsession, "support.applications_view")[0].detail == {"rows": 2}

    page = testapp.get(f"{BASE}/applications/{first.id}")
    assert "75,000円で承認する" in page.text
    receipt_url = re.search(r'href="([^"]+/receipts/\d+)"', page.text).group(1)
    download = testapp.get(receipt_url)
    assert download.body == PDF_BYTES and "attachment" in download.headers["Content-Disposition"]
    assert len(audit(dbsession, "support.receipt_view")) == 1

    testapp.post(f"{BASE}/applications/{first.id}/approve",
                 {"csrf_token": csrf_token(testapp)}, status=303)
    refused = testapp.post(f"{BASE}/applications/{second.id}/approve",
                           {"csrf_token": csrf_token(testapp)}, status=403)
    assert "予算100,000円のうち、残りは25,000円です。" in refused.text
    rejected = form_with_action(testapp.get(f"{BASE}/applications/{second.id}"), "/reject")
    rejected["reason"] = "予算の上限に達したため"
    rejected.submit("reject", status=303)
    testapp.post(f"{BASE}/applications/{first.id}/paid",
                 {"csrf_token": csrf_token(testapp)}, status=303)
    dbsession.expire_all()
    assert (first.state, second.state, second.reason) == ("paid", "rejected",
                                                         "予算の上限に達したため")

    response = testapp.get(f"{BASE}/applications/export.csv")
    assert response.body.startswith(b"\xef\xbb\xbf")
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert rows[0] == ["申請番号", "施策番号", "施策", "状態", "承認額（円）", "承認日", "支払日"]
    assert rows[1][:5] == [str(first.id), str(measure.id), measure.title, "支払済み", "75000"]
    assert len(rows) == 2 and "申請 一郎" not in response.text
    [entry] = audit(dbsession, "support.export")
    assert (entry.actor_id, entry.detail) == (coordinator.id, {"rows": 1})


def form_with_action(page, action_end):
    return next(f for f in page.forms.values() if (f.action or "").endswith(action_end))


def test_the_registrant_sees_decisions_on_my_support(testapp, dbsession, site, clock,
                                                     app_settings):
    measure = make_measure(dbsession, site)
    person = make_applicant(dbsession, site)
    application = submitted(dbsession, measure, person, clock=clock, settings=app_settings)
    support.SupportService(dbsession, clock=clock, settings=app_settings).reject(
        actor_for(make_staff(dbsession, site, "coordinator")), application,
        "対象期間外の領収書です")
    sign_in(testapp, dbsession, person, clock, app_settings)
    page = testapp.get("/my/support")
    assert "不承認" in page.text and "対象期間外の領収書です" in page.text


# -- who may open what -----------------------------------------------------------------

ROLES = ("anonymous", "registrant", "basic", "site_admin", "editor", "reviewer",
         "coordinator", "partner", "other_site_admin", "operator")
EDIT = {"site_admin", "editor", "reviewer"}
HANDLE = {"site_admin", "coordinator"}
EVERYONE = set(ROLES)
REGISTRANTS = {"registrant", "basic"}


@pytest.fixture
def world(dbsession, site, clock, app_settings):
    other = make_site(dbsession, MATSUMOTO)
    published = make_measure(dbsession, site, slug="published")
    draft = make_measure(dbsession, site, "下書きの施策", state="draft", slug="draft")
    offer = make_offer(dbsession, site)
    registrant = make_applicant(dbsession, site, "premium@example.jp")
    application = submitted(dbsession, published, registrant, clock=clock,
                            settings=app_settings)
    receipt = application.receipts[0]
    accounts = {
        "registrant": registrant,
        "basic": make_applicant(dbsession, site, "basic@example.jp", tier="basic"),
        "operator": make_account(dbsession, "operator@example.jp", is_operator=True),
        "site_admin": make_staff(dbsession, site, "site_admin"),
        "editor": make_staff(dbsession, site, "editor"),
        "reviewer": make_staff(dbsession, site, "editor", email="reviewer@example.jp",
                               is_reviewer=True),
        "coordinator": make_staff(dbsession, site, "coordinator"),
        "partner": make_staff(dbsession, site, "partner"),
        "other_site_admin": make_staff(dbsession, other, "site_admin"),
    }
    urls = {"m": published.id, "d": draft.id, "o": offer.id, "a": application.id,
            "r": receipt.id}
    return accounts, urls


GET_MATRIX = [
    ("{b}/", EVERYONE),
    ("{b}/{m}", EVERYONE),
    ("{b}/{d}", set()),
    ("{b}/offers/{o}", EVERYONE),
    ("{b}/{m}/apply", REGISTRANTS),
    ("{b}/{d}/apply", set()),
    ("{b}/manage", EDIT),
    ("{b}/new", EDIT),
    ("{b}/offers/new", EDIT),
    ("{b}/{m}/edit", EDIT),
    ("{b}/{d}/edit", EDIT),
    ("{b}/offers/{o}/edit", EDIT),
    ("{b}/applications/", HANDLE),
    ("{b}/applications/export.csv", HANDLE),
    ("{b}/applications/{a}", HANDLE),
    ("{b}/applications/{a}/receipts/{r}", HANDLE),
    ("/my/support", REGISTRANTS),
]
POST_MATRIX = [
    ("{b}/new", EDIT),
    ("{b}/{m}/edit", EDIT),
    ("{b}/{d}/transition", EDIT),
    ("{b}/offers/new", EDIT),
    ("{b}/{m}/apply", {"registrant"}),  # basic: the service's refusal (premium only), 403
    ("{b}/applications/{a}/reject", HANDLE),
]


@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_what(testapp, dbsession, clock, app_settings, world, role):
    accounts, ids = world
    if role != "anonymous":
        sign_in(testapp, dbsession, accounts[role], clock, app_settings)
    wrong = []
    for pattern, allowed in GET_MATRIX:
        url = pattern.format(b=BASE, **ids)
        actual = post_outcome(testapp.get(url, expect_errors=True))
        if actual != ("allowed" if role in allowed else "denied"):
            wrong.append((url, actual))
    token = csrf_token(testapp)
    for pattern, allowed in POST_MATRIX:
        url = pattern.format(b=BASE, **ids)
        actual = post_outcome(testapp.post(url, {"csrf_token": token}, expect_errors=True))
        if actual != ("allowed" if role in allowed else "denied"):
            wrong.append(("POST " + url, actual))
    assert wrong == []
