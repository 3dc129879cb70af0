"""furusato-generate (合成データ): the same seed gives the same rows, the rows obey the
rules the services rely on, and about a tenth of the people qualify for premium."""
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from furusato_cms.clock import FixedClock
from furusato_cms.localgov import validate_code
from furusato_cms.models import (
    Account,
    Attendance,
    IdentityVerification,
    PremiumSlot,
    Registration,
    Site,
    get_engine,
)
from furusato_cms.scripts.generate import DEFAULT_AT, generate
from furusato_cms.services.eligibility import EligibilityService
from furusato_cms.services.statistics import StatisticsService

from ..dbsetup import drop_database, fresh_database_url, migrate

PEOPLE = 300
SEED = 7


def _generated(name, tmp_path_factory, worker_id_name, seed=SEED):
    url = fresh_database_url(f"{worker_id_name}_{name}", tmp_path_factory.mktemp(name))
    migrate(url)
    engine = get_engine({"furusato.db_url": url})
    counts = generate(engine, people=PEOPLE, seed=seed)
    return url, engine, counts


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, worker_id_name):
    """The same seed generated into two fresh databases."""
    runs = [_generated(name, tmp_path_factory, worker_id_name) for name in ("gen_a", "gen_b")]
    yield runs
    for url, engine, _counts in runs:
        engine.dispose()
        drop_database(url)


@pytest.fixture
def session(two_runs):
    with Session(two_runs[0][1]) as session:
        yield session


SAMPLES = (
    "SELECT id, email, created_at FROM accounts ORDER BY id LIMIT 20",
    "SELECT id, account_id, site_id, tier, state, at_home, derived_from_id "
    "FROM registrations ORDER BY id",
    "SELECT account_id, session_id, attended_at FROM attendances ORDER BY id",
    "SELECT account_id, home_code, birthdate, gender FROM identity_verifications ORDER BY id",
)


def test_the_same_seed_gives_the_same_rows(two_runs):
    (_u1, first, counts1), (_u2, second, counts2) = two_runs
    assert counts1 == counts2
    with first.connect() as a, second.connect() as b:
        for query in SAMPLES:
            assert a.execute(text(query)).all() == b.execute(text(query)).all(), query


def test_every_prefecture_and_real_municipalities_are_active_sites(session, two_runs):
    codes = session.execute(select(Site.code, Site.kind, Site.state)).all()
    assert {state for _c, _k, state in codes} == {"active"}
    assert sum(kind == "prefecture" for _c, kind, _s in codes) == 47
    assert sum(kind == "municipality" for _c, kind, _s in codes) > 1700
    for code, _kind, _state in codes:
        validate_code(code)
    names = dict(session.execute(select(Site.code, Site.name)).all())
    assert names["011002"] == "札幌市" and names["131016"] == "千代田区"
    assert two_runs[0][2]["accounts"] == PEOPLE


def test_registrations_obey_the_rules(session):
    per_person = session.execute(
        select(func.count()).select_from(Registration).join(Site)
        .where(Site.kind == "municipality").group_by(Registration.account_id)).scalars().all()
    assert len(per_person) == PEOPLE and min(per_person) >= 1 and max(per_person) <= 5
    derived = session.scalars(select(Registration).where(
        Registration.derived_from_id.is_not(None))).all()
    assert derived and all(r.site.kind == "prefecture" for r in derived)
    assert all(r.derived_from.site.prefecture_code == r.site.prefecture_code for r in derived)
    assert all(r.derived_from.account_id == r.account_id for r in derived)
    states = dict(session.execute(select(Registration.state, func.count())
                                  .group_by(Registration.state)).all())
    assert states.get("released", 0) > 0
    assert session.scalar(select(func.count()).select_from(Registration)
                          .where(Registration.at_home.is_(True))) > 0
    premium = session.scalars(select(Registration).where(Registration.tier == "premium")).all()
    slots = dict(session.execute(
        select(PremiumSlot.registration_id, PremiumSlot.account_id)).all())
    assert premium and {r.id: r.account_id for r in premium} == slots
    assert all(r.premium_until > r.premium_since for r in premium)


def test_at_home_means_the_verified_home(session):
    rows = session.execute(
        select(Registration.at_home, Site.code, Site.kind, IdentityVerification.home_code)
        .join(Site, Site.id == Registration.site_id)
        .join(IdentityVerification, IdentityVerification.account_id == Registration.account_id,
              isouter=True)).all()
    for at_home, code, kind, home in rows:
        home_site = home is not None and (
            code == home if kind == "municipality" else code[:2] == home[:2])
        assert at_home == home_site


def test_about_a_tenth_qualify_for_premium(session, app_settings):
    service = EligibilityService(session, clock=FixedClock(DEFAULT_AT), settings=app_settings)
    accounts = session.scalars(select(Account).order_by(Account.id)).all()
    sites = {}
    for registration in session.scalars(select(Registration).where(
            Registration.state == "active")):
        sites.setdefault(registration.account_id, []).append(registration.site)
    eligible = sum(
        any(answer.eligible for answer in service.evaluate_many(
            account, sites.get(account.id, []), DEFAULT_AT).values())
        for account in accounts)
    assert 0.05 * PEOPLE <= eligible <= 0.16 * PEOPLE
    attended = session.scalar(select(func.count(func.distinct(Attendance.account_id))))
    assert attended > eligible


def test_statistics_count_what_was_generated(session, app_settings):
    service = StatisticsService(session, clock=FixedClock(DEFAULT_AT), settings=app_settings)
    values = service.live_values(None, nation=True)
    counted = sum(sum(values.of(site_id).values["people"].values())
                  for site_id in session.scalars(select(Site.id)))
    active = session.scalar(select(func.count()).select_from(Registration).where(
        Registration.state == "active", Registration.at_home.is_(False)))
    assert counted == active
    people = session.scalar(select(func.count(func.distinct(Registration.account_id))).where(
        Registration.state == "active", Registration.at_home.is_(False)))
    assert 0 < people <= counted
