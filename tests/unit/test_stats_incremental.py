"""Statistics refreshed by what changed (services/stats_refresh.py): after random changes of
every kind a figure reads, and after the clock moves (age bands, the 365-day window), the
snapshot counted by changes equals both a count from scratch and the brute-force count, to
the unit, on SQLite and PostgreSQL; the change log is written by the database itself."""
import random
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text, update

from furusato_cms.models import (
    Account,
    Attendance,
    IdentityVerification,
    PremiumApplication,
    Registration,
    RegistrationEvent,
    StatsChange,
    StatsFigure,
    SupportApplication,
    SurveyAnswer,
)
from furusato_cms.services.home import is_home_site
from furusato_cms.services.statistics import StatisticsService

from ..stats_factories import HOMES, brute_force, populate

CAPTURED_TABLES = ("registrations", "identity_verifications", "attendances",
                   "registration_events", "survey_answers", "premium_applications",
                   "support_applications", "survey_questions", "accounts")


@pytest.fixture
def service(dbsession, clock, app_settings):
    return StatisticsService(dbsession, clock=clock, settings=app_settings)


def stored(dbsession, snapshot_id) -> dict:
    F = StatsFigure
    return {(site, figure, key): value for site, figure, key, value in dbsession.execute(
        select(F.site_id, F.figure, F.key, F.value).where(F.snapshot_id == snapshot_id))}


def _change_registrations(dbsession, rng, population):
    registrations = list(dbsession.scalars(select(Registration).order_by(Registration.id)))
    for registration in rng.sample(registrations, 6):
        registration.state = rng.choice(["active", "left", "released"])
        registration.tier = rng.choice(["basic", "premium"])
        registration.long_stay = rng.random() < 0.5
        registration.relationship_types = sorted(rng.sample(range(1, 5), rng.randint(0, 2)))
    taken = {(r.account_id, r.site_id) for r in registrations}
    verified = dict(dbsession.execute(
        select(IdentityVerification.account_id, IdentityVerification.home_code)).all())
    for account in rng.sample(population.accounts, 8):
        site = rng.choice(population.sites[1:])
        if (account.id, site.id) in taken:
            continue
        joined = dbsession.info.get("now")
        registration = Registration(
            account_id=account.id, site_id=site.id, state="active", tier="basic",
            at_home=is_home_site(site, verified.get(account.id)), relationship_types=[2],
            connections=["birthplace"], registered_at=joined, state_changed_at=joined)
        registration.events.append(RegistrationEvent(kind="joined", at=joined, detail={}))
        dbsession.add(registration)
        taken.add((account.id, site.id))


def _change_people(dbsession, rng, population):
    people = list(dbsession.scalars(select(IdentityVerification)
                                    .order_by(IdentityVerification.id)))
    for person in rng.sample(people, 3):
        person.gender = rng.choice(["female", "male", ""])
        person.home_code = rng.choice([home for home in HOMES if home])
    dbsession.delete(rng.choice(people))
    rng.choice(population.accounts).disabled_at = dbsession.info.get("now")


def _change_activity(dbsession, rng, _population):
    attendances = list(dbsession.scalars(select(Attendance).order_by(Attendance.id)))
    for attendance in rng.sample(attendances, 4):
        attendance.voided_at = None if attendance.voided_at else attendance.attended_at
    answers = list(dbsession.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id)))
    for answer in rng.sample(answers, 3):
        if "scale" in answer.value:
            answer.value = {"scale": rng.randint(1, 5)}
        else:
            dbsession.delete(answer)
    for application in rng.sample(list(dbsession.scalars(
            select(PremiumApplication).order_by(PremiumApplication.id))), 3):
        application.state = rng.choice(["pending", "approved", "rejected", "withdrawn"])
    # A bulk statement, as a job or someone at the SQL prompt would write it.
    dbsession.execute(update(SupportApplication).where(SupportApplication.state == "approved")
                      .values(state="paid", paid_at=dbsession.info.get("now")))


CHANGES = (_change_registrations, _change_people, _change_activity)
STEPS = (timedelta(minutes=1), timedelta(days=1), timedelta(days=40), timedelta(hours=3),
         timedelta(days=200))
"""The clock moves between refreshes: within a day, across birthdays on band bounds
(stats_factories' birthdates), and far enough for attendance to leave the 365 days."""


