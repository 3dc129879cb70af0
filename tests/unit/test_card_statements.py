"""Signed statements on the registration card: issue, verify, refuse, keys."""
import base64
import json
import os
import stat
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from furusato_cms.clock import FixedClock
from furusato_cms.services.card_statements import (
    STATEMENT_MINUTES,
    CardStatementService,
    Keyring,
    load_keyring,
    new_private_jwk,
    rotate_key,
    sign,
    verify_statement,
)

from ..card_factories import make_registration
from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, make_site
from ..registrant_factories import make_registrant

UNTIL = datetime(2027, 11, 24, 15, 30, tzinfo=timezone.utc)
"""15:30 UTC on 24 November is 00:30 on 25 November in Tokyo: the card shows the 25th."""


@pytest.fixture
def service(dbsession, clock, app_settings):
    return CardStatementService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def person(dbsession):
    return make_registrant(dbsession, "card@example.jp", name="確認 花子")


@pytest.fixture
def premium(dbsession, person):
    site = make_site(dbsession, MATSUMOTO, long_stay_enabled=True)
    return make_registration(dbsession, person, site, tier="premium", premium_until=UNTIL,
                             long_stay=True)


def issued(service, registration):
    return service.issue([registration])[registration.id]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_round_trip_says_site_tier_expiry_and_nothing_about_the_person(service, premium):
    statement = issued(service, premium)
    assert statement.url == "http://localhost/verify?s=" + statement.text
    verdict = service.verify(statement.text)
    assert verdict.valid and verdict.reason == "valid"
    assert verdict.public() == {
        "valid": True, "site": "松本市", "site_code": MATSUMOTO, "tier": "premium",
        "premium_until": "2027-11-25", "long_stay": True,
        "expires_at": (NOW + timedelta(minutes=STATEMENT_MINUTES)).isoformat(),
    }
    payload = unb64(statement.text.split(".")[0]).decode()
    assert "確認 花子" not in payload and "card@example.jp" not in payload
    assert len(statement.url) < 300, "the QR code must stay small"


def test_the_whole_url_from_the_qr_code_verifies_too(service, premium):
    assert service.verify(issued(service, premium).url).valid


def test_basic_registration_has_no_premium_expiry(service, dbsession, person):
    registration = make_registration(dbsession, person, make_site(dbsession, NAGANO_CITY))
    public = service.verify(issued(service, registration).text).public()
    assert public["tier"] == "basic" and public["premium_until"] is None


def test_lapsed_premium_is_stated_as_basic(service, dbsession, person):
    site = make_site(dbsession, NAGANO_CITY)
    lapsed = make_registration(dbsession, person, site, tier="premium",
                               premium_until=NOW - timedelta(seconds=1))
    assert issued(service, lapsed).claims.tier == "basic"


def test_long_stay_mark_only_where_the_site_uses_it(service, dbsession, person):
    site = make_site(dbsession, NAGANO_CITY, long_stay_enabled=False)
    registration = make_registration(dbsession, person, site, long_stay=True)
    assert issued(service, registration).claims.long_stay is False


def test_expired_statement_is_invalid(service, clock, premium):
    text = issued(service, premium).text
    clock.advance(timedelta(minutes=STATEMENT_MINUTES, seconds=-1))
    assert service.verify(text).valid
    clock.advance(timedelta(seconds=1))
    verdict = service.verify(text)
    assert not verdict.valid and verdict.reason == "expired"
    assert verdict.public() == {"valid": False, "reason": "expired"}


def test_statement_from_the_future_is_invalid(service, clock, premium):
    text = issued(service, premium).text
    clock.advance(timedelta(minutes=-2))
    assert service.verify(text).reason == "not_yet_valid"


