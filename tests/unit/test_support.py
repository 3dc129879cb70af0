"""Support measures: the amount, the no-return-gift rule, who may apply, the budget,
receipts, the accounting CSV and the publishing workflow (services, no HTTP)."""
import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from furusato_cms.clock import FixedClock
from furusato_cms.models import (
    AuditEntry,
    InboxMessage,
    SupportApplication,
    SupportMeasure,
)
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.notifications import NotificationService
from furusato_cms.services.support import (
    CONFIRM_RULE,
    OFFER_RULE,
    RETURN_GIFT_RULE,
    SupportService,
)
from furusato_cms.services.support_rules import (
    Upload,
    checked_answers,
    fiscal_year_bounds,
)

from ..concurrency.support import needs_postgresql, run_at_once
from ..conftest import NOW
from ..content_factories import actor_for
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff
from ..registrant_factories import make_registrant
from ..support_factories import (
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    make_applicant,
    make_measure,
    make_registration,
)

RECEIPT = Upload("receipt.pdf", PDF_BYTES)


@pytest.fixture
def service(dbsession, clock, app_settings):
    return SupportService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def coordinator(dbsession, site):
    return actor_for(make_staff(dbsession, site, "coordinator"))


@pytest.fixture
def editor(dbsession, site):
    return actor_for(make_staff(dbsession, site, "editor"))


def texts(payable) -> list:
    return [step.interpolate() for step in payable.explanation]


def costs(*amounts, nights=None):
    return [{"label": f"費用{i}", "amount": amount, "nights": nights[i] if nights else None}
            for i, amount in enumerate(amounts)]


# -- the amount -----------------------------------------------------------------------

AMOUNTS = [
    # rate, cap, unit, cost lines, nights per line, amount, capped
    ((3, 4), 300_000, "per_application", (100_000,), None, 75_000, False),
    ((3, 4), 300_000, "per_application", (400_000,), None, 300_000, False),
    ((3, 4), 300_000, "per_application", (500_000,), None, 300_000, True),
    ((3, 4), 300_000, "per_application", (1_001,), None, 750, False),  # 750.75 -> 750
    ((3, 4), 300_000, "per_application", (1,), None, 0, False),  # 0.75 -> 0
    ((3, 4), 300_000, "per_application", (200_000, 250_000), None, 300_000, True),
    ((1, 2), 10_000, "per_night", (24_000,), (3,), 12_000, False),
    ((1, 2), 10_000, "per_night", (90_000,), (3,), 30_000, True),
    ((1, 2), 10_000, "per_night", (15_001, 30_000), (1, 2), 22_500, False),  # 22,500.5
    ((1, 2), 10_000, "per_night", (50_000, 30_000), (1, 2), 30_000, True),
]


@pytest.mark.parametrize("rate,cap,unit,amounts,nights,expected,capped", AMOUNTS)
def test_amount_is_rounded_down_and_capped(dbsession, service, site, rate, cap, unit, amounts,
                                           nights, expected, capped):
    measure = make_measure(dbsession, site, rate=rate, cap_yen=cap, cap_unit=unit)
    payable = service.payable(measure, costs(*amounts, nights=nights))
    assert (payable.amount, payable.capped) == (expected, capped)
    assert payable.costs == sum(amounts)
    assert texts(payable)[-1] == f"Payable: {expected:,} yen."


def test_clipping_is_explained_with_the_cap_that_applied(dbsession, service, site):
    measure = make_measure(dbsession, site, rate=(3, 4), cap_yen=300_000)
    assert texts(service.payable(measure, costs(500_000))) == [
        "Eligible costs: 500,000 yen.",
        "500,000 yen × 3/4 = 375,000 yen (rounded down to the yen).",
        "Cap: 300,000 yen per application.",
        "Capped at 300,000 yen.",
        "Payable: 300,000 yen.",
    ]
    lodging = make_measure(dbsession, site, "宿泊費補助", family="lodging", rate=(1, 2),
                           cap_yen=10_000, cap_unit="per_night")
    steps = texts(service.payable(lodging, costs(90_000, nights=(3,))))
    assert "Cap: 10,000 yen per night × 3 nights = 30,000 yen." in steps
    assert "Capped at 30,000 yen." in steps


