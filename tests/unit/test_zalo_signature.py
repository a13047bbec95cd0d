"""The Zalo event signature: SHA-256 over app id, raw body, timestamp and OA secret key."""

from __future__ import annotations

import hashlib

import pytest

from bot.channels.zalo.signature import header_value, mac_of, sign, verify

BODY = b'{"app_id":"360","event_name":"follow","timestamp":"1700000000000"}'


def test_the_signature_hashes_the_four_parts_joined() -> None:
    expected = hashlib.sha256(b"360" + BODY + b"1700000000000" + b"secret").hexdigest()
    assert sign("360", BODY, "1700000000000", "secret") == expected


def test_verify_accepts_only_the_matching_signature() -> None:
    mac = sign("360", BODY, "1700000000000", "secret")
    assert verify("360", BODY, "1700000000000", "secret", mac)
    assert verify("360", BODY, "1700000000000", "secret", mac.upper())
    assert not verify("361", BODY, "1700000000000", "secret", mac)
    assert not verify("360", BODY + b" ", "1700000000000", "secret", mac)
    assert not verify("360", BODY, "1700000000001", "secret", mac)
    assert not verify("360", BODY, "1700000000000", "secreT", mac)
    assert not verify("360", BODY, "1700000000000", "secret", mac[:-1] + "é")


def test_the_header_carries_mac_and_64_hex_digits() -> None:
    mac = sign("360", BODY, "1", "secret")
    assert mac_of(header_value(mac)) == mac
    assert mac_of(f"  mac={mac.upper()} ") == mac


@pytest.mark.parametrize(
    "value", [None, "", "mac=", "mac=abc", "sha256=" + "a" * 64, "mac=" + "g" * 64, "a" * 64]
)
def test_other_header_values_are_not_signatures(value: str | None) -> None:
    assert mac_of(value) is None
