"""The outbox repository (storage/outbox.py) on SQLite (always) and PostgreSQL (when reachable):
claiming, the state transitions, crash recovery, statistics and purging."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxMessage
from storage.outbox import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    UNCERTAIN,
    OutgoingMessage,
    claim_due,
    enqueue,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_uncertain,
    next_due_at,
    purge_sent,
    recover_stale,
    stats,
)

LEASE = 60.0


def message(chat: str, text: str = "x", **kwargs: object) -> OutgoingMessage:
    return OutgoingMessage(
        channel=str(kwargs.pop("channel", "telegram")),
        chat_id=chat,
        kind="text",
        payload={"text": text},
        **kwargs,  # type: ignore[arg-type]
    )


async def add(factory: async_sessionmaker[AsyncSession], *messages: OutgoingMessage) -> int:
    async with factory() as session:
        count = await enqueue(session, list(messages))
        await session.commit()
    return count


async def rows(factory: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


def at(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_claim_is_committed_one_per_chat_oldest_first(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add(
        session_factory,
        message("1", "a1"),
        message("1", "a2"),
        message("2", "b1"),
        message("3", "later", available_at=at(3600)),
    )
    now = at(0)
    async with session_factory() as session:
        claimed = await claim_due(session, limit=10, now=now, lease_seconds=LEASE)
        # The claim is committed by claim_due itself: rolling back here changes nothing.
        await session.rollback()
    assert [(r.chat_id, r.payload["text"]) for r in claimed] == [("1", "a1"), ("2", "b1")]
    assert all(r.lease_until > now + timedelta(seconds=LEASE - 1) for r in claimed)
    states = {r.payload["text"]: r.state for r in await rows(session_factory)}
    assert states == {"a1": SENDING, "a2": PENDING, "b1": SENDING, "later": PENDING}
    # a2 waits behind a1 (still sending); the future row is not due.
    async with session_factory() as session:
        again = await claim_due(
            session, limit=10, now=now, lease_seconds=LEASE, exclude_chats={("telegram", "1")}
        )
    assert again == []


async def test_claim_filters_channels_excluded_chats_and_limit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add(
        session_factory,
        message("1", "t1"),
        message("2", "t2"),
        message("3", "t3"),
        message("9", "w9", channel="web"),
    )
    async with session_factory() as session:
        web = await claim_due(session, limit=5, now=at(0), lease_seconds=LEASE, channels={"web"})
        assert [r.payload["text"] for r in web] == ["w9"]
        assert await claim_due(session, limit=5, now=at(0), lease_seconds=LEASE, channels=()) == []
        one = await claim_due(
            session,
            limit=1,
            now=at(0),
            lease_seconds=LEASE,
            exclude_chats={("telegram", "1"), ("web", "2")},
        )
        assert [r.payload["text"] for r in one] == ["t2"]
        assert await claim_due(session, limit=0, now=at(0), lease_seconds=LEASE) == []


async def test_concurrent_claims_never_share_a_row(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add(session_factory, *(message(str(chat)) for chat in range(40)))

    async def claimer() -> list[int]:
        got: list[int] = []
        while True:
            async with session_factory() as session:
                batch = await claim_due(session, limit=3, now=at(0), lease_seconds=LEASE)
            if not batch:
                return got
            got.extend(r.id for r in batch)

    results = await asyncio.gather(*(claimer() for _ in range(4)))
    every = [row_id for result in results for row_id in result]
    assert len(every) == len(set(every)) == 40
    assert {r.state for r in await rows(session_factory)} == {SENDING}


async def test_transitions_only_from_the_expected_state(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add(session_factory, message("1"), message("2"), message("3"), message("4"))
    async with session_factory() as session:
        claimed = {
            r.chat_id: r.id
            for r in await claim_due(session, limit=10, now=at(0), lease_seconds=LEASE)
        }
        retry_at = at(30)
        assert await mark_retry(session, claimed["1"], available_at=retry_at, error="net down")
        assert await mark_retry(
            session, claimed["2"], available_at=retry_at, error="flood", count_attempt=False
        )
        assert await mark_failed(session, claimed["3"], error="Forbidden: bot was blocked")
        assert await mark_sent(session, claimed["4"])
        # A row that is no longer "sending" is not touched again.
        assert not await mark_sent(session, claimed["1"])
        assert not await mark_failed(session, claimed["4"], error="late")
        assert not await mark_retry(session, claimed["3"], available_at=retry_at, error=None)
        await session.commit()
    by_chat = {r.chat_id: r for r in await rows(session_factory)}
    assert (by_chat["1"].state, by_chat["1"].attempts, by_chat["1"].last_error) == (
        PENDING,
        1,
        "net down",
    )
    assert abs((by_chat["1"].available_at - retry_at).total_seconds()) < 0.01
    assert (by_chat["2"].state, by_chat["2"].attempts) == (PENDING, 0)
    assert (by_chat["3"].state, by_chat["3"].attempts) == (FAILED, 1)
    assert by_chat["3"].last_error == "Forbidden: bot was blocked"
    assert by_chat["4"].state == SENT and by_chat["4"].sent_at is not None
    # The retried rows are claimable again once due, not before.
    async with session_factory() as session:
        assert await claim_due(session, limit=10, now=at(0), lease_seconds=LEASE) == []
        due = await next_due_at(session)
        assert due is not None and abs((due - retry_at).total_seconds()) < 0.01
        again = await claim_due(session, limit=10, now=at(31), lease_seconds=LEASE)
    assert sorted(r.chat_id for r in again) == ["1", "2"]
    assert {r.chat_id: r.attempts for r in again} == {"1": 1, "2": 0}


async def test_recover_stale_marks_expired_claims_uncertain_and_never_reclaims(
    session_factory: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    await add(session_factory, message("1"), message("2"))
    async with session_factory() as session:
        crashed = await claim_due(session, limit=1, now=at(0), lease_seconds=0)
        live = await claim_due(session, limit=1, now=at(0), lease_seconds=LEASE)
    assert len(crashed) == len(live) == 1
    with caplog.at_level(logging.WARNING, logger="storage.outbox"):
        async with session_factory() as session:
            assert await recover_stale(session, at(1)) == 1
            await session.commit()
    assert any("1 message(s)" in r.getMessage() for r in caplog.records)
    by_id = {r.id: r for r in await rows(session_factory)}
    assert by_id[crashed[0].id].state == UNCERTAIN
    assert by_id[live[0].id].state == SENDING  # its lease has not run out
    async with session_factory() as session:
        assert await claim_due(session, limit=10, now=at(3600), lease_seconds=LEASE) == []
        assert await recover_stale(session, at(1)) == 0
        # A late success of the interrupted send is still recorded.
        assert await mark_sent(session, crashed[0].id)
        assert await mark_uncertain(session, live[0].id, error="ClientDecodeError")
        await session.commit()
    states = {r.id: r.state for r in await rows(session_factory)}
    assert states == {crashed[0].id: SENT, live[0].id: UNCERTAIN}


async def test_dedup_stats_and_purge(session_factory: async_sessionmaker[AsyncSession]) -> None:
    assert await add(session_factory, message("1", dedup_key="digest:2026-01-01:1")) == 1
    assert await add(session_factory, message("1", dedup_key="digest:2026-01-01:1")) == 0
    await add(session_factory, message("2"), message("3"))
    async with session_factory() as session:
        claimed = await claim_due(session, limit=10, now=at(0), lease_seconds=LEASE)
        for row in claimed:
            await mark_sent(session, row.id)
        await session.commit()
    async with session_factory() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == "1")
            .values(sent_at=at(-40 * 86400))
        )
        await enqueue(session, [message("4")])
        await session.commit()
    async with session_factory() as session:
        assert await stats(session) == {
            PENDING: 1,
            SENDING: 0,
            SENT: 3,
            FAILED: 0,
            UNCERTAIN: 0,
        }
        assert await purge_sent(session, at(-30 * 86400)) == 1
        await session.commit()
    assert sorted(r.chat_id for r in await rows(session_factory)) == ["2", "3", "4"]
    async with session_factory() as session:
        assert (await stats(session))[SENT] == 2
        assert await next_due_at(session, channels={"web"}) is None


async def test_a_chat_waits_for_its_oldest_pending_row(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A chat's messages go out in enqueue order: a later row is not claimed while an earlier
    one of the same chat is pending (e.g. in backoff) or sending; failed, sent and uncertain
    rows block nothing."""
    await add(
        session_factory,
        message("1", "status"),
        message("1", "rating"),
        message("2", "b1"),
        message("2", "b2"),
        message("3", "c1"),
        message("3", "c2"),
        message("4", "d1"),
        message("4", "d2"),
    )
    async with session_factory() as session:
        first = {
            r.chat_id: r.id
            for r in await claim_due(session, limit=10, now=at(0), lease_seconds=LEASE)
        }
        assert sorted(first) == ["1", "2", "3", "4"]
        backoff = at(30)
        assert await mark_retry(session, first["1"], available_at=backoff, error="net down")
        assert await mark_failed(session, first["2"], error="gave up")
        assert await mark_sent(session, first["3"])
        assert await mark_uncertain(session, first["4"], error="ClientDecodeError")
        await session.commit()
    async with session_factory() as session:
        # "rating" is due but waits behind "status"; the others' heads no longer block them.
        again = await claim_due(session, limit=10, now=at(1), lease_seconds=LEASE)
        assert sorted(r.payload["text"] for r in again) == ["b2", "c2", "d2"]
        due = await next_due_at(session)
        assert due is not None and abs((due - backoff).total_seconds()) < 0.01
        assert await claim_due(session, limit=10, now=at(1), lease_seconds=LEASE) == []
        status = await claim_due(session, limit=10, now=at(31), lease_seconds=LEASE)
        assert [r.payload["text"] for r in status] == ["status"]
        # Still "sending": the rating keeps waiting, even with the chat not excluded.
        assert await claim_due(session, limit=10, now=at(31), lease_seconds=LEASE) == []
        assert await mark_sent(session, status[0].id)
        await session.commit()
    async with session_factory() as session:
        rating = await claim_due(session, limit=10, now=at(32), lease_seconds=LEASE)
    assert [r.payload["text"] for r in rating] == ["rating"]


