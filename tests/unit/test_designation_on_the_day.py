"""Designation counts as it was on the day (issue 12, rule 6): every writer stores the
project's designation on the attendance it records, and premium counting (eligibility,
renewal) reads the stored flag, so designating or undesignating a project later changes
no past count — while attendance recorded after the change follows the new flag."""
import pytest

from furusato_cms.clock import FixedClock
from furusato_cms.services.attendance import AttendanceService
from furusato_cms.services.eligibility import EligibilityService
from furusato_cms.services.projects import ProjectService
from furusato_cms.services.renewal import RenewalService

from ..activity_factories import make_project, make_session
from ..attendance_factories import make_checkin_world, make_registered
from ..conftest import NOW
from ..factories import NAGANO_CITY, make_staff
from ..premium_factories import make_person, make_premium, register, site_of, tokyo
from ..registrant_factories import make_registrant
from ..sites_factories import actor_for

AT = tokyo(2027, 5, 10, 15)
"""The moment judged: its 12 months run from 2026/05/10 to 2027/05/10."""
MOMENTS = [tokyo(2026, 12, 1, 10), tokyo(2027, 3, 1, 10), tokyo(2027, 4, 1, 10)]
"""Three activities inside that window."""
BOTH_WAYS = pytest.mark.parametrize("on_the_day, later", [(True, False), (False, True)],
                                    ids=["undesignated-later", "designated-later"])


@pytest.fixture
def site(dbsession):
    return site_of(dbsession, NAGANO_CITY)


@pytest.fixture
def coordinator(dbsession, site):
    return actor_for(make_staff(dbsession, site, "coordinator"))


def services(dbsession, app_settings, moment):
    clock = FixedClock(moment)
    return (AttendanceService(dbsession, clock=clock, settings=app_settings),
            ProjectService(dbsession, clock=clock, settings=app_settings),
            EligibilityService(dbsession, clock=clock, settings=app_settings))


def record(dbsession, attendance, coordinator, person, project, moments):
    """Staff record ``person`` at one new session of ``project`` per moment."""
    return [attendance.record_by_staff(coordinator, make_session(dbsession, project, moment),
                                       person).attendance
            for moment in moments]


# -- every writer stores the flag of the moment ------------------------------------------------

@pytest.mark.parametrize("designated", [True, False])
def test_qr_check_in_stores_the_projects_designation(dbsession, app_settings, designated):
    world = make_checkin_world(dbsession, NOW)
    world.project.designated = designated
    person = make_registered(dbsession, world.site)
    attendance = AttendanceService(dbsession, clock=FixedClock(NOW), settings=app_settings)
    recorded = attendance.check_in(person, attendance.tokens.token_for(world.session))
    assert recorded.created and recorded.attendance.designated is designated


@pytest.mark.parametrize("designated", [True, False])
def test_staff_by_hand_and_by_card_store_the_projects_designation(dbsession, app_settings,
                                                                   designated):
    world = make_checkin_world(dbsession, NOW)
    world.project.designated = designated
    staff = actor_for(make_staff(dbsession, world.site, "coordinator"))
    attendance = AttendanceService(dbsession, clock=FixedClock(NOW), settings=app_settings)
    by_hand = attendance.record_by_staff(staff, world.session,
                                         make_registered(dbsession, world.site))
    card = attendance.card_code_for(make_registrant(dbsession, "card@example.jp"))
    by_card = attendance.record_by_card(staff, world.session, card.code)
    assert [r.attendance.designated for r in (by_hand, by_card)] == [designated, designated]


# -- premium counts use the stored flag ----------------------------------------------------------

@BOTH_WAYS
def test_a_later_designation_change_changes_no_past_count(dbsession, app_settings, site,
                                                          coordinator, on_the_day, later):
    person = make_person(dbsession)
    register(dbsession, person, site)
    project = make_project(dbsession, site, "草刈り", designated=on_the_day)
    attendance, projects, eligibility = services(dbsession, app_settings, AT)
    past = record(dbsession, attendance, coordinator, person, project, MOMENTS)
    assert [row.designated for row in past] == [on_the_day] * 3
    before = eligibility.evaluate(person, site, AT)

    projects.designate(coordinator, project, later)
    after = eligibility.evaluate(person, site, AT)

    assert before.activity_count == after.activity_count == (3 if on_the_day else 0)
    assert after.requirement("activities").held is on_the_day
    [new] = record(dbsession, attendance, coordinator, person, project,
                   [tokyo(2027, 5, 1, 10)])
    assert new.designated is later
    assert eligibility.evaluate(person, site, AT).activity_count == (
        after.activity_count + (1 if later else 0))


@BOTH_WAYS
def test_renewal_counts_the_designation_of_the_day(dbsession, app_settings, site, coordinator,
                                                   on_the_day, later):
    """Premium from 2026/11/25 to 2027/11/25; three activities during the year, then the
    site changes the project's designation before the expiry run."""
    granted, expires = tokyo(2026, 11, 25, 12), tokyo(2027, 11, 25, 12)
    person = make_person(dbsession)
    registration = make_premium(dbsession, person, site, since=granted, until=expires)
    project = make_project(dbsession, site, "草刈り", designated=on_the_day)
    attendance, projects, _eligibility = services(dbsession, app_settings, expires)
    record(dbsession, attendance, coordinator, person, project,
           [tokyo(2027, month, 10, 10) for month in (2, 5, 9)])
    projects.designate(coordinator, project, later)

    summary = RenewalService(dbsession, clock=FixedClock(expires), settings=app_settings).run()
    dbsession.expire_all()

    assert (summary["renewed"], summary["fell_back"]) == ((1, 0) if on_the_day else (0, 1))
    assert registration.tier == ("premium" if on_the_day else "basic")
