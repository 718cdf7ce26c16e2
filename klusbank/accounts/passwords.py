"""Password hashing with Argon2id (argon2-cffi, the reference implementation's binding)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a failed login takes as long
# whether or not the account exists.
_DUMMY_HASH = _hasher.hash("klusbank-timing-equaliser")

MIN_PASSWORD_LENGTH = 12
# zxcvbn scores 0 to 4; 3 and up means that it estimates 10**8 guesses or more.
MIN_PASSWORD_SCORE = 3


def hash_password(password: str) -> str:
    """Return the Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Tell whether the password matches; an empty hash never matches."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash uses outdated parameters."""
    return _hasher.check_needs_rehash(password_hash)
