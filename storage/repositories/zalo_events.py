"""Zalo webhook events taken: each handled once, none acknowledged lost to a restart.

Zalo re-sends an event it got no 200 for (for up to 12 hours, with the same body); each
event's key (its ``msg_id``, or a hash) is claimed once. An event the assistant acts on is
claimed together with its body, which stays until its handling starts (then it is cleared):
after a restart the events still holding a body are the ones acknowledged and never started.
An event whose handling had started when the process died is not started again — a dialog
step applied twice is worse than one lost. Keys are kept about 2 days.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import sqlite_file_engine, sqlite_file_of
from storage.models import ZaloEvent
from storage.repositories.common import affected_rows, dialect_name, upsert_insert

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Claim:
    """An event to claim: its key and, for an event to act on, its body (JSON text)."""

    key: str
    body: str | None = None


@dataclass(frozen=True, slots=True)
class WaitingEvent:
    """An event claimed with its body whose handling has not started."""

    id: int
    body: str


def claim_statement(dialect: str, claims: Sequence[Claim], at: datetime) -> Any:
    """The INSERT of :meth:`ZaloEventRepository.claim_many` (None for no claims); it
    returns the ``(event_key, id)`` of the rows it inserted."""
    first: dict[str, Claim] = {}
    for claim in claims:
        first.setdefault(claim.key, claim)
    if not first:
        return None
    rows = [
        {
            "event_key": claim.key,
            "at": at,
            "body": claim.body,
            "started_at": None if claim.body is not None else at,
        }
        for claim in first.values()
    ]
    return (
        upsert_insert(dialect, ZaloEvent)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(ZaloEvent.event_key, ZaloEvent.id)
    )


def start_statement(ids: Sequence[int], at: datetime) -> Any:
    """The UPDATE of :meth:`ZaloEventRepository.start`; it returns the ids it started (an
    event another process started first is not among them)."""
    return (
        update(ZaloEvent)
        .where(ZaloEvent.id.in_(list(ids)), ZaloEvent.started_at.is_(None))
        .values(started_at=at, body=None)
        .returning(ZaloEvent.id)
    )


def waiting_statement(since: datetime) -> Any:
    """The SELECT of :meth:`ZaloEventRepository.waiting`: ``(id, body)`` oldest first."""
    return (
        select(ZaloEvent.id, ZaloEvent.body)
        .where(ZaloEvent.started_at.is_(None), ZaloEvent.body.is_not(None), ZaloEvent.at >= since)
        .order_by(ZaloEvent.id)
    )


class ZaloEventRepository:
    """The ``zalo_events`` table: claims, the start of handlings, what waits, purging."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, key: str, at: datetime, body: str | None = None) -> bool:
        """Record one event's key; False when it was already recorded (a duplicate)."""
        return key in await self.claim_many([Claim(key, body)], at)

    async def claim_many(self, claims: Sequence[Claim], at: datetime) -> dict[str, int]:
        """Record the keys in one statement; the keys newly claimed, with their row ids. The
        insert skips conflicting keys (ON CONFLICT DO NOTHING), so duplicates leave the
        transaction usable; a key given twice is claimed by its first occurrence."""
        statement = claim_statement(dialect_name(self.session), claims, at)
        if statement is None:
            return {}
        result = await self.session.execute(statement)
        return {str(key): int(row_id) for key, row_id in result.all()}

    async def start(self, ids: Sequence[int], at: datetime) -> set[int]:
        """Mark the events' handling as started and drop their bodies; the ids that were still
        waiting (an event started already, by this process or another, is not among them:
        whoever started it handles it)."""
        if not ids:
            return set()
        result = await self.session.execute(start_statement(ids, at))
        return {int(row_id) for (row_id,) in result.all()}

    async def waiting(self, since: datetime) -> list[WaitingEvent]:
        """The events claimed since ``since`` whose handling never started, oldest first."""
        result = await self.session.execute(waiting_statement(since))
        return [WaitingEvent(int(row_id), str(body)) for row_id, body in result.all()]

    async def purge(self, older_than: datetime) -> int:
        """Forget the keys claimed before ``older_than`` (bodies that never started with
        them: Zalo's retries are long over); how many were forgotten."""
        result = await self.session.execute(delete(ZaloEvent).where(ZaloEvent.at < older_than))
        return int(affected_rows(result) or 0)

    async def count(self) -> int:
        """How many events are recorded."""
        return int(await self.session.scalar(select(func.count()).select_from(ZaloEvent)) or 0)


class ZaloEventStore(Protocol):
    """Where the webhook keeps its events: claims and starts written together (one
    transaction per batch), what still waits, purging."""

    async def write(
        self, claims: Sequence[Claim], starts: Sequence[int], at: datetime
    ) -> tuple[dict[str, int], set[int]]:
        """The keys newly claimed with their row ids, and the ids of ``starts`` this call
        started (one an other process started first is not among them)."""
        ...

    async def waiting(self, since: datetime) -> list[WaitingEvent]: ...

    async def purge(self, older_than: datetime) -> int: ...

    async def count(self) -> int: ...

    async def close(self) -> None: ...


