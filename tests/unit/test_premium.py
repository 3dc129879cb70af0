"""Premium applications, their review, granting, and the slots that hold the limit."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.clock import to_tokyo
from furusato_cms.models import (
    Attendance,
    AuditEntry,
    InboxMessage,
    NotificationPreference,
    PremiumApplication,
    PremiumSlot,
    Registration,
    RegistrationEvent,
)
from furusato_cms.services.audit import Actor
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.premium import (
    PremiumRefused,
    PremiumService,
    fall_back,
    rebalance_slots,
)

from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF
from ..notice_factories import only_notice
from ..premium_factories import (
    MAEBASHI,
    NAGAOKA,
    TAKASAKI,
    eligible_person,
    give_activities,
    make_person,
    make_premium,
    register,
    site_of,
)

COORDINATOR = Actor(account_id=None, label="coordinator")


@pytest.fixture
def service(dbsession, clock, app_settings):
    return PremiumService(dbsession, clock=clock, settings=app_settings)


def slots(dbsession, account):
    return {slot.registration_id: slot.slot for slot in dbsession.scalars(
        select(PremiumSlot).where(PremiumSlot.account_id == account.id))}


def events(dbsession, registration):
    return [e.kind for e in dbsession.scalars(
        select(RegistrationEvent).where(RegistrationEvent.registration_id == registration.id)
        .order_by(RegistrationEvent.id))]


# -- applying --------------------------------------------------------------------------------

def test_automatic_approval_grants_at_once(dbsession, service, catcher, app_settings):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=True, long_stay_enabled=True)
    person, registration = eligible_person(dbsession, site, at=NOW)

    application = service.apply(person, registration)

    assert application.state == "approved"
    assert application.evidence["eligible"] is True
    assert len(application.evidence["activities"]) == 3
    assert registration.tier == "premium"
    assert registration.premium_since == NOW
    assert registration.premium_until == NOW.replace(year=2027)
    assert registration.long_stay is False
    assert slots(dbsession, person) == {registration.id: 1}
    assert events(dbsession, registration) == ["premium_granted"]
    assert dbsession.scalar(select(AuditEntry.action).where(
        AuditEntry.target_id == str(application.id))) == "premium.approve"
    message, mail = only_notice(dbsession, catcher, person, site, "premium_decision",
                                app_settings)
    assert message.subject == "長野市のプレミアム登録が承認されました"
    assert message.link == "/my/"
    assert "登録証にプレミアム登録と表示されます" in mail["text"]
    until = to_tokyo(registration.premium_until).date()
    assert f"有効期限は{until.year}年{until.month}月{until.day}日までです" in message.body


def test_without_automatic_approval_the_application_waits(dbsession, service, catcher):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=False)
    person, registration = eligible_person(dbsession, site, at=NOW)

    application = service.apply(person, registration)

    assert application.state == "pending"
    assert registration.tier == "basic"
    assert slots(dbsession, person) == {}
    assert [row.application for row in service.pending(site)] == [application]
    assert catcher.messages(to=person.email) == []


def test_the_ineligible_are_refused_with_each_failed_rule(dbsession, service):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=True)
    person = make_person(dbsession, verified=False)
    registration = register(dbsession, person, site)
    give_activities(dbsession, person, site, [NOW - timedelta(days=3)])

    with pytest.raises(PremiumRefused) as refused:
        service.apply(person, registration)

    assert {r.key for r in refused.value.eligibility.failed} == {
        "identity", "activities", "not_home", "guardian"}
    assert len(refused.value.reasons) == 4
    assert registration.tier == "basic"
    assert dbsession.scalar(select(PremiumApplication.id)) is None


def test_one_pending_application_per_registration(dbsession, service):
    site = site_of(dbsession, NAGANO_CITY)
    person, registration = eligible_person(dbsession, site, at=NOW)
    service.apply(person, registration)
    with pytest.raises(Conflict):
        service.apply(person, registration)


def test_premium_already_and_ended_registrations_cannot_apply(dbsession, service):
    site = site_of(dbsession, NAGANO_CITY)
    person, registration = eligible_person(dbsession, site, at=NOW)
    make_premium(dbsession, person, site, registration=registration)
    with pytest.raises(Conflict):
        service.apply(person, registration)
    registration.tier, registration.state = "basic", "left"
    with pytest.raises(NotAllowed):
        service.apply(person, registration)


def test_progress_per_basic_site(dbsession, service):
    city, matsumoto = site_of(dbsession, NAGANO_CITY), site_of(dbsession, MATSUMOTO)
    person, _registration = eligible_person(dbsession, city, at=NOW, count=2)
    register(dbsession, person, matsumoto)
    make_premium(dbsession, person, site_of(dbsession, MAEBASHI))

    progress = {p.registration.site.code: p for p in service.progress(person)}

    assert set(progress) == {NAGANO_CITY, MATSUMOTO}
    assert (progress[NAGANO_CITY].eligibility.activity_count,
            progress[NAGANO_CITY].eligibility.required_activities) == (2, 3)
    assert not progress[NAGANO_CITY].can_apply
    assert [r.site.code for r in service.premium_registrations(person)] == [MAEBASHI]


# -- review -------------------------------------------------------------------------------------

def test_approval_grants(dbsession, service, catcher, app_settings):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=False)
    person, registration = eligible_person(dbsession, site, at=NOW)
    application = service.apply(person, registration)

    service.approve(COORDINATOR, application)

    assert application.state == "approved" and application.decided_at == NOW
    assert application.evidence["decision"]["eligible"] is True
    assert registration.tier == "premium"
    assert slots(dbsession, person) == {registration.id: 1}
    message, _mail = only_notice(dbsession, catcher, person, site, "premium_decision",
                                 app_settings)
    assert "承認されました" in message.subject


def test_a_person_who_turned_mail_off_finds_the_decision_in_the_inbox_only(
        dbsession, service, catcher):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=True)
    person, registration = eligible_person(dbsession, site, at=NOW)
    dbsession.add(NotificationPreference(account_id=person.id, site_id=site.id,
                                         kind="premium_decision", email=False, inbox=True))
    dbsession.flush()

    service.apply(person, registration)

    assert dbsession.scalar(select(InboxMessage.kind).where(
        InboxMessage.account_id == person.id)) == "premium_decision"
    assert catcher.messages(to=person.email) == []


def test_approval_judges_again(dbsession, service):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=False)
    person, registration = eligible_person(dbsession, site, at=NOW)
    application = service.apply(person, registration)
    dbsession.scalars(select(Attendance)).first().voided_at = NOW

    with pytest.raises(PremiumRefused) as refused:
        service.approve(COORDINATOR, application)

    assert [r.key for r in refused.value.eligibility.failed] == ["activities"]
    assert application.state == "pending"
    assert registration.tier == "basic"


def test_rejection_needs_a_reason_and_tells_the_person(dbsession, service, catcher,
                                                       app_settings):
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=False)
    person, registration = eligible_person(dbsession, site, at=NOW)
    application = service.apply(person, registration)

    with pytest.raises(InvalidInput) as missing:
        service.reject(COORDINATOR, application, "   ")
    assert missing.value.field == "reason"

    service.reject(COORDINATOR, application, "活動記録の確認ができませんでした。")

    assert application.state == "rejected"
    assert application.reason == "活動記録の確認ができませんでした。"
    assert registration.tier == "basic"
    message, mail = only_notice(dbsession, catcher, person, site, "premium_decision",
                                app_settings)
    assert message.subject == "長野市のプレミアム登録は承認されませんでした"
    assert "活動記録の確認ができませんでした。" in message.body
    assert "活動記録の確認ができませんでした。" in mail["text"]
    with pytest.raises(Conflict):
        service.approve(COORDINATOR, application)


# -- slots: the limit in the database -------------------------------------------------------

def test_a_prefecture_under_a_premium_municipality_holds_no_slot(dbsession):
    person = make_person(dbsession)
    city = make_premium(dbsession, person, site_of(dbsession, NAGANO_CITY))
    prefecture = make_premium(dbsession, person, site_of(dbsession, NAGANO_PREF),
                              since=NOW - timedelta(days=1))
    maebashi = make_premium(dbsession, person, site_of(dbsession, MAEBASHI))
    nagaoka = make_premium(dbsession, person, site_of(dbsession, NAGAOKA))
    assert slots(dbsession, person) == {city.id: 1, maebashi.id: 2, nagaoka.id: 3}
    assert prefecture.id not in slots(dbsession, person)


def test_a_municipality_takes_the_slot_of_its_prefecture(dbsession, service):
    person = make_person(dbsession)
    prefecture = make_premium(dbsession, person, site_of(dbsession, NAGANO_PREF))
    make_premium(dbsession, person, site_of(dbsession, MAEBASHI))
    make_premium(dbsession, person, site_of(dbsession, NAGAOKA))
    site = site_of(dbsession, NAGANO_CITY, premium_auto_approve=True)
    registration = register(dbsession, person, site)
    give_activities(dbsession, person, site, [NOW - timedelta(days=d) for d in (1, 2, 3)])

    service.apply(person, registration)

    assert slots(dbsession, person)[registration.id] == 1
    assert prefecture.id not in slots(dbsession, person)


def test_the_database_refuses_a_fourth_counted_site(dbsession, service):
    """Even past the eligibility check (as two racing grants would be), the CHECK on the
    slot number refuses, and nothing is changed."""
    person = make_person(dbsession)
    for code in (NAGANO_CITY, MATSUMOTO, MAEBASHI):
        make_premium(dbsession, person, site_of(dbsession, code))
    site = site_of(dbsession, NAGAOKA)
    registration = register(dbsession, person, site)
    result = service.eligibility.evaluate(person, site)

    with pytest.raises(PremiumRefused) as refused:
        service._grant(registration, result, NOW, since=NOW, until=NOW + timedelta(days=365))

    assert "3" in refused.value.message
    dbsession.expire_all()
    assert registration.tier == "basic"
    assert len(slots(dbsession, person)) == 3


def test_falling_back_frees_the_slot_for_the_prefecture(dbsession):
    person = make_person(dbsession)
    city = make_premium(dbsession, person, site_of(dbsession, NAGANO_CITY))
    prefecture = make_premium(dbsession, person, site_of(dbsession, NAGANO_PREF))
    make_premium(dbsession, person, site_of(dbsession, MAEBASHI))
    make_premium(dbsession, person, site_of(dbsession, NAGAOKA))

    assert fall_back(dbsession, [city.id], NOW, "requirements_not_met") == 1

    dbsession.expire_all()
    assert city.tier == "basic" and prefecture.tier == "premium"
    assert slots(dbsession, person)[prefecture.id] == 1
    assert events(dbsession, city) == ["premium_fell_back"]


def test_a_prefecture_without_a_free_slot_falls_back_too(dbsession):
    """Slots out of line with the registrations (three other municipalities hold every
    slot, the city none): re-balancing never gives a fourth, so when the city falls
    back its prefecture, now counted, falls back too with its own event."""
    person = make_person(dbsession)
    city = make_premium(dbsession, person, site_of(dbsession, NAGANO_CITY))
    prefecture = make_premium(dbsession, person, site_of(dbsession, NAGANO_PREF))
    dbsession.query(PremiumSlot).delete()
    for number, code in enumerate((MAEBASHI, TAKASAKI, NAGAOKA), 1):
        registration = register(dbsession, person, site_of(dbsession, code), tier="premium")
        dbsession.add(PremiumSlot(account_id=person.id, slot=number,
                                  registration_id=registration.id))
    dbsession.flush()

    fell = fall_back(dbsession, [city.id], NOW, "requirements_not_met")

    dbsession.expire_all()
    assert fell == 2
    assert prefecture.tier == "basic"
    assert prefecture.id not in slots(dbsession, person)
    assert dbsession.scalar(select(RegistrationEvent.detail).where(
        RegistrationEvent.registration_id == prefecture.id)) == {"reason": "no_slot"}
    assert rebalance_slots(dbsession, [person.id], cap=True) == []


def test_registrations_left_give_their_slot_back_at_the_next_grant(dbsession, service):
    person = make_person(dbsession)
    held = [make_premium(dbsession, person, site_of(dbsession, code))
            for code in (NAGANO_CITY, MATSUMOTO, MAEBASHI)]
    held[0].state = "left"
    site = site_of(dbsession, NAGAOKA, premium_auto_approve=True)
    registration = register(dbsession, person, site)
    give_activities(dbsession, person, site, [NOW - timedelta(days=d) for d in (1, 2, 3)])

    service.apply(person, registration)

    assert slots(dbsession, person) == {held[1].id: 2, held[2].id: 3, registration.id: 1}


def test_registration_rows_are_never_deleted(dbsession):
    person = make_person(dbsession)
    city = make_premium(dbsession, person, site_of(dbsession, NAGANO_CITY))
    fall_back(dbsession, [city.id], NOW, "requirements_not_met")
    dbsession.expire_all()
    assert dbsession.get(Registration, city.id).tier == "basic"