def test_tampered_payload_is_invalid(service, premium):
    payload, signature = issued(service, premium).text.split(".")
    body = json.loads(unb64(payload))
    body[5] = "basic" if body[5] == "premium" else "premium"
    body[9] += 3600
    forged = b64(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    assert service.verify(f"{forged}.{signature}").reason == "bad_signature"


def test_tampered_signature_is_invalid(service, premium):
    payload, signature = issued(service, premium).text.split(".")
    flipped = bytearray(unb64(signature))
    flipped[0] ^= 1
    assert service.verify(f"{payload}.{b64(bytes(flipped))}").reason == "bad_signature"


def test_one_statement_has_one_spelling(service, premium):
    """base64 leaves the last character's low bits unused; setting them must not give a
    second valid spelling of the same statement."""
    text = issued(service, premium).text
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled = text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]
    assert service.verify(respelled).reason == "malformed"


def test_statement_signed_by_an_unknown_key_is_invalid(service, premium):
    stranger = Keyring.from_document({"keys": [new_private_jwk(NOW)]})
    claims = issued(service, premium).claims
    assert service.verify(sign(claims, stranger)).reason == "unknown_key"


def test_unknown_key_even_when_the_kid_is_borrowed(service, premium):
    """A forger who copies our kid but signs with their own key is still refused."""
    ours = service.keyring()
    theirs = new_private_jwk(NOW)
    impostor = Keyring.from_document({"keys": [{**theirs, "kid": ours.kid}]})
    claims = issued(service, premium).claims
    assert service.verify(sign(claims, impostor)).reason == "bad_signature"


@pytest.mark.parametrize("entered", [
    "", "abc", "a.b.c", "!!!.???", "x" * 3000 + ".y",
    b64(b'{"not": "a list"}') + "." + b64(b"sig"),
    b64(b"[2,\"kid\"]") + "." + b64(b"sig"),
    "http://localhost/verify?x=1",
])
def test_malformed_input_is_invalid(service, entered):
    assert service.verify(entered).public() == {"valid": False, "reason": "malformed"}


def test_verifying_needs_only_the_published_keys(service, clock, premium):
    text = issued(service, premium).text
    published = json.loads(json.dumps(service.public_keys()))
    assert all(set(key) == {"kty", "crv", "alg", "use", "kid", "x"} for key in published["keys"])
    assert verify_statement(text, published, clock()).valid
    assert verify_statement(text, {"keys": []}, clock()).reason == "unknown_key"


# -- the key file ------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path):
    return str(tmp_path / "keys" / "card-signing-keys.json")


def test_key_file_is_created_on_first_use_private_and_reused(key_file, caplog):
    first = load_keyring(key_file, NOW)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert load_keyring(key_file, NOW).kid == first.kid
    with open(key_file, encoding="utf-8") as handle:
        private = json.load(handle)["keys"][0]["d"]
    assert private not in caplog.text and first.kid in caplog.text


def test_key_file_created_once_when_many_ask_at_once(key_file):
    kids = []
    threads = [threading.Thread(target=lambda: kids.append(load_keyring(key_file, NOW).kid))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(kids)) == 1
    assert os.listdir(os.path.dirname(key_file)) == ["card-signing-keys.json"]


def test_rotation_signs_with_a_new_key_and_keeps_the_old_one_published(
        dbsession, app_settings, premium, key_file):
    clock = FixedClock(NOW)
    service = CardStatementService(dbsession, clock=clock,
                                   settings=replace(app_settings, card_signing_key_file=key_file))
    before = issued(service, premium).text
    old_kid = service.keyring().kid
    new_kid = rotate_key(key_file, NOW)
    after = issued(service, premium).text
    assert new_kid != old_kid and service.keyring().kid == new_kid
    assert {k["kid"] for k in service.public_keys()["keys"]} == {old_kid, new_kid}
    assert service.verify(before).valid and service.verify(after).valid
    with open(key_file, encoding="utf-8") as handle:
        keys = json.load(handle)["keys"]
    assert [bool(k.get("d")) for k in keys] == [True, False], "old private key is dropped"


def test_the_key_file_must_be_configured(dbsession, clock, app_settings, premium):
    service = CardStatementService(dbsession, clock=clock,
                                   settings=replace(app_settings, card_signing_key_file=""))
    with pytest.raises(RuntimeError, match="card_signing_key_file"):
        service.issue([premium])
