"""Zalo webhook bodies read into events: every kind the assistant acts on, the others, bodies
with missing or ill-typed fields, and the de-duplication key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.zalo.events import (
    MAX_KEY_LENGTH,
    EventKind,
    SubmittedInfo,
    ZaloAttachment,
    ZaloEvent,
    event_key,
    parse_event,
)
from tests.tools.zalo_signing import (
    APP_ID,
    OA_ID,
    follow_event,
    message_event,
    submit_info_event,
    text_event,
)

AT = datetime(2026, 3, 15, 8, 30, tzinfo=UTC)
AT_MS = int(AT.timestamp() * 1000)
USER = "2512523625412515"


def test_a_text_message() -> None:
    event = parse_event(text_event(USER, "Thủ tục cấp lại CCCD?", AT, msg_id="a1b2"))
    assert event == ZaloEvent(
        name="user_send_text",
        app_id=APP_ID,
        user_id=USER,
        oa_id=OA_ID,
        timestamp=AT_MS,
        msg_id="a1b2",
        text="Thủ tục cấp lại CCCD?",
    )
    assert event.kind is EventKind.TEXT


def test_an_image_with_its_caption() -> None:
    image = {"type": "image", "payload": {"url": "https://cdn.zalo/i.jpg", "thumbnail": "t.jpg"}}
    event = parse_event(
        message_event("user_send_image", USER, AT, text="hồ sơ", attachments=[image])
    )
    assert event.kind is EventKind.IMAGE
    assert event.text == "hồ sơ"
    assert event.attachments == (
        ZaloAttachment(type="image", url="https://cdn.zalo/i.jpg", thumbnail="t.jpg"),
    )


def test_a_file_with_its_name_and_size_sent_as_a_string() -> None:
    file = {
        "type": "file",
        "payload": {
            "url": "https://f.zalo/d.pdf",
            "name": "don.pdf",
            "size": "20480",
            "type": "pdf",
            "checksum": "9e1f",
        },
    }
    event = parse_event(message_event("user_send_file", USER, AT, attachments=[file]))
    assert event.kind is EventKind.FILE
    assert event.text is None
    assert event.attachments == (
        ZaloAttachment(type="file", url="https://f.zalo/d.pdf", name="don.pdf", size=20480),
    )


def test_a_sticker_and_its_id() -> None:
    sticker = {"type": "sticker", "payload": {"id": "bfe458bf64fa8da4d4eb", "url": "https://s/1"}}
    event = parse_event(message_event("user_send_sticker", USER, AT, attachments=[sticker]))
    assert event.kind is EventKind.STICKER
    assert event.sticker_id == "bfe458bf64fa8da4d4eb"
    assert event.attachments[0].url == "https://s/1"


@pytest.mark.parametrize(
    ("name", "attachment"),
    [
        ("user_send_gif", {"type": "gif", "payload": {"url": "https://g", "thumbnail": "t"}}),
        ("user_send_audio", {"type": "audio", "payload": {"url": "https://a.m4a"}}),
        ("user_send_video", {"type": "video", "payload": {"url": "https://v", "thumbnail": "t"}}),
        (
            "user_send_location",
            {
                "type": "location",
                "payload": {"coordinates": {"latitude": "10.7", "longitude": "106.6"}},
            },
        ),
    ],
)
def test_media_the_dialogs_cannot_read(name: str, attachment: dict[str, Any]) -> None:
    event = parse_event(message_event(name, USER, AT, attachments=[attachment]))
    assert event.kind is EventKind.UNSUPPORTED_MEDIA
    assert event.user_id == USER
    assert event.attachments[0].type == attachment["type"]


@pytest.mark.parametrize(
    ("name", "kind"), [("follow", EventKind.FOLLOW), ("unfollow", EventKind.UNFOLLOW)]
)
def test_follow_and_unfollow_name_the_follower(name: str, kind: EventKind) -> None:
    event = parse_event(follow_event(USER, AT, name=name))
    assert event.kind is kind
    assert (event.user_id, event.oa_id, event.msg_id) == (USER, OA_ID, None)
    assert event.timestamp == AT_MS


def test_the_information_a_citizen_shared() -> None:
    body = submit_info_event(
        USER, AT, name=" Nguyễn Văn A ", phone="84912345678", address="12 Lê Lợi", city="Huế"
    )
    event = parse_event(body)
    assert event.kind is EventKind.SUBMIT_INFO
    assert event.user_id == USER
    assert event.info == SubmittedInfo(
        name="Nguyễn Văn A", phone="84912345678", address="12 Lê Lợi", city="Huế"
    )


@pytest.mark.parametrize(
    "body",
    [
        {
            "app_id": APP_ID,
            "event_name": "user_received_message",
            "timestamp": "1",
            "sender": {"id": OA_ID},
        },
        {"app_id": APP_ID, "event_name": "user_seen_message", "message": {"msg_ids": ["x", "y"]}},
        {"app_id": APP_ID, "event_name": "oa_send_text", "message": {"msg_id": "m", "text": "hi"}},
        {"app_id": APP_ID, "event_name": "user_reacted_message"},
    ],
)
def test_other_events_keep_their_name(body: dict[str, Any]) -> None:
    event = parse_event(body)
    assert event.kind is EventKind.UNKNOWN
    assert event.name == body["event_name"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event_name": 7, "sender": "nobody", "message": [1], "timestamp": "soon"},
        {"event_name": "user_send_text", "sender": {"id": None}, "message": {"text": ["x"]}},
        {"event_name": "user_send_image", "message": {"attachments": "none"}},
        {"event_name": "user_send_file", "message": {"attachments": [7, {"payload": "x"}]}},
        {"event_name": "user_submit_info", "info": "phone"},
        {"event_name": "follow", "timestamp": True, "follower": {"id": ""}},
    ],
)
def test_ill_typed_fields_read_as_missing(body: dict[str, Any]) -> None:
    event = parse_event(body)
    assert event.user_id is None
    assert event.timestamp is None
    assert event.text is None
    assert event.info is None
    assert all(a.url is None and a.size is None for a in event.attachments)


def test_ids_and_times_sent_as_numbers_are_read() -> None:
    body = {
        "app_id": 3600000000000000001,
        "event_name": "user_send_text",
        "timestamp": AT_MS,
        "sender": {"id": 42},
        "message": {"msg_id": "m1", "text": "xin chào"},
    }
    event = parse_event(body)
    assert (event.app_id, event.user_id, event.timestamp) == ("3600000000000000001", "42", AT_MS)


def test_the_key_of_a_message_is_its_msg_id() -> None:
    body = text_event(USER, "xin chào", AT, msg_id="8c2f4a")
    assert event_key(body) == event_key(parse_event(body)) == "8c2f4a"


def test_the_key_of_an_event_without_a_message_hashes_name_user_and_time() -> None:
    key = event_key(follow_event(USER, AT))
    assert len(key) == 64
    assert key == event_key(follow_event(USER, AT))  # a retry: the same key
    assert key != event_key(follow_event(USER, AT, name="unfollow"))
    assert key != event_key(follow_event("another", AT))
    assert key != event_key(follow_event(USER, AT.replace(second=1)))
    assert event_key(submit_info_event(USER, AT, phone="0912")) != key


def test_keys_fit_the_column() -> None:
    long_id = "m" * (MAX_KEY_LENGTH + 1)
    key = event_key(text_event(USER, "x", AT, msg_id=long_id))
    assert len(key) <= MAX_KEY_LENGTH
    assert key == event_key(text_event(USER, "x", AT, msg_id=long_id))
    assert key != event_key(text_event(USER, "x", AT, msg_id=long_id + "n"))
    assert len(event_key({})) <= MAX_KEY_LENGTH
