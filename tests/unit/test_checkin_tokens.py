"""Signed check-in codes: format, tampering, rotation, another session, and keys derived
per purpose (no database needed)."""
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from furusato_cms.appsettings import AppSettings
from furusato_cms.services.checkin_tokens import (
    CHECKIN_PURPOSE,
    CheckinTokens,
    TokenRefused,
    derived_key,
    rotate,
)

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
SETTINGS = AppSettings(session_secret="test-secret")


@pytest.fixture
def tokens():
    return CheckinTokens(SETTINGS)


def session(id=42, version=1):
    return SimpleNamespace(id=id, token_version=version)


def refusal(call) -> TokenRefused:
    with pytest.raises(TokenRefused) as caught:
        call()
    return caught.value


def test_a_code_is_short_url_safe_and_names_its_session(tokens):
    token = tokens.token_for(session(42, 3))
    assert re.fullmatch(r"42\.3\.[A-Za-z0-9_-]{22}", token)
    assert tokens.session_id_of(token) == 42
    tokens.verify(token, session(42, 3))


def test_codes_differ_per_session_and_version(tokens):
    assert len({tokens.token_for(session(1, 1)), tokens.token_for(session(2, 1)),
                tokens.token_for(session(1, 2))}) == 3


@pytest.mark.parametrize("alter", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character of the signature
    lambda t: "43" + t[2:],  # another session's id with this signature
    lambda t: t.replace(".1.", ".2.", 1),  # a version never issued
    lambda t: t + "x",
    lambda t: t.split(".", 1)[1],
    lambda t: "４２" + t[2:],  # full-width digits
    lambda t: "",
    lambda t: "..",
    lambda t: "42.1." + "é" * 22,
])
def test_an_altered_code_is_refused_as_not_valid(tokens, alter):
    token = alter(tokens.token_for(session(42, 1)))
    assert refusal(lambda: tokens.session_id_of(token)).reason == "tampered"
    assert refusal(lambda: tokens.verify(token, session(42, 1))).reason == "tampered"


def test_a_code_signed_with_another_secret_is_refused(tokens):
    token = CheckinTokens(AppSettings(session_secret="another-secret")).token_for(session())
    assert refusal(lambda: tokens.session_id_of(token)).reason == "tampered"


def test_rotation_stops_earlier_codes_and_issues_a_new_one(tokens):
    current = session(42, 1)
    old = tokens.token_for(current)
    rotate(current)
    assert current.token_version == 2
    assert refusal(lambda: tokens.verify(old, current)).reason == "rotated"
    tokens.verify(tokens.token_for(current), current)


def test_a_genuine_code_of_another_session_is_refused_as_foreign(tokens):
    other = tokens.token_for(session(7, 1))
    assert refusal(lambda: tokens.verify(other, session(42, 1))).reason == "foreign"


def test_each_refusal_has_its_own_message(tokens):
    current = session(42, 2)
    messages = {
        refusal(lambda: tokens.verify("42.2.xxxxxxxxxxxxxxxxxxxxxx", current)).message,
        refusal(lambda: tokens.verify(tokens.token_for(session(42, 1)), current)).message,
        refusal(lambda: tokens.verify(tokens.token_for(session(7, 2)), current)).message,
    }
    assert len(messages) == 3


def test_keys_are_derived_per_purpose_never_the_raw_secret(tokens):
    assert tokens.key != SETTINGS.session_secret.encode()
    assert tokens.key == derived_key("test-secret", CHECKIN_PURPOSE)
