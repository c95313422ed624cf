"""`sha256=` body signatures (clinic_bot/signatures.py): what Meta sends and the staff webhook carries."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from clinic_bot.signatures import sign, verify

BODY = b'{"object": "whatsapp_business_account", "entry": []}'


def test_sign_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, "s3cret") == "sha256=" + expected


def test_verify_accepts_the_signature_in_any_case_and_with_spaces() -> None:
    assert verify(BODY, "s3cret", sign(BODY, "s3cret"))
    assert verify(BODY, "s3cret", "  " + sign(BODY, "s3cret").upper().replace("SHA256=", "sha256=") + " ")


@pytest.mark.parametrize("header", [None, "", "sha256=" + "0" * 64, "sha1=abc", "sha256=\u00e9\u00e9", "x" * 10_000])
def test_verify_refuses_a_missing_or_wrong_signature(header) -> None:
    assert not verify(BODY, "s3cret", header)


def test_verify_refuses_other_bytes_another_secret_or_no_secret() -> None:
    signature = sign(BODY, "s3cret")
    assert not verify(BODY + b" ", "s3cret", signature)
    assert not verify(BODY, "other", signature)
    assert not verify(BODY, "", sign(BODY, ""))
    assert not verify(BODY, "s3cret", signature[len("sha256=") :])  # the prefix is part of it
