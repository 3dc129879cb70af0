"""Identity verification (マイナンバーカードによる本人確認) at the service level, against the
real local OpenID Connect provider process: the whole exchange, every refusal, the home
municipality, one identity per account and the guardian's consent for minors."""
import dataclasses
import re
import socket
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import func, select

from furusato_cms.models import GuardianConsent, IdentityVerification, Registration
from furusato_cms.services.errors import InvalidInput, NotAllowed
from furusato_cms.services.identity import (
    SCOPES,
    IdentityError,
    IdentityService,
    VerifiedPerson,
    age_on,
    looks_like_individual_number,
    verified_person,
)

from furusato_cms.postal import home_municipality

from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, T0, make_site
from ..registrant_factories import make_registrant

FAULTS = {
    "fault-bad-signature": "bad_signature",
    "fault-wrong-nonce": "wrong_nonce",
    "fault-expired": "expired_token",
    "fault-wrong-audience": "wrong_audience",
}


@pytest.fixture
def service(dbsession, clock, app_settings):
    return IdentityService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def person(dbsession):
    return make_registrant(dbsession, "person@example.jp")


def query(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query))


def callback_for(service, account, provider, person_key):
    url, pending = service.begin(account)
    return pending, query(provider.choose_person(url, person_key))


def verify(service, account, provider, person_key):
    pending, params = callback_for(service, account, provider, person_key)
    return service.complete(account, pending, params)


def stored_count(dbsession) -> int:
    return dbsession.scalar(select(func.count()).select_from(IdentityVerification))


def register(dbsession, account, site):
    registration = Registration(account_id=account.id, site_id=site.id, registered_at=T0,
                                state_changed_at=T0, relationship_types=[1], connections=[])
    dbsession.add(registration)
    dbsession.flush()
    return registration


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the exchange ------------------------------------------------------------------------

def test_begin_asks_for_the_my_number_card_profile_with_pkce(service, person, app_settings):
    url, pending = service.begin(person)
    params = query(url)
    assert url.startswith(app_settings.oidc_issuer + "/authorize?")
    assert params["response_type"] == "code"
    assert params["client_id"] == app_settings.oidc_client_id
    assert params["redirect_uri"] == "http://localhost/my/identity/callback"
    assert params["scope"] == SCOPES == "openid name address birthdate gender"
    assert params["state"] == pending["state"] and params["nonce"] == pending["nonce"]
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] == create_s256_code_challenge(pending["verifier"])
    assert pending["account_id"] == person.id
    assert len({pending["state"], pending["nonce"], pending["verifier"]}) == 3


def test_a_full_exchange_keeps_only_the_verified_attributes(
        service, person, app_oidc_provider, clock):
    verification = verify(service, person, app_oidc_provider, "nagano-adult")
    nagano = app_oidc_provider.people["nagano-adult"]
    assert (verification.account_id, verification.issuer, verification.subject) == (
        person.id, app_oidc_provider.issuer, nagano["sub"])
    assert verification.name == "佐藤 花子"
    assert verification.address == "〒380-0851 長野県長野市元善町491"
    assert verification.postal_code == "3800851"
    assert verification.birthdate == date(1990, 8, 3)
    assert verification.gender == "female"
    assert (verification.home_code, verification.home_name) == (NAGANO_CITY, "長野市")
    assert verification.verified_at == clock()
    status = service.status(person)
    assert status.verified and not status.minor and not status.needs_guardian_consent
    assert service.has_valid_guardian_consent(person)


def test_verification_marks_registrations_at_home(
        service, person, app_oidc_provider, dbsession):
    home_city = register(dbsession, person, make_site(dbsession, NAGANO_CITY))
    home_prefecture = register(dbsession, person, make_site(dbsession, NAGANO_PREF))
    elsewhere = register(dbsession, person, make_site(dbsession, MATSUMOTO))
    verify(service, person, app_oidc_provider, "nagano-adult")
    dbsession.expire_all()
    assert home_city.at_home and home_prefecture.at_home
    assert not elsewhere.at_home


def test_a_verified_address_replaces_the_declared_home(
        service, person, app_oidc_provider, dbsession):
    """Declared 松本市 (postal code at registration), verified 長野市: verified wins."""
    matsumoto = register(dbsession, person, make_site(dbsession, MATSUMOTO))
    nagano = register(dbsession, person, make_site(dbsession, NAGANO_CITY))
    person.declared_home_code = MATSUMOTO
    matsumoto.at_home = True
    dbsession.flush()
    verify(service, person, app_oidc_provider, "nagano-adult")
    dbsession.expire_all()
    assert nagano.at_home and not matsumoto.at_home


