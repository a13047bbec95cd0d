"""The outbox worker end to end: a real aiogram `Bot` over HTTP to the stand-in Bot API server,
a migrated SQLite database, and Telegram's failures scripted on the server (429 flood control,
dropped connections, 5xx, 403 blocked, 400). Every test checks what actually arrived at the
server: each message exactly once, and the timing rules (retry_after, backoff, 1 s per chat).

Rates and intervals are small where they are not what a test is about, to keep the suite fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.webchat.hub import WebChatHub
from bot.channels.webchat.session import WebChatBot
from bot.factory import default_bot_properties
from bot.jobs.outbox import SKIPPED_NOTE, OutboxWorker
from bot.jobs.senders import CAPTION_LIMIT, TelegramSender, WebChatSender, split_caption
from handlers.contracts import Delivery, Rendered, Renderer
from storage.models import OutboxMessage, utcnow
from storage.outbox import OutboxRow, OutgoingMessage, claim_due, enqueue
from tests.tools.databases import migrated
from tests.tools.telegram_server import Call, FakeTelegram, UploadedFile

TOKEN = "123456:TEST-fake-token_ABCdef"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # any bytes will do for the stand-in server

Factory = async_sessionmaker[AsyncSession]


@pytest.fixture
async def factory(tmp_path: Path) -> AsyncIterator[Factory]:
    async with migrated(f"sqlite+aiosqlite:///{tmp_path / 'outbox.sqlite3'}") as factory:
        yield factory


def make_worker(
    factory: Factory,
    bot: Bot,
    renderers: dict[str, Renderer] | None = None,
    **options: Any,
) -> OutboxWorker:
    """A worker with fast defaults: no real rate limits, short backoff and polling."""
    settings: dict[str, Any] = {
        "global_rate": 1000.0,
        "per_chat_interval": 0.0,
        "backoff_base": 0.2,
        "idle_poll": 0.05,
        "concurrency": 4,
    }
    settings.update(options)
    sender = TelegramSender(bot, part_interval=0.05)
    return OutboxWorker(factory, {"telegram": sender}, renderers or {}, **settings)


def text(chat: int | str, body: str, **options: Any) -> OutgoingMessage:
    channel = options.pop("channel", "telegram")
    kind = options.pop("kind", "text")
    return OutgoingMessage(
        channel=channel, chat_id=str(chat), kind=kind, payload={"text": body}, **options
    )


async def add(factory: Factory, *messages: OutgoingMessage) -> int:
    async with factory() as session:
        count = await enqueue(session, list(messages))
        await session.commit()
    return count


async def rows(factory: Factory) -> dict[str, OutboxMessage]:
    """Outbox rows by chat id (tests use one row per chat unless they say otherwise)."""
    async with factory() as session:
        found = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return {row.chat_id: row for row in found}


def sends(fake: FakeTelegram, chat: int | None = None) -> list[Call]:
    """Every message request (sendMessage/sendPhoto), refused ones included."""
    return [
        c
        for c in fake.calls
        if c.method in ("sendMessage", "sendPhoto") and (chat is None or c.chat_id == chat)
    ]


# --- exactly once under failures ---------------------------------------------------------------


async def test_digest_with_a_429_delivers_every_message_exactly_once(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    chats = list(range(2001, 2013))
    await add(factory, *(text(chat, f"Báo cáo ngày cho cán bộ {chat}") for chat in chats))
    fake.fail_next("sendMessage", status=429, retry_after=1)
    worker = make_worker(factory, telegram_bot)

    assert await worker.drain(timeout=10) == len(chats)

    delivered = Counter((c.chat_id, c.text) for c in fake.delivered())
    assert delivered == Counter((chat, f"Báo cáo ngày cho cán bộ {chat}") for chat in chats)
    refused = [c for c in fake.calls if c.status == 429]
    assert len(refused) == 1 and len(sends(fake)) == len(chats) + 1
    flood = refused[0]
    retry = next(c for c in fake.delivered() if c.chat_id == flood.chat_id)
    assert retry.at - flood.at >= 1.0  # retry_after honoured for the row itself
    # ... and the whole bot paused: only requests already in flight arrived inside the window.
    assert not [c for c in sends(fake) if flood.at + 0.3 < c.at < flood.at + 0.99]
    assert {(r.state, r.attempts) for r in (await rows(factory)).values()} == {("sent", 0)}
    assert worker.retried == 1 and worker.failed == 0


async def test_network_errors_and_5xx_are_retried_with_backoff(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    fake.drop_next("sendMessage", times=2, chat_id=11)
    fake.fail_next("sendMessage", status=502, chat_id=12)
    await add(factory, text(11, "Hồ sơ đã có kết quả"), text(12, "Hồ sơ cần bổ sung"))
    worker = make_worker(factory, telegram_bot, backoff_base=0.2)

    assert await worker.drain(timeout=10) == 2

    dropped = sends(fake, 11)
    assert [c.status for c in dropped] == [0, 0, 200]
    # Backoff with jitter: attempt n waits between half and all of 0.2 * 2**(n-1) seconds.
    assert dropped[1].at - dropped[0].at >= 0.1
    assert dropped[2].at - dropped[1].at >= 0.2
    assert [c.status for c in sends(fake, 12)] == [502, 200]
    assert [c.chat_id for c in fake.delivered()].count(11) == 1
    by_chat = await rows(factory)
    assert (by_chat["11"].state, by_chat["11"].attempts) == ("sent", 2)
    assert (by_chat["12"].state, by_chat["12"].attempts) == ("sent", 1)


async def test_gives_up_after_max_attempts(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    fake.drop_next("sendMessage", times=10)
    await add(factory, text(21, "Thông báo"))
    worker = make_worker(factory, telegram_bot, backoff_base=0.05, max_attempts=3)

    assert await worker.drain(timeout=5) == 0

    assert len(sends(fake)) == 3
    row = (await rows(factory))["21"]
    assert (row.state, row.attempts) == ("failed", 3)
    assert row.last_error is not None and row.last_error.startswith("gave up after 3 attempts")
    assert TOKEN not in row.last_error


async def test_blocked_and_bad_requests_fail_at_once_and_leak_nothing(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("sendMessage", status=403, chat_id=32)
    secret = "CCCD 001099012345"
    await add(
        factory,
        text(31, "Kết quả đã sẵn sàng"),
        text(32, f"Xin chào, {secret}"),
        text(33, f"<blink>{secret}</blink>"),  # Telegram cannot parse it: 400
    )
    worker = make_worker(factory, telegram_bot)

    with caplog.at_level(logging.DEBUG):
        assert await worker.drain(timeout=5) == 1
        assert await worker.drain(timeout=0.5) == 0  # nothing is tried again

    assert [len(sends(fake, chat)) for chat in (31, 32, 33)] == [1, 1, 1]
    by_chat = await rows(factory)
    assert by_chat["31"].state == "sent"
    assert by_chat["32"].state == "failed"
    assert "bot was blocked by the user" in (by_chat["32"].last_error or "")
    assert by_chat["33"].state == "failed"
    assert "can't parse entities" in (by_chat["33"].last_error or "")
    assert worker.failed == 2
    for leaked in (secret, TOKEN):
        assert leaked not in caplog.text
        assert all(leaked not in (row.last_error or "") for row in by_chat.values())


# --- rate limits --------------------------------------------------------------------------------


async def test_one_message_per_second_per_chat_without_blocking_other_chats(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    fake.per_chat_interval = 0.9  # the server itself refuses faster messages to one chat
    await add(
        factory,
        text(41, "A1"),
        text(41, "A2"),
        text(42, "B1"),
        text(43, "C1"),
    )
    worker = make_worker(factory, telegram_bot, per_chat_interval=1.0)

    assert await worker.drain(timeout=5) == 4

    assert not [c for c in fake.calls if c.status == 429]
    assert [c.text for c in fake.delivered() if c.chat_id == 41] == ["A1", "A2"]
    first, second = fake.sent_at[41]
    assert second - first >= 0.95
    # The other chats went out while chat 41 waited for its second message.
    for other in (42, 43):
        assert fake.sent_at[other][0] < first + 0.5


async def test_global_rate_spreads_a_burst(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    await add(factory, *(text(chat, "Nhắc lịch hẹn") for chat in range(51, 61)))
    worker = make_worker(factory, telegram_bot, global_rate=10.0)

    assert await worker.drain(timeout=5) == 10

    times = sorted(c.at for c in fake.delivered())
    assert times[-1] - times[0] >= 0.8  # 10 messages at 10/s: nine gaps of 0.1 s
    assert all(later - earlier >= 0.05 for earlier, later in zip(times, times[1:]))


# --- crash recovery, wake-up, de-duplication ---------------------------------------------------


async def test_a_row_left_sending_by_a_crash_is_uncertain_and_never_resent(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await add(factory, text(61, "Đã gửi trước khi sập?"), text(62, "Tin nhắn bình thường"))
    async with factory() as session:  # a worker claimed 61, then the process died
        crashed = await claim_due(session, limit=1, now=utcnow(), lease_seconds=0)
    assert [row.chat_id for row in crashed] == ["61"]
    worker = make_worker(factory, telegram_bot, idle_poll=10.0)

    with caplog.at_level(logging.WARNING, logger="storage.outbox"):
        task = asyncio.create_task(worker.run())
        try:
            await fake.wait_for(lambda c: c.ok and c.chat_id == 62)
            # A producer in the same process enqueues and wakes the worker (idle_poll is 10 s).
            await add(factory, text(63, "Mới"))
            worker.wake()
            await fake.wait_for(lambda c: c.ok and c.chat_id == 63, timeout=1.0)
            await asyncio.sleep(0.2)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    assert sends(fake, 61) == []
    by_chat = await rows(factory)
    assert by_chat["61"].state == "uncertain" and by_chat["61"].sent_at is None
    assert [by_chat[chat].state for chat in ("62", "63")] == ["sent", "sent"]
    assert "interrupted mid-send" in caplog.text


async def test_the_same_dedup_key_twice_sends_one_message(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    key = "dossier:000.00.17.H12-220615-0001:status:9"
    assert await add(factory, text(71, "Hồ sơ đã xử lý xong", dedup_key=key)) == 1
    assert await add(factory, text(71, "Hồ sơ đã xử lý xong", dedup_key=key)) == 0
    worker = make_worker(factory, telegram_bot)

    assert await worker.drain(timeout=5) == 1
    assert await add(factory, text(71, "Hồ sơ đã xử lý xong", dedup_key=key)) == 0
    assert await worker.drain(timeout=0.3) == 0
    assert len(sends(fake, 71)) == 1


# --- photos and renderers ----------------------------------------------------------------------


async def render_chart(session: AsyncSession, row: OutboxRow) -> Rendered | None:
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Chi tiết", callback_data="dg:1")]]
    )
    return Rendered(text=row.payload["text"], reply_markup=keyboard, photo=PNG)


async def test_photo_messages_with_short_and_long_captions(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    short = "<b>Báo cáo tuần</b>: 93,3 % đúng hạn"
    paragraph = ("Tiếp nhận 30.407 hồ sơ; đã giải quyết 28.375 hồ sơ. " * 8).strip()
    long = "\n\n".join(f"<b>Mục {n}</b>\n{paragraph}" for n in range(1, 6))
    assert len(long) > CAPTION_LIMIT
    await add(
        factory,
        text(81, short, kind="chart"),
        text(82, long, kind="chart"),
    )
    worker = make_worker(factory, telegram_bot, {"chart": render_chart})

    assert await worker.drain(timeout=5) == 2

    [photo] = sends(fake, 81)
    assert photo.method == "sendPhoto" and photo.ok and photo.caption == short
    upload = photo.params["photo"]
    assert isinstance(upload, UploadedFile)
    assert upload.data == PNG and upload.filename == "chart.png"
    assert photo.buttons[0]["callback_data"] == "dg:1"

    first, rest = sends(fake, 82)
    assert (first.method, rest.method) == ("sendPhoto", "sendMessage")
    assert first.ok and rest.ok
    assert 0 < len(first.caption) <= CAPTION_LIMIT
    assert first.caption + "\n\n" + rest.text == long
    assert first.buttons == [] and rest.buttons[0]["callback_data"] == "dg:1"
    assert {r.state for r in (await rows(factory)).values()} == {"sent"}


async def test_a_photo_whose_text_part_fails_is_not_sent_again(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    long = "\n\n".join(f"Đoạn {n}: " + "số liệu " * 40 for n in range(1, 6))
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    await add(factory, text(85, long, kind="chart"))
    worker = make_worker(factory, telegram_bot, {"chart": render_chart})

    assert await worker.drain(timeout=3) == 0
    assert await worker.drain(timeout=0.3) == 0

    assert [(c.method, c.ok) for c in sends(fake, 85)] == [
        ("sendPhoto", True),
        ("sendMessage", False),
    ]
    row = (await rows(factory))["85"]
    assert row.state == "failed"
    assert "photo sent, text not" in (row.last_error or "")


class HangingSender:
    """A sender whose request never finishes (a stuck connection)."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(
        self, chat_id: str, rendered: Rendered, delivery: Delivery | None = None
    ) -> None:
        self.calls += 1
        await asyncio.sleep(30)


