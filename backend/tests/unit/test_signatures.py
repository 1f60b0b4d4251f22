"""Signature header parsing: hostile numbers are refused as malformed, never crash."""

from __future__ import annotations

import time

import pytest

from agented.errors import MalformedHeader
from agented.triggers.signatures import (
    Scheme,
    standard_timestamp,
    verified_scheme,
    verify_standard_webhook,
)

UNREADABLE = [
    "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
    "\u0663",  # Arabic-Indic three: int() accepts it
    "\uff11\uff12",  # full-width digits: int() accepts them too
    "\U0001d7d9",  # mathematical double-struck one
    "-1",
    "+1",
    "1_000",
    "0x10",
    "1.5",
    "",
    " ",
    "1" * 16,
    "9" * 5000,  # int() refuses more than 4300 digits
]


@pytest.mark.parametrize("raw", UNREADABLE)
def test_only_ascii_digits_are_a_timestamp(raw: str) -> None:
    with pytest.raises(MalformedHeader, match="webhook-timestamp"):
        standard_timestamp({"webhook-timestamp": raw})


@pytest.mark.parametrize("raw", UNREADABLE)
def test_verifying_an_unreadable_timestamp_raises_malformed_header_only(raw: str) -> None:
    headers = {"webhook-id": "m", "webhook-timestamp": raw, "webhook-signature": "v1,x"}
    with pytest.raises(MalformedHeader):
        verify_standard_webhook("secret", b"{}", headers, time.time())


def test_ascii_digits_read_as_seconds_and_absence_is_none() -> None:
    assert standard_timestamp({"webhook-timestamp": " 0017 "}) == 17
    assert standard_timestamp({"webhook-timestamp": "9" * 15}) == 999_999_999_999_999
    assert standard_timestamp({}) is None


def test_no_signature_is_no_scheme() -> None:
    assert verified_scheme("secret", b"{}", {}, time.time()) is None
    assert {scheme.value for scheme in Scheme} == {"body-hmac", "standard-webhooks"}
