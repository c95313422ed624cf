"""Phone-number masking for roles that do not need the numbers."""

from __future__ import annotations

import pytest

from console.masking import Masker, looks_like_phone_number, mask_phone_numbers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("447700900123", "•••••••••123"),
        ("+44 7700 900123", "+•• •••• •••123"),
        ("call me on 07700-900-123.", "call me on •••••-•••-123."),
        ("my numbers: 07700900123 and 07700 900 456", "my numbers: ••••••••123 and ••••• ••• 456"),
        ("whatsapp:+447700900123", "whatsapp:+•••••••••123"),
    ],
)
def test_phone_numbers_are_masked_except_the_last_three_digits(text, expected):
    assert mask_phone_numbers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "call 999 or 111",
        "Samaritans on 116 123",
        "pain 7/10 for 3 weeks",
        "on 2024-05-01",
        "on 01/05/2024",
        "socket-3f2a9c0d1e",
        "a1234567b",
        "",
    ],
)
def test_other_numbers_are_left_alone(text):
    assert mask_phone_numbers(text) == text


def test_masker_by_role():
    assert Masker(full=True)("07700 900123") == "07700 900123"
    assert Masker(full=False)("07700 900123") == "••••• •••123"
    assert looks_like_phone_number("447700900123") and not looks_like_phone_number("rest-abc")
