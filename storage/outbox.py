"""The persistent outbox: messages written in the same transaction as the change that causes them.

Enqueueing never commits (the caller owns the transaction), and a ``dedup_key`` that is already
in the outbox makes the call a no-op, so a change that is recorded twice notifies once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, utcnow


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What to send: the renderer ``kind`` with its ``payload``, to one chat of one channel."""

    channel: str  # "telegram" | "web" | ...
    chat_id: str
    kind: str  # names the renderer, e.g. "dossier_status"
    payload: dict[str, Any] = field(default_factory=dict)  # JSON primitives only
    language: str | None = None
    dedup_key: str | None = None  # the same key is enqueued at most once, ever
    available_at: datetime | None = None  # not before (default: now)


def _row(message: OutgoingMessage, now: datetime) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "chat_id": str(message.chat_id),
        "kind": message.kind,
        "payload": message.payload,
        "language": message.language,
        "dedup_key": message.dedup_key,
        "state": "pending",
        "attempts": 0,
        "available_at": message.available_at or now,
        "created_at": now,
    }


async def enqueue(session: AsyncSession, messages: Sequence[OutgoingMessage]) -> int:
    """Add ``messages`` to the outbox in the session's transaction; returns how many were new.

    Messages whose ``dedup_key`` is already present are skipped (ON CONFLICT DO NOTHING).
    """
    if not messages:
        return 0
    now = utcnow()
    rows = [_row(message, now) for message in messages]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        statement = pg_insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedup_key"])
    else:
        statement = sqlite_insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=["dedup_key"]
        )
    result = await session.execute(statement, rows)
    count = result.rowcount
    return count if count is not None and count >= 0 else len(rows)


async def pending_count(session: AsyncSession) -> int:
    """How many messages wait to be sent (for status pages and tests)."""
    result = await session.execute(
        select(OutboxMessage.id).where(OutboxMessage.state == "pending")
    )
    return len(result.all())
