"""The card code (提示用コード): twelve digits a registrant shows or reads out at a venue,
which staff type (or scan from its QR code) to record the person's attendance.

Shown in groups of four (``1234-5678-9012``): eleven random digits and a check digit.
The check digit is Damm's algorithm (a totally anti-symmetric quasigroup of order 10):
it catches every single mistyped digit and every swap of two neighbouring digits — the
two mistakes people make most when copying a number — with one decimal digit, and unlike
Luhn it also catches swaps such as 09 ↔ 90. A mistyped code is therefore refused with
"check the digits" before any lookup, instead of "unknown code".

A code stays valid for ``CARD_CODE_MINUTES`` (long enough to read out and type in), is
stored with its expiry (one live code per account; a new one replaces it), and the page
shows its expiry instead of reloading itself (WCAG 2.2.1).
"""
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..i18n import _
from ..models import Account, CardCode
from .checkin_tokens import TokenRefused

CARD_CODE_MINUTES = 10
RANDOM_DIGITS = 11
CODE_DIGITS = RANDOM_DIGITS + 1
GROUP = 4
SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー]")
"""What people put between the groups: spaces and the many dashes of Japanese input."""
MAX_INPUT = 100
FIELD = "card_token"
"""The form field a refusal belongs to (the staff attendance page's card code field)."""

DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
"""Damm's quasigroup (H. Michael Damm, 2004), as published."""

BAD_FORMAT = _("A card code is 12 digits, shown in groups of four (for example "
               "1234-5678-9012). Please enter all of them.")
BAD_CHECK_DIGIT = _("This card code has a typing mistake (its check digit does not match). "
                    "Please read the digits again with the person and enter them once more.")
UNKNOWN = _("No such card code has been issued. Ask the person to open their card code "
            "page and read the code again.")
EXPIRED = _("This card code has expired. Ask the person to get a new code on their card "
            "code page.")
NO_ACCOUNT = _("This card code belongs to no active account.")


def damm_digit(digits: str) -> int:
    """Damm's interim digit of ``digits``: the check digit to append, and 0 for a
    string that already ends in a correct one."""
    interim = 0
    for digit in digits:
        interim = DAMM_TABLE[interim][int(digit)]
    return interim


def with_check_digit(digits: str) -> str:
    return digits + str(damm_digit(digits))


def is_valid(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit() \
        and damm_digit(code) == 0


def grouped(code: str) -> str:
    """``123456789012`` → ``1234-5678-9012``, as shown and read out."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def normalised(text: str) -> str:
    """The digits typed, without spaces or dashes, full-width digits made ASCII."""
    text = unicodedata.normalize("NFKC", (text or "")[:MAX_INPUT])
    return SEPARATORS.sub("", text)


def new_code() -> str:
    return with_check_digit(f"{secrets.randbelow(10 ** RANDOM_DIGITS):0{RANDOM_DIGITS}d}")


class CardCodes:
    """Issues and reads card codes; built with ``(dbsession, clock)``."""

    def __init__(self, dbsession, *, clock):
        self.dbsession = dbsession
        self.clock = clock

    def current(self, account_id: int, now: datetime | None = None) -> CardCode:
        """The account's live code, or a new one when it has none or it expired."""
        now = now or self.clock()
        row = self.dbsession.get(CardCode, account_id, populate_existing=True)
        if row is not None and row.expires_at > now:
            return row
        return self.issue(account_id, now)

    def issue(self, account_id: int, now: datetime | None = None) -> CardCode:
        """A new code for the account, replacing its previous one (an upsert, so two
        pages opened at once leave one row)."""
        now = now or self.clock()
        code = self._unused_code()
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[
            self.dbsession.get_bind().dialect.name]
        values = {"code": code, "issued_at": now,
                  "expires_at": now + timedelta(minutes=CARD_CODE_MINUTES)}
        self.dbsession.execute(  # an ORM insert, so the transaction knows it wrote
            dialect.insert(CardCode)
            .values(account_id=account_id, **values)
            .on_conflict_do_update(index_elements=["account_id"], set_=values)
        )
        return self.dbsession.get(CardCode, account_id, populate_existing=True)

    def _unused_code(self) -> str:
        """Eleven random digits give 10^11 codes: a clash with a stored one is rare, and
        simply drawn again."""
        while True:
            code = new_code()
            if self.dbsession.scalar(select(CardCode.account_id).where(CardCode.code == code)) \
                    is None:
                return code

    def account_of(self, text: str, now: datetime | None = None) -> Account:
        """The active account whose live code was typed; each refusal says what to do."""
        code = normalised(text)
        if len(code) != CODE_DIGITS or not (code.isascii() and code.isdigit()):
            raise TokenRefused("format", BAD_FORMAT, FIELD)
        if damm_digit(code) != 0:
            raise TokenRefused("check_digit", BAD_CHECK_DIGIT, FIELD)
        row = self.dbsession.scalar(select(CardCode).where(CardCode.code == code))
        if row is None:
            raise TokenRefused("unknown", UNKNOWN, FIELD)
        if row.expires_at <= (now or self.clock()):
            raise TokenRefused("expired", EXPIRED, FIELD)
        account = self.dbsession.get(Account, row.account_id)
        if account is None or account.disabled_at is not None:
            raise TokenRefused("unknown", NO_ACCOUNT, FIELD)
        return account
