"""Release for inactivity (解除): notice 30 days before, release after, sign-in cancels."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.models import NationalSettings, Registration, RegistrationEvent, SurveyAnswer
from furusato_cms.services.inactivity_release import InactivityRelease

from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_site
from ..registrant_factories import make_registrant
from ..script_support import run_script, script_summary, write_ini
from ..survey_factories import make_answer, make_question, make_registration

DAY = timedelta(days=1)
RELEASE_SCRIPT = "furusato-release-inactive"
NOTICE_AFTER = timedelta(days=730 - 30)
"""The national inactivity period (730 days) minus the 30-day notice."""


@pytest.fixture
def service(dbsession, clock, app_settings):
    return InactivityRelease(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def sites(dbsession):
    return {
        "city": make_site(dbsession, NAGANO_CITY),
        "matsumoto": make_site(dbsession, MATSUMOTO),
        "pref": make_site(dbsession, NAGANO_PREF, inactivity_days=365),
    }


def registrant(dbsession, email, last_signin_at, **kw):
    return make_registrant(dbsession, email, last_signin_at=last_signin_at, **kw)


def kinds(dbsession, registration):
    return [
        e.kind for e in dbsession.scalars(
            select(RegistrationEvent).where(RegistrationEvent.registration_id == registration.id)
            .order_by(RegistrationEvent.id)
        )
    ]


def run(service, dbsession, moment):
    summary = service.run(moment)
    dbsession.expire_all()
    return summary


def counts(summary):
    return {key: summary[key] for key in ("notified", "people_notified", "released", "cancelled")}


def test_notice_once_per_person_listing_every_affected_site(dbsession, service, sites, catcher):
    due = registrant(dbsession, "due@example.jp", NOW - NOTICE_AFTER)
    recent = registrant(dbsession, "recent@example.jp", NOW - NOTICE_AFTER + DAY)
    city = make_registration(dbsession, sites["city"], due)
    matsumoto = make_registration(dbsession, sites["matsumoto"], due)
    untouched = make_registration(dbsession, sites["city"], recent)

    summary = run(service, dbsession, NOW)

    assert counts(summary) == {"notified": 2, "people_notified": 1, "released": 0, "cancelled": 0}
    assert city.release_notice_at == NOW and matsumoto.release_notice_at == NOW
    assert untouched.release_notice_at is None
    assert kinds(dbsession, city) == ["release_notice"]
    mails = catcher.messages(to="due@example.jp")
    assert len(mails) == 1
    assert "長野市" in mails[0]["text"] and "松本市" in mails[0]["text"]
    assert "解除" in mails[0]["subject"]
    assert "2026年12月25日" in mails[0]["text"]
    assert catcher.messages(to="recent@example.jp") == []


def test_a_second_run_at_the_same_moment_does_nothing(dbsession, service, sites, catcher):
    person = registrant(dbsession, "twice@example.jp", NOW - NOTICE_AFTER)
    registration = make_registration(dbsession, sites["city"], person)
    run(service, dbsession, NOW)
    again = run(service, dbsession, NOW)
    assert counts(again) == {"notified": 0, "people_notified": 0, "released": 0, "cancelled": 0}
    assert len(catcher.messages(to="twice@example.jp")) == 1
    assert kinds(dbsession, registration) == ["release_notice"]


def test_release_thirty_days_after_the_notice_and_nothing_deleted(dbsession, service, sites,
                                                                  catcher):
    person = registrant(dbsession, "gone@example.jp", NOW - NOTICE_AFTER)
    registration = make_registration(dbsession, sites["city"], person)
    question = make_question(dbsession, sites["city"], "text")
    make_answer(dbsession, registration, question, {"text": "りんご"})
    run(service, dbsession, NOW)

    assert counts(run(service, dbsession, NOW + 29 * DAY))["released"] == 0
    assert registration.state == "active"

    summary = run(service, dbsession, NOW + 30 * DAY)
    assert counts(summary) == {"notified": 0, "people_notified": 0, "released": 1, "cancelled": 0}
    assert registration.state == "released"
    assert registration.state_changed_at == NOW + 30 * DAY
    assert registration.registered_at is not None
    assert kinds(dbsession, registration) == ["release_notice", "released"]
    assert dbsession.scalar(select(func.count()).select_from(SurveyAnswer)
                            .where(SurveyAnswer.registration_id == registration.id)) == 1
    assert counts(run(service, dbsession, NOW + 30 * DAY))["released"] == 0


def test_signing_in_after_the_notice_cancels_it(dbsession, service, sites, catcher):
    person = registrant(dbsession, "back@example.jp", NOW - NOTICE_AFTER)
    registration = make_registration(dbsession, sites["city"], person)
    run(service, dbsession, NOW)
    person.last_signin_at = NOW + 5 * DAY
    dbsession.flush()

    summary = run(service, dbsession, NOW + 30 * DAY)
    assert counts(summary) == {"notified": 0, "people_notified": 0, "released": 0, "cancelled": 1}
    assert registration.state == "active" and registration.release_notice_at is None
    assert kinds(dbsession, registration) == ["release_notice", "release_cancelled"]


def test_never_signed_in_counts_from_account_creation(dbsession, service, sites, catcher):
    person = registrant(dbsession, "never@example.jp", None)
    make_registration(dbsession, sites["city"], person)
    created = person.created_at
    assert counts(run(service, dbsession, created + NOTICE_AFTER - DAY))["notified"] == 0
    assert counts(run(service, dbsession, created + NOTICE_AFTER))["notified"] == 1


def national_period(dbsession, days):
    dbsession.get(NationalSettings, 1).inactivity_days = days
    dbsession.flush()


def test_a_site_may_lengthen_the_period(dbsession, service, sites, catcher):
    """Matsumoto keeps registrations 1000 days: notice at 970 days, the city (national
    730) at 700."""
    sites["matsumoto"].inactivity_days = 1000
    person = registrant(dbsession, "long@example.jp", NOW - NOTICE_AFTER)
    city = make_registration(dbsession, sites["city"], person)
    matsumoto = make_registration(dbsession, sites["matsumoto"], person)
    run(service, dbsession, NOW)
    assert city.release_notice_at == NOW and matsumoto.release_notice_at is None
    run(service, dbsession, NOW + timedelta(days=270 - 1))
    assert matsumoto.release_notice_at is None
    later = NOW + timedelta(days=270)
    run(service, dbsession, later)
    assert matsumoto.release_notice_at == later
    run(service, dbsession, later + timedelta(days=30))
    assert matsumoto.state == "released"


def test_a_shorter_site_period_does_not_shorten_the_national_one(dbsession, service, sites,
                                                                  catcher):
    """The prefecture still holds 365 days from before the rule: 730 applies."""
    person = registrant(dbsession, "pref@example.jp", NOW - timedelta(days=335))
    prefecture = make_registration(dbsession, sites["pref"], person)
    run(service, dbsession, NOW)
    assert prefecture.release_notice_at is None
    run(service, dbsession, NOW + timedelta(days=700 - 335))
    assert prefecture.release_notice_at == NOW + timedelta(days=700 - 335)


def test_raising_the_national_period_lengthens_every_site_below_it(dbsession, service, sites,
                                                                    catcher):
    sites["matsumoto"].inactivity_days = 1000
    national_period(dbsession, 900)
    person = registrant(dbsession, "raised@example.jp", NOW - NOTICE_AFTER)
    city = make_registration(dbsession, sites["city"], person)
    matsumoto = make_registration(dbsession, sites["matsumoto"], person)
    run(service, dbsession, NOW)
    assert city.release_notice_at is None and matsumoto.release_notice_at is None
    at_870 = NOW + timedelta(days=170)
    run(service, dbsession, at_870)
    assert city.release_notice_at == at_870 and matsumoto.release_notice_at is None


def test_a_notice_is_withdrawn_when_the_period_grows(dbsession, service, sites, catcher):
    person = registrant(dbsession, "withdrawn@example.jp", NOW - NOTICE_AFTER)
    city = make_registration(dbsession, sites["city"], person)
    run(service, dbsession, NOW)
    assert city.release_notice_at == NOW
    national_period(dbsession, 1095)
    summary = run(service, dbsession, NOW + timedelta(days=30))
    assert summary["released"] == 0 and summary["cancelled"] == 1
    assert city.state == "active" and city.release_notice_at is None
    assert kinds(dbsession, city) == ["release_notice", "release_cancelled"]


def test_premium_and_ended_registrations_are_left_alone(dbsession, service, sites, catcher):
    person = registrant(dbsession, "premium@example.jp", NOW - NOTICE_AFTER * 2)
    premium = make_registration(dbsession, sites["city"], person, tier="premium")
    left = make_registration(dbsession, sites["matsumoto"], person, state="left")
    summary = run(service, dbsession, NOW)
    assert summary["notified"] == 0
    assert premium.release_notice_at is None and left.release_notice_at is None


def test_notice_in_the_persons_language(dbsession, service, sites, catcher):
    person = registrant(dbsession, "english@example.jp", NOW - NOTICE_AFTER, locale="en")
    make_registration(dbsession, sites["city"], person)
    run(service, dbsession, NOW)
    (mail,) = catcher.messages(to="english@example.jp")
    # Python's email folding may start a long Subject on its own line: compare stripped.
    assert mail["subject"].strip() == (
        "Your Furusato resident registration will be released on Fri 25 Dec 2026"
    )
    assert "http://localhost/signin" in mail["text"]


# -- the console script ------------------------------------------------------------

def test_console_script_prints_a_json_summary(script_database, tmp_path, mail_catcher):
    """furusato-release-inactive against a migrated SQLite file, as cron would run it."""
    url, engine = script_database
    with Session(engine) as setup:
        site = make_site(setup, NAGANO_CITY)
        person = registrant(setup, "cron@example.jp", NOW - NOTICE_AFTER)
        make_registration(setup, site, person)
        setup.commit()
    ini = write_ini(tmp_path / "release.ini", url, mail_catcher=mail_catcher)
    mail_catcher.clear()

    first = script_summary(RELEASE_SCRIPT, ini, "--at", NOW.isoformat())
    second = script_summary(RELEASE_SCRIPT, ini, "--at", NOW.isoformat())
    later = script_summary(RELEASE_SCRIPT, ini, "--at", (NOW + 30 * DAY).isoformat())

    assert counts(first) == {"notified": 1, "people_notified": 1, "released": 0, "cancelled": 0}
    assert first["at"] == NOW.isoformat()
    assert counts(second) == {"notified": 0, "people_notified": 0, "released": 0, "cancelled": 0}
    assert counts(later)["released"] == 1
    assert len(mail_catcher.messages(to="cron@example.jp")) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(Registration.state)) == "released"


def test_console_script_refuses_a_time_without_zone(tmp_path, mail_catcher):
    ini = write_ini(tmp_path / "release.ini", f"sqlite:///{tmp_path}/unused.sqlite",
                    mail_catcher=mail_catcher)
    result = run_script(RELEASE_SCRIPT, ini, "--at", "2026-11-25T12:00")
    assert result.returncode == 2
    assert "time zone" in result.stderr

