"""Zalo webhook requests for tests: event bodies shaped as Zalo sends them, and the raw bytes and
headers of a request signed as Zalo signs it (``X-ZEvent-Signature: mac=<hex>``)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

from bot.channels.zalo.signature import HEADER, header_value, sign

APP_ID = "3600000000000000001"
OA_ID = "5790000000000000002"
OA_SECRET_KEY = "oa-secret-Kq3vT9pWz2"  # a test key; tests check that it never shows in logs

_msg_ids = itertools.count(1)


def millis(moment: datetime) -> str:
    """Zalo's ``timestamp``: milliseconds since the epoch, as a string."""
    return str(int(moment.timestamp() * 1000))


def message_event(
    name: str,
    user_id: str,
    at: datetime,
    *,
    text: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    msg_id: str | None = None,
    app_id: str = APP_ID,
) -> dict[str, Any]:
    """A ``user_send_*`` body from the citizen ``user_id`` (a fresh ``msg_id`` unless given)."""
    message: dict[str, Any] = {"msg_id": msg_id or f"{next(_msg_ids):032x}"}
    if text is not None:
        message["text"] = text
    if attachments is not None:
        message["attachments"] = attachments
    return {
        "app_id": app_id,
        "user_id_by_app": f"app-{user_id}",
        "event_name": name,
        "timestamp": millis(at),
        "sender": {"id": user_id},
        "recipient": {"id": OA_ID},
        "message": message,
    }


def text_event(user_id: str, text: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return message_event("user_send_text", user_id, at, text=text, **fields)


def follow_event(user_id: str, at: datetime, *, name: str = "follow") -> dict[str, Any]:
    """A ``follow`` (or ``unfollow``) body: the citizen is the follower, the OA is ``oa_id``."""
    return {
        "app_id": APP_ID,
        "oa_id": OA_ID,
        "user_id_by_app": f"app-{user_id}",
        "event_name": name,
        "source": "oa_profile",
        "timestamp": millis(at),
        "follower": {"id": user_id},
    }


def submit_info_event(user_id: str, at: datetime, **info: str) -> dict[str, Any]:
    """A ``user_submit_info`` body: what the citizen shared is in ``info``."""
    return {
        "app_id": APP_ID,
        "user_id_by_app": f"app-{user_id}",
        "event_name": "user_submit_info",
        "timestamp": millis(at),
        "sender": {"id": user_id},
        "recipient": {"id": OA_ID},
        "info": info,
    }


def raw_body(body: dict[str, Any]) -> bytes:
    """The bytes Zalo would post (non-ASCII text as UTF-8, as Zalo sends Vietnamese)."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def signed(
    body: dict[str, Any] | bytes,
    *,
    app_id: str | None = None,
    timestamp: str | None = None,
    oa_secret_key: str = OA_SECRET_KEY,
) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers of a request signed as Zalo signs it: with the body's
    ``app_id`` and ``timestamp`` unless others are given (to forge a wrong signature)."""
    raw = body if isinstance(body, bytes) else raw_body(body)
    fields = {} if isinstance(body, bytes) else body
    mac = sign(
        app_id if app_id is not None else str(fields.get("app_id", "")),
        raw,
        timestamp if timestamp is not None else str(fields.get("timestamp", "")),
        oa_secret_key,
    )
    return raw, {HEADER: header_value(mac), "Content-Type": "application/json"}