def test_per_night_lines_need_their_nights(dbsession, service, site):
    measure = make_measure(dbsession, site, family="lodging", rate=(1, 2), cap_yen=10_000,
                           cap_unit="per_night")
    with pytest.raises(InvalidInput) as refused:
        service.payable(measure, costs(20_000))
    assert refused.value.field == "costs"
    assert "nights" in refused.value.message.interpolate()


@pytest.mark.parametrize("lines,message", [
    ([], "at least one eligible cost"),
    ([{"label": "", "amount": 1000}], "say what it was for"),
    ([{"label": "バス代", "amount": None}], "amount in yen"),
    ([{"label": "バス代", "amount": 0}], "amount in yen"),
    ([{"label": "バス代", "amount": 100_000_001}], "amount in yen"),
])
def test_bad_cost_lines_are_refused(dbsession, service, site, lines, message):
    measure = make_measure(dbsession, site)
    with pytest.raises(InvalidInput) as refused:
        service.payable(measure, lines)
    assert message in refused.value.message.interpolate()


def test_a_yearly_cap_counts_what_was_approved_this_fiscal_year(
        dbsession, service, site, coordinator, clock):
    measure = make_measure(dbsession, site, "ワークスペース利用料", family="workspace",
                           rate=(1, 1), cap_yen=50_000, cap_unit="per_person_year")
    person = make_applicant(dbsession, site)
    first = service.apply(person, measure, answers={}, costs=costs(30_000), receipts=[RECEIPT])
    service.approve(coordinator, first)
    second = service.apply(person, measure, answers={}, costs=costs(40_000),
                           receipts=[RECEIPT])
    assert second.submitted_amount == 20_000
    assert ("Cap: 50,000 yen per person per fiscal year; 30,000 yen already approved this "
            "fiscal year, so 20,000 yen remain.") in texts(service.preview_approval(second).payable)
    service.reject(coordinator, second, "領収書の日付が読めません")
    clock.advance(timedelta(days=180))  # 2027-05: a new fiscal year
    third = service.apply(person, measure, answers={}, costs=costs(40_000), receipts=[RECEIPT])
    assert third.submitted_amount == 40_000


def test_fiscal_year_runs_april_to_march_in_japan_time():
    start, end = fiscal_year_bounds(datetime(2027, 3, 31, 15, 0, tzinfo=timezone.utc))
    assert (start, end) == (datetime(2027, 3, 31, 15, tzinfo=timezone.utc),
                            datetime(2028, 3, 31, 15, tzinfo=timezone.utc))
    start, _end = fiscal_year_bounds(datetime(2027, 3, 31, 14, 59, tzinfo=timezone.utc))
    assert start == datetime(2026, 3, 31, 15, tzinfo=timezone.utc)


def test_a_measure_without_money_pays_nothing_and_asks_for_no_costs(dbsession, service, site):
    shelter = make_measure(dbsession, site, "避難所の受け入れ", family="evacuation_shelter",
                           rate=(0, 1), cap_yen=0, budget_yen=0)
    payable = service.payable(shelter, [])
    assert payable.amount == 0
    assert texts(payable) == ["This measure pays no money: the approval itself is the support."]
    with pytest.raises(InvalidInput):
        service.payable(shelter, costs(1000))


# -- no return gifts ------------------------------------------------------------------

TERMS = dict(family="travel", applicants="premium", rate_numerator=3, rate_denominator=4,
             cap_yen=300_000, cap_unit="per_application", budget_yen=1_000_000,
             confirmed_local_benefit=True)
OFFER = dict(summary="お会計から10%割引", business_name="そば処 松葉", business_kind="restaurant",
             place="長野市大門町1番地", applicants="basic", confirmed_local_benefit=True)


@pytest.mark.parametrize("change,field,message", [
    ({"family": "return_gift"}, "family", RETURN_GIFT_RULE),
    ({"family": "local_products_delivery"}, "family", RETURN_GIFT_RULE),
    ({"family": ""}, "family", RETURN_GIFT_RULE),
    ({"confirmed_local_benefit": False}, "confirmed_local_benefit", CONFIRM_RULE),
    ({"family": "resident_rate", "applicants": "basic"}, "applicants", None),
    ({"rate_numerator": 5, "rate_denominator": 4}, "rate_numerator", None),
    ({"cap_yen": 0}, "cap_yen", None),
    ({"budget_yen": None}, "budget_yen", None),
])
def test_measures_outside_the_rules_are_refused(dbsession, service, site, editor, change,
                                                field, message):
    with pytest.raises(InvalidInput) as refused:
        service.create_measure(editor, site, title="補助", **{**TERMS, **change})
    assert refused.value.field == field
    if message is not None:
        assert refused.value.message == message
    assert dbsession.scalars(select(SupportMeasure)).all() == []


