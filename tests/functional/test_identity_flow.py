"""Identity verification through the browser: /my/identity → the local My Number Card
provider (a real process) → /my/identity/callback, the friendly page on every failure,
and the guardian's consent for minors through the mailed link."""
import re
import socket
from urllib.parse import parse_qsl, urlsplit

import pytest
import webtest
from sqlalchemy import func, select

from furusato_cms import main
from furusato_cms.models import GuardianConsent, IdentityVerification, Registration
from furusato_cms.services.identity import IdentityService

from ..conftest import base_settings, service_settings
from ..factories import NAGANO_CITY, NAGANO_PREF, T0, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant

FAULT_PEOPLE = ["fault-bad-signature", "fault-wrong-nonce", "fault-expired",
                "fault-wrong-audience"]
FAILED = "本人確認は完了しませんでした"
NOTHING_CHANGED = "本人確認はされず、何も変更されていません。"


@pytest.fixture
def person(testapp, dbsession, clock, app_settings):
    account = make_registrant(dbsession, "person@example.jp")
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def start(testapp):
    """Press "Verify with My Number Card"; return the provider's authorization URL."""
    page = testapp.get("/my/identity")
    form = next(f for f in page.forms.values() if f.action.endswith("/my/identity/start"))
    answer = form.submit()
    assert answer.status_int == 303
    return answer.location


def verify_in_browser(testapp, provider, person_key):
    return testapp.get(provider.choose_person(start(testapp), person_key))


def verifications(dbsession) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(IdentityVerification))


def assert_friendly_failure(page, reason_text=""):
    assert page.status_int == 200
    assert FAILED in page and NOTHING_CHANGED in page
    assert reason_text in page
    retry = next(f for f in page.forms.values() if f.action.endswith("/my/identity/start"))
    assert retry.method.lower() == "post"


def test_the_whole_flow_verifies_and_shows_the_home_municipality(
        testapp, person, app_oidc_provider, dbsession):
    page = testapp.get("/my/identity")
    assert "マイナンバーカードで本人確認をする" in page
    assert "個人番号（マイナンバー）を受け取ったり保存したりすることはありません" in page

    back = verify_in_browser(testapp, app_oidc_provider, "nagano-adult")
    assert back.status_int == 303 and back.location.endswith("/my/identity")
    page = back.follow()
    assert "本人確認が完了しました。" in page
    assert "氏名" in page and "佐藤 花子" in page and "1990年8月3日" in page
    assert "長野市 (202011)" in page

    dbsession.expire_all()
    verification = dbsession.scalar(select(IdentityVerification))
    assert verification.account_id == person.id and verification.home_code == NAGANO_CITY
    row = dbsession.execute(select(IdentityVerification.__table__)).mappings().one()
    assert not any(re.search(r"\d{12}", str(value)) for value in row.values())


def test_registrations_become_at_home_after_verification(
        testapp, person, app_oidc_provider, dbsession):
    registrations = [
        Registration(account_id=person.id, site_id=make_site(dbsession, code).id,
                     registered_at=T0, state_changed_at=T0, relationship_types=[1], connections=[])
        for code in (NAGANO_CITY, NAGANO_PREF, "202029")
    ]
    dbsession.add_all(registrations)
    dbsession.flush()
    verify_in_browser(testapp, app_oidc_provider, "nagano-adult")
    dbsession.expire_all()
    assert [r.at_home for r in registrations] == [True, True, False]


def test_a_second_account_cannot_verify_the_same_person(
        testapp, person, app_oidc_provider, dbsession, clock, app_settings):
    first = make_registrant(dbsession, "first@example.jp")
    service = IdentityService(dbsession, clock=clock, settings=app_settings)
    url, pending = service.begin(first)
    callback = app_oidc_provider.choose_person(url, "nagano-adult")
    service.complete(first, pending, dict(parse_qsl(urlsplit(callback).query)))

    page = verify_in_browser(testapp, app_oidc_provider, "nagano-adult")
    assert_friendly_failure(page, "この方の本人確認は、すでに別のアカウントで済んでいます。")
    assert verifications(dbsession) == 1


@pytest.mark.parametrize("person_key", FAULT_PEOPLE)
def test_a_faulty_provider_answer_ends_on_the_friendly_page(
        testapp, person, app_oidc_provider, dbsession, person_key):
    page = verify_in_browser(testapp, app_oidc_provider, person_key)
    assert_friendly_failure(page)
    assert verifications(dbsession) == 0
    assert "本人確認が完了しました" not in testapp.get("/my/identity")


def test_a_wrong_state_is_refused_and_the_request_is_spent(
        testapp, person, app_oidc_provider, dbsession):
    callback = app_oidc_provider.choose_person(start(testapp), "nagano-adult")
    forged = re.sub(r"state=[^&]+", "state=%E3%81%82", callback)
    assert_friendly_failure(testapp.get(forged), "この手続きと一致しませんでした")
    # The pending request was used up: the genuine answer no longer works either.
    assert_friendly_failure(testapp.get(callback), "手続きが見つかりませんでした")
    assert verifications(dbsession) == 0


def test_a_callback_without_a_started_request_is_refused(testapp, person, dbsession):
    page = testapp.get("/my/identity/callback?code=abc&state=xyz")
    assert_friendly_failure(page, "手続きが見つかりませんでした")
    page = testapp.get("/my/identity/callback")
    assert_friendly_failure(page)
    assert verifications(dbsession) == 0


def test_cancelling_at_the_provider_is_refused_kindly(
        testapp, person, app_oidc_provider, dbsession):
    page = testapp.get(app_oidc_provider.cancel(start(testapp)))
    assert_friendly_failure(page, "本人確認が取り消されました。")


