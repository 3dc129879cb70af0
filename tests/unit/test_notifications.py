"""notify(): inbox rows and mails by the delivery rule, in each person's language, with
one-click unsubscribe headers; the hooks other parts call; tokens; preferences."""
from datetime import timedelta

import pytest
import transaction
from sqlalchemy import func, select

from furusato_cms.appsettings import AppSettings
from furusato_cms.models import (
    InboxMessage,
    NotificationPreference,
    OutboxMail,
    PremiumApplication,
    SessionApplication,
    Unsubscribe,
)
from furusato_cms.services.notifications import (
    DIRECT_MAIL_LIMIT,
    NotificationService,
    UnsubscribeTokens,
)

from ..activity_factories import make_project, make_session
from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, T0, make_site
from ..notification_factories import follow, make_person, register


@pytest.fixture
def service(dbsession, clock, app_settings):
    return NotificationService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def city(dbsession):
    return make_site(dbsession, NAGANO_CITY)


def inbox_of(dbsession, account):
    return dbsession.scalars(
        select(InboxMessage).where(InboxMessage.account_id == account.id)
        .order_by(InboxMessage.id)).all()


def test_notify_writes_the_inbox_and_mails_with_unsubscribe_headers(
        dbsession, service, city, catcher, app_settings):
    person = make_person(dbsession, "notify@example.jp", city, name="山田 花子")
    service.notify([person.id], "consultation_reply", city, "お返事です", "本文です",
                   "/s/202011/consultations/1")

    [message] = inbox_of(dbsession, person)
    assert (message.subject, message.body, message.link, message.kind) == (
        "お返事です", "本文です", "/s/202011/consultations/1", "consultation_reply")
    [mail] = catcher.messages(to="notify@example.jp")
    token = UnsubscribeTokens(app_settings).token_for(person.id, city.id, "consultation_reply")
    url = f"http://localhost/unsubscribe/{token}"
    assert mail["subject"] == "お返事です"
    headers = dict(mail["headers"])
    assert headers["List-Unsubscribe"] == f"<{url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in mail["text"]
    assert "山田 花子 様" in mail["text"]
    assert "http://localhost/s/202011/consultations/1" in mail["text"]
    assert "http://localhost/my/notifications" in mail["text"]


def test_each_person_reads_their_own_language(dbsession, service, city, catcher):
    japanese = make_person(dbsession, "ja@example.jp", city)
    english = make_person(dbsession, "en@example.jp", city, locale="en")
    service.consultation_reply(japanese.id, city, "/my/")
    service.consultation_reply(english.id, city, "/my/")
    assert inbox_of(dbsession, japanese)[0].subject == "長野市から相談への返信があります"
    assert inbox_of(dbsession, english)[0].subject == "長野市 replied to your consultation"
    assert catcher.messages(to="en@example.jp")[0]["subject"] == (
        "長野市 replied to your consultation")
    assert "Stop these notices from 長野市" in catcher.messages(to="en@example.jp")[0]["text"]


@pytest.mark.parametrize("email, inbox, expect_inbox, expect_mail", [
    (True, True, 1, 1), (False, True, 1, 0), (True, False, 0, 1), (False, False, 0, 0),
])
def test_preferences_choose_the_channels(dbsession, service, city, catcher, email, inbox,
                                         expect_inbox, expect_mail):
    person = make_person(dbsession, "prefs@example.jp", city)
    dbsession.add(NotificationPreference(account_id=person.id, site_id=city.id,
                                         kind="consultation_reply", email=email, inbox=inbox))
    dbsession.flush()
    campaign = service.consultation_reply(person.id, city, "/my/")
    assert len(inbox_of(dbsession, person)) == expect_inbox
    assert len(catcher.messages(to="prefs@example.jp")) == expect_mail
    assert (campaign.recipients, campaign.emails) == (int(email or inbox), expect_mail)


def test_a_preference_for_another_kind_or_site_does_not_apply(dbsession, service, city,
                                                              catcher):
    other = make_site(dbsession, MATSUMOTO)
    person = make_person(dbsession, "other-pref@example.jp", city)
    dbsession.add_all([
        NotificationPreference(account_id=person.id, site_id=city.id, kind="new_project",
                               email=False, inbox=False),
        NotificationPreference(account_id=person.id, site_id=other.id,
                               kind="consultation_reply", email=False, inbox=False),
        Unsubscribe(account_id=person.id, site_id=other.id, kind="all", created_at=T0),
    ])
    dbsession.flush()
    service.consultation_reply(person.id, city, "/my/")
    assert len(inbox_of(dbsession, person)) == 1
    assert len(catcher.messages(to="other-pref@example.jp")) == 1