def test_verifying_again_updates_the_attributes_and_moves_home(
        service, person, app_oidc_provider, dbsession, clock):
    matsumoto = register(dbsession, person, make_site(dbsession, MATSUMOTO))
    nagano = register(dbsession, person, make_site(dbsession, NAGANO_CITY))
    verification = verify(service, person, app_oidc_provider, "nagano-adult")
    # As if the person had lived in Matsumoto at an earlier verification.
    verification.address, verification.home_code = "長野県松本市大手3-8-13", MATSUMOTO
    verification.verified_at = T0
    matsumoto.at_home, nagano.at_home = True, False
    dbsession.flush()

    again = verify(service, person, app_oidc_provider, "nagano-adult")
    dbsession.expire_all()
    assert again.id == verification.id
    assert again.address == "〒380-0851 長野県長野市元善町491"
    assert again.home_code == NAGANO_CITY and again.verified_at == clock()
    assert nagano.at_home and not matsumoto.at_home
    assert stored_count(dbsession) == 1


# --- one identity per account, one account per identity --------------------------------

def test_a_second_account_cannot_verify_the_same_person(
        service, person, app_oidc_provider, dbsession):
    verify(service, person, app_oidc_provider, "nagano-adult")
    other = make_registrant(dbsession, "other@example.jp")
    with pytest.raises(IdentityError) as refused:
        verify(service, other, app_oidc_provider, "nagano-adult")
    assert refused.value.reason == "identity_taken"
    assert "another account" in refused.value.message
    assert service.verification_of(other) is None
    assert stored_count(dbsession) == 1


def test_the_database_refuses_a_racing_second_account_with_the_same_message(
        service, person, app_oidc_provider, dbsession, monkeypatch):
    verify(service, person, app_oidc_provider, "nagano-adult")
    other = make_registrant(dbsession, "other@example.jp")
    monkeypatch.setattr(IdentityService, "_check_not_taken", lambda self, account, who: None)
    with pytest.raises(IdentityError) as refused:
        verify(service, other, app_oidc_provider, "nagano-adult")
    assert refused.value.reason == "identity_taken"
    assert service.verification_of(other) is None
    assert stored_count(dbsession) == 1  # the session is still usable after the SAVEPOINT


def test_an_account_stays_with_the_person_who_verified_it(
        service, person, app_oidc_provider, dbsession):
    verify(service, person, app_oidc_provider, "nagano-adult")
    with pytest.raises(IdentityError) as refused:
        verify(service, person, app_oidc_provider, "tokyo-adult")
    assert refused.value.reason == "another_person"
    assert service.verification_of(person).name == "佐藤 花子"


# --- refusals -----------------------------------------------------------------------------

@pytest.mark.parametrize("person_key, reason", FAULTS.items())
def test_a_faulty_id_token_is_refused_and_nothing_is_stored(
        service, person, app_oidc_provider, dbsession, person_key, reason):
    with pytest.raises(IdentityError) as refused:
        verify(service, person, app_oidc_provider, person_key)
    assert refused.value.reason == reason
    assert stored_count(dbsession) == 0


@pytest.mark.parametrize("state", ["forged-state", "あいう", "", None])
def test_a_wrong_or_missing_state_is_refused_before_the_code_is_used(
        service, person, app_oidc_provider, state):
    pending, params = callback_for(service, person, app_oidc_provider, "nagano-adult")
    params.pop("state")
    if state is not None:
        params["state"] = state
    with pytest.raises(IdentityError) as refused:
        service.complete(person, pending, params)
    assert refused.value.reason == "state_mismatch"
    # The code was not spent: with the right state it still works.
    params["state"] = pending["state"]
    assert service.complete(person, pending, params).name == "佐藤 花子"


def test_a_callback_without_a_request_of_this_account_is_refused(
        service, person, app_oidc_provider, dbsession):
    pending, params = callback_for(service, person, app_oidc_provider, "nagano-adult")
    other = make_registrant(dbsession, "other@example.jp")
    for account, kept in ((person, None), (person, {}), (other, pending)):
        with pytest.raises(IdentityError) as refused:
            service.complete(account, kept, params)
        assert refused.value.reason == "no_request"
    assert stored_count(dbsession) == 0


