"""Locale-aware formatting of dates, numbers and durations (no Streamlit here)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from portal.i18n import translate

HUB_TZ = ZoneInfo("Asia/Seoul")
_EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def parse_dt(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def hub_local(value: str | datetime | None) -> datetime | None:
    """Wall-clock time at the hub (naive, Asia/Seoul), as charts should show it."""
    moment = parse_dt(value)
    return None if moment is None else moment.astimezone(HUB_TZ).replace(tzinfo=None)


def fmt_datetime(value: str | datetime | None, locale: str) -> str:
    moment = parse_dt(value)
    if moment is None:
        return "—"
    local = moment.astimezone(HUB_TZ)
    if locale == "ko":
        return f"{local.year}. {local.month}. {local.day}. {local:%H:%M}"
    return f"{local.day} {_EN_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def fmt_date(value: str | datetime | None, locale: str) -> str:
    if isinstance(value, str) and len(value) == 10:
        value = datetime.fromisoformat(value).replace(tzinfo=HUB_TZ)
    moment = parse_dt(value)
    if moment is None:
        return "—"
    local = moment.astimezone(HUB_TZ)
    if locale == "ko":
        return f"{local.year}. {local.month}. {local.day}."
    return f"{local.day} {_EN_MONTHS[local.month - 1]} {local.year}"


def fmt_number(value: float | int | None, locale: str, digits: int = 0) -> str:
    if value is None:
        return "—"
    # Korean and English both group by thousands with "," and use "." for decimals.
    return f"{value:,.{digits}f}"


def fmt_percent(fraction: float | None, locale: str, digits: int = 0) -> str:
    if fraction is None:
        return "—"
    return f"{fraction * 100 + 0.0:,.{digits}f}%"


def fmt_gpu_hours(value: float | None, locale: str) -> str:
    if value is None:
        return "—"
    digits = 2 if abs(value) < 10 else 1
    return translate(locale, "unit.gpu_hours", value=fmt_number(value, locale, digits))


def fmt_duration(seconds: float | None, locale: str) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return translate(locale, "unit.hours_minutes", h=hours, m=minutes)
    if minutes:
        return translate(locale, "unit.minutes_seconds", m=minutes, s=secs)
    return translate(locale, "unit.seconds", s=secs)


def label(locale: str, group: str, value: str | None) -> str:
    """A translated enum label, e.g. ``label("ko", "job_status", "queued")``."""
    if value is None:
        return "—"
    key = f"{group}.{value}"
    text = translate(locale, key)
    return value if text == key else text


def wait_text(locale: str, code: str | None, reason: str | None) -> str:
    """Why a job waits. The scheduler explains in English: Korean screens show the translated
    summary of its code instead, so no screen mixes languages."""
    if locale == "en" and reason:
        return reason
    key = f"wait.{code or 'unknown'}"
    text = translate(locale, key)
    return text if text != key else translate(locale, "wait.unknown")


def hub_note(locale: str, text: str | None) -> str:
    """Free-text notes the hub writes in English (event reasons): shown on English screens."""
    return text or "" if locale == "en" else ""