@pytest.mark.parametrize("kind", ["consultation_reply", "all"])
def test_an_unsubscribed_person_gets_nothing(dbsession, service, city, catcher, kind):
    person = make_person(dbsession, "unsub@example.jp", city)
    service.unsubscribe(person, city, "consultation_reply", whole_site=kind == "all")
    service.unsubscribe(person, city, "consultation_reply", whole_site=kind == "all")
    assert service.is_unsubscribed(person, city, "consultation_reply")
    service.consultation_reply(person.id, city, "/my/")
    assert inbox_of(dbsession, person) == []
    assert catcher.messages(to="unsub@example.jp") == []


def test_an_unconfirmed_address_gets_no_mail(dbsession, service, city, catcher):
    person = make_person(dbsession, "unconfirmed@example.jp", city, confirmed=False)
    service.consultation_reply(person.id, city, "/my/")
    assert len(inbox_of(dbsession, person)) == 1
    assert catcher.messages(to="unconfirmed@example.jp") == []


def test_many_mails_wait_in_the_outbox(dbsession, service, city, catcher):
    people = [make_person(dbsession, f"many{i}@example.jp", city)
              for i in range(DIRECT_MAIL_LIMIT + 1)]
    campaign = service.notify([p.id for p in people], "targeted_post", city, "件名", "本文")
    assert dbsession.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.campaign_id == campaign.id, OutboxMail.state == "queued")) == len(people)
    assert dbsession.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.campaign_id == campaign.id)) == len(people)
    assert catcher.messages() == []


def test_a_keyed_notice_goes_out_once(dbsession, service, city, catcher):
    person = make_person(dbsession, "keyed@example.jp", city)
    assert service.notify([person.id], "new_project", city, "a", "b", key="x:1") is not None
    assert service.notify([person.id], "new_project", city, "a", "b", key="x:1") is None
    assert len(inbox_of(dbsession, person)) == 1
    assert len(catcher.messages(to="keyed@example.jp")) == 1


def test_links_stay_on_this_site(service, city):
    with pytest.raises(ValueError):
        service.notify([], "new_project", city, "a", "b", "https://evil.example/")


def test_mail_waits_for_the_commit_and_a_rollback_sends_none(dbsession, service, city,
                                                             catcher):
    person = make_person(dbsession, "tm@example.jp", city)
    dbsession.commit()  # the person was there before; the manager's abort closes the session
    manager = transaction.TransactionManager()
    dbsession.info["transaction_manager"] = manager
    try:
        manager.begin()
        service.consultation_reply(person.id, city, "/my/")
        assert catcher.messages(to="tm@example.jp") == []
        manager.abort()
        assert catcher.messages(to="tm@example.jp") == []

        manager.begin()
        service.consultation_reply(person.id, city, "/my/")
        manager.commit()
        assert len(catcher.messages(to="tm@example.jp")) == 1
    finally:
        del dbsession.info["transaction_manager"]


# -- tokens ------------------------------------------------------------------------------

def test_tokens_cannot_be_forged_or_moved(app_settings):
    tokens = UnsubscribeTokens(app_settings)
    token = tokens.token_for(12, 3, "targeted_post")
    assert tokens.read(token) == (12, 3, "targeted_post")
    account, site, kind, mac = token.split(".")
    forged = [
        f"13.{site}.{kind}.{mac}", f"{account}.4.{kind}.{mac}",
        f"{account}.{site}.new_project.{mac}", f"{account}.{site}.{kind}.{mac[:-1]}A",
        f"{account}.{site}.{kind}", "", "x" * 500, "１２.3.targeted_post." + mac,
        f"012.{site}.{kind}.{mac}",
        UnsubscribeTokens(AppSettings(session_secret="another")).token_for(12, 3,
                                                                          "targeted_post"),
    ]
    assert [tokens.read(t) for t in forged] == [None] * len(forged)


def test_the_token_key_is_not_the_session_secret_itself(app_settings):
    """A key derived for this purpose: a signature made with the raw secret is refused."""
    import base64
    import hashlib
    import hmac
    payload = "12.3.targeted_post"
    raw = base64.urlsafe_b64encode(hmac.new(app_settings.session_secret.encode(),
                                            payload.encode(), hashlib.sha256).digest())
    assert UnsubscribeTokens(app_settings).read(
        f"{payload}.{raw.rstrip(b'=').decode()}") is None


# -- the inbox ---------------------------------------------------------------------------

def test_unread_count_and_marking_read(dbsession, service, city, catcher, clock):
    person = make_person(dbsession, "inbox@example.jp", city)
    other = make_person(dbsession, "other-inbox@example.jp", city)
    for n in range(3):
        service.notify([person.id, other.id], "targeted_post", city, f"お知らせ{n}", "",
                       via_outbox=True)
    assert service.unread_count(person.id) == 3
    newest = service.inbox(person).items[0]
    assert newest.subject == "お知らせ2"

    assert service.mark_read(person, newest.id) == 1
    assert service.mark_read(person, newest.id) == 0
    assert service.mark_read(person, service.inbox(other).items[0].id) == 0
    assert service.unread_count(person.id) == 2
    assert service.mark_read(person) == 2
    assert service.unread_count(person.id) == 0
    assert service.unread_count(other.id) == 3


