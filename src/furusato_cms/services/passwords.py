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
    if len(set(password)) == 1 or (email and password.strip().lower() == email.lower()):
        raise InvalidInput(_("This password is too easy to guess."), field=field)
    return password
