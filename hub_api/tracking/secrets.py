"""Company MLflow passwords at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
``HUB_SECRET_KEY``. A database dump alone does not reveal them; rotating ``HUB_SECRET_KEY`` makes
the stored ones unreadable, and the next provisioning sets fresh passwords in MLflow."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"axhub/mlflow-tenant-password/v1\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def new_password() -> str:
    return secrets.token_urlsafe(24)


def encrypt(password: str, *, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(password.encode()).decode()


def decrypt(token: str, *, secret_key: str) -> str | None:
    """The password, or ``None`` when it was encrypted under another key."""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return None
