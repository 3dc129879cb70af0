"""Registrant account rules without HTTP: sign-up and confirmation by mail, password
reset, throttling with the clock, the data export and deleting an account."""
import json
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from furusato_cms.models import (
    Account,
    ActivitySession,
    Attendance,
    AuditEntry,
    AuthSession,
    CardCode,
    Consultation,
    ConsultationAttachment,
    ConsultationMessage,
    EmailToken,
    GuardianConsent,
    IdentityVerification,
    InboxMessage,
    MonitorChoice,
    MonitorResponse,
    NotificationCampaign,
    NotificationPreference,
    OutboxMail,
    PremiumApplication,
    PremiumSlot,
    RegistrantInterest,
    Registration,
    RegistrationEvent,
    RoomPost,
    RoomReport,
    RoomThread,
    SessionApplication,
    SigninThrottle,
    SiteFollow,
    StayDeclaration,
    StayDocument,
    StayRecord,
    SupportApplication,
    SupportReceipt,
    SurveyAnswer,
    Unsubscribe,
)
from furusato_cms.services.authentication import (
    EmailNotConfirmed,
    SessionService,
    SigninFailed,
    SigninLocked,
    SigninService,
    hash_token,
)
from furusato_cms.services.card_codes import CardCodes
from furusato_cms.services.errors import InvalidInput
from furusato_cms.services.passwords import verify_password
from furusato_cms.services.personal_data import PersonalDataExport
from furusato_cms.services.registrant_accounts import (
    LinkNotValid,
    RegistrantAccountService,
    RequestsThrottled,
)

from ..activity_factories import make_attendance, make_project, make_session
from ..attendance_factories import make_application
from ..community_factories import (
    PDF,
    make_consultation,
    make_monitor_survey,
    make_thread,
    open_room,
)
from ..conftest import NOW
from ..factories import PASSWORD, T0, make_account, make_site
from ..notification_factories import follow
from ..premium_factories import UEDA, make_premium, make_stays
from ..registrant_factories import mail_link, make_personal_data, make_registrant
from ..support_factories import make_measure, make_registration

ADDR = "192.0.2.20"
NEW_PASSWORD = "a brand new pass phrase"


@pytest.fixture
def service(dbsession, clock, app_settings):
    return RegistrantAccountService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def mail(mail_catcher):
    mail_catcher.clear()
    return mail_catcher


def token_of(path):
    return path.rsplit("/", 1)[1]


def sign_up(service, email="new@example.jp", *, locale="ja", addr=ADDR, name="新井 一郎"):
    return service.sign_up(email, name, PASSWORD, locale, addr)


def accounts_with(dbsession, email):
    return dbsession.scalar(select(func.count()).select_from(Account).where(Account.email == email))


