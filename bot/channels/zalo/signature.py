"""The signature Zalo puts on each webhook event.

``X-ZEvent-Signature: mac=<hex>``, where the hex is SHA-256 (a plain hash, not an HMAC) of the
app id, the raw request body, the body's ``timestamp`` field and the OA secret key, joined as
they are. Nothing here logs: the key and the signature are secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import re

HEADER = "X-ZEvent-Signature"

_HEADER_VALUE = re.compile(r"mac=([0-9a-fA-F]{64})")


def sign(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The hex signature of an event body."""
    digest = hashlib.sha256()
    digest.update(app_id.encode("utf-8"))
    digest.update(raw_body)
    digest.update(timestamp.encode("utf-8"))
    digest.update(oa_secret_key.encode("utf-8"))
    return digest.hexdigest()


def header_value(mac: str) -> str:
    """What the header carries for the signature ``mac``."""
    return f"mac={mac}"


def mac_of(header: str | None) -> str | None:
    """The hex signature in a header value (lower case), or None when it is not
    ``mac=<64 hex digits>``."""
    if header is None:
        return None
    match = _HEADER_VALUE.fullmatch(header.strip())
    return match.group(1).lower() if match else None


def verify(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str, mac: str) -> bool:
    """Whether ``mac`` (hex) signs this body; compared in constant time."""
    expected = sign(app_id, raw_body, timestamp, oa_secret_key)
    return hmac.compare_digest(expected.encode("ascii"), mac.lower().encode("ascii", "replace"))


__all__ = ["HEADER", "header_value", "mac_of", "sign", "verify"]
