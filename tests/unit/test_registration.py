"""Basic registration (ベーシック登録) rules, tested on the service without HTTP."""
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from furusato_cms.localgov import check_digit
from furusato_cms.models import (
    Account,
    Registration,
    RegistrationEvent,
    Site,
)
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.registration import AnswersRefused, RegistrationService

from ..concurrency.support import needs_postgresql, second_behind_first
from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_site
from ..registrant_factories import make_registrant
from ..registration_factories import make_verification
from ..survey_factories import make_question

NATIONAL = {"relationship_types": [4], "connections": ["birthplace", "family"]}


@pytest.fixture
def service(dbsession, clock, app_settings):
    return RegistrationService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def nagano(dbsession):
    """Nagano prefecture with two of its cities, all active."""
    return {
        "pref": make_site(dbsession, NAGANO_PREF),
        "city": make_site(dbsession, NAGANO_CITY),
        "matsumoto": make_site(dbsession, MATSUMOTO),
    }


@pytest.fixture
def person(dbsession):
    return make_registrant(dbsession)


def register(service, person, site, answers=None, **national):
    values = {**NATIONAL, **national}
    return service.register(person, site, values["relationship_types"], values["connections"],
                            answers or {}, postal_code=values.get("postal_code"))


def rows(dbsession, person):
    dbsession.flush()
    return {
        r.site.code: r
        for r in dbsession.scalars(select(Registration).where(Registration.account_id == person.id))
    }


def events(dbsession, registration):
    return [
        e.kind for e in dbsession.scalars(
            select(RegistrationEvent)
            .where(RegistrationEvent.registration_id == registration.id)
            .order_by(RegistrationEvent.id)
        )
    ]


def municipality_code(prefecture: int) -> str:
    first_five = f"{prefecture:02d}201"
    return first_five + check_digit(first_five)


def test_any_number_of_basic_registrations(dbsession, service, person):
    sites = [make_site(dbsession, municipality_code(p)) for p in range(1, 13)]
    for site in sites:
        register(service, person, site)
    registered = rows(dbsession, person)
    assert len(registered) == 12
    assert all(r.state == "active" and r.tier == "basic" for r in registered.values())


def test_national_answers_are_stored_in_vocabulary_order(dbsession, service, person, nagano):
    registration = register(service, person, nagano["city"], relationship_types=["4", "2"],
                            connections=["family", "birthplace"])
    assert registration.relationship_types == [2, 4]
    assert registration.connections == ["birthplace", "family"]
    assert registration.registered_at == service.clock()
    assert events(dbsession, registration) == ["joined"]


def test_municipality_brings_its_prefecture_once(dbsession, service, person, nagano):
    city = register(service, person, nagano["city"])
    register(service, person, nagano["matsumoto"])
    registered = rows(dbsession, person)
    assert set(registered) == {NAGANO_PREF, NAGANO_CITY, MATSUMOTO}
    prefecture = registered[NAGANO_PREF]
    assert prefecture.derived_from_id == city.id
    assert prefecture.relationship_types == [4]
    assert prefecture.connections == ["birthplace", "family"]
    assert events(dbsession, prefecture) == ["joined"]


def test_direct_prefecture_then_municipality_adds_nothing(dbsession, service, person, nagano):
    direct = register(service, person, nagano["pref"], relationship_types=[3],
                      connections=["furusato_nozei"])
    register(service, person, nagano["city"])
    registered = rows(dbsession, person)
    assert len(registered) == 2
    assert registered[NAGANO_PREF].id == direct.id
    assert registered[NAGANO_PREF].derived_from_id is None
    assert registered[NAGANO_PREF].connections == ["furusato_nozei"]
    assert events(dbsession, direct) == ["joined"]


def test_direct_registration_turns_a_derived_one_direct(dbsession, service, person, nagano):
    register(service, person, nagano["city"])
    prefecture = register(service, person, nagano["pref"], relationship_types=[1],
                          connections=["volunteering"])
    assert prefecture.derived_from_id is None
    assert prefecture.relationship_types == [1]
    assert len(rows(dbsession, person)) == 2
    assert events(dbsession, prefecture) == ["joined", "made_direct"]
    with pytest.raises(Conflict):
        register(service, person, nagano["pref"])


def test_inactive_prefecture_gives_no_derived_registration(dbsession, service, person):
    make_site(dbsession, NAGANO_PREF, state="suspended")
    register(service, person, make_site(dbsession, NAGANO_CITY))
    assert set(rows(dbsession, person)) == {NAGANO_CITY}


@pytest.mark.parametrize("state", ["applied", "suspended", "withdrawn"])
def test_only_active_sites_accept_registrations(dbsession, service, person, state):
    site = make_site(dbsession, NAGANO_CITY, state=state)
    with pytest.raises(NotAllowed):
        register(service, person, site)
    assert rows(dbsession, person) == {}


def test_registering_at_home_is_allowed_and_flagged(dbsession, service, person, nagano):
    make_verification(dbsession, person, NAGANO_CITY)
    register(service, person, nagano["city"])
    register(service, person, nagano["matsumoto"])
    registered = rows(dbsession, person)
    assert registered[NAGANO_CITY].at_home is True
    assert registered[NAGANO_PREF].at_home is True
    assert registered[MATSUMOTO].at_home is False


