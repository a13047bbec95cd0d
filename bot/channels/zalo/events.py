"""Zalo OA webhook events, read from a verified body into frozen dataclasses.

The shapes, as Zalo sends them (every id and the timestamp, in milliseconds, are strings)::

    {"app_id", "user_id_by_app", "event_name": "user_send_text", "timestamp": "1718000000000",
     "sender": {"id": <the citizen>}, "recipient": {"id": <the OA>},
     "message": {"msg_id", "text"}}

- ``user_send_image`` / ``user_send_file`` / ``user_send_sticker`` / ``user_send_gif`` /
  ``user_send_audio`` / ``user_send_video`` / ``user_send_location``: the same, with
  ``message.attachments: [{"type": "image" | "file" | "sticker" | ..., "payload": {...}}]``;
  an image's or a GIF's payload has ``url`` and ``thumbnail``, a file's ``url``, ``name``,
  ``size``, ``type`` and ``checksum``, a sticker's ``id`` and ``url``, a location's
  ``coordinates`` (and an image may carry a caption in ``message.text``).
- ``follow`` / ``unfollow``: ``{"app_id", "oa_id", "event_name", "timestamp", "source",
  "follower": {"id": <the citizen>}, "user_id_by_app"}`` (no sender, no recipient).
- ``user_submit_info`` (the citizen shared their details from a "request user info"
  message): ``sender``, ``recipient`` and ``info: {"name", "phone", "address", "city",
  "district", "ward"}``.

Any other event (delivery and seen receipts, the OA's own messages, reactions ...) becomes a
:class:`ZaloEvent` of kind ``UNKNOWN`` that keeps its name, so the webhook logs and acknowledges
it. Reading never raises: a field of the wrong type is read as missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_KEY_LENGTH = 128  # zalo_events.event_key


class EventKind(StrEnum):
    """What the dialogs make of an event."""

    TEXT = "text"
    IMAGE = "image"
    FILE = "file"
    STICKER = "sticker"
    UNSUPPORTED_MEDIA = "unsupported_media"  # GIF, voice, video, location: answered politely
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    SUBMIT_INFO = "submit_info"
    UNKNOWN = "unknown"


KINDS: Mapping[str, EventKind] = {
    "user_send_text": EventKind.TEXT,
    "user_send_image": EventKind.IMAGE,
    "user_send_file": EventKind.FILE,
    "user_send_sticker": EventKind.STICKER,
    "user_send_gif": EventKind.UNSUPPORTED_MEDIA,
    "user_send_audio": EventKind.UNSUPPORTED_MEDIA,
    "user_send_video": EventKind.UNSUPPORTED_MEDIA,
    "user_send_location": EventKind.UNSUPPORTED_MEDIA,
    "follow": EventKind.FOLLOW,
    "unfollow": EventKind.UNFOLLOW,
    "user_submit_info": EventKind.SUBMIT_INFO,
}
"""The events the assistant acts on, by Zalo's event name."""


@dataclass(frozen=True, slots=True)
class ZaloAttachment:
    """One of ``message.attachments``: its type and what its payload says of it."""

    type: str
    url: str | None = None
    name: str | None = None  # a file's name
    size: int | None = None  # a file's size in bytes
    thumbnail: str | None = None


@dataclass(frozen=True, slots=True)
class SubmittedInfo:
    """What a citizen shared through a "request user info" message (each part optional)."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None
    ward: str | None = None
    district: str | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class ZaloEvent:
    """A webhook event as the channel needs it.

    ``user_id`` is the citizen's id on this OA (``sender.id``, or ``follower.id`` for follow
    and unfollow), ``oa_id`` the OA's (``recipient.id``, or the body's ``oa_id``),
    ``timestamp`` milliseconds since the epoch (None when missing or not a number).
    """

    name: str
    app_id: str | None = None
    user_id: str | None = None
    oa_id: str | None = None
    timestamp: int | None = None
    msg_id: str | None = None
    text: str | None = None
    attachments: tuple[ZaloAttachment, ...] = ()
    sticker_id: str | None = None
    info: SubmittedInfo | None = None

    @property
    def kind(self) -> EventKind:
        return KINDS.get(self.name, EventKind.UNKNOWN)


def _text(value: object) -> str | None:
    """A non-empty string, or an id sent as a number; None for anything else."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _integer(value: object) -> int | None:
    """An integer, or a string of digits (Zalo sends sizes and timestamps as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _id_of(body: Mapping[str, Any], key: str) -> str | None:
    return _text(_object(body.get(key)).get("id"))


def _attachments(message: Mapping[str, Any]) -> tuple[ZaloAttachment, ...]:
    items = message.get("attachments")
    if not isinstance(items, list):
        return ()
    found = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        payload = _object(item.get("payload"))
        found.append(
            ZaloAttachment(
                type=_text(item.get("type")) or "",
                url=_text(payload.get("url")),
                name=_text(payload.get("name")),
                size=_integer(payload.get("size")),
                thumbnail=_text(payload.get("thumbnail")),
            )
        )
    return tuple(found)


def _sticker_id(message: Mapping[str, Any]) -> str | None:
    items = message.get("attachments")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and item.get("type") == "sticker":
            payload = _object(item.get("payload"))
            return _text(payload.get("id")) or _text(payload.get("sticker_id"))
    return None


def _submitted_info(body: Mapping[str, Any]) -> SubmittedInfo | None:
    info = body.get("info")
    if not isinstance(info, Mapping):
        return None
    parts = {name: _text(info.get(name)) for name in SubmittedInfo.__dataclass_fields__}
    return SubmittedInfo(
        **{name: value.strip() if value else None for name, value in parts.items()}
    )


def _user_id(body: Mapping[str, Any], name: str) -> str | None:
    if name in ("follow", "unfollow"):
        return _id_of(body, "follower") or _id_of(body, "sender")
    return _id_of(body, "sender") or _id_of(body, "follower")


def parse_event(body: Mapping[str, Any]) -> ZaloEvent:
    """The event a (verified) webhook body describes; never raises."""
    name = _text(body.get("event_name")) or ""
    message = _object(body.get("message"))
    return ZaloEvent(
        name=name,
        app_id=_text(body.get("app_id")),
        user_id=_user_id(body, name),
        oa_id=_id_of(body, "recipient") or _text(body.get("oa_id")),
        timestamp=_integer(body.get("timestamp")),
        msg_id=_text(message.get("msg_id")),
        text=_text(message.get("text")),
        attachments=_attachments(message),
        sticker_id=_sticker_id(message),
        info=_submitted_info(body) if name == "user_submit_info" else None,
    )


def event_key(event: ZaloEvent | Mapping[str, Any]) -> str:
    """The de-duplication key of an event (a retry carries the same body, so the same key):
    its ``msg_id`` when it has one, else the SHA-256 of its name, user and timestamp (a follow,
    a shared form); never longer than :data:`MAX_KEY_LENGTH`."""
    if not isinstance(event, ZaloEvent):
        event = parse_event(event)
    if event.msg_id is not None and len(event.msg_id) <= MAX_KEY_LENGTH:
        return event.msg_id
    parts = [event.name, event.user_id, event.timestamp, event.msg_id]
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


__all__ = [
    "KINDS",
    "EventKind",
    "SubmittedInfo",
    "ZaloAttachment",
    "ZaloEvent",
    "event_key",
    "parse_event",
]
