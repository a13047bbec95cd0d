"""The Zalo webhook over real HTTP (a loopback aiohttp server) on SQLite and on PostgreSQL:
accepted events reach ``handle`` once and in each citizen's order, refused requests reach
nothing and leave no trace in the logs of the key or the signature, a full queue asks Zalo to
retry, and the acknowledgement does not wait for the dialogs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo.events import EventKind, ZaloEvent, parse_event
from bot.channels.zalo.signature import HEADER
from bot.channels.zalo.webhook import ZaloWebhook, create_zalo_webhook
from storage.models import ZaloEvent as ZaloEventRow
from storage.models import ZaloUser
from storage.repositories.zalo_events import Claim, SqliteFileEventStore
from tests.tools.zalo_signing import (
    APP_ID,
    OA_SECRET_KEY,
    follow_event,
    message_event,
    raw_body,
    signed,
    text_event,
)

NOW = datetime(2026, 3, 15, 1, 30, tzinfo=UTC)
PATH = "/zalo/webhook"
OK = {"ok": True}


@dataclass
class Recorder:
    """A ``handle`` that records the events it was given, how many ran at once (in all and
    per citizen), and optionally takes its time or fails."""

    delay: float = 0.0
    fail_on: str | None = None
    seen: list[ZaloEvent] = field(default_factory=list)
    done: list[ZaloEvent] = field(default_factory=list)
    running: dict[str | None, int] = field(default_factory=dict)
    most_at_once: int = 0
    most_of_one_citizen: int = 0

    async def __call__(self, event: ZaloEvent) -> None:
        self.seen.append(event)
        self.running[event.user_id] = self.running.get(event.user_id, 0) + 1
        self.most_at_once = max(self.most_at_once, sum(self.running.values()))
        self.most_of_one_citizen = max(self.most_of_one_citizen, self.running[event.user_id])
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.fail_on is not None and event.text == self.fail_on:
                raise RuntimeError("the dialog broke")
            self.done.append(event)
        finally:
            self.running[event.user_id] -= 1


@dataclass
class Env:
    client: TestClient
    webhook: ZaloWebhook
    handle: Recorder
    factory: async_sessionmaker[AsyncSession]

    async def post(self, body: dict[str, Any] | bytes, **sign: Any) -> tuple[int, Any]:
        raw, headers = signed(body, **sign)
        response = await self.client.post(PATH, data=raw, headers=headers)
        return response.status, await response.json()

    async def claimed(self) -> int:
        return await self.webhook.journal.store.count()

    async def waiting(self) -> list[str | None]:
        """The texts of the events stored and not started."""
        rows = await self.webhook.journal.store.waiting(NOW - timedelta(days=1))
        return [parse_event(json.loads(row.body)).text for row in rows]

    async def settle(self) -> None:
        """Wait until every queued event has been handled."""
        for _ in range(500):
            if self.webhook.pending == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{self.webhook.pending} events still pending")


EnvMaker = Callable[..., Awaitable[Env]]


@pytest.fixture
async def make_env(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[EnvMaker]:
    """Builds the webhook (with ``handle`` and limits of the test's choosing) on a live server."""
    clients: list[tuple[TestClient, ZaloWebhook]] = []

    async def make(handle: Recorder | None = None, factory: Any = None, **options: Any) -> Env:
        recorder = handle or Recorder()
        webhook = create_zalo_webhook(
            app_id=APP_ID,
            oa_secret_key=OA_SECRET_KEY,
            session_factory=factory or session_factory,
            handle=recorder,
            **{"clock": lambda: NOW, **options},
        )
        app = web.Application()
        app.router.add_post(PATH, webhook.handler)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append((client, webhook))
        return Env(client, webhook, recorder, session_factory)

    yield make
    for client, webhook in clients:
        await webhook.close(timeout=2)
        await client.close()


async def test_an_event_is_acknowledged_and_handled_once(make_env: EnvMaker) -> None:
    env = await make_env()
    body = text_event("u1", "Làm giấy khai sinh cần gì?", NOW - timedelta(seconds=3))
    assert await env.post(body) == (200, OK)
    await env.settle()
    assert env.handle.done == [parse_event(body)]
    assert env.handle.done[0].kind is EventKind.TEXT
    assert await env.claimed() == 1


async def test_a_retried_event_is_handled_once(make_env: EnvMaker) -> None:
    env = await make_env()
    body = text_event("u1", "xin chào", NOW - timedelta(hours=11, minutes=59))
    for _ in range(3):  # Zalo re-sends the same body while it has no 200
        assert await env.post(body) == (200, OK)
    follow = follow_event("u2", NOW)
    assert await env.post(follow) == (200, OK)
    assert await env.post(follow) == (200, OK)
    await env.settle()
    assert [e.name for e in env.handle.done] == ["user_send_text", "follow"]
    assert await env.claimed() == 2


def _seen_receipt(user_id: str) -> dict[str, Any]:
    """A receipt: the citizen saw the OA's messages (an event the assistant does not act on)."""
    return {
        "app_id": APP_ID,
        "event_name": "user_seen_message",
        "timestamp": str(int(NOW.timestamp() * 1000)),
        "sender": {"id": user_id},
        "recipient": {"id": "oa"},
        "message": {"msg_ids": ["a", "b"]},
    }


def _unsigned(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return raw_body(body), {"Content-Type": "application/json"}


def _bad_header(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw, headers = signed(body)
    return raw, {**headers, HEADER: headers[HEADER].replace("mac=", "sha256=")}


def _forged(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return signed(body, oa_secret_key="not-the-key")


def _tampered(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw, headers = signed(body)
    return raw.replace(b"xin", b"XIN"), headers


def _wrong_app(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return signed({**body, "app_id": "999"})


def _at(moment: datetime) -> Callable[[dict[str, Any]], tuple[bytes, dict[str, str]]]:
    return lambda body: signed({**body, "timestamp": str(int(moment.timestamp() * 1000))})


def _raw(raw: bytes) -> Callable[[dict[str, Any]], tuple[bytes, dict[str, str]]]:
    return lambda body: signed(raw, app_id=APP_ID, timestamp="")


REFUSALS = {
    "no signature": (_unsigned, 401, "missing_signature"),
    "not a mac header": (_bad_header, 401, "missing_signature"),
    "wrong key": (_forged, 401, "bad_signature"),
    "body changed": (_tampered, 401, "bad_signature"),
    "wrong app id": (_wrong_app, 403, "wrong_app"),
    "from the future": (_at(NOW + timedelta(minutes=6)), 400, "timestamp_in_future"),
    "too old": (_at(NOW - timedelta(hours=13)), 400, "timestamp_too_old"),
    "no timestamp": (lambda body: signed({**body, "timestamp": "later"}), 400, "bad_timestamp"),
    "over the limit": (lambda body: signed({**body, "pad": "x" * 2048}), 413, "body_too_large"),
    "malformed JSON": (_raw(b'{"event_name": "user_send_text",'), 400, "malformed_json"),
    "not UTF-8": (_raw(b'{"text": "\xff"}'), 400, "malformed_json"),
    "not an object": (_raw(b'[{"event_name": "user_send_text"}]'), 400, "not_an_object"),
}


async def test_refused_requests_reach_nothing(
    make_env: EnvMaker, caplog: pytest.LogCaptureFixture
) -> None:
    env = await make_env(max_body=1024)
    caplog.set_level(logging.DEBUG)
    for case, (build, status, code) in REFUSALS.items():  # one database for all the cases
        raw, headers = build(text_event("u1", "xin chào", NOW))
        response = await env.client.post(PATH, data=raw, headers=headers)
        assert response.status == status, case
        answer = await response.json()
        assert answer["error"] == code and answer["detail"], case
        mac = headers.get(HEADER, "").removeprefix("mac=")
        assert not mac or mac not in caplog.text, case
    raw, headers = signed({**text_event("u1", "xin chào", NOW), "pad": "x" * 4096})

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the reader must stop
        for start in range(0, len(raw), 512):
            yield raw[start : start + 512]

    response = await env.client.post(PATH, data=chunks(), headers=headers)
    assert response.status == 413
    await asyncio.sleep(0.05)
    assert env.handle.seen == []
    assert await env.claimed() == 0
    assert OA_SECRET_KEY not in caplog.text
    assert "xin chào" not in caplog.text
    assert caplog.text.count("Zalo webhook: refused") == len(REFUSALS) + 1


async def test_each_citizens_events_keep_their_order(make_env: EnvMaker) -> None:
    env = await make_env(Recorder(delay=0.05))
    bodies = [
        text_event(user, f"{user}-{n}", NOW - timedelta(seconds=10 - n))
        for n in range(5)
        for user in ("u1", "u2")
    ]
    for body in bodies:  # interleaved: u1-0, u2-0, u1-1, u2-1 ...
        assert await env.post(body) == (200, OK)
    await env.settle()
    for user in ("u1", "u2"):
        texts = [e.text for e in env.handle.done if e.user_id == user]
        assert texts == [f"{user}-{n}" for n in range(5)]
    assert env.handle.most_of_one_citizen == 1
    assert env.handle.most_at_once == 2  # the two citizens' lines ran side by side


async def test_concurrent_requests_of_one_citizen_are_handled_one_at_a_time(
    make_env: EnvMaker,
) -> None:
    env = await make_env(Recorder(delay=0.01))
    bodies = [text_event("u1", f"m{n}", NOW) for n in range(8)]
    answers = await asyncio.gather(*(env.post(body) for body in bodies))
    assert answers == [(200, OK)] * 8
    await env.settle()
    assert sorted(e.text or "" for e in env.handle.done) == [f"m{n}" for n in range(8)]
    assert env.handle.most_of_one_citizen == 1


async def test_a_line_keeps_the_order_of_arrival_even_when_a_claim_is_slow(
    make_env: EnvMaker, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = 0

    @contextlib.asynccontextmanager
    async def first_claim_slow() -> AsyncIterator[AsyncSession]:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.2)
        async with session_factory() as session:
            yield session

    env = await make_env(factory=first_claim_slow)
    first = asyncio.create_task(env.post(text_event("u1", "trước", NOW)))
    await asyncio.sleep(0.05)  # the first request has arrived and waits on its claim
    assert await env.post(text_event("u1", "sau", NOW)) == (200, OK)
    assert await first == (200, OK)
    await env.settle()
    assert [e.text for e in env.handle.done] == ["trước", "sau"]


async def test_a_failing_event_is_logged_and_the_line_goes_on(
    make_env: EnvMaker, caplog: pytest.LogCaptureFixture
) -> None:
    env = await make_env(Recorder(fail_on="hỏng"))
    caplog.set_level(logging.INFO)
    for text in ("một", "hỏng", "hai"):
        assert await env.post(text_event("u1", text, NOW)) == (200, OK)
    await env.settle()
    assert [e.text for e in env.handle.done] == ["một", "hai"]
    assert "handling a user_send_text event failed" in caplog.text
    assert "hỏng" not in caplog.text


async def test_a_full_queue_asks_zalo_to_retry_later(make_env: EnvMaker) -> None:
    gate = asyncio.Event()

    class Blocked(Recorder):
        async def __call__(self, event: ZaloEvent) -> None:
            await gate.wait()
            await super().__call__(event)

    env = await make_env(Blocked(), max_pending=2)
    first, second, third = (text_event(f"u{n}", "x", NOW) for n in range(3))
    assert await env.post(first) == (200, OK)
    assert await env.post(second) == (200, OK)
    status, answer = await env.post(third)
    assert (status, answer["error"]) == (503, "busy")
    assert await env.claimed() == 2  # the refused event was not claimed
    assert await env.post(_seen_receipt("u9")) == (200, OK)  # not queued, so not refused
    gate.set()
    await env.settle()
    assert await env.post(third) == (200, OK)  # Zalo's retry is taken
    await env.settle()
    assert sorted(e.user_id or "" for e in env.handle.done) == ["u0", "u1", "u2"]


async def test_the_acknowledgement_does_not_wait_for_the_dialog(make_env: EnvMaker) -> None:
    finished = asyncio.Event()

    class Slow(Recorder):
        async def __call__(self, event: ZaloEvent) -> None:
            await asyncio.sleep(0.5)
            await super().__call__(event)
            finished.set()

    env = await make_env(Slow())
    assert await env.post(text_event("u1", "chậm", NOW)) == (200, OK)
    assert not finished.is_set()  # answered while the dialog still runs
    await asyncio.wait_for(finished.wait(), 2)


async def test_events_not_acted_on_are_claimed_and_acknowledged(
    make_env: EnvMaker, caplog: pytest.LogCaptureFixture
) -> None:
    env = await make_env()
    caplog.set_level(logging.INFO)
    seen = _seen_receipt("u1")
    assert await env.post(seen) == (200, OK)
    assert await env.post(seen) == (200, OK)
    no_user = message_event("user_send_text", "u1", NOW, text="?")
    del no_user["sender"]
    assert await env.post(no_user) == (200, OK)
    await env.settle()
    assert env.handle.seen == []
    assert await env.claimed() == 2
    assert "a user_seen_message event, not acted on" in caplog.text


async def test_close_leaves_events_not_started_for_the_next_start(make_env: EnvMaker) -> None:
    env = await make_env(Recorder(delay=0.2))
    for n in range(3):
        assert await env.post(text_event("u1", f"m{n}", NOW)) == (200, OK)
    await asyncio.sleep(0.05)  # m0 is being handled, m1 and m2 wait
    await env.webhook.close()
    assert [e.text for e in env.handle.done] == ["m0"]  # the handling under way ended
    status, answer = await env.post(text_event("u1", "late", NOW))
    assert (status, answer["error"]) == (503, "closing")
    assert await env.claimed() == 3
    assert await env.waiting() == ["m1", "m2"]  # m0 started: its text dropped

    after = await make_env(Recorder())  # the next process
    assert await after.webhook.recover() == 2
    assert await after.post(text_event("u1", "m3", NOW)) == (200, OK)
    await after.settle()
    assert [e.text for e in after.handle.done] == ["m1", "m2", "m3"]  # in the order they came
    assert await after.webhook.recover() == 0  # nothing is taken up twice
    assert await after.waiting() == [] and await after.claimed() == 4


async def test_a_handling_under_way_at_a_crash_is_not_repeated(make_env: EnvMaker) -> None:
    env = await make_env(Recorder(delay=30))  # never ends: the process "dies" during it
    assert await env.post(text_event("u1", "m0", NOW)) == (200, OK)
    for _ in range(200):
        if env.handle.seen:
            break
        await asyncio.sleep(0.01)
    after = await make_env(Recorder())
    assert await after.webhook.recover() == 0
    assert after.handle.seen == []


async def test_claims_arriving_together_share_a_commit(make_env: EnvMaker) -> None:
    env = await make_env()
    bodies = [text_event(f"u{n}", f"câu {n}", NOW) for n in range(40)]
    answers = await asyncio.gather(*(env.post(body) for body in bodies))
    assert answers == [(200, OK)] * 40
    await env.settle()
    assert len(env.handle.done) == 40 and await env.claimed() == 40
    # 40 claims and 40 starts written in fewer transactions than events
    assert env.webhook.journal.commits < 40


class _DatabaseDown(SQLAlchemyError):
    pass


async def test_a_database_that_fails_to_claim_gets_503(make_env: EnvMaker) -> None:
    class Failing:
        def __call__(self) -> Any:
            raise _DatabaseDown("no database")

    env = await make_env(factory=Failing())
    status, answer = await env.post(text_event("u1", "xin chào", NOW))
    assert (status, answer["error"]) == (503, "storage_unavailable")
    assert env.webhook.pending == 0 and env.handle.seen == []


async def test_close_gives_up_on_a_dialog_that_does_not_end(make_env: EnvMaker) -> None:
    env = await make_env(Recorder(delay=30))
    assert await env.post(text_event("u1", "m0", NOW)) == (200, OK)
    assert await env.post(text_event("u1", "m1", NOW)) == (200, OK)
    await asyncio.sleep(0.05)
    await env.webhook.close(timeout=0.1)
    assert env.webhook.pending == 0
    assert env.handle.done == []


async def test_one_citizen_cannot_fill_everyones_queue(make_env: EnvMaker) -> None:
    gate = asyncio.Event()

    class Blocked(Recorder):
        async def __call__(self, event: ZaloEvent) -> None:
            await gate.wait()
            await super().__call__(event)

    env = await make_env(Blocked(), max_per_citizen=2)
    assert await env.post(text_event("u1", "một", NOW)) == (200, OK)
    assert await env.post(text_event("u1", "hai", NOW)) == (200, OK)
    status, answer = await env.post(text_event("u1", "ba", NOW))
    assert (status, answer["error"]) == (503, "busy")
    assert await env.post(text_event("u2", "xin chào", NOW)) == (200, OK)  # others still served
    assert await env.claimed() == 3
    gate.set()
    await env.settle()
    assert sorted(e.text or "" for e in env.handle.done) == ["hai", "một", "xin chào"]


async def test_a_claim_does_not_wait_for_a_dialogs_write_lock(
    make_env: EnvMaker, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """A dialog's transaction holding the application database's write lock (SQLite has one
    writer per file) does not hold up acknowledgements: the events are stored elsewhere (on
    SQLite a file of their own; on PostgreSQL rows no one else locks)."""
    env = await make_env()
    async with session_factory() as dialog:
        # a dialog mid-transaction: it has written, not committed
        await dialog.execute(
            insert(ZaloUser).values(
                user_id="z-1",
                display_name="",
                window_replies=0,
                last_message_id=0,
                followed=True,
                created_at=NOW,
            )
        )
        started = asyncio.get_running_loop().time()
        assert await env.post(text_event("u1", "xin chào", NOW)) == (200, OK)
        assert asyncio.get_running_loop().time() - started < 1.0  # SQLite would wait 5 s
        await dialog.rollback()
    await env.settle()
    assert [e.text for e in env.handle.done] == ["xin chào"]


async def test_old_keys_are_purged_by_the_journal(make_env: EnvMaker) -> None:
    clock = [NOW - timedelta(days=3)]
    env = await make_env(clock=lambda: clock[0])
    # (the webhook refuses events older than 12 h: the old one is posted "three days ago")
    assert await env.post(text_event("u1", "cũ", clock[0])) == (200, OK)
    await env.settle()
    clock[0] = NOW
    new = text_event("u1", "mới", NOW)
    assert await env.post(new) == (200, OK)
    await env.settle()
    for _ in range(200):
        if await env.claimed() == 1:
            break
        await asyncio.sleep(0.01)
    assert await env.claimed() == 1  # the key of three days ago is forgotten
    assert await env.post(new) == (200, OK)  # Zalo retries it
    await env.settle()
    assert [e.text for e in env.handle.done] == ["cũ", "mới"]  # the new key still counts


async def test_an_event_taken_up_by_another_process_is_not_handled_twice(
    make_env: EnvMaker,
) -> None:
    """Process A acknowledged m0 and m1, m1 waiting behind a slow m0; process B starts (a
    rolling restart, or a second process on PostgreSQL) and takes m1 up. Whoever starts an
    event handles it; the other one skips it."""
    a = await make_env(Recorder(delay=0.3))
    for text in ("m0", "m1"):
        assert await a.post(text_event("u1", text, NOW)) == (200, OK)
    await asyncio.sleep(0.05)  # A handles m0; m1 waits in A's line
    b = await make_env(Recorder())
    assert await b.webhook.recover() == 1
    await b.settle()
    await a.settle()
    assert [e.text for e in b.handle.done] == ["m1"]
    assert [e.text for e in a.handle.seen] == ["m0"]  # A found m1 started, and skipped it


async def test_a_store_whose_table_could_not_be_made_tries_again(tmp_path: Path) -> None:
    store = SqliteFileEventStore(tmp_path / "x.zalo-events.sqlite3")
    table = ZaloEventRow.metadata.tables["zalo_events"]
    real_create = type(table).create
    calls = 0

    def create_once_failing(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        real_create(self, *args, **kwargs)

    type(table).create = create_once_failing  # type: ignore[method-assign]
    try:
        with pytest.raises(OSError):
            await store.count()
        assert await store.count() == 0  # made this time
        ids, _ = await store.write([Claim("k", "{}")], [], NOW)
        assert list(ids) == ["k"]
    finally:
        type(table).create = real_create  # type: ignore[method-assign]
        await store.close()