async def test_an_earlier_row_of_another_channel_does_not_block(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add(
        session_factory,
        message("1", "later", available_at=at(3600)),
        message("1", "web now", channel="web"),
    )
    async with session_factory() as session:
        claimed = await claim_due(session, limit=10, now=at(0), lease_seconds=LEASE)
    assert [r.payload["text"] for r in claimed] == ["web now"]


async def test_heads_are_found_among_many_deferred_rows_of_other_chats(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Claiming scans the due rows in ``available_at`` order and keeps each chat's head: rows
    not yet due (web pushes deferred for days, other chats in backoff) neither block nor get
    claimed, and a due row behind its chat's deferred head is skipped, not claimed."""
    backoff = at(120)
    await add(session_factory, message("blocked", "head", available_at=backoff))
    deferred = []
    for i in range(150):
        deferred.append(message(f"w{i}", "push", channel="web", available_at=at(3600 + i * 3600)))
        deferred.append(message(f"o{i}", "retry", available_at=at(600 + i)))
        deferred.append(message(f"o{i}", "after retry", available_at=at(-5)))
    await add(session_factory, *deferred)
    await add(
        session_factory,
        message("blocked", "behind", available_at=at(-60)),  # the earliest due row
        message("a", "a1", available_at=at(-30)),
        message("a", "a2", available_at=at(-50)),  # due earlier, but enqueued after a1
        message("b", "b1", channel="web", available_at=at(-20)),
        message("c", "c1", available_at=at(-10)),
    )
    async with session_factory() as session:
        first = await claim_due(session, limit=2, now=at(0), lease_seconds=LEASE)
        assert [r.payload["text"] for r in first] == ["a1", "b1"]
        rest = await claim_due(session, limit=10, now=at(0), lease_seconds=LEASE)
        assert [r.payload["text"] for r in rest] == ["c1"]
        # Only deferred heads remain claimable; "behind" and "a2" wait behind their chat.
        due = await next_due_at(session)
        assert due is not None and abs((due - backoff).total_seconds()) < 0.01
        web_due = await next_due_at(session, channels={"web"})
        assert web_due is not None and web_due > at(3500)
        assert await mark_sent(session, first[0].id)
        await session.commit()
    async with session_factory() as session:
        again = await claim_due(session, limit=10, now=at(1), lease_seconds=LEASE)
        assert [r.payload["text"] for r in again] == ["a2"]
        head = await claim_due(session, limit=10, now=at(121), lease_seconds=LEASE)
    assert [(r.chat_id, r.payload["text"]) for r in head] == [("blocked", "head")]
    assert sum(r.state == SENDING for r in await rows(session_factory)) == 4