# -- preferences -------------------------------------------------------------------------

def test_preferences_list_followed_sites_and_saving_clears_unsubscribes(dbsession, service,
                                                                        city):
    matsumoto = make_site(dbsession, MATSUMOTO)
    person = make_person(dbsession, "grid@example.jp", city)
    follow(dbsession, person, matsumoto)
    service.unsubscribe(person, city, "targeted_post")
    grid = service.preferences(person)
    assert [g.site.code for g in grid] == [NAGANO_CITY, MATSUMOTO]
    rows = {row.kind: row for row in grid[0].rows}
    assert rows["targeted_post"].unsubscribed_at is not None
    assert all(row.email and row.inbox for row in grid[1].rows)

    service.save_preferences(person, city, ["targeted_post"], ["targeted_post", "new_project"])
    rows = {row.kind: row for row in service.preferences(person)[0].rows}
    assert not service.is_unsubscribed(person, city, "targeted_post")
    assert (rows["targeted_post"].email, rows["targeted_post"].inbox) == (True, True)
    assert (rows["new_project"].email, rows["new_project"].inbox) == (False, True)
    assert (rows["premium_decision"].email, rows["premium_decision"].inbox) == (False, False)


# -- the hooks ---------------------------------------------------------------------------

def test_new_project_reaches_interested_followers_once(dbsession, service, city, catcher):
    fan = make_person(dbsession, "farm-fan@example.jp", city, interests=["agriculture"])
    follower = make_person(dbsession, "follower@example.jp", interests=["agriculture"])
    follow(dbsession, follower, city)
    make_person(dbsession, "not-following@example.jp", interests=["agriculture"])
    make_person(dbsession, "other-interest@example.jp", city, interests=["food"])
    project = make_project(dbsession, city, "りんご収穫", field="agriculture")

    campaign = service.new_project(project)
    assert service.new_project(project) is None

    reached = set(dbsession.scalars(select(InboxMessage.account_id).where(
        InboxMessage.campaign_id == campaign.id)))
    assert reached == {fan.id, follower.id}
    assert inbox_of(dbsession, fan)[0].link == f"/s/{NAGANO_CITY}/projects/{project.id}"
    assert "りんご収穫" in catcher.messages(to="farm-fan@example.jp")[0]["subject"]


def test_premium_decision_tells_the_reason(dbsession, service, city, catcher):
    person = make_person(dbsession, "premium@example.jp")
    registration = register(dbsession, person, city)
    application = PremiumApplication(
        registration_id=registration.id, account_id=person.id, site_id=city.id,
        state="rejected", submitted_at=T0, decided_at=T0, reason="活動回数が足りません。")
    dbsession.add(application)
    dbsession.flush()
    service.premium_decision(application)
    [message] = inbox_of(dbsession, person)
    assert "承認されませんでした" in message.subject
    assert "活動回数が足りません。" in message.body
    assert service.premium_decision(application) is None
    [mail] = catcher.messages(to="premium@example.jp")
    assert mail["subject"] == message.subject and "活動回数が足りません。" in mail["text"]


def test_session_reminders_the_day_before_to_people_with_a_place(dbsession, service, city,
                                                                  catcher):
    project = make_project(dbsession, city, "雪かき")
    tomorrow = make_session(dbsession, project, NOW + timedelta(days=1))
    later = make_session(dbsession, project, NOW + timedelta(days=3))
    people = {state: make_person(dbsession, f"{state}@example.jp", city)
              for state in ("applied", "waitlisted", "cancelled")}
    for session in (tomorrow, later):
        for state, person in people.items():
            dbsession.add(SessionApplication(session_id=session.id, account_id=person.id,
                                             state=state, applied_at=T0, updated_at=T0))
    dbsession.flush()

    assert service.session_reminders(NOW) == 1
    assert service.session_reminders(NOW) == 0

    [message] = inbox_of(dbsession, people["applied"])
    assert message.kind == "session_reminder" and "雪かき" in message.subject
    assert "公民館" in message.body
    assert inbox_of(dbsession, people["waitlisted"]) == []
    assert dbsession.scalar(select(func.count()).select_from(OutboxMail)) == 1


def test_application_result_by_state(dbsession, service, city, catcher):
    project = make_project(dbsession, city, "草刈り")
    session = make_session(dbsession, project, NOW + timedelta(days=5))
    placed = make_person(dbsession, "placed@example.jp", city)
    waiting = make_person(dbsession, "waiting@example.jp", city)
    applications = [
        SessionApplication(session_id=session.id, account_id=placed.id, state="applied",
                           applied_at=T0, updated_at=T0),
        SessionApplication(session_id=session.id, account_id=waiting.id, state="waitlisted",
                           applied_at=T0, updated_at=T0),
    ]
    dbsession.add_all(applications)
    dbsession.flush()
    service.application_result(session, applications)
    assert "草刈り" in inbox_of(dbsession, placed)[0].subject
    assert "キャンセル待ち" in inbox_of(dbsession, waiting)[0].subject