@pytest.mark.parametrize("change,field,message", [
    ({"business_kind": "mail_order"}, "business_kind", OFFER_RULE),
    ({"business_kind": "delivery"}, "business_kind", OFFER_RULE),
    ({"confirmed_local_benefit": False}, "confirmed_local_benefit", CONFIRM_RULE),
    ({"place": " "}, "place", None),
    ({"summary": ""}, "summary", None),
])
def test_offers_outside_the_rules_are_refused(service, site, editor, change, field, message):
    with pytest.raises(InvalidInput) as refused:
        service.create_offer(editor, site, title="割引", **{**OFFER, **change})
    assert refused.value.field == field
    if message is not None:
        assert refused.value.message == message


def test_the_database_itself_refuses_a_return_gift_family(dbsession, site):
    with pytest.raises(IntegrityError):
        with dbsession.begin_nested():
            make_measure(dbsession, site, family="return_gift")
    with pytest.raises(IntegrityError):
        with dbsession.begin_nested():
            make_measure(dbsession, site, family="residents_only_facility", applicants="basic")


# -- workflow -------------------------------------------------------------------------


def test_a_new_measure_is_a_draft_until_a_reviewer_publishes_it(dbsession, service, site,
                                                                 editor):
    measure = service.create_measure(editor, site, title="移住体験の交通費補助",
                                     form_fields=[{"label": "来訪日", "kind": "date",
                                                   "required": True}], **TERMS)
    assert (measure.state, measure.version) == ("draft", 1)
    assert measure.form_fields == [{"key": "f1", "label": "来訪日", "kind": "date",
                                    "required": True}]
    assert service.public_measures(site) == []
    service.transition(editor, measure, "review", may_publish=False)
    with pytest.raises(NotAllowed):
        service.transition(editor, measure, "published", may_publish=False)
    reviewer = actor_for(make_staff(dbsession, site, "editor", email="rev@example.jp",
                                    is_reviewer=True))
    service.transition(reviewer, measure, "published", may_publish=True)
    assert service.public_measures(site) == [measure]


def _told(dbsession, measure) -> set:
    return set(dbsession.scalars(select(InboxMessage.account_id).where(
        InboxMessage.link == f"/s/{measure.site.code}/support/{measure.id}")))


@pytest.mark.parametrize("applicants", ["premium", "basic"])
def test_publishing_a_measure_tells_the_registrants_it_is_for(dbsession, service, site,
                                                              app_settings, applicants):
    premium = make_applicant(dbsession, site, "premium@example.jp")
    basic = make_applicant(dbsession, site, "basic@example.jp", tier="basic")
    lapsed = make_applicant(dbsession, site, "lapsed@example.jp",
                            premium_until=NOW - timedelta(days=1))
    left = make_applicant(dbsession, site, "left@example.jp", tier="basic", state="left")
    elsewhere = make_applicant(dbsession, make_site(dbsession, MATSUMOTO), "m@example.jp")
    unsubscribed = make_applicant(dbsession, site, "quiet@example.jp", tier="basic")
    NotificationService(dbsession, clock=service.clock, settings=app_settings).unsubscribe(
        unsubscribed, site, "targeted_post")
    reviewer = actor_for(make_staff(dbsession, site, "editor", email="rev@example.jp",
                                    is_reviewer=True))
    measure = make_measure(dbsession, site, state="review", applicants=applicants)

    service.transition(reviewer, measure, "published", may_publish=True)

    expected = {premium.id} if applicants == "premium" else {premium.id, basic.id, lapsed.id}
    assert _told(dbsession, measure) == expected
    assert not {left.id, elsewhere.id, unsubscribed.id} & _told(dbsession, measure)
    for step in ("archived", "draft", "published"):
        service.transition(reviewer, measure, step, may_publish=True)
    assert dbsession.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.account_id == premium.id)) == 1