def test_a_callback_long_after_the_start_is_refused(service, person, app_oidc_provider, clock):
    pending, params = callback_for(service, person, app_oidc_provider, "nagano-adult")
    clock.advance(timedelta(minutes=16))
    with pytest.raises(IdentityError) as refused:
        service.complete(person, pending, params)
    assert refused.value.reason == "request_expired"


def test_cancelling_at_the_provider_is_refused(service, person, app_oidc_provider):
    url, pending = service.begin(person)
    params = query(app_oidc_provider.cancel(url))
    with pytest.raises(IdentityError) as refused:
        service.complete(person, pending, params)
    assert refused.value.reason == "cancelled"


def test_a_spent_code_is_refused_by_the_provider(service, person, app_oidc_provider, dbsession):
    pending, params = callback_for(service, person, app_oidc_provider, "tokyo-adult")
    service.complete(person, pending, params)
    dbsession.delete(service.verification_of(person))
    dbsession.flush()
    with pytest.raises(IdentityError) as refused:
        service.complete(person, pending, params)
    assert refused.value.reason == "provider_error"
    assert stored_count(dbsession) == 0


def test_a_provider_that_is_down_is_refused_cleanly(
        person, dbsession, clock, app_settings, app_oidc_provider):
    working = IdentityService(dbsession, clock=clock, settings=app_settings)
    pending, params = callback_for(working, person, app_oidc_provider, "nagano-adult")
    down = dataclasses.replace(app_settings, oidc_issuer=f"http://127.0.0.1:{closed_port()}")
    service = IdentityService(dbsession, clock=clock, settings=down)
    with pytest.raises(IdentityError) as refused:
        service.begin(person)
    assert refused.value.reason == "provider_unreachable"
    with pytest.raises(IdentityError) as refused:
        service.complete(person, {**pending, "issuer": down.oidc_issuer}, params)
    assert refused.value.reason == "provider_unreachable"
    assert stored_count(dbsession) == 0


# --- what is kept -------------------------------------------------------------------------

def test_no_individual_number_is_ever_kept():
    claims = {
        "name": "山田 太郎", "birthdate": "1985-04-12", "gender": "1234 5678 9012",
        "address": {"formatted": "東京都千代田区千代田1-1", "postal_code": "100-0001"},
        "individual_number": "123456789012", "my_number": "１２３４５６７８９０１２",
    }
    person = verified_person("https://idp.example", "4cf79e70c5b6e4b1", claims)
    kept = dataclasses.asdict(person)
    assert person.gender == ""
    assert not any(looks_like_individual_number(str(value)) for value in kept.values())
    assert set(kept) == {f.name for f in dataclasses.fields(VerifiedPerson)}

    with pytest.raises(IdentityError) as refused:
        verified_person("https://idp.example", "x", {**claims, "name": "123456789012"})
    assert refused.value.reason == "missing_claims"
    with pytest.raises(IdentityError) as refused:
        verified_person("https://idp.example", "1234-5678-9012", claims)
    assert refused.value.reason == "invalid_token"


def test_missing_claims_are_refused():
    with pytest.raises(IdentityError) as refused:
        verified_person("https://idp.example", "abc", {"name": "山田 太郎",
                                                       "birthdate": "1985-13-40",
                                                       "address": {"formatted": "東京都"}})
    assert refused.value.reason == "missing_claims"


def test_stored_verification_holds_nothing_shaped_like_an_individual_number(
        service, person, app_oidc_provider, dbsession):
    verify(service, person, app_oidc_provider, "sapporo-adult")
    row = dbsession.execute(select(IdentityVerification.__table__)).mappings().one()
    assert not any(re.search(r"\d{12}", str(value)) for value in row.values())


# --- home municipality --------------------------------------------------------------------

def located(postal_code="", address="", region="", locality=""):
    return home_municipality(postal_code, address, region, locality)


@pytest.mark.parametrize("postal_code, address, expected", [
    ("3800851", "", ("202011", "長野市")),
    ("1000001", "", ("131016", "千代田区")),            # a Tokyo special ward is a municipality
    ("0600001", "", ("011002", "札幌市")),              # a designated city's ward is its city
    ("0040000", "", ("011002", "札幌市")),              # spans two wards of one city
    ("9999999", "〒999-9999 長野県松本市大手3-8-13", ("202029", "松本市")),
    ("", "長野県軽井沢町長倉", ("203211", "北佐久郡軽井沢町")),    # county (郡) left out
    ("", "北海道札幌市北一条西2丁目", ("011002", "札幌市")),
    ("", "どこか遠くの町", None),
])
def test_home_municipality_from_postal_code_or_address(postal_code, address, expected):
    found = located(postal_code, address)
    assert (found and (found.code, found.name)) == expected


