"""The persistent outbox: messages written in the same transaction as the change that causes them.

Enqueueing never commits (the caller owns the transaction), and a ``dedup_key`` that is already
in the outbox makes the call a no-op, so a change that is recorded twice notifies once.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Result,
    Select,
    Table,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnClause

from storage.models import OutboxMessage, utcnow


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What to send: the renderer ``kind`` with its ``payload``, to one chat of one channel."""

    channel: str  # "telegram" | "web" | ...
    chat_id: str
    kind: str  # an `OutboxKind`: names the renderer, e.g. OutboxKind.DOSSIER_STATUS
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
    table = cast(Table, OutboxMessage.__table__)
    # Core table (not the ORM entity): ORM bulk inserts return no rows; RETURNING counts the
    # rows actually inserted on both backends (rowcount of an executemany is unreliable).
    statement: Insert
    if dialect == "postgresql":
        statement = pg_insert(table).on_conflict_do_nothing(index_elements=["dedup_key"])
    else:
        statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=["dedup_key"])
    result = await session.execute(statement.returning(table.c.id), rows)
    return len(result.all())


# --- The worker's side: claim, mark, recover ---------------------------------------------------
#
# A row moves pending -> sending (claimed; the claim is committed before anything is sent) ->
# sent | failed | pending again (a retry) | uncertain (still "sending" when its lease ran out: the
# process died mid-send, or the send outlived the lease). Telegram has no idempotency key, so a
# row that may have reached Telegram is never sent again: only "pending" rows are ever claimed.

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNCERTAIN = "uncertain"
STATES = (PENDING, SENDING, SENT, FAILED, UNCERTAIN)

MAX_ERROR_CHARS = 1000

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A claimed outbox row, detached from any session (safe to hold while sending)."""

    id: int
    channel: str
    chat_id: str
    kind: str  # as stored: an `OutboxKind` value (or one no renderer knows any more)
    payload: dict[str, Any]
    language: str | None
    dedup_key: str | None
    attempts: int
    created_at: datetime
    lease_until: datetime  # the claim's expiry; still "sending" after it means "uncertain"


_ROW_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.channel,
    OutboxMessage.chat_id,
    OutboxMessage.kind,
    OutboxMessage.payload,
    OutboxMessage.language,
    OutboxMessage.dedup_key,
    OutboxMessage.attempts,
    OutboxMessage.created_at,
    OutboxMessage.available_at,
)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (0 when the driver cannot tell)."""
    return max(cast(CursorResult[Any], result).rowcount or 0, 0)


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:MAX_ERROR_CHARS]


# Only the states in this tuple hold a chat's later rows back; the partial index
# ix_outbox_chat_inflight (storage/models.py) is defined over exactly these states.
IN_FLIGHT = (PENDING, SENDING)


def _due_heads(channels: Collection[str] | None) -> Select[Any]:
    """Pending rows that head their chat: no earlier row (smaller id) of the same (channel,
    chat_id) is still in flight (pending or sending). Rows failed, sent or uncertain are done
    with and block nothing, so each chat has at most one head.

    Written as a scan of the pending rows (index ix_outbox_due, in ``available_at`` order, so a
    LIMIT stops it early) with a correlated NOT EXISTS probing ix_outbox_chat_inflight, rather
    than ranking every in-flight row: rows not yet due (web pushes deferred for days, rows in
    backoff) cost nothing. The states are rendered inline (not bound) so that SQLite and
    PostgreSQL (even with a generic prepared plan) can prove the partial index applies."""
    earlier = aliased(OutboxMessage, name="earlier")
    in_flight: list[ColumnClause[Any]] = [literal_column(f"'{state}'") for state in IN_FLIGHT]
    blocked = (
        select(earlier.id)
        .where(
            earlier.channel == OutboxMessage.channel,
            earlier.chat_id == OutboxMessage.chat_id,
            earlier.id < OutboxMessage.id,
            earlier.state.in_(in_flight),
        )
        .exists()
    )
    conditions = [OutboxMessage.state == PENDING, ~blocked]
    if channels is not None:
        conditions.append(OutboxMessage.channel.in_(sorted(channels)))
    return select(OutboxMessage.available_at).where(*conditions)


