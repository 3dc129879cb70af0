"""Member lists (会員名簿) read, checked and sent without HTTP: the columns a list may
have, row-level errors, what is left out, idempotent sending (also two lists at once on
PostgreSQL), the single-use link, forgetting, and the console script's exit codes."""
import io
import json
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.clock import FixedClock
from furusato_cms.models import MemberImport, MemberInvitee
from furusato_cms.services.audit import Actor
from furusato_cms.services.errors import Conflict
from furusato_cms.services.member_invitations import (
    InvitationLinks,
    MemberInvitationService,
    email_hash,
)
from furusato_cms.services.tabular_files import FileError

from .. import script_support
from ..concurrency.support import needs_postgresql, run_at_once
from ..conftest import NOW
from ..factories import NAGANO_CITY, make_site
from ..notification_factories import make_person

ACTOR = Actor(account_id=None, label="test")


def xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def city(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def service(dbsession, clock, app_settings):
    return MemberInvitationService(dbsession, clock=clock, settings=app_settings)


def check(service, city, content, filename="list.csv"):
    return service.check(ACTOR, city, filename, io.BytesIO(content), attestation="確認しました")


@pytest.mark.parametrize("heading", [
    ("メールアドレス", "氏名"), ("E-mail", "Name"), ("Ｅメールアドレス", "お名前"),
    ("email_address", "full name"), ("メール アドレス（必須）", "氏名"),
])
def test_column_names_in_their_usual_spellings(service, city, heading):
    found = service.read(city, "list.xlsx", xlsx([
        ("備考",) + heading, ("", "a@example.jp", "山田"), ("", "B@EXAMPLE.JP ", "")]))
    assert [(m.row, m.email, m.display_name) for m in found.members] == [
        (2, "a@example.jp", "山田"), (3, "b@example.jp", "")]


def test_shift_jis_csv_with_blank_rows_and_full_width_text(service, city):
    content = ("氏名,メールアドレス,郵便番号\r\n\r\n"
               "山田　花子,ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ,〒３８０－０００１\r\n")
    found = service.read(city, "list.csv", content.encode("cp932"))
    assert found.ok and found.rows_read == 1
    assert found.members[0].email == "hanako@example.jp"
    assert found.members[0].display_name == "山田 花子"


@pytest.mark.parametrize("content, message", [
    (b"name,phone\nA,090\n", "メールアドレス"),
    (b"email\n", "no people"),
    (b"\n\n", "no rows"),
    (b"\xff\xfe\x00\x00", "CSV"),
])
def test_unusable_files(service, city, content, message):
    with pytest.raises(FileError) as refused:
        service.read(city, "list.csv", content)
    assert message in str(refused.value.message) or message in refused.value.message.mapping.get(
        "row", "") or message.lower() in str(refused.value.message).lower()


def test_rows_left_out_and_rows_refused(service, dbsession, city):
    make_person(dbsession, "member@example.jp", city)
    make_person(dbsession, "elsewhere@example.jp")
    found = service.read(city, "list.csv", (
        "email,会員番号\n"
        "member@example.jp,1\n"
        "elsewhere@example.jp,2\n"
        "new@example.jp,3\n"
        "NEW@example.jp,4\n"
        "broken@,5\n"
        "long@example.jp," + "9" * 51 + "\n").encode())
    assert [m.email for m in found.members] == ["elsewhere@example.jp", "new@example.jp"]
    assert found.already_registered == [2]
    assert found.duplicates == [{"row": 5, "first_row": 4}]
    assert [(e.row, e.column) for e in found.errors] == [(6, "A"), (7, "B")]
    report = found.report()
    assert report["errors"][0]["msgid"] == "“${value}” is not an email address."
    assert (report["error_count"], report["rows_refused"]) == (2, 2)
    json.dumps(report)


def test_sending_twice_or_a_second_list_invites_nobody_twice(service, dbsession, city):
    first, _found = check(service, city, b"email\na@example.jp\nb@example.jp\n")
    second, _found = check(service, city, b"email\nb@example.jp\nc@example.jp\n")
    assert service.send(ACTOR, city, first) == 2
    with pytest.raises(Conflict):
        service.send(ACTOR, city, first)
    assert service.send(ACTOR, city, second) == 1
    assert second.report["already_invited"] == [2] and second.report["invited"] == 1
    hashes = dbsession.scalars(select(MemberInvitee.email_hash)).all()
    assert sorted(hashes) == sorted(email_hash(e) for e in ("a@example.jp", "b@example.jp",
                                                            "c@example.jp"))
    third, found = check(service, city, b"email\nc@example.jp\n")
    assert found.already_invited == [2] and third.state == "expired"


def test_a_kept_list_expires_after_a_day(service, city, clock):
    record, _found = check(service, city, b"email\na@example.jp\n")
    clock.moment = NOW + timedelta(days=1, minutes=1)
    assert not service.is_sendable(record)
    with pytest.raises(Conflict):
        service.send(ACTOR, city, record)


def test_links_are_signed_per_purpose_and_per_secret(app_settings):
    links = InvitationLinks(app_settings)
    token = links.token(12, "welcome")
    assert links.read(token, "welcome") == 12
    assert links.read(token, "stop") is None
    assert links.read(token.replace("12.", "13."), "welcome") is None
    other = InvitationLinks(type(app_settings)(**{**app_settings.__dict__,
                                                  "session_secret": "another"}))
    assert other.read(token, "welcome") is None


def test_the_link_works_once(service, dbsession, city, clock):
    record, _found = check(service, city, b"email\nnew@example.jp\n")
    service.send(ACTOR, city, record)
    invitee = dbsession.scalar(select(MemberInvitee))
    token = service.links.token(invitee.id, "welcome")
    assert service.find_open(token) is None
    invitee.state, invitee.sent_at = "sent", clock()
    assert service.find_open(token)[0] is invitee
    account = service.accept_with_new_account(
        invitee, display_name="新人", password="北アルプスの朝と林檎畑と千曲川の霧", locale="ja")
    assert account.email == "new@example.jp" and account.email_confirmed_at == clock()
    dbsession.refresh(invitee)
    assert service.find_open(token) is None
    with pytest.raises(Conflict):
        service.accept_signed_in(invitee, account)
    assert service.funnels([record.id])[record.id].signed_up == 1


# -- two lists at once (PostgreSQL) ---------------------------------------------------------

@needs_postgresql
def test_two_lists_sharing_addresses_sent_at_once_invite_each_address_once(own_database,
                                                                           app_settings):
    clock = FixedClock(NOW)
    with Session(own_database.engine) as setup:
        city = make_site(setup, NAGANO_CITY)
        shared = "".join(f"shared{n}@example.jp\n" for n in range(50))
        records = []
        for index in range(4):
            own = "".join(f"own{index}-{n}@example.jp\n" for n in range(10))
            record, _found = MemberInvitationService(setup, clock=clock, settings=app_settings)\
                .check(ACTOR, city, "list.csv", io.BytesIO(f"email\n{shared}{own}".encode()),
                       attestation="確認しました")
            records.append(record.id)
        setup.commit()
        site_id = city.id

    def send(session, record_id):
        service = MemberInvitationService(session, clock=clock, settings=app_settings)
        site = session.get(type(city), site_id)
        queued = service.send(ACTOR, site, session.get(MemberImport, record_id))
        session.commit()
        return queued

    results, errors = run_at_once(own_database.engine, send, records)
    assert errors == []
    assert sum(results) == 50 + 4 * 10
    with Session(own_database.engine) as check_session:
        assert check_session.scalar(select(func.count()).select_from(MemberInvitee)) == 90


# -- the console script ---------------------------------------------------------------------

@pytest.fixture
def script_db(script_database, tmp_path):
    url, engine = script_database
    with Session(engine) as setup:
        city = make_site(setup, NAGANO_CITY)
        make_person(setup, "member@example.jp", city)
        setup.commit()
    return script_support.write_ini(tmp_path / "members.ini", url), engine


def run_script(ini, *args):
    result = script_support.run_script("furusato-import-members", ini, *args, timeout=120)
    return result.returncode, result.stdout, result.stderr


def invitees(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(MemberInvitee))


def test_console_script_dry_run_then_send_then_again(script_db, tmp_path):
    ini, engine = script_db
    path = tmp_path / "fanclub.xlsx"
    path.write_bytes(xlsx([("会員番号", "メールアドレス"), (1, "a@example.jp"),
                           (2, "member@example.jp"), (3, "A@example.jp")]))
    status, out, err = run_script(ini, "--site", NAGANO_CITY, "--dry-run", str(path))
    dry = json.loads(out)
    assert (status, err) == (0, "")
    assert (dry["to_invite"], dry["invited"], dry["already_registered"], dry["duplicates"]) == (
        1, 0, [3], [{"row": 4, "first_row": 2}])
    assert invitees(engine) == 0

    status, out, _err = run_script(ini, "--site", NAGANO_CITY, "--message", "会報読者の皆さまへ",
                                   str(path))
    sent = json.loads(out)
    assert status == 0 and sent["invited"] == 1 and sent["member_import_id"]
    with Session(engine) as session:
        record = session.get(MemberImport, sent["member_import_id"])
        assert record.attested_via == "command line" and record.message == "会報読者の皆さまへ"
        assert record.attestation.startswith("長野市が、この名簿の人に")

    status, out, _err = run_script(ini, "--site", NAGANO_CITY, str(path))
    again = json.loads(out)
    assert status == 0 and again["invited"] == 0 and again["already_invited"] == [2]
    assert invitees(engine) == 1


def test_console_script_row_errors_send_nothing(script_db, tmp_path):
    ini, engine = script_db
    path = tmp_path / "list.csv"
    path.write_text("email,郵便番号\na@example.jp,12\nb@example.jp,380-0001\n", encoding="utf-8")
    status, out, _err = run_script(ini, "--site", NAGANO_CITY, str(path))
    report = json.loads(out)
    assert status == 1 and report["invited"] == 0
    assert report["errors"] == [{
        "row": 2, "column": "B",
        "message": "「12」は郵便番号ではありません。124-7834 のように7桁で書いてください。"}]
    assert invitees(engine) == 0
    status, out, _err = run_script(ini, "--site", NAGANO_CITY, "--lang", "en", str(path))
    assert json.loads(out)["errors"][0]["message"].startswith("“12” is not a postal code.")


@pytest.mark.parametrize("args, expected", [
    (["--site", "999999", "FILE"], "no site"),
    (["--site", NAGANO_CITY, "MISSING"], "No such file"),
    (["--site", NAGANO_CITY, "NOEMAIL"], "メールアドレス"),
])
def test_console_script_unusable_input_exits_2(script_db, tmp_path, args, expected):
    ini, _engine = script_db
    good = tmp_path / "list.csv"
    good.write_text("email\na@example.jp\n", encoding="utf-8")
    no_email = tmp_path / "names.csv"
    no_email.write_text("氏名\n山田\n", encoding="utf-8")
    paths = {"FILE": str(good), "MISSING": str(tmp_path / "nothing.csv"),
             "NOEMAIL": str(no_email)}
    status, out, _err = run_script(ini, *[paths.get(a, a) for a in args])
    assert status == 2 and expected in json.loads(out)["file_error"]


def test_forgetting_covers_expired_links_and_mails_refused_long_ago(service, dbsession, city,
                                                                     clock, app_settings):
    record, _found = check(service, city, b"email\nsent@example.jp\nrefused@example.jp\n"
                                          b"fresh@example.jp\n")
    service.send(ACTOR, city, record)
    sent, refused, fresh = dbsession.scalars(select(MemberInvitee).order_by(MemberInvitee.id))
    sent.state, sent.sent_at = "sent", clock()
    refused.state, refused.claimed_at = "failed", clock()
    dbsession.flush()
    clock.moment += timedelta(days=app_settings.member_invitation_days, minutes=1)
    fresh.state, fresh.sent_at = "sent", clock()
    dbsession.flush()
    assert service.forget_expired() == 2
    dbsession.expire_all()
    assert [i.email for i in (sent, refused, fresh)] == [None, None, "fresh@example.jp"]


def test_a_list_of_wrong_rows_reports_the_first_thousand_and_the_total(service, city):
    found = service.read(city, "list.csv", ("email\n" + "broken@\n" * 1005).encode())
    report = found.report()
    assert len(report["errors"]) == 1000 and report["errors"][0]["row"] == 2
    assert (report["error_count"], report["rows_refused"]) == (1005, 1005)
