"""A prefecture that joins later (issue 12, rule 5): at its approval — and at its
reactivation after a suspension — everyone already registered with its municipalities
gets the derived prefecture registration, set-based and idempotent, with a ``joined``
event each and the number in the audit log; new registrations derive from then on."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from furusato_cms.models import AuditEntry, Registration, RegistrationEvent
from furusato_cms.services.registration import RegistrationService
from furusato_cms.services.sites import SiteLifecycleService
from furusato_cms.services.statistics import StatisticsService

from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, T0, make_site
from ..premium_factories import CHIYODA, MAEBASHI, UEDA, make_person, site_of
from ..sites_factories import operator_actor


@pytest.fixture
def operator(dbsession):
    return operator_actor(dbsession)[1]


@pytest.fixture
def lifecycle(dbsession, clock, app_settings):
    return SiteLifecycleService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def registrations(dbsession, clock, app_settings):
    return RegistrationService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def prefecture(dbsession):
    return make_site(dbsession, NAGANO_PREF, state="applied", with_intro=False)


@pytest.fixture
def sites(dbsession, prefecture):
    return {code: site_of(dbsession, code) for code in (NAGANO_CITY, MATSUMOTO, MAEBASHI)}


def registered(dbsession, account, site, *, days=0, state="active", kind=3,
               connections=("tourism",), derived_from=None):
    registration = Registration(
        account_id=account.id, site_id=site.id, state=state, relationship_types=[kind],
        connections=list(connections), registered_at=T0 + timedelta(days=days),
        state_changed_at=T0 + timedelta(days=days), derived_from_id=derived_from)
    dbsession.add(registration)
    dbsession.flush()
    return registration


@pytest.fixture
def people(dbsession, sites, prefecture):
    """Who is registered where before the prefecture takes part."""
    nagano, matsumoto, maebashi = sites[NAGANO_CITY], sites[MATSUMOTO], sites[MAEBASHI]
    two = make_person(dbsession, "two@example.jp")
    first = registered(dbsession, two, nagano, days=1, kind=2, connections=("birthplace",))
    registered(dbsession, two, matsumoto, days=0 + 2, kind=4)
    local = make_person(dbsession, "local@example.jp", home_code=UEDA)
    local_registration = registered(dbsession, local, matsumoto, days=3)
    unverified = make_person(dbsession, "unverified@example.jp", verified=False)
    unverified_registration = registered(dbsession, unverified, nagano, days=4)
    declared = make_person(dbsession, "declared@example.jp", verified=False)
    declared.declared_home_code = UEDA
    declared_registration = registered(dbsession, declared, nagano, days=5)
    gone = make_person(dbsession, "gone@example.jp")
    registered(dbsession, gone, nagano, state="left")
    elsewhere = make_person(dbsession, "elsewhere@example.jp")
    registered(dbsession, elsewhere, maebashi)
    disabled = make_person(dbsession, "disabled@example.jp")
    disabled.disabled_at = T0
    registered(dbsession, disabled, nagano)
    kept = {}
    for state in ("active", "left", "released"):
        person = make_person(dbsession, f"prefecture-{state}@example.jp", home_code=CHIYODA)
        registered(dbsession, person, nagano)
        kept[state] = registered(dbsession, person, prefecture, state=state, kind=1)
    return {"carriers": {two.id: first, local.id: local_registration,
                         unverified.id: unverified_registration,
                         declared.id: declared_registration},
            "at_home": {local.id, declared.id}, "kept": kept}


def prefecture_rows(dbsession, prefecture) -> dict:
    return {r.account_id: r for r in dbsession.scalars(
        select(Registration).where(Registration.site_id == prefecture.id))}


def event_count(dbsession) -> int:
    return dbsession.scalar(select(func.count()).select_from(RegistrationEvent))


def derive_audit(dbsession, prefecture) -> list:
    return [entry.detail["registrations"] for entry in dbsession.scalars(
        select(AuditEntry).where(AuditEntry.site_id == prefecture.id,
                                 AuditEntry.action == "site.derive_registrations")
        .order_by(AuditEntry.id))]


def test_approval_derives_exactly_the_people_of_its_municipalities(
        dbsession, lifecycle, operator, prefecture, people, clock):
    lifecycle.approve(operator, prefecture, "admin@pref.example.jp")
    dbsession.expire_all()

    rows = prefecture_rows(dbsession, prefecture)
    carriers = people["carriers"]
    made = {account_id: row for account_id, row in rows.items() if account_id in carriers}
    assert set(rows) == set(carriers) | {r.account_id for r in people["kept"].values()}
    assert {a: r.derived_from_id for a, r in made.items()} == {
        a: carrier.id for a, carrier in carriers.items()}
    for account_id, row in made.items():
        carrier = carriers[account_id]
        assert (row.state, row.tier, row.registered_at, row.state_changed_at) == (
            "active", "basic", clock(), clock())
        assert (row.relationship_types, row.connections) == (
            carrier.relationship_types, carrier.connections)
        assert row.at_home is (account_id in people["at_home"])
        [event] = row.events
        assert (event.kind, event.at, event.detail) == (
            "joined", clock(), {"derived_from": carrier.id, "reason": "prefecture_joined"})
    assert derive_audit(dbsession, prefecture) == [4]


def test_registrations_with_the_prefecture_in_any_state_are_left_untouched(
        dbsession, lifecycle, operator, prefecture, people):
    kept = {state: (r.id, r.derived_from_id, r.relationship_types, r.state_changed_at)
            for state, r in people["kept"].items()}
    lifecycle.approve(operator, prefecture, "admin@pref.example.jp")
    dbsession.expire_all()
    assert {state: (r.id, r.derived_from_id, r.relationship_types, r.state_changed_at)
            for state, r in people["kept"].items()} == kept
    assert {state: r.state for state, r in people["kept"].items()} == {
        state: state for state in kept}
    assert all(r.events == [] for r in people["kept"].values())


def test_the_back_fill_is_idempotent(dbsession, lifecycle, registrations, operator,
                                     prefecture, people):
    lifecycle.approve(operator, prefecture, "admin@pref.example.jp")
    rows, events = len(prefecture_rows(dbsession, prefecture)), event_count(dbsession)
    assert registrations.derive_for_prefecture(prefecture) == 0
    assert (len(prefecture_rows(dbsession, prefecture)), event_count(dbsession)) == (
        rows, events)


def test_reactivation_derives_those_who_registered_during_the_suspension(
        dbsession, lifecycle, registrations, operator, prefecture, sites, people):
    lifecycle.approve(operator, prefecture, "admin@pref.example.jp")
    lifecycle.suspend(operator, prefecture, "点検")
    newcomer = make_person(dbsession, "newcomer@example.jp")
    registrations.register(newcomer, sites[MATSUMOTO], [2], ["tourism"], {})
    assert newcomer.id not in prefecture_rows(dbsession, prefecture)

    lifecycle.reactivate(operator, prefecture)
    dbsession.expire_all()

    row = prefecture_rows(dbsession, prefecture)[newcomer.id]
    assert (row.state, row.relationship_types) == ("active", [2])
    assert derive_audit(dbsession, prefecture) == [4, 1]


def test_registrations_after_the_approval_derive_by_themselves(
        dbsession, lifecycle, registrations, operator, prefecture, sites, people):
    lifecycle.approve(operator, prefecture, "admin@pref.example.jp")
    later = make_person(dbsession, "later@example.jp")
    municipal = registrations.register(later, sites[NAGANO_CITY], [1], ["side_job"], {})
    assert prefecture_rows(dbsession, prefecture)[later.id].derived_from_id == municipal.id


def test_a_municipality_approval_derives_nothing(dbsession, lifecycle, operator):
    ueda = make_site(dbsession, UEDA, state="applied", with_intro=False)
    make_site(dbsession, NAGANO_PREF, with_intro=False)
    lifecycle.approve(operator, ueda, "admin@ueda.example.jp")
    assert derive_audit(dbsession, ueda) == []


def test_statistics_count_the_back_filled_registrations_as_derived(
        dbsession, lifecycle, operator, prefecture, people, clock, app_settings):
    lifecycle.approve(operator, prefecture, "admin@pref.example.jp")
    figures = StatisticsService(dbsession, clock=clock, settings=app_settings).live_values(
        [prefecture.id]).of(prefecture.id)
    # derived: the two people living elsewhere (at home is never counted);
    # direct: the one active direct registration kept as it was
    assert (figures.value("origin", "derived"), figures.value("origin", "direct")) == (2, 1)