async def claim_due(
    session: AsyncSession,
    *,
    limit: int,
    now: datetime,
    lease_seconds: float,
    channels: Collection[str] | None = None,
    exclude_chats: Collection[tuple[str, str]] = (),
) -> list[OutboxRow]:
    """Claim up to ``limit`` due rows (pending, ``available_at <= now``) and COMMIT the claim.

    A chat's messages go out in enqueue (id) order: a row is claimed only when it is its chat's
    oldest row still pending or sending, so a later message never overtakes an earlier one that
    is in backoff or in flight (failed, sent and uncertain rows block nothing). Hence at most
    one row per chat is claimed, and one busy chat cannot fill the batch. Chats in
    ``exclude_chats`` ((channel, chat_id) pairs: in flight or not ready under the per-chat
    interval) are passed over, not waited for. ``channels`` restricts the claim to channels that
    can send now. Claimed rows are "sending" with ``available_at`` set to the lease expiry
    ``now + lease_seconds``.

    The commit happens here, before the caller sends anything: a row is sent only after its
    claim is durable, so a crash can leave it "sending" (later "uncertain") but never lets a
    second worker send it again. Concurrent claimers never get the same row: on PostgreSQL the
    candidates are locked FOR UPDATE SKIP LOCKED, on SQLite (one writer) the UPDATE re-checks
    ``state = 'pending'``.
    """
    if limit <= 0:
        return []
    if channels is not None and not channels:
        return []
    excluded = set(exclude_chats)
    # Each excluded chat hides at most one head row, so this many always suffices.
    candidates = await session.execute(
        _due_heads(channels)
        .with_only_columns(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.chat_id)
        .where(OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit + len(excluded))
    )
    ids = [row.id for row in candidates if (row.channel, row.chat_id) not in excluded][:limit]
    if not ids:
        await session.commit()  # end the read transaction
        return []
    lease_until = now + timedelta(seconds=lease_seconds)
    target: Any = OutboxMessage.id.in_(ids)
    if _dialect(session) == "postgresql":
        locked = (
            select(OutboxMessage.id)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.state == PENDING)
            .with_for_update(skip_locked=True)
        )
        target = OutboxMessage.id.in_(locked.scalar_subquery())
    result = await session.execute(
        update(OutboxMessage)
        .where(target, OutboxMessage.state == PENDING)
        .values(state=SENDING, available_at=lease_until)
        .returning(*_ROW_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    claimed = {
        row.id: OutboxRow(
            id=row.id,
            channel=row.channel,
            chat_id=row.chat_id,
            kind=row.kind,
            payload=dict(row.payload or {}),
            language=row.language,
            dedup_key=row.dedup_key,
            attempts=row.attempts,
            created_at=row.created_at,
            lease_until=row.available_at,
        )
        for row in result
    }
    await session.commit()
    return [claimed[row_id] for row_id in ids if row_id in claimed]


async def _transition(
    session: AsyncSession, row_id: int, from_states: Sequence[str], **values: Any
) -> bool:
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.state.in_(from_states))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], result).rowcount)


async def mark_sent(
    session: AsyncSession, row_id: int, *, now: datetime | None = None, note: str | None = None
) -> bool:
    """A claimed row was delivered (or, with a ``note``, skipped: nothing left to send, or
    delivered another way, e.g. as a ZNS template message; the note is kept in ``last_error``).

    Also accepted from "uncertain" (a send that outlived its lease did succeed). Does not
    commit; returns False when the row was in neither state.
    """
    return await _transition(
        session,
        row_id,
        (SENDING, UNCERTAIN),
        state=SENT,
        sent_at=now or utcnow(),
        last_error=_clip(note),
    )


async def mark_retry(
    session: AsyncSession,
    row_id: int,
    *,
    available_at: datetime,
    error: str | None,
    count_attempt: bool = True,
) -> bool:
    """Give a claimed row back as pending, due at ``available_at``; attempts + 1 unless
    ``count_attempt`` is False (flood control, an absent web visitor). Does not commit."""
    values: dict[str, Any] = {"state": PENDING, "available_at": available_at}
    if error is not None:
        values["last_error"] = _clip(error)
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    return await _transition(session, row_id, (SENDING,), **values)


