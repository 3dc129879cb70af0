"""The card code (提示用コード): twelve digits in groups of four with a Damm check digit
that catches every single-digit mistake and every swap of neighbours, valid ten minutes,
one live code per account."""
import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from furusato_cms.models import CardCode
from furusato_cms.services import card_codes
from furusato_cms.services.card_codes import (
    CARD_CODE_MINUTES,
    CardCodes,
    damm_digit,
    grouped,
    is_valid,
    new_code,
    normalised,
    with_check_digit,
)
from furusato_cms.services.checkin_tokens import TokenRefused

from ..conftest import NOW
from ..registrant_factories import make_registrant


@pytest.fixture
def codes(dbsession, clock):
    return CardCodes(dbsession, clock=clock)


@pytest.fixture
def person(dbsession):
    return make_registrant(dbsession, "card@example.jp")


def refusal(action) -> TokenRefused:
    with pytest.raises(TokenRefused) as caught:
        action()
    return caught.value


# -- the check digit ---------------------------------------------------------------

def test_damm_check_digit_matches_the_published_example():
    """Damm's worked example: 572 gets check digit 4."""
    assert damm_digit("572") == 4
    assert with_check_digit("572") == "5724"
    assert damm_digit("5724") == 0


def test_a_code_is_twelve_digits_shown_in_three_groups_of_four():
    code = new_code()
    assert len(code) == 12 and code.isdigit() and is_valid(code)
    assert grouped("123456789012") == "1234-5678-9012"


_DIGITS = random.Random(2026)
SAMPLES = [with_check_digit(f"{_DIGITS.randrange(10 ** 11):011d}") for _ in range(20)] + [
    "000000000000"[:11] + str(damm_digit("0" * 11))]
"""Fixed codes (a seeded generator, so every test worker collects the same ones)."""


@pytest.mark.parametrize("code", SAMPLES)
def test_every_single_digit_mistake_is_caught(code):
    for position, digit in enumerate(code):
        for other in "0123456789":
            if other != digit:
                typo = code[:position] + other + code[position + 1:]
                assert not is_valid(typo), (code, typo)


@pytest.mark.parametrize("code", SAMPLES)
def test_every_swap_of_neighbouring_digits_is_caught(code):
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            swapped = code[:position] + b + a + code[position + 2:]
            assert not is_valid(swapped), (code, swapped)


def test_luhn_would_miss_09_90_but_damm_does_not():
    code = with_check_digit("09" + "1" * 9)
    assert not is_valid("90" + code[2:])


def test_typed_separators_and_full_width_digits_are_accepted():
    assert normalised(" １２３４ー5678－9012 ") == "123456789012"
    assert normalised("1234 5678\t9012") == "123456789012"


# -- issuing and reading -----------------------------------------------------------

def test_the_code_is_valid_for_ten_minutes_and_shown_again_until_then(codes, person, clock):
    issued = codes.current(person.id)
    first = issued.code
    assert issued.expires_at == NOW + timedelta(minutes=CARD_CODE_MINUTES)
    assert CARD_CODE_MINUTES == 10
    clock.advance(timedelta(minutes=9))
    assert codes.current(person.id).code == first
    assert codes.account_of(grouped(first)) == person
    clock.advance(timedelta(minutes=1))
    assert refusal(lambda: codes.account_of(first)).reason == "expired"
    renewed = codes.current(person.id)
    assert renewed.code != first and renewed.expires_at == clock() + timedelta(minutes=10)


def test_a_new_code_replaces_the_previous_one(dbsession, codes, person):
    first = codes.current(person.id).code
    second = codes.issue(person.id).code
    assert second != first
    assert dbsession.scalar(select(func.count()).select_from(CardCode)) == 1
    assert refusal(lambda: codes.account_of(first)).reason == "unknown"
    assert codes.account_of(second) == person


def test_a_mistyped_digit_is_refused_with_the_check_digit_message(codes, person):
    code = codes.current(person.id).code
    typo = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]
    refused = refusal(lambda: codes.account_of(grouped(typo)))
    assert refused.reason == "check_digit"
    assert "check digit" in refused.message


@pytest.mark.parametrize("text", ["", "1234-5678", "1234-5678-90123", "abcd-efgh-ijkl",
                                  "42.1700000000.bWFj"])
def test_anything_but_twelve_digits_is_refused_as_format(codes, text):
    assert refusal(lambda: codes.account_of(text)).reason == "format"


def test_a_valid_code_never_issued_is_unknown(codes, person):
    codes.current(person.id)
    assert refusal(lambda: codes.account_of(with_check_digit("1" * 11))).reason == "unknown"


def test_a_clash_with_a_stored_code_draws_again(dbsession, codes, person, monkeypatch):
    other = make_registrant(dbsession, "other@example.jp")
    taken = codes.current(other.id).code
    draws = iter([taken, taken, with_check_digit("7" * 11)])
    monkeypatch.setattr(card_codes, "new_code", lambda: next(draws))
    assert codes.issue(person.id).code == with_check_digit("7" * 11)
    assert codes.account_of(taken) == other
