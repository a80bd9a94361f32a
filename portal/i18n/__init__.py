"""Message catalogs: every visible string of the portal, in Korean (default) and English."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES = ("ko", "en")
DEFAULT_LOCALE = "ko"
_DIR = Path(__file__).resolve().parent


@cache
def catalog(locale: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((_DIR / f"{locale}.json").read_text(encoding="utf-8"))
    return data


def translate(locale: str, key: str, **values: object) -> str:
    """The message ``key`` in ``locale``; the key itself when it is missing (tests catch that)."""
    text = catalog(locale if locale in LOCALES else DEFAULT_LOCALE).get(key, key)
    return text.format(**values) if values else text


def has(locale: str, key: str) -> bool:
    return key in catalog(locale)