def actions(dbsession):
    return [e.action for e in dbsession.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# Sign-up and confirmation ---------------------------------------------------------------

def test_sign_up_makes_an_unconfirmed_registrant_and_mails_a_hashed_link(
        service, dbsession, clock, mail):
    account = sign_up(service, " New@Example.jp ")
    assert (account.kind, account.email, account.locale) == ("registrant", "new@example.jp", "ja")
    assert account.email_confirmed_at is None
    assert verify_password(account.password_hash, PASSWORD)
    [message] = mail.messages(to="new@example.jp")
    assert message["subject"] == "メールアドレスの確認"
    assert "新井 一郎 様" in message["text"] and "48時間以内" in message["text"]
    token = token_of(mail_link(mail, "new@example.jp", "/confirm/"))
    link = dbsession.scalar(select(EmailToken).where(EmailToken.account_id == account.id))
    assert link.token_hash == hash_token(token) and token not in link.token_hash
    assert (link.purpose, link.expires_at) == ("confirm_email", clock() + timedelta(hours=48))
    assert "account.signup" in actions(dbsession)


def test_mail_is_written_in_the_language_chosen_at_sign_up(service, mail):
    sign_up(service, "english@example.jp", locale="en", name="Emma")
    [message] = mail.messages(to="english@example.jp")
    assert message["subject"] == "Confirm your email address"
    assert message["text"].startswith("Hello Emma,")


def test_confirming_marks_the_address_and_uses_the_link_once(service, dbsession, clock, mail):
    account = sign_up(service)
    token = token_of(mail_link(mail, "new@example.jp", "/confirm/"))
    assert service.find_link(token, "confirm_email") is not None
    assert service.confirm(token, ADDR) is account
    assert account.email_confirmed_at == clock()
    assert service.find_link(token, "confirm_email") is None
    with pytest.raises(LinkNotValid):
        service.confirm(token, ADDR)
    assert "account.email_confirm" in actions(dbsession)


def test_an_expired_confirmation_link_is_refused(service, clock, mail):
    account = sign_up(service)
    token = token_of(mail_link(mail, "new@example.jp", "/confirm/"))
    clock.advance(timedelta(hours=48))
    with pytest.raises(LinkNotValid):
        service.confirm(token, ADDR)
    assert account.email_confirmed_at is None


def test_a_link_of_one_purpose_does_not_work_for_the_other(service, mail):
    sign_up(service)
    token = token_of(mail_link(mail, "new@example.jp", "/confirm/"))
    with pytest.raises(LinkNotValid):
        service.reset_password(token, NEW_PASSWORD, ADDR)


def test_resending_replaces_the_earlier_link(service, mail):
    account = sign_up(service)
    first = token_of(mail_link(mail, "new@example.jp", "/confirm/"))
    service.resend_confirmation("NEW@example.jp", ADDR)
    second = token_of(mail_link(mail, "new@example.jp", "/confirm/"))
    assert first != second
    with pytest.raises(LinkNotValid):
        service.confirm(first, ADDR)
    assert service.confirm(second, ADDR) is account


@pytest.mark.parametrize("email", ["done@example.jp", "nobody@example.jp", "staff@example.jp"])
def test_resend_sends_nothing_unless_an_unconfirmed_registrant_has_the_address(
        service, dbsession, mail, email):
    make_registrant(dbsession, "done@example.jp")
    make_account(dbsession, "staff@example.jp")
    service.resend_confirmation(email, ADDR)
    assert mail.messages() == []


def test_signing_up_with_a_known_address_tells_its_owner_and_makes_nothing(
        service, dbsession, mail):
    make_registrant(dbsession, "taken@example.jp", locale="en", name="Owner")
    assert sign_up(service, "Taken@example.jp") is None
    assert accounts_with(dbsession, "taken@example.jp") == 1
    [message] = mail.messages(to="taken@example.jp")
    assert message["subject"] == "Someone tried to sign up with your email address"
    assert "http://localhost/password-reset" in message["text"].splitlines()
    assert dbsession.scalar(select(func.count()).select_from(EmailToken)) == 0


@pytest.mark.parametrize("password, message", [
    ("new@example.jp", "This password is too easy to guess."),
    ("short", "Use at least ${min} characters."),
    ("password1234", "This password is too easy to guess."),
    ("qwerty123456!", "This password is too easy to guess."),
    ("furusato2026!", "This password is too easy to guess."),
])
def test_sign_up_refuses_a_weak_password(service, dbsession, mail, password, message):
    with pytest.raises(InvalidInput) as refused:
        service.sign_up("new@example.jp", "新井", password, "ja", ADDR)
    assert (refused.value.field, str(refused.value.message)) == ("password", message)
    assert accounts_with(dbsession, "new@example.jp") == 0
    assert mail.messages() == []


def test_sign_ups_are_throttled_per_address_until_the_lock_ends(service, clock, app_settings, mail):
    for number in range(app_settings.signin_max_failures):
        sign_up(service, f"p{number}@example.jp")
    with pytest.raises(RequestsThrottled):
        sign_up(service, "one-more@example.jp")
    assert sign_up(service, "elsewhere@example.jp", addr="192.0.2.99") is not None
    clock.advance(timedelta(minutes=app_settings.signin_lockout_minutes))
    assert sign_up(service, "one-more@example.jp") is not None


# Sign-in of registrants -----------------------------------------------------------------

def test_an_unconfirmed_registrant_cannot_sign_in_but_a_wrong_password_says_nothing(
        dbsession, clock, app_settings):
    signin = SigninService(dbsession, clock=clock, settings=app_settings)
    make_registrant(dbsession, "waiting@example.jp", confirmed=False)
    with pytest.raises(SigninFailed):
        signin.authenticate("waiting@example.jp", "wrong password!", ADDR)
    with pytest.raises(EmailNotConfirmed):
        signin.authenticate("waiting@example.jp", PASSWORD, ADDR)
    make_registrant(dbsession, "ready@example.jp")
    assert signin.authenticate("ready@example.jp", PASSWORD, ADDR).email == "ready@example.jp"


# Password reset -------------------------------------------------------------------------

def test_reset_works_for_staff_and_ends_every_session(service, dbsession, clock, app_settings,
                                                      mail):
    staff = make_account(dbsession, "staff@example.jp")
    sessions = SessionService(dbsession, clock=clock, settings=app_settings)
    _token, old_session = sessions.start(staff, ADDR)
    service.request_password_reset("Staff@Example.jp", ADDR)
    [message] = mail.messages(to="staff@example.jp")
    assert message["subject"] == "新しいパスワードの設定" and "60分以内" in message["text"]
    token = token_of(mail_link(mail, "staff@example.jp", "/password-reset/"))
    assert service.reset_password(token, NEW_PASSWORD, ADDR) is staff
    assert verify_password(staff.password_hash, NEW_PASSWORD)
    dbsession.refresh(old_session)
    assert old_session.revoked_at == clock()
    assert "account.password_reset" in actions(dbsession)
    with pytest.raises(LinkNotValid):
        service.reset_password(token, "yet another pass phrase", ADDR)


def test_reset_link_expires_after_an_hour(service, dbsession, clock, mail):
    make_account(dbsession, "staff@example.jp")
    service.request_password_reset("staff@example.jp", ADDR)
    token = token_of(mail_link(mail, "staff@example.jp", "/password-reset/"))
    clock.advance(timedelta(minutes=60))
    with pytest.raises(LinkNotValid):
        service.reset_password(token, NEW_PASSWORD, ADDR)


def test_a_refused_new_password_keeps_the_link_usable(service, dbsession, mail):
    account = make_account(dbsession, "staff@example.jp")
    service.request_password_reset("staff@example.jp", ADDR)
    token = token_of(mail_link(mail, "staff@example.jp", "/password-reset/"))
    with pytest.raises(InvalidInput):
        service.reset_password(token, "short", ADDR)
    assert service.reset_password(token, NEW_PASSWORD, ADDR) is account


def test_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(service, mail):
    assert service.request_password_reset("nobody@example.jp", ADDR) is None
    assert mail.messages() == []


def test_reset_confirms_an_unconfirmed_registrant_and_unlocks_sign_in(
        service, dbsession, clock, app_settings, mail):
    account = make_registrant(dbsession, "waiting@example.jp", confirmed=False)
    signin = SigninService(dbsession, clock=clock, settings=app_settings)
    for _ in range(app_settings.signin_max_failures):
        with pytest.raises((SigninFailed, SigninLocked)):
            signin.authenticate("waiting@example.jp", "wrong password!", "192.0.2.50")
    service.request_password_reset("waiting@example.jp", ADDR)
    service.reset_password(token_of(mail_link(mail, "waiting@example.jp", "/password-reset/")),
                           NEW_PASSWORD, ADDR)
    assert account.email_confirmed_at == clock()
    assert signin.authenticate("waiting@example.jp", NEW_PASSWORD, ADDR) is account


def test_reset_requests_are_throttled_per_email_address(service, dbsession, app_settings, mail):
    make_account(dbsession, "staff@example.jp")
    for number in range(app_settings.signin_max_failures):
        service.request_password_reset("staff@example.jp", f"192.0.2.{number}")
    with pytest.raises(RequestsThrottled):
        service.request_password_reset("staff@example.jp", "198.51.100.1")
    assert len(mail.messages(to="staff@example.jp")) == app_settings.signin_max_failures


# Everything else a registrant leaves behind ----------------------------------------------

@dataclass
class Traces:
    """One row of every kind a person's activity makes, written with ``tag`` (本人/他人)
    in each free text, file name and file, so a test can look for it afterwards."""
    upcoming_session_id: int
    registration_id: int


def make_traces(dbsession, person, site, tag) -> Traces:
    registration = make_premium(dbsession, person, site,
                                registration=make_registration(dbsession, person, site))
    _activities(dbsession, person, site, tag)
    upcoming = make_session(
        dbsession, make_project(dbsession, site, slug=f"upcoming-{tag}"),
        NOW + timedelta(days=7), capacity=1, application_required=True,
    )
    make_application(dbsession, upcoming, person).answers = {"why": f"{tag}の志望動機"}
    _premium_and_stays(dbsession, person, site, registration, tag)
    _support(dbsession, person, site, registration, tag)
    _community(dbsession, person, site, tag)
    _notifications(dbsession, person, site, tag)
    dbsession.flush()
    return Traces(upcoming.id, registration.id)


def _activities(dbsession, person, site, tag):
    past = make_session(dbsession, make_project(dbsession, site, slug=f"past-{tag}"), T0)
    make_attendance(dbsession, past, person)
    make_application(dbsession, past, person).answers = {"why": f"{tag}の参加理由"}


def _premium_and_stays(dbsession, person, site, registration, tag):
    dbsession.add(PremiumApplication(registration_id=registration.id, account_id=person.id,
                                     site_id=site.id, state="approved", evidence={},
                                     submitted_at=T0, decided_at=T0))
    make_stays(dbsession, person, site, [date(2026, 10, 2)])
    declaration = StayDeclaration(account_id=person.id, site_id=site.id,
                                  first_day=date(2026, 10, 3), last_day=date(2026, 10, 4),
                                  note=f"{tag}の滞在メモ", submitted_at=T0)
    dbsession.add(declaration)
    dbsession.flush()
    dbsession.add(StayDocument(declaration_id=declaration.id, filename=f"{tag}-宿泊証明.pdf",
                               media_type="application/pdf", byte_size=len(PDF), data=PDF,
                               uploaded_at=T0))


def _support(dbsession, person, site, registration, tag):
    measure = make_measure(dbsession, site, slug=f"support-{tag}")
    application = SupportApplication(
        measure_id=measure.id, site_id=site.id, registration_id=registration.id,
        account_id=person.id, state="paid", tier="premium", answers={"route": f"{tag}の経路"},
        costs=[{"label": "新幹線", "amount": 10_000, "nights": 0}], submitted_amount=7_500,
        approved_amount=7_500, submitted_at=T0, decided_at=T0, paid_at=T0,
    )
    dbsession.add(application)
    dbsession.flush()
    dbsession.add(SupportReceipt(application_id=application.id, filename=f"{tag}-領収書.pdf",
                                 media_type="application/pdf", byte_size=len(PDF), data=PDF,
                                 uploaded_at=T0))


def _community(dbsession, person, site, tag):
    consultation = make_consultation(dbsession, site, person, subject=f"{tag}の相談",
                                     body=f"{tag}の相談本文")
    dbsession.add(ConsultationAttachment(
        message_id=consultation.messages[0].id, filename=f"{tag}-資料.pdf",
        media_type="application/pdf", byte_size=len(PDF), data=PDF, created_at=T0,
    ))
    open_room(dbsession, site)
    _thread, post = make_thread(dbsession, site, person, title=f"{tag}のスレッド",
                                body=f"{tag}の投稿")
    dbsession.add(RoomReport(post_id=post.id, reporter_id=person.id, reason=f"{tag}の通報理由",
                             created_at=T0))
    survey = make_monitor_survey(dbsession, site, title=f"アンケート-{tag}", questions=(
        ("single", "満足していますか", ["はい", "いいえ"]), ("text", "ご意見", []),
    ))
    choice, text = survey.questions
    response = MonitorResponse(survey_id=survey.id, account_id=person.id, submitted_at=T0,
                               answers={str(choice.id): {"choice": "c1"},
                                        str(text.id): {"text": f"{tag}の意見"}})
    dbsession.add(response)
    dbsession.flush()
    dbsession.add(MonitorChoice(response_id=response.id, question_id=choice.id, choice="c1"))


def _notifications(dbsession, person, site, tag):
    dbsession.add(RegistrantInterest(account_id=person.id, interest="agriculture"))
    follow(dbsession, person, site)
    dbsession.add(NotificationPreference(account_id=person.id, site_id=site.id,
                                         kind="targeted_post", email=False))
    dbsession.add(Unsubscribe(account_id=person.id, site_id=site.id, kind="new_project",
                              created_at=T0))
    campaigns = [NotificationCampaign(site_id=site.id, kind="targeted_post",
                                      subject={"ja": "お知らせ"}, body={"ja": "本文"},
                                      created_at=T0) for _ in range(2)]
    dbsession.add_all(campaigns)
    dbsession.flush()
    dbsession.add(InboxMessage(account_id=person.id, site_id=site.id, campaign_id=campaigns[0].id,
                               kind="targeted_post", subject=f"{tag}さんへのお知らせ",
                               body=f"{tag}さん、こんにちは", created_at=T0))
    dbsession.add_all([
        OutboxMail(campaign_id=campaigns[0].id, account_id=person.id, state="queued"),
        OutboxMail(campaign_id=campaigns[1].id, account_id=person.id, state="sent", sent_at=T0),
    ])


# My data --------------------------------------------------------------------------------

def export_of(service, person) -> dict:
    return PersonalDataExport(service.dbsession, clock=service.clock,
                              settings=service.settings).export(person)


def test_export_holds_the_persons_data_and_nothing_of_anyone_else(service, dbsession):
    site = make_site(dbsession)
    person = make_registrant(dbsession, "me@example.jp")
    other = make_registrant(dbsession, "other@example.jp", name="他人 次郎")
    make_personal_data(dbsession, person, site)
    make_personal_data(dbsession, other, site, person="他人 次郎", subject="sub-2",
                       note="他人のメモ")
    export = export_of(service, person)
    text = json.dumps(export, ensure_ascii=False)
    assert "other@example.jp" not in text and "他人" not in text
    assert export["account"]["email"] == "me@example.jp"
    assert "password_hash" not in export["account"] and "totp_secret" not in export["account"]
    assert export["identity_verification"]["name"] == "山田 花子"
    assert export["guardian_consent"]["guardian_name"] == "山田 花子の保護者"
    [registration] = export["registrations"]
    assert registration["site"] == {"code": site.code, "name": site.name}
    assert registration["connections"] == ["birthplace", "family"]
    assert [e["kind"] for e in registration["events"]] == ["joined"]
    answers = {a["question"]: a for a in registration["survey_answers"]}
    assert answers["好きな季節"]["chosen_labels"] == ["夏"]
    assert answers["ひとこと"]["value"] == {"text": "毎年夏に帰省しています"}


def test_export_holds_one_of_every_kind_of_activity_and_nothing_of_another_person(
        service, dbsession):
    site = make_site(dbsession)
    person = make_registrant(dbsession, "me@example.jp")
    other = make_registrant(dbsession, "other@example.jp", name="他人 次郎")
    make_traces(dbsession, person, site, "本人")
    make_traces(dbsession, other, site, "他人")
    export = export_of(service, person)
    text = json.dumps(export, ensure_ascii=False)
    assert "他人" not in text and "other@example.jp" not in text
    assert '"data"' not in text and "%PDF" not in text
    applications = sorted(a["answers"]["why"] for a in export["session_applications"])
    assert applications == ["本人の参加理由", "本人の志望動機"]
    [attendance] = export["attendances"]
    assert (attendance["project_title"], attendance["session_starts_at"]) == (
        "りんご収穫の手伝い", T0.isoformat())
    assert [a["state"] for a in export["premium_applications"]] == ["approved"]
    assert [r["stay_date"] for r in export["stay_records"]] == ["2026-10-02"]
    [declaration] = export["stay_declarations"]
    assert declaration["note"] == "本人の滞在メモ"
    assert [(d["filename"], d["byte_size"]) for d in declaration["documents"]] == [
        ("本人-宿泊証明.pdf", len(PDF))]
    [support] = export["support_applications"]
    assert (support["measure_title"], support["approved_amount"]) == ("移住体験の交通費補助", 7_500)
    assert [r["filename"] for r in support["receipts"]] == ["本人-領収書.pdf"]
    [consultation] = export["consultations"]
    [message] = consultation["messages"]
    assert (consultation["subject"], message["body"]) == ("本人の相談", "本人の相談本文")
    assert [a["filename"] for a in message["attachments"]] == ["本人-資料.pdf"]
    room = export["community_room"]
    assert [t["title"] for t in room["threads"]] == ["本人のスレッド"]
    assert [(p["body"], p["thread_title"]) for p in room["posts"]] == [
        ("本人の投稿", "本人のスレッド")]
    assert [r["reason"] for r in room["reports"]] == ["本人の通報理由"]
    [response] = export["monitor_survey_responses"]
    assert response["survey_title"] == "アンケート-本人"
    assert {a["question"]: a["value"] for a in response["answers"]} == {
        "満足していますか": {"choice": "c1"}, "ご意見": {"text": "本人の意見"}}
    assert export["interests"] == ["agriculture"]
    assert export["site_follows"] == [{"site": {"code": site.code, "name": site.name},
                                       "created_at": T0.isoformat()}]
    assert [(p["kind"], p["email"]) for p in export["notification_preferences"]] == [
        ("targeted_post", False)]
    assert [u["kind"] for u in export["unsubscribes"]] == ["new_project"]
    assert [m["subject"] for m in export["inbox_messages"]] == ["本人さんへのお知らせ"]


def test_export_makes_one_query_per_table(service, dbsession, engine):
    from sqlalchemy import event

    site = make_site(dbsession)
    person = make_registrant(dbsession, "me@example.jp")
    make_personal_data(dbsession, person, site)
    make_traces(dbsession, person, make_site(dbsession, UEDA), "本人")
    dbsession.expire_all()
    person = dbsession.get(Account, person.id)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        export_of(service, person)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 28, statements


# Deleting the account -------------------------------------------------------------------

def personal_strings(dbsession, strings):
    """Which of ``strings`` still appear anywhere in the tables that hold people's data."""
    tables = [Account, IdentityVerification, GuardianConsent, SurveyAnswer, Registration,
              RegistrationEvent, AuditEntry, SigninThrottle, AuthSession, EmailToken,
              SessionApplication, Attendance, PremiumApplication, StayRecord, StayDeclaration,
              StayDocument, SupportApplication, SupportReceipt, Consultation,
              ConsultationMessage, ConsultationAttachment, RoomThread, RoomPost, RoomReport,
              MonitorResponse, RegistrantInterest, SiteFollow, NotificationPreference,
              Unsubscribe, InboxMessage, OutboxMail]
    dump = json.dumps(
        [[{c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}
          for row in dbsession.scalars(select(table))] for table in tables],
        ensure_ascii=False, default=str,
    )
    return [s for s in strings if s in dump]


def test_deleting_leaves_no_personal_data_and_keeps_the_counts(
        service, dbsession, clock, app_settings, mail):
    site = make_site(dbsession)
    person = sign_up(service, "me@example.jp", name="新井 一郎")
    service.confirm(token_of(mail_link(mail, "me@example.jp", "/confirm/")), ADDR)
    data = make_personal_data(dbsession, person, site)
    choice_answer_id, text_answer_id = data.choice_answer.id, data.text_answer.id
    SigninService(dbsession, clock=clock, settings=app_settings).open_session(person, ADDR)
    CardCodes(dbsession, clock=clock).current(person.id)
    count = select(func.count()).select_from(Registration).where(Registration.site_id == site.id)
    before = dbsession.scalar(count)
    person.declared_home_code = "202011"

    service.delete_account(person, PASSWORD, ADDR)
    dbsession.expire_all()
    assert person.declared_home_code is None

    assert personal_strings(dbsession, ["me@example.jp", "新井 一郎", "山田 花子",
                                        "長野市大字鶴賀", "毎年夏に帰省", "guardian@example.jp"]) == []
    assert dbsession.scalar(count) == before
    registration = dbsession.get(Registration, data.registration.id)
    assert (registration.state, registration.relationship_types) == ("left", [4])
    assert registration.events[-1].detail == {"reason": "account_deleted"}
    assert dbsession.get(SurveyAnswer, choice_answer_id) is not None
    assert dbsession.get(SurveyAnswer, text_answer_id) is None
    for table in (IdentityVerification, GuardianConsent, AuthSession, EmailToken, CardCode):
        assert dbsession.scalars(select(table)).all() == []
    account = dbsession.get(Account, person.id)
    assert account.email == f"deleted-{person.id}@invalid" and account.display_name == ""
    assert account.password_hash is None and account.disabled_at == clock()
    assert actions(dbsession)[-1] == "account.delete"


def test_deleting_needs_the_current_password(service, dbsession):
    person = make_registrant(dbsession, "me@example.jp")
    with pytest.raises(InvalidInput) as refused:
        service.delete_account(person, "wrong password!", ADDR)
    assert refused.value.field == "password"
    assert dbsession.get(Account, person.id).email == "me@example.jp"


def figures(dbsession, site):
    """The numbers statistics and accounting read, for one site."""
    def count(model, *where):
        return dbsession.scalar(select(func.count()).select_from(model).where(*where))

    return {
        "registrations": count(Registration, Registration.site_id == site.id),
        "attendance": count(Attendance, Attendance.site_id == site.id),
        "stay_days": count(StayRecord, StayRecord.site_id == site.id),
        "premium": sorted(dbsession.scalars(select(PremiumApplication.state))),
        "support": sorted(dbsession.execute(
            select(SupportApplication.state, SupportApplication.submitted_amount,
                   SupportApplication.approved_amount, SupportApplication.computation)
        ).all()),
        "monitor_choices": count(MonitorChoice),
        "room_posts": count(RoomPost),
        "room_threads": count(RoomThread),
        "room_reports": count(RoomReport),
        "stay_declarations": count(StayDeclaration),
        "session_applications": count(SessionApplication),
    }


def test_deleting_clears_every_trace_keeps_the_figures_and_moves_the_waiting_list_up(
        service, dbsession, clock):
    site = make_site(dbsession)
    person = make_registrant(dbsession, "me@example.jp", name="新井 一郎")
    other = make_registrant(dbsession, "other@example.jp", name="他人 次郎")
    mine = make_traces(dbsession, person, site, "本人")
    make_traces(dbsession, other, site, "他人")
    waiting = make_registrant(dbsession, "waiting@example.jp", name="待機 三郎")
    make_application(dbsession, dbsession.get(ActivitySession, mine.upcoming_session_id),
                     waiting, "waitlisted")
    before = figures(dbsession, site)

    service.delete_account(person, PASSWORD, ADDR)
    dbsession.expire_all()

    assert personal_strings(dbsession, ["me@example.jp", "新井 一郎", "本人"]) == []
    assert personal_strings(dbsession, ["other@example.jp", "他人の", "他人-"]) == [
        "other@example.jp", "他人の", "他人-"]
    assert figures(dbsession, site) == before
    files = [select(StayDocument.filename), select(SupportReceipt.filename),
             select(ConsultationAttachment.filename)]
    assert [dbsession.scalars(query).all() for query in files] == [
        ["他人-宿泊証明.pdf"], ["他人-領収書.pdf"], ["他人-資料.pdf"]]
    assert dbsession.scalars(select(Consultation.registrant_id)).all() == [other.id]
    assert dbsession.scalars(select(ConsultationMessage.body)).all() == ["他人の相談本文"]
    for model in (RegistrantInterest, SiteFollow, NotificationPreference, Unsubscribe,
                  InboxMessage, PremiumSlot):
        assert dbsession.scalars(
            select(model).where(model.account_id == person.id)).all() == [], model
    assert dbsession.scalars(select(OutboxMail.state).where(
        OutboxMail.account_id == person.id)).all() == ["sent"]
    assert [p.body for p in dbsession.scalars(
        select(RoomPost).where(RoomPost.author_id == person.id))] == ["（削除されたアカウントの投稿）"]
    [response] = dbsession.scalars(
        select(MonitorResponse).where(MonitorResponse.account_id == person.id)).all()
    assert list(response.answers.values()) == [{"choice": "c1"}]
    applications = dict(dbsession.execute(
        select(SessionApplication.account_id, SessionApplication.state)
        .where(SessionApplication.session_id == mine.upcoming_session_id)).all())
    assert applications == {person.id: "cancelled", waiting.id: "applied"}
    assert dbsession.get(Registration, mine.registration_id).state == "left"