async def test_a_send_that_times_out_is_uncertain_not_retried(factory: Factory) -> None:
    sender = HangingSender()
    await add(factory, text(86, "Có thể đã gửi"))
    worker = OutboxWorker(
        factory, {"telegram": sender}, {}, send_timeout=0.2, lease_seconds=5, idle_poll=0.05
    )

    assert await worker.drain(timeout=1) == 0
    assert await worker.drain(timeout=0.3) == 0

    assert sender.calls == 1
    row = (await rows(factory))["86"]
    assert row.state == "uncertain" and "timed out" in (row.last_error or "")


async def test_nothing_to_send_is_skipped_and_unknown_kinds_fail(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    async def nothing(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        return None

    await add(factory, text(91, "x", kind="gone"), text(92, "x", kind="no_such_kind"))
    worker = make_worker(factory, telegram_bot, {"gone": nothing})

    assert await worker.drain(timeout=2) == 0

    assert sends(fake) == []
    by_chat = await rows(factory)
    assert (by_chat["91"].state, by_chat["91"].last_error) == ("sent", SKIPPED_NOTE)
    assert by_chat["92"].state == "failed"
    assert "no renderer" in (by_chat["92"].last_error or "")


def test_split_caption_cuts_at_a_line_break_with_balanced_tags() -> None:
    assert split_caption("ngắn") == ("ngắn", "")
    head, rest = split_caption("<b>" + "a\n" * 600 + "</b>\nđuôi", limit=100)
    assert (head, rest) == ("", "<b>" + "a\n" * 600 + "</b>\nđuôi")  # no balanced cut
    text = "dòng một\n<i>dòng hai</i>\n" + "x" * 50
    assert split_caption(text, limit=30) == ("dòng một\n<i>dòng hai</i>", "x" * 50)


# --- the web chat channel ----------------------------------------------------------------------


async def test_web_chat_waits_for_the_visitor_and_gives_up_after_seven_days(
    factory: Factory,
) -> None:
    hub = WebChatHub(secret=b"s" * 32)
    web_bot = WebChatBot(hub, default=default_bot_properties())
    token = hub.new_token()
    chat_id = hub.chat_id_for(token)
    await add(factory, text(chat_id, "<b>Hồ sơ</b> đã có kết quả", channel="web"))
    await add(factory, text(777, "Quá cũ", channel="web"))
    async with factory() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == "777")
            .values(created_at=utcnow() - timedelta(days=8))
        )
        await session.commit()
    worker = OutboxWorker(
        factory,
        {"web": WebChatSender(web_bot, hub)},
        {},
        per_chat_interval=0.0,
        idle_poll=0.05,
        defer_seconds=60.0,
    )
    try:
        assert await worker.drain(timeout=0.5) == 0
        by_chat = await rows(factory)
        waiting = by_chat[str(chat_id)]
        assert (waiting.state, waiting.attempts) == ("pending", 0)
        assert (waiting.last_error or "").startswith("deferred")
        assert waiting.available_at > utcnow() + timedelta(seconds=50)
        assert by_chat["777"].state == "failed"

        visitor, _ = hub.visitor(token)  # the browser comes back
        assert visitor.chat_id == chat_id
        async with factory() as session:  # ... a minute later
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.chat_id == str(chat_id))
                .values(available_at=utcnow())
            )
            await session.commit()
        assert await worker.drain(timeout=2) == 1
        shown = [e for e in visitor.events_after(0) if e["type"] == "message"]
        assert [e["html"] for e in shown] == ["<b>Hồ sơ</b> đã có kết quả"]
        assert (await rows(factory))[str(chat_id)].state == "sent"
    finally:
        await web_bot.session.close()


