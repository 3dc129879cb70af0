"""A registrant's own data through the pages: the JSON download and deleting the account."""
import json

import pytest
from sqlalchemy import func, select

from furusato_cms.models import (
    Account,
    AuditEntry,
    AuthSession,
    Consultation,
    GuardianConsent,
    IdentityVerification,
    RegistrantInterest,
    Registration,
    RoomPost,
    RoomThread,
    SurveyAnswer,
)

from ..community_factories import make_consultation, make_member, make_thread, open_room
from ..factories import PASSWORD, make_site, make_staff, sign_in
from ..notification_factories import make_person
from ..registrant_factories import make_personal_data, make_registrant


@pytest.fixture
def person(dbsession):
    return make_registrant(dbsession, "me@example.jp", name="住民 太郎")


@pytest.fixture
def site(dbsession):
    return make_site(dbsession)


def test_data_download_is_the_persons_own_and_never_cached(testapp, dbsession, clock,
                                                           app_settings, person, site):
    other = make_registrant(dbsession, "other@example.jp", name="他人 次郎")
    make_personal_data(dbsession, person, site)
    make_personal_data(dbsession, other, site, person="他人 次郎", subject="sub-2",
                       note="他人のメモ")
    sign_in(testapp, dbsession, person, clock, app_settings)
    response = testapp.get("/my/data.json")
    assert response.content_type == "application/json"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="furusato-my-data.json"')
    assert response.headers["Cache-Control"] == "no-store"
    data = response.json
    assert data["account"]["display_name"] == "住民 太郎"
    assert data["identity_verification"]["address"].startswith("長野県長野市")
    assert data["registrations"][0]["site"]["name"] == site.name
    assert "他人" not in response.text and "other@example.jp" not in response.text
    assert "password_hash" not in response.text and "token_hash" not in response.text


def test_only_signed_in_registrants_reach_their_data(testapp, dbsession, clock, app_settings,
                                                     site):
    assert testapp.get("/my/data.json", status=302).location.startswith(
        "http://localhost/signin")
    sign_in(testapp, dbsession, make_staff(dbsession, site, "site_admin"), clock, app_settings)
    testapp.get("/my/data.json", status=403)
    testapp.get("/my/delete", status=403)


def delete_form(testapp):
    page = testapp.get("/my/delete")
    assert "アカウントを削除する" in page.text
    assert page.click(href="/my/data.json$").status_int == 200
    return page.forms["deform"]


def test_a_wrong_password_deletes_nothing(testapp, dbsession, clock, app_settings, person):
    sign_in(testapp, dbsession, person, clock, app_settings)
    form = delete_form(testapp)
    form["password"] = "not my password"
    page = form.submit("delete", status=200)
    assert "パスワードが正しくありません。" in page.text
    dbsession.expire_all()
    assert dbsession.get(Account, person.id).email == "me@example.jp"


def test_deleting_removes_personal_data_keeps_the_count_and_signs_out(
        testapp, dbsession, clock, app_settings, person, site):
    data = make_personal_data(dbsession, person, site)
    text_answer_id, registration_id = data.text_answer.id, data.registration.id
    sign_in(testapp, dbsession, person, clock, app_settings)
    count = select(func.count()).select_from(Registration).where(Registration.site_id == site.id)
    before = dbsession.scalar(count)

    form = delete_form(testapp)
    form["password"] = PASSWORD
    response = form.submit("delete", status=303)
    assert response.location == "http://localhost/"
    assert "アカウントを削除しました" in response.follow().text
    assert testapp.get("/my/data.json", status=302)

    dbsession.expire_all()
    account = dbsession.get(Account, person.id)
    assert (account.email, account.display_name, account.password_hash) == (
        f"deleted-{person.id}@invalid", "", None)
    for table in (IdentityVerification, GuardianConsent, AuthSession):
        assert dbsession.scalars(select(table)).all() == []
    assert dbsession.get(SurveyAnswer, text_answer_id) is None
    assert dbsession.scalar(count) == before
    assert dbsession.get(Registration, registration_id).state == "left"
    audit = json.dumps([[e.actor_label, e.detail] for e in dbsession.scalars(select(AuditEntry))],
                       ensure_ascii=False)
    assert "account.delete" in [e.action for e in dbsession.scalars(select(AuditEntry))]
    assert "住民 太郎" not in audit and "me@example.jp" not in audit


def test_download_and_deletion_cover_consultations_the_room_and_interests(
        testapp, dbsession, clock, app_settings, site):
    person = make_member(dbsession, open_room(dbsession, site), "member@example.jp")
    make_person(dbsession, "fan@example.jp", interests=["agriculture"])
    dbsession.add(RegistrantInterest(account_id=person.id, interest="food"))
    make_consultation(dbsession, site, person, subject="空き家の相談", body="家族で住めますか")
    thread, _post = make_thread(dbsession, site, person, title="雪かきの仲間", body="一緒にどうですか")
    neighbour = make_member(dbsession, site, "neighbour@example.jp", name="隣人 花子")
    dbsession.add(RoomPost(thread_id=thread.id, author_id=neighbour.id, body="参加します",
                           created_at=thread.created_at, hidden_reason=""))
    dbsession.flush()
    sign_in(testapp, dbsession, person, clock, app_settings)

    data = testapp.get("/my/data.json").json
    assert data["consultations"][0]["messages"][0]["body"] == "家族で住めますか"
    assert [p["body"] for p in data["community_room"]["posts"]] == ["一緒にどうですか"]
    assert data["interests"] == ["food"]

    form = delete_form(testapp)
    form["password"] = PASSWORD
    form.submit("delete", status=303)
    dbsession.expire_all()
    assert dbsession.scalars(select(Consultation)).all() == []
    assert dbsession.scalars(select(RegistrantInterest.interest)).all() == ["agriculture"]
    assert dbsession.get(RoomThread, thread.id).title == "（削除されたアカウントの投稿）"
    assert sorted(dbsession.scalars(select(RoomPost.body).where(RoomPost.thread_id == thread.id))
                  ) == ["参加します", "（削除されたアカウントの投稿）"]