def test_a_measure_published_for_later_is_announced_when_its_moment_comes(
        dbsession, service, site, app_settings):
    person = make_applicant(dbsession, site, tier="basic")
    reviewer = actor_for(make_staff(dbsession, site, "editor", email="rev@example.jp",
                                    is_reviewer=True))
    measure = make_measure(dbsession, site, state="review", applicants="basic",
                           publish_at=NOW + timedelta(hours=5))
    service.transition(reviewer, measure, "published", may_publish=True)
    assert _told(dbsession, measure) == set()
    notices = NotificationService(dbsession, clock=service.clock, settings=app_settings)
    assert notices.scheduled_notices(NOW) == 0
    assert notices.scheduled_notices(NOW + timedelta(hours=6)) == 1
    assert notices.scheduled_notices(NOW + timedelta(hours=7)) == 0
    assert _told(dbsession, measure) == {person.id}


def test_terms_of_a_published_measure_change_only_with_the_right_to_publish(
        dbsession, service, site, editor):
    measure = make_measure(dbsession, site)
    values = dict(title=measure.title, body=measure.body, **TERMS)
    service.update_measure(editor, measure, may_publish=False, **{**values, "title": "新題"})
    assert measure.title == "新題"
    with pytest.raises(NotAllowed):
        service.update_measure(editor, measure, may_publish=False,
                               **{**values, "cap_yen": 500_000})
    service.update_measure(editor, measure, may_publish=True, **{**values, "cap_yen": 500_000})
    assert measure.cap_yen == 500_000


# -- who may apply ----------------------------------------------------------------------


def _eligibility_case(dbsession, site, case):
    other = make_site(dbsession, MATSUMOTO)
    activity_basic = make_measure(dbsession, site, "交通費補助", applicants="basic")
    resident = make_measure(dbsession, site, "住民料金", family="resident_rate",
                            slug="resident")
    person = make_registrant(dbsession)
    measure = resident
    if case == "premium":
        make_registration(dbsession, person, site, tier="premium")
    elif case == "basic_on_activity":
        make_registration(dbsession, person, site)
        measure = activity_basic
    elif case == "basic_on_resident":
        make_registration(dbsession, person, site)
    elif case == "premium_expired":
        make_registration(dbsession, person, site, tier="premium",
                          premium_until=NOW - timedelta(days=1))
    elif case == "other_site_only":
        make_registration(dbsession, person, other, tier="premium")
    elif case == "left":
        make_registration(dbsession, person, site, tier="premium", state="left")
    elif case == "draft":
        make_registration(dbsession, person, site, tier="premium")
        measure = make_measure(dbsession, site, "下書き", state="draft", slug="draft")
    elif case == "staff":
        person = make_staff(dbsession, site, "editor")
    return person, measure


@pytest.mark.parametrize("case,rule,words", [
    ("premium", None, None),
    ("basic_on_activity", None, None),
    ("basic_on_resident", "premium", "Support as for residents is for premium registrants"),
    ("premium_expired", "premium_valid", "ended on 2026-11-24"),
    ("other_site_only", "registration", "active registration with 長野市"),
    ("left", "registration", "active registration with 長野市"),
    ("draft", "open", "not open"),
    ("staff", "registrant", "registrant account"),
])
def test_who_may_apply_names_the_failing_rule(dbsession, service, site, case, rule, words):
    person, measure = _eligibility_case(dbsession, site, case)
    eligibility = service.who_may_apply(person, measure)
    assert (eligibility.allowed, eligibility.rule) == (rule is None, rule)
    if words:
        assert words in eligibility.message.interpolate()
        with pytest.raises(NotAllowed) as refused:
            service.apply(person, measure, answers={}, costs=costs(1000), receipts=[RECEIPT])
        assert refused.value.rule == rule


def test_an_application_stores_the_computed_amount_and_receipts(dbsession, service, site):
    measure = make_measure(dbsession, site, form_fields=[
        {"key": "f1", "label": "来訪日", "kind": "date", "required": True},
        {"key": "f2", "label": "同行人数", "kind": "number", "required": False}])
    person = make_applicant(dbsession, site)
    application = service.apply(
        person, measure, answers={"f1": "2026/12/01", "f2": "２"},
        costs=costs(500_000), receipts=[RECEIPT, Upload("写真.jpg", JPEG_BYTES)])
    assert (application.state, application.submitted_amount, application.tier) == (
        "submitted", 300_000, "premium")
    assert application.answers == {"f1": "2026-12-01", "f2": 2}
    assert (application.computation["raw"], application.computation["cap_total"]) == (
        375_000, 300_000)
    assert [(r.filename, r.media_type) for r in application.receipts] == [
        ("receipt.pdf", "application/pdf"), ("写真.jpg", "image/jpeg")]