# --- order within a chat and a clean shutdown ---------------------------------------------------


async def test_a_chat_gets_its_messages_in_order_across_a_retry(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    fake.drop_next("sendMessage", chat_id=101)
    await add(
        factory,
        text(101, "Hồ sơ đã có kết quả"),
        text(101, "Đánh giá mức độ hài lòng"),
        text(102, "Tin khác"),
    )
    worker = make_worker(factory, telegram_bot, backoff_base=0.2)

    assert await worker.drain(timeout=5) == 3

    assert [c.status for c in sends(fake, 101)] == [0, 200, 200]
    assert [c.text for c in fake.delivered() if c.chat_id == 101] == [
        "Hồ sơ đã có kết quả",
        "Đánh giá mức độ hài lòng",
    ]
    # The other chat did not wait for chat 101's backoff.
    assert fake.sent_at[102][0] < sends(fake, 101)[1].at


class StuckSender:
    """Every request hangs (it may or may not have reached Telegram when it is cancelled)."""

    def __init__(self) -> None:
        self.chats: list[str] = []

    async def send(
        self, chat_id: str, rendered: Rendered, delivery: Delivery | None = None
    ) -> None:
        self.chats.append(chat_id)
        await asyncio.sleep(30)


async def test_shutdown_gives_back_rows_whose_request_never_started(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    rendering = asyncio.Event()

    async def slow(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        rendering.set()
        await asyncio.sleep(30)
        return Rendered(text=row.payload["text"])

    await add(
        factory,
        text(111, "Đang dựng", kind="slow"),  # still rendering at shutdown
        text(112, "Chờ lượt"),  # one of these two is sent, the other waits for a token
        text(113, "Chờ lượt"),
    )
    sender = StuckSender()
    worker = OutboxWorker(
        factory,
        {"telegram": sender},
        {"slow": slow},
        global_rate=0.2,  # one token now, the next in 5 s
        per_chat_interval=0.0,
        idle_poll=0.05,
        shutdown_grace=0.2,
    )
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(rendering.wait(), 2)
        for _ in range(100):
            if sender.chats:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    [started] = sender.chats
    waiting = ({"112", "113"} - {started}).pop()
    by_chat = await rows(factory)
    # The request that went out may have reached Telegram: left for recover() -> "uncertain".
    assert by_chat[started].state == "sending"
    for chat in ("111", waiting):
        assert (by_chat[chat].state, by_chat[chat].attempts) == ("pending", 0)
        assert by_chat[chat].available_at <= utcnow()

    # The next start sends them; the uncertain one is never sent again.
    async def quick(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        return Rendered(text=row.payload["text"])

    restarted = make_worker(factory, telegram_bot, {"slow": quick})
    assert await restarted.drain(timeout=3) == 2
    assert sorted(c.chat_id for c in fake.delivered()) == sorted([111, int(waiting)])
    assert sends(fake, int(started)) == []