def test_sapporo_ward_resident_is_at_home_in_sapporo(
        service, person, app_oidc_provider, dbsession):
    sapporo = register(dbsession, person, make_site(dbsession, "011002", name="札幌市"))
    verification = verify(service, person, app_oidc_provider, "sapporo-adult")
    dbsession.expire_all()
    assert verification.home_code == "011002" and sapporo.at_home


# --- minors and the guardian's consent ----------------------------------------------------

def test_age_counts_completed_years():
    assert age_on(date(2008, 11, 25), date(2026, 11, 25)) == 18
    assert age_on(date(2008, 11, 26), date(2026, 11, 25)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def guardian_link(mail_catcher, address) -> str:
    (message,) = mail_catcher.messages(to=address)
    return re.search(r"http://localhost/guardian-consent/(\S+)", message["text"]).group(1)


def test_a_minor_needs_a_confirmed_guardian_consent(
        service, person, app_oidc_provider, mail_catcher, dbsession):
    mail_catcher.clear()
    verify(service, person, app_oidc_provider, "tokyo-minor")
    assert service.status(person).minor
    assert service.needs_guardian_consent(person)
    assert not service.has_valid_guardian_consent(person)

    consent = service.record_guardian_consent(person, "鈴木 一郎", "father", "Papa@Example.jp")
    assert (consent.guardian_email, consent.confirmed_at) == ("papa@example.jp", None)
    assert not service.has_valid_guardian_consent(person)
    token = guardian_link(mail_catcher, "papa@example.jp")
    (message,) = mail_catcher.messages(to="papa@example.jp")
    assert "鈴木 さくら" in message["text"] and "鈴木 一郎" in message["text"]

    assert service.consent_for_token(token).id == consent.id
    service.confirm_guardian_consent(token)
    assert service.has_valid_guardian_consent(person)
    assert not service.needs_guardian_consent(person)
    with pytest.raises(NotAllowed):
        service.confirm_guardian_consent(token)
    with pytest.raises(NotAllowed):
        service.record_guardian_consent(person, "鈴木 花", "mother", "mama@example.jp")


def test_recording_again_replaces_the_link(service, person, app_oidc_provider, mail_catcher):
    mail_catcher.clear()
    verify(service, person, app_oidc_provider, "tokyo-minor")
    service.record_guardian_consent(person, "鈴木 一郎", "father", "papa@example.jp")
    first = guardian_link(mail_catcher, "papa@example.jp")
    service.record_guardian_consent(person, "鈴木 花", "mother", "mama@example.jp")
    second = guardian_link(mail_catcher, "mama@example.jp")
    with pytest.raises(NotAllowed):
        service.confirm_guardian_consent(first)
    assert service.confirm_guardian_consent(second).guardian_name == "鈴木 花"


def test_a_guardian_link_expires(service, person, app_oidc_provider, mail_catcher, clock):
    mail_catcher.clear()
    verify(service, person, app_oidc_provider, "tokyo-minor")
    service.record_guardian_consent(person, "鈴木 一郎", "father", "papa@example.jp")
    token = guardian_link(mail_catcher, "papa@example.jp")
    clock.advance(timedelta(days=8))
    with pytest.raises(NotAllowed):
        service.confirm_guardian_consent(token)
    assert not service.has_valid_guardian_consent(person)


def test_guardian_consent_refusals(service, person, app_oidc_provider, dbsession):
    with pytest.raises(NotAllowed):
        service.record_guardian_consent(person, "鈴木 一郎", "father", "papa@example.jp")
    assert not service.has_valid_guardian_consent(person)  # not verified at all

    verify(service, person, app_oidc_provider, "tokyo-minor")
    with pytest.raises(InvalidInput) as refused:
        service.record_guardian_consent(person, "鈴木 一郎", "father", "PERSON@example.jp")
    assert refused.value.field == "guardian_email"
    with pytest.raises(InvalidInput) as refused:
        service.record_guardian_consent(person, "鈴木 一郎", "uncle", "papa@example.jp")
    assert refused.value.field == "relationship"

    adult = make_registrant(dbsession, "adult@example.jp")
    verify(service, adult, app_oidc_provider, "tokyo-adult")
    with pytest.raises(NotAllowed):
        service.record_guardian_consent(adult, "山田 一郎", "father", "papa@example.jp")
    assert dbsession.scalar(select(func.count()).select_from(GuardianConsent)) == 0
