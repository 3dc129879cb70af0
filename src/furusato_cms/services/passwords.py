"""Password hashing (パスワード) with argon2id at or above OWASP ASVS 5.0's minimum
(m=19 MiB, t=2, p=1), and the rules a new password must meet."""
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..i18n import _
from .errors import InvalidInput

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)
# Verifying against this keeps the time of an unknown-account sign-in like a known one.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_STRENGTH = 3
"""zxcvbn's score (0–4) a new password needs: 3 is about 10¹⁰ guesses, beyond common
passwords, names, dates and keyboard patterns even with a few digits added."""
STRENGTH_CHARS = 64
"""Only the start is scored: zxcvbn slows with length, and a longer password is strong."""
SERVICE_WORDS = ("furusato", "ふるさと", "furusato-cms", "jyumin", "juumin")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_new_password(password: str, *, email: str = "", field: str = "password") -> str:
    """Refuse a new password that is too short, too long or trivially guessable.

    Length is what ASVS asks for (no composition rules); any character is allowed.
    """
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            _("Use at least ${min} characters.", mapping={"min": MIN_LENGTH}), field=field
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            _("Use at most ${max} characters.", mapping={"max": MAX_LENGTH}), field=field
        )
    if len(set(password)) == 1 or (email and password.strip().lower() == email.lower()) \
            or strength(password, email) < MIN_STRENGTH:
        raise InvalidInput(_("This password is too easy to guess."), field=field)
    return password


def strength(password: str, email: str = "") -> int:
    """zxcvbn's score, counting the person's address and this service's name as known
    words (ASVS: refuse passwords found in lists of common and breached passwords)."""
    from zxcvbn import zxcvbn  # its word lists are large; load them only when needed

    known = [*SERVICE_WORDS, *filter(None, (email or "").replace("@", ".").split("."))]
    return zxcvbn(password[:STRENGTH_CHARS], user_inputs=known)["score"]
