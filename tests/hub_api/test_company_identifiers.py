"""Business registration numbers (check digit) and KSIC codes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub_api.companies.validators import (
    brn_check_digit,
    is_manufacturing,
    normalize_business_registration_number,
    normalize_ksic_code,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("220-81-62517", "2208162517"),  # a well-known real company's published number
        ("2208162517", "2208162517"),
        (" 124-81-00998 ", "1248100998"),
    ],
)
def test_valid_business_numbers_are_normalized(raw: str, expected: str) -> None:
    assert normalize_business_registration_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("220-81-62518", "check digit"),
        ("12345", "10 digits"),
        ("22-081-62517", "10 digits"),
        ("220816251a", "10 digits"),
        ("22081625170", "10 digits"),
        ("", "10 digits"),
    ],
)
def test_invalid_business_numbers_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_business_registration_number(raw)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 9))
def test_exactly_one_check_digit_is_accepted(first_nine: str, last: int) -> None:
    number = first_nine + str(last)
    valid = last == brn_check_digit(first_nine)
    if valid:
        assert normalize_business_registration_number(number) == number
    else:
        with pytest.raises(ValueError, match="check digit"):
            normalize_business_registration_number(number)


@pytest.mark.parametrize(
    ("raw", "expected"), [("29229", "29229"), ("C29229", "29229"), ("c13", "13"), ("10", "10")]
)
def test_ksic_codes_are_normalized(raw: str, expected: str) -> None:
    assert normalize_ksic_code(raw) == expected


@pytest.mark.parametrize("raw", ["0", "123456", "abc", "04123", "99x", "Z1"])
def test_malformed_or_unknown_ksic_codes_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="KSIC"):
        normalize_ksic_code(raw)


def test_manufacturing_divisions_are_10_to_34() -> None:
    assert is_manufacturing("29229")
    assert not is_manufacturing("62010")