@pytest.mark.parametrize("seed", [1, 2])
def test_counted_by_changes_equals_counted_from_scratch(service, dbsession, clock, seed):
    rng = random.Random(seed)
    population = populate(dbsession, seed=seed, people=60)
    assert service.refresh()["method"] == "full"
    for step in STEPS:
        clock.advance(step)
        dbsession.info["now"] = clock()
        rng.choice(CHANGES)(dbsession, rng, population)
        rng.choice(CHANGES)(dbsession, rng, population)
        dbsession.flush()
        summary = service.refresh()
        assert summary["method"] == "changes"
        by_changes = stored(dbsession, summary["snapshot"])
        assert by_changes == brute_force(dbsession, clock()), step
        full = service.refresh(full=True)
        assert stored(dbsession, full["snapshot"]) == by_changes
    dbsession.info.pop("now", None)


def counted(summary) -> tuple:
    return (summary["sites_counted"], summary["registrations_counted"],
            summary["people_counted"])


def test_only_the_changed_registrations_are_counted_again(service, dbsession, clock):
    population = populate(dbsession, seed=3, people=30)
    service.refresh()
    clock.advance(timedelta(minutes=1))
    assert counted(service.refresh()) == (0, 0, 0)
    city = population.sites[1]
    person = dbsession.scalar(select(Registration).where(Registration.site_id == city.id,
                                                         Registration.state == "active"))
    person.long_stay = not person.long_stay
    dbsession.flush()
    clock.advance(timedelta(minutes=1))
    summary = service.refresh()
    assert counted(summary) == (0, 1, 1)
    assert stored(dbsession, summary["snapshot"]) == brute_force(dbsession, clock())
    assert dbsession.scalar(select(func.count()).select_from(StatsChange)) == 0


def test_new_attendance_is_added_and_a_void_counts_its_site_again(service, dbsession, clock):
    populate(dbsession, seed=6, people=30)
    service.refresh()
    attendance = dbsession.scalar(select(Attendance).where(Attendance.voided_at.is_(None))
                                  .order_by(Attendance.id))
    A = Attendance
    absent = dbsession.scalar(select(Registration.account_id).where(
        Registration.site_id == attendance.site_id,
        ~select(A.id).where(A.session_id == attendance.session_id,
                            A.account_id == Registration.account_id).exists()).limit(1))
    dbsession.add(Attendance(session_id=attendance.session_id, account_id=absent,
                             site_id=attendance.site_id, attended_at=clock(),
                             recorded_at=clock(), source="staff", designated=False))
    dbsession.flush()
    clock.advance(timedelta(minutes=1))
    summary = service.refresh()
    assert counted(summary)[0] == 0
    assert stored(dbsession, summary["snapshot"]) == brute_force(dbsession, clock())
    attendance.voided_at = clock()
    dbsession.flush()
    clock.advance(timedelta(minutes=1))
    summary = service.refresh()
    assert counted(summary)[0] == 1
    assert stored(dbsession, summary["snapshot"]) == brute_force(dbsession, clock())


def test_a_change_is_logged_by_the_database_whoever_writes_it(dbsession, clock):
    population = populate(dbsession, seed=4, people=10)
    dbsession.execute(text("DELETE FROM stats_changes"))
    account = population.accounts[0]
    dbsession.execute(update(Account).where(Account.id == account.id)
                      .values(disabled_at=clock()))
    logged = dbsession.execute(select(StatsChange.site_id, StatsChange.account_id)).all()
    assert logged == [(None, account.id)]


def test_every_table_a_figure_reads_keeps_its_trigger(dbsession):
    """A later migration in SQLite's batch mode rebuilds a table and would drop its
    triggers silently; this fails then."""
    connection = dbsession.connection()
    if connection.dialect.name == "postgresql":
        # one statement-level trigger per event (revision 0035); accounts a row trigger
        names = set(connection.execute(text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'stats\\_change%'")).all())
        for table in CAPTURED_TABLES[:-1]:
            for event in ("insert", "update", "delete"):
                assert (table, f"stats_change_{event}") in names
        assert ("accounts", "stats_change") in names
    else:
        rows = connection.execute(text(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))
        names = {(table, name) for table, name in rows}
        for table in CAPTURED_TABLES[:-1]:
            for event in ("insert", "update", "delete"):
                assert (table, f"stats_change_{table}_{event}") in names
        assert ("accounts", "stats_change_accounts_update") in names
    assert "stats_changes" in inspect(connection).get_table_names()


def test_the_clock_alone_changes_age_bands_and_the_365_day_window(service, dbsession, clock):
    """No row changes: a day later the people born on a band's bound (stats_factories)
    are in the older band, and 40 days later attendance has left the window."""
    clock.advance(timedelta(days=-1))
    populate(dbsession, seed=5, people=60)
    service.refresh()
    for step in (timedelta(days=1), timedelta(days=40)):
        before = stored(dbsession, service.latest_snapshot().id)
        clock.advance(step)
        summary = service.refresh()
        after = stored(dbsession, summary["snapshot"])
        assert summary["method"] == "changes" and after != before
        assert after == brute_force(dbsession, clock())