@pytest.mark.parametrize("upload,words", [
    (Upload("receipt.pdf", b"GIF89a" + b"\x00" * 20), "not a PDF, JPEG or PNG"),
    (Upload("receipt.pdf", b"<html><script>alert(1)</script>"), "not a PDF, JPEG or PNG"),
    (Upload("empty.png", b""), "is empty"),
    (Upload("big.png", PNG_BYTES + b"\x00" * (5 * 1024 * 1024)), "larger than 5.0 MB"),
])
def test_receipts_are_checked_by_content_and_size(dbsession, service, site, upload, words):
    measure = make_measure(dbsession, site)
    person = make_applicant(dbsession, site)
    with pytest.raises(InvalidInput) as refused:
        service.apply(person, measure, answers={}, costs=costs(1000), receipts=[upload])
    assert refused.value.field == "receipts"
    assert words in refused.value.message.interpolate()


def test_receipts_are_required_when_money_is_paid(dbsession, service, site):
    measure = make_measure(dbsession, site)
    person = make_applicant(dbsession, site)
    with pytest.raises(InvalidInput) as refused:
        service.apply(person, measure, answers={}, costs=costs(1000), receipts=[])
    assert refused.value.field == "receipts"


@pytest.mark.parametrize("kind,raw,expected", [
    ("text", " 東京から ", "東京から"),
    ("number", "１２", 12),
    ("yen", "12,000円", 12000),
    ("date", "2026-12-01", "2026-12-01"),
])
def test_answers_are_stored_by_their_kind(kind, raw, expected):
    fields = [{"key": "f1", "label": "問", "kind": kind, "required": True}]
    assert checked_answers(fields, {"f1": raw}) == {"f1": expected}


@pytest.mark.parametrize("kind,raw", [("number", "two"), ("yen", "-5"), ("date", "12/01"),
                                      ("text", "")])
def test_bad_answers_are_refused_on_their_field(kind, raw):
    fields = [{"key": "f1", "label": "問", "kind": kind, "required": True}]
    with pytest.raises(InvalidInput) as refused:
        checked_answers(fields, {"f1": raw})
    assert refused.value.field == "f1"


# -- decisions and the budget -----------------------------------------------------------


def test_approval_recomputes_and_refuses_to_exceed_the_budget(dbsession, service, site,
                                                              coordinator):
    measure = make_measure(dbsession, site, budget_yen=100_000)
    first = service.apply(make_applicant(dbsession, site), measure, answers={},
                          costs=costs(100_000), receipts=[RECEIPT])
    second = service.apply(make_applicant(dbsession, site, "b@example.jp"), measure,
                           answers={}, costs=costs(100_000), receipts=[RECEIPT])
    service.approve(coordinator, first)
    assert (first.state, first.approved_amount) == ("approved", 75_000)
    with pytest.raises(NotAllowed) as refused:
        service.approve(coordinator, second)
    assert refused.value.message.interpolate() == (
        "Approving 75,000 yen would exceed the budget of this measure: only 25,000 yen of "
        "100,000 yen remain.")
    assert second.state == "submitted"
    use = service.budget_use([measure])[measure.id]
    assert (use.approved, use.paid, use.remaining, use.requested) == (75_000, 0, 25_000, 75_000)
    service.mark_paid(coordinator, first)
    use = service.budget_use([measure])[measure.id]
    assert (use.approved, use.paid, use.remaining) == (0, 75_000, 25_000)
    assert service.who_may_apply(make_applicant(dbsession, site, "c@example.jp"),
                                 measure).allowed


def test_an_exhausted_budget_refuses_new_applications(dbsession, service, site, coordinator):
    measure = make_measure(dbsession, site, budget_yen=75_000)
    first = service.apply(make_applicant(dbsession, site), measure, answers={},
                          costs=costs(100_000), receipts=[RECEIPT])
    service.approve(coordinator, first)
    eligibility = service.who_may_apply(make_applicant(dbsession, site, "b@example.jp"), measure)
    assert (eligibility.allowed, eligibility.rule) == (False, "budget")


