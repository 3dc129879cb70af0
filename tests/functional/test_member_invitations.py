"""Invitations from a member list, through the screens and a real SMTP exchange:
/s/{code}/members/ (upload, attest, check, send), the mail the sender delivers, its
single-use link (/welcome/{token}) to sign-up and registration, its one-click stop, and
the funnel. Who may do what."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from webtest import Upload

from furusato_cms.models import Account, AuditEntry, MemberImport, MemberInvitee, Registration
from furusato_cms.scripts.send_campaign import run
from furusato_cms.models import get_session_factory

from ..content_factories import signed_in_staff
from ..access import stranger
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff, sign_in
from ..notification_factories import make_person

BASE = f"/s/{NAGANO_CITY}/members/"
HEADING = "会員番号,氏名,メールアドレス,郵便番号\n"


def csv_list(*rows) -> bytes:
    return (HEADING + "".join(",".join(row) + "\n" for row in rows)).encode("utf-8")


CLEAN = csv_list(("1", "山田 花子", "hanako@example.jp", "380-0001"),
                 ("2", "鈴木 一郎", "Ichiro@Example.jp", ""),
                 ("3", "", "jiro@example.jp", "3800002"))


@pytest.fixture
def city(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def coordinator(testapp, dbsession, city, clock, app_settings):
    return signed_in_staff(testapp, dbsession, city, clock, app_settings, "coordinator")


def upload(testapp, data, filename="会員名簿.csv", attest=True, message="", status=303):
    form = testapp.get(BASE).forms["deform"]
    form["upload"] = Upload(filename, data)
    form["message"] = message
    if attest:
        form["attest"] = True
    return form.submit("check", status=status)


def send_list(testapp, dbsession, data=CLEAN, **kw):
    page = upload(testapp, data, **kw).follow()
    form = next(f for f in page.forms.values() if f.action.endswith("/send"))
    return form.submit(status=303).follow()


def deliver(connection, clock, app_settings) -> dict:
    """furusato-send-campaign's run over the test's connection (a real SMTP exchange)."""
    return run(get_session_factory(connection), app_settings, clock)


def summary(page) -> dict:
    return {row.th.get_text(strip=True): row.td.get_text(strip=True)
            for row in page.html.select("table.summary-table tbody tr")}


def link_of(mail, kind="welcome") -> str:
    pattern = r"http://localhost(/welcome/stop/\S+)" if kind == "stop" else \
        r"http://localhost(/welcome/(?!stop/)\S+)"
    return re.search(pattern, mail["text"]).group(1)


def test_the_page_asks_for_the_attestation_in_japanese(testapp, city, coordinator):
    page = testapp.get(BASE)
    assert "会員名簿から招待する" in page.text
    assert "長野市が、この名簿の人に" in page.text
    page = upload(testapp, CLEAN, attest=False, status=400)
    assert "連絡してよいことを確かめて、チェックを入れてください。" in page.text


def test_a_clean_list_is_previewed_then_sent_once(testapp, dbsession, connection, city,
                                                 coordinator, clock, app_settings, catcher):
    make_person(dbsession, "member@example.jp", city)
    data = CLEAN + "4,登録 済子,member@example.jp,\n5,山田 花子,HANAKO@example.jp,\n".encode()
    preview = upload(testapp, data, message="ファンクラブの皆さまへ").follow()
    assert "確認結果：招待するのは 3 人" in preview.text
    figures = summary(preview)
    assert figures["名簿の人数"] == "5" and figures["招待する人"] == "3"
    assert figures["ファイル内で重複（招待は1回）"] == "1"
    assert figures["このサイトに登録済み"] == "1"
    assert dbsession.scalar(select(func.count()).select_from(MemberInvitee)) == 0

    record = dbsession.scalar(select(MemberImport))
    assert record.attested_by_id == coordinator.id and record.attested_via == "web"
    assert record.attestation.startswith("長野市が、この名簿の人に")
    sent = next(f for f in preview.forms.values() if f.action.endswith("/send")).submit(
        status=303).follow()
    assert "3 件の招待を送信待ちにしました。" in sent.text
    assert dbsession.scalar(select(MemberImport.content)) is None

    assert deliver(connection, clock, app_settings)["invitations_sent"] == 3
    [mail] = catcher.messages(to="hanako@example.jp")
    assert mail["subject"] == "長野市から、ふるさと住民登録のご案内"
    assert "山田 花子 様" in mail["text"] and "ファンクラブの皆さまへ" in mail["text"]
    assert dict(mail["headers"])["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert catcher.messages(to="ichiro@example.jp")
    assert catcher.messages(to="member@example.jp") == []
    assert deliver(connection, clock, app_settings)["invitations_sent"] == 0

    again = upload(testapp, data, status=400)
    assert "全員が、このサイトに登録済みか、前に招待した人です。" in again.text
    assert dbsession.scalar(select(func.count()).select_from(MemberInvitee)) == 3


def test_row_errors_send_nothing_and_keep_nothing(testapp, dbsession, city, coordinator):
    data = csv_list(("1", "山田 花子", "hanako@example", "380-0001"),
                    ("2", "鈴木", "", "12-34"),
                    ("3", "x" * 101, "ok@example.jp", ""))
    page = upload(testapp, data, status=400)
    rows = [[c.get_text(strip=True) for c in row.select("td")]
            for row in page.html.select("section.card table.stack-table tbody tr")]
    assert ["2", "C", "「hanako@example」はメールアドレスではありません。"] in rows
    assert ["3", "C", "メールアドレスがありません。"] in rows
    assert any(r[:2] == ["3", "D"] for r in rows) and any(r[:2] == ["4", "B"] for r in rows)
    assert "会員名簿.csv の 3 行に問題があります。" in page.text
    record = dbsession.scalar(select(MemberImport))
    assert record.state == "expired" and record.content is None
    testapp.post(f"{BASE}{record.id}/send", {"csrf_token": page.forms["deform"]["csrf_token"]
                                               .value}, status=303)
    assert dbsession.scalar(select(func.count()).select_from(MemberInvitee)) == 0


def test_an_unusable_file_is_refused_on_the_form(testapp, city, coordinator):
    page = upload(testapp, "名前,電話\n山田,090\n".encode(), status=400)
    assert "メールアドレス" in page.html.select_one(".error, .help-block, [role=alert]").text \
        or "「メールアドレス」" in page.text
    page = upload(testapp, b"PK\x03\x04broken", filename="list.xlsx", status=400)
    assert "Excel" in page.text


def test_the_link_signs_up_registers_and_counts_in_the_funnel(
        app, testapp, dbsession, connection, city, coordinator, clock, app_settings, catcher):
    send_list(testapp, dbsession)
    deliver(connection, clock, app_settings)
    path = link_of(catcher.messages(to="hanako@example.jp")[0])
    person = stranger(app, connection, clock)
    page = person.get(path)
    assert "長野市からの招待" in page.text and "hanako@example.jp" in page.text
    form = page.forms["deform"]
    assert form["display_name"].value == "山田 花子"
    form["password"] = form["password_again"] = "りんご畑と北アルプスの朝"
    form["accept_terms"] = True
    registration = form.submit("signup", status=303)
    while registration.status_int == 303:
        registration = registration.follow()
    assert registration.request.path == f"/s/{NAGANO_CITY}/register"
    assert "いくつかの質問に答えて、長野市に登録してください。" in registration.text
    account = dbsession.scalar(select(Account).where(Account.email == "hanako@example.jp"))
    assert account.email_confirmed_at is not None
    invitee = dbsession.scalar(select(MemberInvitee).where(MemberInvitee.account_id == account.id))
    assert invitee.used_at is not None and invitee.email is None and invitee.display_name == ""

    assert "このリンクは使えません" in stranger(app, connection, clock).get(path, status=404).text

    dbsession.add(Registration(account_id=account.id, site_id=city.id, tier="premium",
                               state="active", relationship_types=[1], connections=[],
                               registered_at=clock(), state_changed_at=clock()))
    dbsession.flush()
    listing = testapp.get(BASE)
    cells = [td.get_text(strip=True) for td in listing.html.select("table.stack-table tbody td")]
    assert cells[2:] == ["3", "1", "1", "1"]
    detail = testapp.get(f"{BASE}{invitee.member_import_id}")
    assert summary(detail)["招待を使って登録アカウントを作った人"] == "1"


def test_a_person_with_an_account_signs_in_and_comes_back(
        app, testapp, dbsession, connection, city, coordinator, clock, app_settings, catcher):
    existing = make_person(dbsession, "jiro@example.jp")
    send_list(testapp, dbsession)
    deliver(connection, clock, app_settings)
    path = link_of(catcher.messages(to="jiro@example.jp")[0])
    person = stranger(app, connection, clock)
    page = person.get(path)
    assert "すでにアカウントがあります" in page.text
    assert "deform" not in page.forms
    sign_in(person, dbsession, existing, clock, app_settings)
    page = person.get(path)
    page.forms["deform"].submit("continue", status=303)
    invitee = dbsession.scalar(select(MemberInvitee).where(MemberInvitee.account_id == existing.id))
    assert invitee is not None and invitee.used_at is not None


def test_one_click_stop_forgets_the_address(app, testapp, dbsession, connection, city,
                                           coordinator, clock, app_settings, catcher):
    send_list(testapp, dbsession)
    deliver(connection, clock, app_settings)
    mail = catcher.messages(to="ichiro@example.jp")[0]
    stop = link_of(mail, "stop")
    assert dict(mail["headers"])["List-Unsubscribe"].strip() == f"<http://localhost{stop}>"
    person = stranger(app, connection, clock)
    assert "長野市からの招待を、今後受け取らない" in person.get(stop).text
    done = person.post(stop, "List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded")
    assert "長野市からは、今後招待を送りません。" in done.text
    invitee = dbsession.scalar(select(MemberInvitee).where(
        MemberInvitee.unsubscribed_at.is_not(None)))
    assert invitee.email is None
    person.get(link_of(mail), status=404)
    page = upload(testapp, csv_list(("9", "", "ichiro@example.jp", "")), status=400)
    assert "前に招待した人" in page.text


@pytest.mark.parametrize("change", [
    lambda path: re.sub(r"/(\d+)\.", lambda m: f"/{int(m.group(1)) + 1}.", path),
    lambda path: path[:-3] + "AAA",
    lambda path: "/welcome/not-a-token",
])
def test_a_forged_link_is_refused(app, testapp, dbsession, connection, city, coordinator, clock,
                                  app_settings, catcher, change):
    send_list(testapp, dbsession)
    deliver(connection, clock, app_settings)
    path = change(link_of(catcher.messages(to="hanako@example.jp")[0]))
    person = stranger(app, connection, clock)
    person.get(path, status=404)
    person.get(path.replace("/welcome/", "/welcome/stop/"), status=404)
    person.post(path.replace("/welcome/", "/welcome/stop/"), "List-Unsubscribe=One-Click",
                status=404)
    assert dbsession.scalar(select(func.count()).select_from(MemberInvitee).where(
        MemberInvitee.unsubscribed_at.is_not(None))) == 0


def test_an_expired_link_no_longer_works_and_is_forgotten(
        app, testapp, dbsession, connection, city, coordinator, clock, app_settings, catcher):
    send_list(testapp, dbsession)
    deliver(connection, clock, app_settings)
    path = link_of(catcher.messages(to="hanako@example.jp")[0])
    clock.moment += timedelta(days=app_settings.member_invitation_days, minutes=1)
    stranger(app, connection, clock).get(path, status=404)
    assert deliver(connection, clock, app_settings)["invitations_forgotten"] == 3
    assert dbsession.scalar(select(func.count()).select_from(MemberInvitee).where(
        MemberInvitee.email.is_not(None))) == 0


@pytest.mark.parametrize("role, is_reviewer", [("editor", False), ("editor", True),
                                               ("partner", False)])
def test_other_staff_may_not_invite(testapp, dbsession, city, clock, app_settings, role,
                                    is_reviewer):
    signed_in_staff(testapp, dbsession, city, clock, app_settings, role, is_reviewer=is_reviewer)
    testapp.get(BASE, status=403)


def test_site_admins_may_and_other_sites_lists_are_not_found(testapp, dbsession, city, clock,
                                                             app_settings):
    other = make_site(dbsession, MATSUMOTO)
    admin = make_staff(dbsession, other, "site_admin")
    sign_in(testapp, dbsession, admin, clock, app_settings)
    testapp.get(f"/s/{MATSUMOTO}/members/")
    testapp.get(BASE, status=403)
    record = MemberImport(site_id=city.id, filename="x.csv", sha256="0" * 64, attestation="x",
                          report={}, created_at=clock())
    dbsession.add(record)
    dbsession.flush()
    testapp.get(f"/s/{MATSUMOTO}/members/{record.id}", status=404)


def test_registrants_and_visitors_may_not_invite(testapp, app, connection, dbsession, city,
                                                 clock, app_settings):
    stranger(app, connection, clock).get(BASE, status=(302, 303, 403))
    sign_in(testapp, dbsession, make_person(dbsession, "p@example.jp", city), clock,
            app_settings)
    testapp.get(BASE, status=403)


def test_checking_and_sending_are_audited(testapp, dbsession, city, coordinator):
    send_list(testapp, dbsession)
    actions = dbsession.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("member_import.%"))).all()
    assert sorted(actions) == ["member_import.checked", "member_import.sent"]