def test_without_verification_or_declaration_nothing_is_at_home(dbsession, service, person,
                                                                nagano):
    register(service, person, nagano["city"])
    assert not any(r.at_home for r in rows(dbsession, person).values())


def test_the_declared_postal_code_makes_registrations_at_home(dbsession, service, person,
                                                              nagano):
    """長野市's 〒380-0851 in full-width digits: only its code is kept on the account."""
    register(service, person, nagano["matsumoto"], postal_code="３８０－０８５１")
    register(service, person, nagano["city"])
    assert person.declared_home_code == NAGANO_CITY
    registered = rows(dbsession, person)
    assert registered[NAGANO_CITY].at_home is True
    assert registered[NAGANO_PREF].at_home is True
    assert registered[MATSUMOTO].at_home is False


def test_changing_the_declaration_recomputes_every_at_home_flag(dbsession, service, person,
                                                                 nagano):
    register(service, person, nagano["city"], postal_code="3800851")
    matsumoto = register(service, person, nagano["matsumoto"])
    service.update_answers(matsumoto, [1], ["tourism"], {}, postal_code="390-0874")
    dbsession.expire_all()
    registered = rows(dbsession, person)
    assert person.declared_home_code == MATSUMOTO
    assert registered[MATSUMOTO].at_home is True
    assert registered[NAGANO_CITY].at_home is False
    assert registered[NAGANO_PREF].at_home is True


def test_an_unknown_postal_code_is_refused_on_its_field(dbsession, service, person, nagano):
    with pytest.raises(InvalidInput) as refused:
        register(service, person, nagano["city"], postal_code="000-0000")
    assert refused.value.field == "postal_code"
    assert rows(dbsession, person) == {} and person.declared_home_code is None


def test_a_verified_address_wins_over_the_declaration(dbsession, service, person, nagano):
    make_verification(dbsession, person, MATSUMOTO)
    register(service, person, nagano["city"], postal_code="380-0851")
    register(service, person, nagano["matsumoto"])
    registered = rows(dbsession, person)
    assert registered[NAGANO_CITY].at_home is False
    assert registered[MATSUMOTO].at_home is True


def test_unanswered_types_are_asked_once_and_stored(dbsession, service, person, nagano):
    city = register(service, person, nagano["city"])
    matsumoto = register(service, person, nagano["matsumoto"])
    prefecture = rows(dbsession, person)[NAGANO_PREF]
    for registration in (city, matsumoto, prefecture):
        registration.relationship_types = []
    prefecture.state = "left"  # ended registrations are not asked about
    person.ask_relationship_types = True
    dbsession.flush()
    assert [r.id for r in service.unanswered_types(person)] == [city.id, matsumoto.id]
    service.asked_types(person)
    assert person.ask_relationship_types is False
    with pytest.raises(InvalidInput):
        service.answer_types(person, {city.id: ["7"]})
    assert service.answer_types(person, {city.id: ["3", "1"], matsumoto.id: []}) == 1
    assert city.relationship_types == [1, 3] and matsumoto.relationship_types == []


def test_second_registration_is_refused_with_a_message(dbsession, service, person, nagano):
    register(service, person, nagano["matsumoto"])
    with pytest.raises(Conflict) as refused:
        register(service, person, nagano["matsumoto"])
    assert "松本市" in refused.value.message.interpolate()
    count = dbsession.scalar(
        select(func.count()).select_from(Registration)
        .where(Registration.account_id == person.id, Registration.site_id == nagano["matsumoto"].id)
    )
    assert count == 1


@pytest.mark.parametrize(
    ("national", "field"),
    [
        ({"relationship_types": [5]}, "relationship_types"),
        ({"relationship_types": [1, 5]}, "relationship_types"),
        ({"relationship_types": ["x"]}, "relationship_types"),
        ({"relationship_types": []}, "relationship_types"),
        ({"relationship_types": None}, "relationship_types"),
        ({"connections": []}, "connections"),
        ({"connections": ["birthplace", "casino"]}, "connections"),
    ],
)
def test_national_questions_are_checked(dbsession, service, person, nagano, national, field):
    with pytest.raises(InvalidInput) as refused:
        register(service, person, nagano["city"], **national)
    assert refused.value.field == field
    assert rows(dbsession, person) == {}