def test_approval_uses_the_terms_of_the_moment_and_keeps_both_amounts(
        dbsession, service, site, coordinator):
    measure = make_measure(dbsession, site, cap_yen=300_000)
    application = service.apply(make_applicant(dbsession, site), measure, answers={},
                                costs=costs(500_000), receipts=[RECEIPT])
    measure.cap_yen = 200_000
    service.approve(coordinator, application)
    assert (application.submitted_amount, application.approved_amount) == (300_000, 200_000)
    assert application.approval_computation["cap_total"] == 200_000
    entry = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "support.approve")
                              ).one()
    assert entry.detail == {"amount": 200_000, "submitted_amount": 300_000}


def test_decisions_follow_the_states(dbsession, service, site, coordinator):
    measure = make_measure(dbsession, site)
    application = service.apply(make_applicant(dbsession, site), measure, answers={},
                                costs=costs(10_000), receipts=[RECEIPT])
    with pytest.raises(Conflict):
        service.mark_paid(coordinator, application)
    with pytest.raises(InvalidInput) as refused:
        service.reject(coordinator, application, "  ")
    assert refused.value.field == "reason"
    service.reject(coordinator, application, "領収書の日付が対象期間外です")
    assert (application.state, application.decided_by_id) == ("rejected",
                                                               coordinator.account_id)
    with pytest.raises(Conflict):
        service.approve(coordinator, application)
    [notice] = dbsession.scalars(select(InboxMessage).where(
        InboxMessage.account_id == application.account_id)).all()
    assert (notice.kind, notice.subject, notice.link) == (
        "application_result", f"【不承認】{measure.title}", "/my/support")
    assert notice.body.endswith("理由：領収書の日付が対象期間外です")


def test_the_applicant_is_told_of_approval_and_payment(dbsession, service, site, coordinator,
                                                      mail_catcher):
    measure = make_measure(dbsession, site)
    person = make_applicant(dbsession, site, "told@example.jp")
    application = service.apply(person, measure, answers={}, costs=costs(10_000),
                                receipts=[RECEIPT])
    mail_catcher.clear()
    service.approve(coordinator, application)
    service.mark_paid(coordinator, application)
    bodies = [n.body for n in dbsession.scalars(
        select(InboxMessage).where(InboxMessage.account_id == person.id)
        .order_by(InboxMessage.id))]
    assert bodies == [
        f"{measure.title}への申請が承認されました。承認額は7,500円です。お支払いは後日になります。",
        f"{measure.title}への申請について、7,500円をお支払いしました。"]
    assert [m["subject"] for m in mail_catcher.messages(to=person.email)] == [
        f"【承認】{measure.title}", f"【支払済み】{measure.title}"]


def test_nothing_is_paid_for_a_measure_without_money(dbsession, service, site, coordinator):
    shelter = make_measure(dbsession, site, "避難所の受け入れ", family="evacuation_shelter",
                           rate=(0, 1), cap_yen=0, budget_yen=0)
    application = service.apply(make_applicant(dbsession, site), shelter, answers={},
                                costs=[])
    service.approve(coordinator, application)
    assert (application.state, application.approved_amount) == ("approved", 0)
    with pytest.raises(NotAllowed):
        service.mark_paid(coordinator, application)


def test_the_budget_cannot_drop_below_what_is_approved(dbsession, service, site, editor,
                                                       coordinator):
    measure = make_measure(dbsession, site, budget_yen=1_000_000)
    application = service.apply(make_applicant(dbsession, site), measure, answers={},
                                costs=costs(100_000), receipts=[RECEIPT])
    service.approve(coordinator, application)
    with pytest.raises(InvalidInput) as refused:
        service.update_measure(editor, measure, may_publish=True, title=measure.title,
                               **{**TERMS, "budget_yen": 50_000})
    assert refused.value.field == "budget_yen"
    assert "75,000 yen" in refused.value.message.interpolate()


# -- export ----------------------------------------------------------------------------


def test_export_for_accounting_has_a_bom_no_personal_data_and_is_audited(
        dbsession, service, site, coordinator, clock):
    measure = make_measure(dbsession, site)
    person = make_applicant(dbsession, site, "hanako@example.jp")
    approved = service.apply(person, measure, answers={}, costs=costs(100_000),
                             receipts=[RECEIPT])
    service.approve(coordinator, approved)
    waiting = service.apply(person, measure, answers={}, costs=costs(10_000),
                            receipts=[RECEIPT])
    clock.advance(timedelta(days=7))
    service.mark_paid(coordinator, approved)
    data = service.export_csv(coordinator, site, translate=lambda ts: ts.interpolate())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["Application ID", "Measure ID", "Measure", "State", "Approved amount (yen)",
         "Approved on", "Paid on"],
        [str(approved.id), str(measure.id), measure.title, "Paid", "75000", "2026-11-25",
         "2026-12-02"],
    ]
    assert str(waiting.id) not in [row[0] for row in rows]
    assert b"hanako" not in data and "住民".encode() not in data
    entry = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "support.export")
                              ).one()
    assert (entry.actor_id, entry.site_id, entry.detail) == (
        coordinator.account_id, site.id, {"rows": 1})


