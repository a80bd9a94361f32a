"""Password hashing (argon2id), short-lived JWT access tokens and personal API token secrets.

Personal API tokens are long random secrets, so a fast SHA-256 digest is enough to store them
(argon2's slowness protects low-entropy passwords, and would cost every CLI request ~50 ms).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ALGORITHM = "HS256"
API_TOKEN_PREFIX = "axh_"

_password_hasher = PasswordHasher()
# A valid hash to verify against when the user does not exist, so that response time does
# not reveal which e-mails have accounts.
_DUMMY_HASH = _password_hasher.hash("not-a-real-password")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; the hub stores UTC everywhere."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _password_hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class AccessTokenClaims:
    user_id: int
    generation: int
    issued_at: datetime
    expires_at: datetime


def create_access_token(
    *,
    user_id: int,
    generation: int,
    secret_key: str,
    minutes: int,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    issued = now or utcnow()
    expires = issued + timedelta(minutes=minutes)
    payload = {
        "sub": str(user_id),
        "typ": "access",
        "gen": generation,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(payload, secret_key, algorithm=ALGORITHM), expires


def decode_access_token(token: str, *, secret_key: str) -> AccessTokenClaims:
    """Decode and verify; raises ``jwt.PyJWTError`` for bad, expired or foreign tokens."""
    payload = jwt.decode(
        token, secret_key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat"]}
    )
    if payload.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return AccessTokenClaims(
        user_id=int(payload["sub"]),
        generation=int(payload.get("gen", 0)),
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
    )


def new_api_token_secret() -> tuple[str, str, str]:
    """Return ``(plaintext, lookup_prefix, digest)`` for a new personal API token."""
    lookup = secrets.token_hex(4)
    plaintext = f"{API_TOKEN_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    return plaintext, lookup, digest_api_token(plaintext)


def digest_api_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_token_lookup(plaintext: str) -> str | None:
    if not plaintext.startswith(API_TOKEN_PREFIX):
        return None
    lookup, _, secret = plaintext[len(API_TOKEN_PREFIX) :].partition("_")
    return lookup if lookup and secret else None


def digests_match(left: str, right: str) -> bool:
    return hmac.compare_digest(left, right)


def generate_temporary_password() -> str:
    return secrets.token_urlsafe(12)