def test_site_answers_are_checked_saved_and_edited(dbsession, service, person, nagano):
    fruit = make_question(dbsession, nagano["city"], "single", required=True)
    comment = make_question(dbsession, nagano["city"], "text")
    with pytest.raises(AnswersRefused) as refused:
        register(service, person, nagano["city"], {f"q{comment.id}": "x"})
    assert set(refused.value.errors) == {f"q{fruit.id}"}
    assert rows(dbsession, person) == {}

    registration = register(service, person, nagano["city"],
                            {f"q{fruit.id}": "apple", f"q{comment.id}": "よろしく"})
    assert service.answers_of(registration) == {
        fruit.id: {"choice": "apple"}, comment.id: {"text": "よろしく"},
    }
    service.update_answers(registration, [2, 3], ["tourism"], {f"q{fruit.id}": "peach"})
    dbsession.expire_all()
    assert registration.relationship_types == [2, 3] and registration.connections == ["tourism"]
    assert service.answers_of(registration)[fruit.id] == {"choice": "peach"}
    assert events(dbsession, registration) == ["joined", "answers_updated"]
    with pytest.raises(AnswersRefused):
        service.update_answers(registration, [2], ["tourism"], {f"q{fruit.id}": "durian"})
    with pytest.raises(InvalidInput) as unanswered:
        service.update_answers(registration, [], ["tourism"], {f"q{fruit.id}": "peach"})
    assert unanswered.value.field == "relationship_types"


def test_leave_and_rejoin_keep_the_first_date_and_history(dbsession, service, clock, person,
                                                          nagano):
    first = clock()
    registration = register(service, person, nagano["matsumoto"])
    clock.advance(timedelta(days=10))
    service.leave(registration)
    assert registration.state == "left" and registration.state_changed_at == clock()
    with pytest.raises(NotAllowed):
        service.leave(registration)
    with pytest.raises(NotAllowed):
        service.update_answers(registration, [1], ["other"], {})
    clock.advance(timedelta(days=10))
    again = register(service, person, nagano["matsumoto"], relationship_types=[1])
    assert again.id == registration.id
    assert again.state == "active" and again.registered_at == first
    assert again.relationship_types == [1]
    assert events(dbsession, again) == ["joined", "left", "rejoined"]


def test_leaving_the_municipality_leaves_its_derived_prefecture(dbsession, service, person,
                                                                nagano):
    city = register(service, person, nagano["city"])
    service.leave(city)
    prefecture = rows(dbsession, person)[NAGANO_PREF]
    assert prefecture.state == "left"
    assert events(dbsession, prefecture) == ["joined", "left"]

    register(service, person, nagano["city"])
    assert rows(dbsession, person)[NAGANO_PREF].state == "active"
    assert events(dbsession, prefecture) == ["joined", "left", "rejoined"]


def test_another_municipality_keeps_the_derived_prefecture(dbsession, service, person, nagano):
    city = register(service, person, nagano["city"])
    matsumoto = register(service, person, nagano["matsumoto"])
    service.leave(city)
    prefecture = rows(dbsession, person)[NAGANO_PREF]
    assert prefecture.state == "active" and prefecture.derived_from_id == matsumoto.id
    service.leave(matsumoto)
    assert rows(dbsession, person)[NAGANO_PREF].state == "left"


def test_leaving_the_municipality_keeps_a_direct_prefecture(dbsession, service, person, nagano):
    register(service, person, nagano["pref"])
    city = register(service, person, nagano["city"])
    service.leave(city)
    assert rows(dbsession, person)[NAGANO_PREF].state == "active"


def test_registrations_of_is_one_query(dbsession, service, person, nagano, engine):
    register(service, person, nagano["city"])
    register(service, person, nagano["matsumoto"])
    service.leave(rows(dbsession, person)[MATSUMOTO])
    dbsession.flush()
    dbsession.expunge_all()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        found = service.registrations_of(person)
        names = [(r.site.name, r.derived_from.site.name if r.derived_from else None, r.state)
                 for r in found]
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    assert names == [("長野市", None, "active"), ("長野県", "長野市", "active"),
                     ("松本市", None, "left")]


def test_card_lists_active_registrations_and_verification(dbsession, service, person, nagano):
    verification = make_verification(dbsession, person, MATSUMOTO)
    city = register(service, person, nagano["city"])
    register(service, person, nagano["matsumoto"])
    service.leave(rows(dbsession, person)[MATSUMOTO])
    card = service.card(person)
    assert card.verification.id == verification.id
    assert [(r.site.code, r.derived_from_id) for r in card.registrations] == [
        (NAGANO_CITY, None), (NAGANO_PREF, city.id),
    ]
    assert card.registrations[1].at_home is True


# -- two requests at once (PostgreSQL) ---------------------------------------------

@needs_postgresql
def test_concurrent_registrations_leave_one_row(own_database, clock, app_settings):
    """Two connections register the same person with one site at once: the unique
    constraint keeps one row and the second gets the "already registered" message."""
    engine = own_database.engine
    code = municipality_code(47)
    with Session(engine) as setup:
        site_id = make_site(setup, code, with_intro=False).id
        account_id = make_registrant(setup, "concurrent@example.jp").id
        setup.commit()

    def register_in(session):
        service = RegistrationService(session, clock=clock, settings=app_settings)
        try:
            register(service, session.get(Account, account_id), session.get(Site, site_id))
            return "registered"
        except Conflict:
            return "conflict"

    _first, second = second_behind_first(engine, register_in, register_in,
                                         what="registration")
    assert second == "conflict"
    with engine.connect() as conn:
        count = conn.scalar(
            select(func.count()).select_from(Registration)
            .where(Registration.account_id == account_id)
        )
    assert count == 1