# -- one open application per person and measure -----------------------------------


def test_the_same_form_sent_twice_returns_the_first_application(dbsession, service, site):
    measure = make_measure(dbsession, site)
    person = make_applicant(dbsession, site)
    first = service.apply(person, measure, answers={}, costs=costs(10_000), receipts=[RECEIPT],
                          request_token="form-1")
    again = service.apply(person, measure, answers={}, costs=costs(10_000),
                          receipts=[RECEIPT], request_token="form-1")
    assert again is first
    assert dbsession.scalar(select(func.count()).select_from(SupportApplication)) == 1


def test_a_second_open_application_for_the_same_measure_waits_for_the_first(
        dbsession, service, site, coordinator):
    measure = make_measure(dbsession, site)
    other = make_measure(dbsession, site, "宿泊費補助", family="lodging")
    person = make_applicant(dbsession, site)
    first = service.apply(person, measure, answers={}, costs=costs(10_000), receipts=[RECEIPT],
                          request_token="form-1")
    with pytest.raises(Conflict) as waiting:
        service.apply(person, measure, answers={}, costs=costs(20_000), receipts=[RECEIPT],
                      request_token="form-2")
    assert "waiting for a decision" in waiting.value.message.interpolate()
    service.apply(person, other, answers={}, costs=costs(20_000), receipts=[RECEIPT])
    service.approve(coordinator, first)
    next_trip = service.apply(person, measure, answers={}, costs=costs(20_000),
                              receipts=[RECEIPT], request_token="form-2")
    assert next_trip.state == "submitted"


def test_the_database_keeps_one_open_application_per_person_and_measure(dbsession, service,
                                                                        site):
    measure = make_measure(dbsession, site)
    first = service.apply(make_applicant(dbsession, site), measure, answers={},
                          costs=costs(10_000), receipts=[RECEIPT], request_token="form-1")
    copy = {column.key: getattr(first, column.key)
            for column in SupportApplication.__table__.columns if column.key != "id"}
    insert = SupportApplication.__table__.insert()
    with pytest.raises(IntegrityError), dbsession.begin_nested():
        dbsession.execute(insert.values({**copy, "request_token": None}))  # a second open one
    with pytest.raises(IntegrityError), dbsession.begin_nested():
        dbsession.execute(insert.values({**copy, "state": "rejected"}))  # the same form again
    dbsession.execute(insert.values({**copy, "state": "rejected", "request_token": None}))


# -- approvals at the same moment (PostgreSQL) ------------------------------------------


@needs_postgresql
def test_two_approvals_at_once_never_overspend_the_budget(own_database, app_settings):
    own_engine = own_database.engine
    clock = FixedClock(NOW)
    with Session(own_engine) as setup:
        site = make_site(setup, NAGANO_CITY)
        measure = make_measure(setup, site, budget_yen=100_000)
        service = SupportService(setup, clock=clock, settings=app_settings)
        ids = [service.apply(make_applicant(setup, site, f"p{i}@example.jp"), measure,
                             answers={}, costs=costs(100_000), receipts=[RECEIPT]).id
               for i in range(2)]
        actor = actor_for(make_staff(setup, site, "coordinator"))
        measure_id = measure.id
        setup.commit()

    def approve(session, application_id):
        application = session.get(SupportApplication, application_id)
        try:
            SupportService(session, clock=clock, settings=app_settings).approve(
                actor, application)
            session.commit()
            return "approved"
        except NotAllowed:
            return "refused"

    outcomes, errors = run_at_once(own_engine, approve, ids, timeout=60)
    assert errors == []
    assert sorted(outcomes) == ["approved", "refused"]
    with Session(own_engine) as check:
        approved = check.scalar(select(func.sum(SupportApplication.approved_amount)).where(
            SupportApplication.measure_id == measure_id))
    assert approved == 75_000