class SessionEventStore:
    """The ``zalo_events`` table of the application's database, through its async sessions:
    on PostgreSQL a claim's insert waits for nobody's lock but its own row's."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def write(
        self, claims: Sequence[Claim], starts: Sequence[int], at: datetime
    ) -> tuple[dict[str, int], set[int]]:
        async with self._session_factory() as session:
            repo = ZaloEventRepository(session)
            ids = await repo.claim_many(claims, at) if claims else {}
            started = await repo.start(starts, at)
            await session.commit()
        return ids, started

    async def waiting(self, since: datetime) -> list[WaitingEvent]:
        async with self._session_factory() as session:
            return await ZaloEventRepository(session).waiting(since)

    async def purge(self, older_than: datetime) -> int:
        async with self._session_factory() as session:
            purged = await ZaloEventRepository(session).purge(older_than)
            await session.commit()
        return purged

    async def count(self) -> int:
        async with self._session_factory() as session:
            return await ZaloEventRepository(session).count()

    async def close(self) -> None:
        return None


class SqliteFileEventStore:
    """The events in a SQLite file of their own, beside the application's database.

    SQLite lets one connection write a file at a time: in the application's file, an
    acknowledgement's claim would queue behind the dialogs' transactions (and SQLite's busy
    back-off, which sleeps up to 100 ms between tries). Here only this store writes, through
    a synchronous engine in a thread of its own, so that a batch is one hop from the event
    loop and one back (the async engine needs a round trip through the loop per statement).
    The file is created with its one table (the ``zalo_events`` of the models, so the same
    statements serve both stores); it holds message texts only until their handling starts.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._engine: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None

    def _connected(self) -> Engine:
        """The engine, once the file has its table (a failure is tried again next time)."""
        if self._engine is None:
            # FULL: an event answered 200 survives a power cut too; secure_delete: a body
            # cleared at its start is overwritten, not left in a free page
            engine = sqlite_file_engine(self.path, synchronous="FULL", secure_delete=True)
            try:
                with engine.begin() as connection:
                    table = ZaloEvent.metadata.tables[ZaloEvent.__tablename__]
                    table.create(connection, checkfirst=True)
            except BaseException:
                engine.dispose()
                raise
            self._engine = engine
        return self._engine

    async def _in_thread(self, work: Callable[[Connection], _T], *, transaction: bool = True) -> _T:
        def run() -> _T:
            engine = self._connected()
            if not transaction:  # e.g. a checkpoint, which cannot run inside a transaction
                with engine.connect() as connection:
                    return work(connection)
            with engine.begin() as connection:
                return work(connection)

        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zalo-events")
        return await asyncio.get_running_loop().run_in_executor(self._thread, run)

    async def write(
        self, claims: Sequence[Claim], starts: Sequence[int], at: datetime
    ) -> tuple[dict[str, int], set[int]]:
        def work(connection: Connection) -> tuple[dict[str, int], set[int]]:
            ids: dict[str, int] = {}
            started: set[int] = set()
            statement = claim_statement("sqlite", claims, at)
            if statement is not None:
                ids = {str(k): int(i) for k, i in connection.execute(statement).all()}
            if starts:
                rows = connection.execute(start_statement(starts, at)).all()
                started = {int(row_id) for (row_id,) in rows}
            return ids, started

        return await self._in_thread(work)

    async def waiting(self, since: datetime) -> list[WaitingEvent]:
        def work(connection: Connection) -> list[WaitingEvent]:
            rows = connection.execute(waiting_statement(since)).all()
            return [WaitingEvent(int(row_id), str(body)) for row_id, body in rows]

        return await self._in_thread(work)

    async def purge(self, older_than: datetime) -> int:
        """Forget old keys, then fold the write-ahead log into the file and empty it (the
        cleared bodies' old pages go with it)."""

        def work(connection: Connection) -> int:
            result = connection.execute(delete(ZaloEvent).where(ZaloEvent.at < older_than))
            return int(result.rowcount or 0)

        purged = await self._in_thread(work)
        await self._in_thread(
            lambda connection: connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").all(),
            transaction=False,
        )
        return purged

    async def count(self) -> int:
        def work(connection: Connection) -> int:
            return int(connection.scalar(select(func.count()).select_from(ZaloEvent)) or 0)

        return await self._in_thread(work)

    async def close(self) -> None:
        """Close the file and end the thread (a later call opens them again)."""
        engine, self._engine = self._engine, None
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if engine is not None:
            await asyncio.get_running_loop().run_in_executor(thread, engine.dispose)
        thread.shutdown(wait=True)


def open_event_store(session_factory: async_sessionmaker[AsyncSession]) -> ZaloEventStore:
    """The store that suits the application's database: for a SQLite file, a file of the
    events' own beside it (``<name>.zalo-events.sqlite3``); otherwise its own table."""
    bind = getattr(session_factory, "kw", {}).get("bind")
    path = sqlite_file_of(bind) if isinstance(bind, AsyncEngine) else None
    if path is None:
        return SessionEventStore(session_factory)
    return SqliteFileEventStore(path.with_name(f"{path.stem}.zalo-events.sqlite3"))


__all__ = [
    "Claim",
    "SessionEventStore",
    "SqliteFileEventStore",
    "WaitingEvent",
    "ZaloEventRepository",
    "ZaloEventStore",
    "open_event_store",
]