async def mark_failed(
    session: AsyncSession, row_id: int, *, error: str, count_attempt: bool = True
) -> bool:
    """A claimed row can never be delivered (blocked, bad request, too many attempts...).
    Does not commit."""
    values: dict[str, Any] = {"state": FAILED, "last_error": _clip(error)}
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    return await _transition(session, row_id, (SENDING,), **values)


async def mark_uncertain(session: AsyncSession, row_id: int, *, error: str) -> bool:
    """A claimed row may or may not have reached the recipient (an unexpected error after the
    request went out); it is left for an operator, never sent again. Does not commit."""
    values = {
        "state": UNCERTAIN,
        "last_error": _clip(error),
        "attempts": OutboxMessage.attempts + 1,
    }
    return await _transition(session, row_id, (SENDING,), **values)


async def recover_stale(session: AsyncSession, now: datetime) -> int:
    """Rows still "sending" after their lease (``available_at``) -> "uncertain"; returns how many.

    Such a row was claimed by a worker that died (or hung) mid-send: it may have reached
    Telegram, which has no idempotency key, so it is NOT sent again; operators find it with
    ``stats`` and the state. Logs a warning with the count. Does not commit.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == SENDING, OutboxMessage.available_at <= now)
        .values(
            state=UNCERTAIN,
            last_error="interrupted while sending; not retried (it may have been delivered)",
        )
        .execution_options(synchronize_session=False)
    )
    count = _rowcount(result)
    if count:
        logger.warning(
            "Outbox: %d message(s) were interrupted mid-send and are now 'uncertain' "
            "(not re-sent; they may have been delivered)",
            count,
        )
    return count


async def next_due_at(
    session: AsyncSession, channels: Collection[str] | None = None
) -> datetime | None:
    """When the next claimable row (of ``channels``) becomes due: the earliest ``available_at``
    of a pending row that heads its chat (see `claim_due`); None when none waits. Rows queued
    behind an earlier row of their chat are not counted: they wait for that row."""
    if channels is not None and not channels:
        return None
    # ORDER BY ... LIMIT 1 rather than min(): it walks ix_outbox_due from the earliest row and
    # stops at the first head, instead of testing every pending row.
    statement = _due_heads(channels).order_by(OutboxMessage.available_at).limit(1)
    value = (await session.execute(statement)).scalar_one_or_none()
    if value is not None and value.tzinfo is None:  # naive on SQLite: stored as UTC
        value = value.replace(tzinfo=UTC)
    return value


async def stats(session: AsyncSession) -> dict[str, int]:
    """How many rows are in each state (every state listed, zero included)."""
    result = await session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    )
    counts = dict.fromkeys(STATES, 0)
    for state, count in result:
        counts[state] = int(count)
    return counts


async def release_held(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    reason: str,
    now: datetime | None = None,
) -> int:
    """Make due now the chat's pending messages deferred for ``reason`` (a Zalo user who wrote
    again can receive the pushes held while their reply window was closed; rows waiting out a
    network error or a rate limit keep their backoff). Returns how many."""
    escaped = reason.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == str(chat_id),
            OutboxMessage.state == PENDING,
            OutboxMessage.available_at > (now or utcnow()),
            OutboxMessage.last_error.like(f"deferred: {escaped}%", escape="\\"),
        )
        .values(available_at=now or utcnow())
    )
    return _rowcount(result)


async def purge_sent(session: AsyncSession, older_than: datetime) -> int:
    """Delete rows sent before ``older_than``; returns how many. Does not commit.

    A purged row's ``dedup_key`` no longer blocks a new enqueue with the same key, so keep sent
    rows longer than any producer could replay the change that caused them (e.g. 30 days).
    """
    result = await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.state == SENT, OutboxMessage.sent_at < older_than)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def outbox_has(session: AsyncSession, dedup_key: str) -> bool:
    """Was a message with this de-duplication key ever enqueued (and not purged yet)?"""
    found = await session.execute(
        select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key).limit(1)
    )
    return found.scalar_one_or_none() is not None