def test_a_provider_that_is_down_is_a_friendly_page(
        db_url, mail_catcher, app_oidc_provider, connection, clock, dbsession, app_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = service_settings(mail_catcher, app_oidc_provider)
    settings["furusato.oidc_issuer"] = f"http://127.0.0.1:{port}"
    down = webtest.TestApp(main({}, **base_settings(db_url, **settings)), extra_environ={
        "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1",
        "furusato.db_connection": connection, "furusato.clock": clock,
    })
    account = make_registrant(dbsession, "person@example.jp")
    sign_in(down, dbsession, account, clock, app_settings)
    page = down.get("/my/identity")
    form = next(f for f in page.forms.values() if f.action.endswith("/my/identity/start"))
    assert_friendly_failure(form.submit(), "本人確認サービスに接続できませんでした。")
    assert verifications(dbsession) == 0


def test_only_registrants_reach_the_identity_pages(testapp, dbsession, clock, app_settings):
    answer = testapp.get("/my/identity")
    assert answer.status_int == 302 and "/signin" in answer.location
    staff = make_staff(dbsession, make_site(dbsession), "editor")
    sign_in(testapp, dbsession, staff, clock, app_settings)
    testapp.get("/my/identity", status=403)
    testapp.get("/my/identity/callback?code=a&state=b", status=403)


# --- minors -------------------------------------------------------------------------------

def guardian_link(mail_catcher, address) -> str:
    (message,) = mail_catcher.messages(to=address)
    assert message["subject"] == "保護者としての同意の確認をお願いします"
    return re.search(r"http://localhost(/guardian-consent/\S+)", message["text"]).group(1)


def choose(form, value):
    """Tick a radio button by its value (deform names radio groups by their widget id)."""
    (name,) = [name for name, fields in form.fields.items()
               if any(value in [option[0] for option in getattr(field, "options", [])]
                      for field in fields)]
    form[name] = value


def test_a_minor_asks_a_guardian_who_confirms_through_the_link(
        app, testapp, person, app_oidc_provider, mail_catcher, dbsession, clock, app_settings):
    mail_catcher.clear()
    service = IdentityService(dbsession, clock=clock, settings=app_settings)
    page = verify_in_browser(testapp, app_oidc_provider, "tokyo-minor").follow()
    assert "18歳未満のため、保護者の方に同意をお願いしてください。" in page
    assert "世田谷区 (131121)" in page
    page = page.click("保護者に同意をお願いする")

    form = page.forms["deform"]
    form["guardian_name"] = "鈴木 一郎"
    choose(form, "father")
    form["guardian_email"] = "person@example.jp"
    refused = form.submit("send")
    assert "保護者ご本人のメールアドレスを入力してください" in refused
    assert refused.forms["deform"]["guardian_name"].value == "鈴木 一郎"

    form = refused.forms["deform"]
    form["guardian_email"] = "papa@example.jp"
    page = form.submit("send").follow()
    assert "papa@example.jp" in page and "確認を待っています" in page
    dbsession.expire_all()
    assert not service.has_valid_guardian_consent(person)

    guardian = webtest.TestApp(app, extra_environ=testapp.extra_environ)
    link = guardian_link(mail_catcher, "papa@example.jp")
    ask = guardian.get(link)
    assert "鈴木 さくらさんが、ふるさと住民登録について" in ask and "鈴木 一郎 (父)" in ask
    assert ask.headers["Cache-Control"] == "no-store"
    done = ask.forms[next(k for k, f in ask.forms.items() if f.action.endswith(link))].submit()
    assert "ありがとうございます。鈴木 さくらさんへの同意を記録しました。" in done

    dbsession.expire_all()
    assert service.has_valid_guardian_consent(person)
    consent = dbsession.scalar(select(GuardianConsent))
    assert consent.confirmed_at == clock() and consent.token_hash is None
    assert "鈴木 一郎さん（父）が" in testapp.get("/my/identity")
    guardian.get(link, status=404)


def test_an_unknown_guardian_link_is_a_plain_refusal(testapp):
    page = testapp.get("/guardian-consent/not-a-token", status=404)
    assert "このリンクは無効です。" in page


def test_adults_are_not_asked_for_a_guardian(testapp, person, app_oidc_provider):
    verify_in_browser(testapp, app_oidc_provider, "tokyo-adult")
    answer = testapp.get("/my/identity/guardian")
    assert answer.status_int == 303 and answer.location.endswith("/my/identity")


def test_imported_attendance_waiting_for_the_person_attaches_on_verification(
        testapp, person, app_oidc_provider, dbsession):
    """An earlier paper record of 佐藤 花子 (imported before she had an account) becomes
    her attendance the moment she verifies with the My Number Card."""
    from datetime import date, datetime, timezone

    from furusato_cms.models import Attendance, PendingAttendanceClaim

    from ..activity_factories import make_project, make_session

    site = make_site(dbsession, NAGANO_CITY)
    session = make_session(dbsession, make_project(dbsession, site, state="archived"),
                           datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc))
    dbsession.add(PendingAttendanceClaim(
        session_id=session.id, site_id=site.id, name_key="佐藤花子",
        birthdate=date(1990, 8, 3), postal_code="3800851", created_at=T0))
    dbsession.flush()

    verify_in_browser(testapp, app_oidc_provider, "nagano-adult")

    dbsession.expire_all()
    attendance = dbsession.scalar(select(Attendance).where(Attendance.account_id == person.id))
    assert attendance is not None and attendance.session_id == session.id
    assert attendance.source == "import"
    assert dbsession.scalar(select(PendingAttendanceClaim.attached_at)) is not None
