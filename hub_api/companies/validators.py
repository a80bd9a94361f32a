"""Korean business identifiers: business registration numbers, regions and KSIC codes."""

from __future__ import annotations

import re
from enum import StrEnum

_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_BRN_SHAPE = re.compile(r"^\d{3}-?\d{2}-?\d{5}$")


def brn_check_digit(first_nine: str) -> int:
    """Check digit of a 사업자등록번호 (National Tax Service rule)."""
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, _BRN_WEIGHTS, strict=True))
    total += (digits[8] * 5) // 10
    return (10 - total % 10) % 10


def normalize_business_registration_number(value: str) -> str:
    """Accept ``1234567890`` or ``123-45-67890``; return the 10 digits or raise ``ValueError``."""
    raw = value.strip()
    if not _BRN_SHAPE.match(raw):
        raise ValueError("business registration number must be 10 digits (e.g. 123-45-67891)")
    digits = raw.replace("-", "")
    if int(digits[9]) != brn_check_digit(digits[:9]):
        raise ValueError("business registration number has a wrong check digit")
    return digits


def format_business_registration_number(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


class Region(StrEnum):
    """The 17 first-level divisions of Korea (provinces and metropolitan/special cities)."""

    seoul = "seoul"
    busan = "busan"
    daegu = "daegu"
    incheon = "incheon"
    gwangju = "gwangju"
    daejeon = "daejeon"
    ulsan = "ulsan"
    sejong = "sejong"
    gyeonggi = "gyeonggi"
    gangwon = "gangwon"
    chungbuk = "chungbuk"
    chungnam = "chungnam"
    jeonbuk = "jeonbuk"
    jeonnam = "jeonnam"
    gyeongbuk = "gyeongbuk"
    gyeongnam = "gyeongnam"
    jeju = "jeju"


# KSIC (10th revision) divisions; manufacturing is 10-34.
KSIC_DIVISIONS = frozenset(
    (
        *(1, 2, 3, 5, 6, 7, 8, *range(10, 35), 35, 36, 37, 38, 39, 41, 42, 45, 46, 47, 49),
        *(50, 51, 52, 55, 56, 58, 59, 60, 61, 62, 63, 64, 65, 66, 68, 70, 71, 72, 73, 74, 75),
        *(76, 84, 85, 86, 87, 90, 91, 94, 95, 96, 97, 98, 99),
    )
)
_KSIC_SHAPE = re.compile(r"^(?:[A-U])?(\d{2,5})$")


def normalize_ksic_code(value: str) -> str:
    """KSIC code: 2-5 digits whose first two name a real division (``C29172`` → ``29172``)."""
    match = _KSIC_SHAPE.match(value.strip().upper())
    if not match:
        raise ValueError("industry must be a KSIC code of 2 to 5 digits, e.g. 29172")
    code = match.group(1)
    if int(code[:2]) not in KSIC_DIVISIONS:
        raise ValueError(f"'{code[:2]}' is not a KSIC division")
    return code


def is_manufacturing(ksic_code: str) -> bool:
    return 10 <= int(ksic_code[:2]) <= 34
