"""Renewal across a simulated year with an injected clock: notices, automatic renewal,
renewals queued for review with a grace period, falling back to basic, the script."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from furusato_cms.clock import FixedClock
from furusato_cms.models import (
    PremiumApplication,
    PremiumSlot,
    Registration,
    RegistrationEvent,
)
from furusato_cms.services import renewal
from furusato_cms.services.audit import Actor
from furusato_cms.services.premium import PremiumService
from furusato_cms.services.renewal import RenewalService

from ..factories import NAGANO_CITY, NAGANO_PREF
from ..premium_factories import (
    MAEBASHI,
    give_activities,
    make_person,
    make_premium,
    make_stays,
    site_of,
    tokyo,
)
from ..script_support import run_script, script_summary, write_ini

DAY = timedelta(days=1)
RENEW_SCRIPT = "furusato-renew"
GRANTED = tokyo(2026, 11, 25, 12)
EXPIRES = tokyo(2027, 11, 25, 12)
COORDINATOR = Actor(account_id=None, label="coordinator")


@pytest.fixture
def clock():
    return FixedClock(GRANTED)


@pytest.fixture
def service(dbsession, clock, app_settings):
    return RenewalService(dbsession, clock=clock, settings=app_settings)


def premium_person(dbsession, code=NAGANO_CITY, email="renew@example.jp", *, activities=3,
                   **site_settings):
    """Premium at ``code`` from GRANTED to EXPIRES, with ``activities`` designated
    activities at the site during that year."""
    site = site_of(dbsession, code, **site_settings)
    person = make_person(dbsession, email)
    registration = make_premium(dbsession, person, site, since=GRANTED, until=EXPIRES)
    if activities:
        give_activities(dbsession, person, site,
                        [tokyo(2027, month, 10, 10) for month in (2, 5, 9, 10)[:activities]])
    return person, registration


def run_at(service, clock, dbsession, moment):
    clock.moment = moment
    summary = service.run()
    dbsession.expire_all()
    return {key: summary[key] for key in ("noticed", "renewed", "queued", "fell_back")}


def run_daily(service, clock, dbsession, start, days) -> dict:
    """One run a day (at noon, Tokyo) for ``days`` days; the day of each non-empty result."""
    results = {}
    for n in range(days):
        moment = start + n * DAY
        summary = run_at(service, clock, dbsession, moment)
        if any(summary.values()):
            results[moment.date()] = summary
    return results


def kinds(dbsession, registration):
    return [e.kind for e in dbsession.scalars(
        select(RegistrationEvent).where(RegistrationEvent.registration_id == registration.id)
        .order_by(RegistrationEvent.id))]


NOTICE = {"noticed": 1, "renewed": 0, "queued": 0, "fell_back": 0}


def test_two_years_of_daily_runs(dbsession, service, clock, catcher):
    """Activities in the first year only: renewed at the first expiry, back to basic at
    the second; a notice 30 days before each."""
    person, registration = premium_person(dbsession)

    results = run_daily(service, clock, dbsession, GRANTED, 740)

    assert results == {
        date(2027, 10, 26): NOTICE,
        date(2027, 11, 25): {"noticed": 0, "renewed": 1, "queued": 0, "fell_back": 0},
        date(2028, 10, 26): NOTICE,
        date(2028, 11, 25): {"noticed": 0, "renewed": 0, "queued": 0, "fell_back": 1},
    }
    assert registration.tier == "basic"
    assert registration.premium_until == tokyo(2028, 11, 25, 12)
    assert kinds(dbsession, registration) == ["premium_renewed", "renewal_refused",
                                              "premium_fell_back"]
    mails = catcher.messages(to=person.email)
    assert len(mails) == 4
    assert "2027年11月25日" in mails[0]["text"]
    assert "2028年11月25日" in mails[1]["text"]


def test_requirements_failing_at_expiry_fall_back_to_basic(dbsession, service, clock, catcher):
    person, registration = premium_person(dbsession, activities=2)

    assert run_at(service, clock, dbsession, EXPIRES - DAY)["fell_back"] == 0
    summary = run_at(service, clock, dbsession, EXPIRES)

    assert summary == {"noticed": 0, "renewed": 0, "queued": 0, "fell_back": 1}
    assert registration.tier == "basic" and registration.state == "active"
    assert dbsession.scalar(select(func.count()).select_from(PremiumSlot)) == 0
    assert kinds(dbsession, registration) == ["renewal_refused", "premium_fell_back"]
    refused = dbsession.scalar(select(RegistrationEvent.detail).where(
        RegistrationEvent.kind == "renewal_refused"))
    assert refused["failed"] == ["activities"] and refused["activities"] == 2
    notice, mail = catcher.messages(to=person.email)
    assert "ベーシック" in mail["text"]
    assert "指定された担い手活動" in mail["text"]


def test_the_year_counted_is_the_one_before_the_run(dbsession, service, clock):
    """Activities of the first months of the period are more than 12 months old at
    expiry: they no longer count."""
    site = site_of(dbsession, NAGANO_CITY)
    person = make_person(dbsession)
    registration = make_premium(dbsession, person, site, since=GRANTED, until=EXPIRES)
    give_activities(dbsession, person, site, [tokyo(2026, 11, 24, 10), tokyo(2027, 3, 1, 10),
                                              tokyo(2027, 6, 1, 10)])
    run_at(service, clock, dbsession, EXPIRES)
    assert registration.tier == "basic"


def test_a_site_reviewing_renewals_queues_them_with_a_grace_period(dbsession, service, clock,
                                                                     app_settings, catcher):
    person, registration = premium_person(dbsession, auto_renewal=False)

    summary = run_at(service, clock, dbsession, EXPIRES)

    assert summary == {"noticed": 0, "renewed": 0, "queued": 1, "fell_back": 0}
    assert registration.tier == "premium"
    assert registration.premium_until == EXPIRES + 30 * DAY
    application = dbsession.scalar(select(PremiumApplication))
    assert (application.kind, application.state) == ("renewal", "pending")
    assert datetime.fromisoformat(application.evidence["period_end"]) == EXPIRES
    assert application.evidence["activity_count"] == 3
    assert "審査" in catcher.messages(to=person.email)[0]["text"]
    assert run_at(service, clock, dbsession, EXPIRES + DAY) == {
        "noticed": 0, "renewed": 0, "queued": 0, "fell_back": 0}

    clock.moment = EXPIRES + 10 * DAY
    PremiumService(dbsession, clock=clock, settings=app_settings).approve(COORDINATOR,
                                                                        application)

    assert application.state == "approved"
    assert registration.premium_until == tokyo(2028, 11, 25, 12)
    assert registration.renewal_notice_at is None
    assert kinds(dbsession, registration)[-1] == "premium_renewed"


def test_undecided_at_the_end_of_the_grace_period_falls_back(dbsession, service, clock):
    _person, registration = premium_person(dbsession, auto_renewal=False)
    run_at(service, clock, dbsession, EXPIRES)

    assert run_at(service, clock, dbsession, EXPIRES + 29 * DAY)["fell_back"] == 0
    summary = run_at(service, clock, dbsession, EXPIRES + 30 * DAY)

    assert summary["fell_back"] == 1
    assert registration.tier == "basic"
    assert dbsession.scalar(select(PremiumApplication.state)) == "withdrawn"
    assert dbsession.scalar(select(RegistrationEvent.detail).where(
        RegistrationEvent.kind == "premium_fell_back")) == {"reason": "renewal_not_decided"}


def test_a_rejected_renewal_falls_back_at_once(dbsession, service, clock, app_settings):
    _person, registration = premium_person(dbsession, auto_renewal=False)
    run_at(service, clock, dbsession, EXPIRES)
    application = dbsession.scalar(select(PremiumApplication))

    PremiumService(dbsession, clock=clock, settings=app_settings).reject(
        COORDINATOR, application, "活動の内容を確認できませんでした。")

    assert registration.tier == "basic"
    assert dbsession.scalar(select(func.count()).select_from(PremiumSlot)) == 0


def test_running_twice_at_the_same_moment_changes_nothing(dbsession, service, clock, catcher):
    premium_person(dbsession)
    premium_person(dbsession, MAEBASHI, "other@example.jp", activities=0)
    first = run_at(service, clock, dbsession, EXPIRES)
    second = run_at(service, clock, dbsession, EXPIRES)
    assert first == {"noticed": 0, "renewed": 1, "queued": 0, "fell_back": 1}
    assert second == {"noticed": 0, "renewed": 0, "queued": 0, "fell_back": 0}
    assert len(catcher.messages()) == 2


def test_one_mail_per_person_for_several_sites(dbsession, service, clock, catcher):
    person, _registration = premium_person(dbsession)
    make_premium(dbsession, person, site_of(dbsession, MAEBASHI), since=GRANTED, until=EXPIRES)
    run_at(service, clock, dbsession, EXPIRES - 30 * DAY)
    run_at(service, clock, dbsession, EXPIRES)
    notice, outcome = catcher.messages(to=person.email)
    assert "長野市" in notice["text"] and "前橋市" in notice["text"]
    assert "更新" in outcome["text"] and "前橋市" in outcome["text"]


def test_the_prefecture_takes_the_slot_of_a_municipality_falling_back(dbsession, service,
                                                                      clock):
    person, city = premium_person(dbsession, activities=0)
    prefecture = make_premium(dbsession, person, site_of(dbsession, NAGANO_PREF),
                              since=GRANTED + 60 * DAY, until=EXPIRES + 60 * DAY)
    assert prefecture.id not in set(dbsession.scalars(select(PremiumSlot.registration_id)))

    run_at(service, clock, dbsession, EXPIRES)

    assert city.tier == "basic" and prefecture.tier == "premium"
    assert set(dbsession.scalars(select(PremiumSlot.registration_id))) == {prefecture.id}


def test_the_long_stay_mark_is_judged_again(dbsession, service, clock):
    person, registration = premium_person(dbsession, long_stay_enabled=True,
                                          long_stay_min_days=2)
    registration.long_stay = False
    make_stays(dbsession, person, registration.site, [date(2027, 8, 1), date(2027, 8, 2)])
    run_at(service, clock, dbsession, EXPIRES)
    assert registration.long_stay is True


def test_set_based_no_query_per_person(dbsession, service, clock, monkeypatch, catcher):
    monkeypatch.setattr(renewal, "CHUNK", 20)
    site = site_of(dbsession, NAGANO_CITY)
    people = [make_person(dbsession, f"many{n}@example.jp") for n in range(60)]
    for n, person in enumerate(people):
        make_premium(dbsession, person, site, since=GRANTED, until=EXPIRES)
        if n % 2:
            give_activities(dbsession, person, site, [tokyo(2027, 9, d, 10) for d in (1, 2, 3)])
    statements = []
    engine = dbsession.get_bind().engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        summary = run_at(service, clock, dbsession, EXPIRES)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert summary == {"noticed": 0, "renewed": 30, "queued": 0, "fell_back": 30}
    assert len(statements) < 60
    assert len(catcher.messages()) == 60
    assert dbsession.scalar(select(func.count()).select_from(Registration)
                            .where(Registration.tier == "premium")) == 30


# -- the console script --------------------------------------------------------------------

def test_console_script_prints_a_json_summary(script_database, tmp_path, mail_catcher):
    url, engine = script_database
    with Session(engine) as setup:
        premium_person(setup, email="cron@example.jp")
        setup.commit()
    ini = write_ini(tmp_path / "renew.ini", url, mail_catcher=mail_catcher)
    mail_catcher.clear()

    notice = script_summary(RENEW_SCRIPT, ini, "--at", (EXPIRES - 30 * DAY).isoformat())
    renewed = script_summary(RENEW_SCRIPT, ini, "--at", EXPIRES.isoformat())

    assert notice == {"at": (EXPIRES - 30 * DAY).isoformat(), "noticed": 1, "renewed": 0,
                      "queued": 0, "fell_back": 0}
    assert renewed == {"at": EXPIRES.isoformat(), "noticed": 0, "renewed": 1, "queued": 0,
                       "fell_back": 0}
    assert len(mail_catcher.messages(to="cron@example.jp")) == 2
    with engine.connect() as conn:
        assert conn.scalar(select(Registration.premium_until)) == tokyo(2028, 11, 25, 12)


def test_console_script_refuses_a_time_without_zone(tmp_path, mail_catcher):
    ini = write_ini(tmp_path / "renew.ini", f"sqlite:///{tmp_path}/unused.sqlite",
                    mail_catcher=mail_catcher)
    result = run_script(RENEW_SCRIPT, ini, "--at", "2027-11-25T12:00")
    assert result.returncode == 2
    assert "time zone" in result.stderr

