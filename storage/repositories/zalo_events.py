"""Zalo webhook events taken: each handled once, none acknowledged lost to a restart.

Zalo re-sends an event it got no 200 for (for up to 12 hours, with the same body); each
event's key (its ``msg_id``, or a hash) is claimed once. An event the assistant acts on is
claimed together with its body, which stays until its handling starts (then it is cleared):
after a restart the events still holding a body are the ones acknowledged and never started.
An event whose handling had started when the process died is not started again — a dialog
step applied twice is worse than one lost. Keys are kept about 2 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ZaloEvent
from storage.repositories.common import affected_rows, dialect_name, upsert_insert


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
        first: dict[str, Claim] = {}
        for claim in claims:
            first.setdefault(claim.key, claim)
        if not first:
            return {}
        rows = [
            {
                "event_key": claim.key,
                "at": at,
                "body": claim.body,
                "started_at": None if claim.body is not None else at,
            }
            for claim in first.values()
        ]
        statement = (
            upsert_insert(dialect_name(self.session), ZaloEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(ZaloEvent.event_key, ZaloEvent.id)
        )
        result = await self.session.execute(statement)
        return {str(key): int(row_id) for key, row_id in result.all()}

    async def start(self, ids: Sequence[int], at: datetime) -> int:
        """Mark the events' handling as started and drop their bodies; how many were still
        waiting (an id already started is not counted)."""
        if not ids:
            return 0
        result = await self.session.execute(
            update(ZaloEvent)
            .where(ZaloEvent.id.in_(list(ids)), ZaloEvent.started_at.is_(None))
            .values(started_at=at, body=None)
        )
        return int(affected_rows(result) or 0)

    async def waiting(self, since: datetime) -> list[WaitingEvent]:
        """The events claimed since ``since`` whose handling never started, oldest first."""
        result = await self.session.execute(
            select(ZaloEvent.id, ZaloEvent.body)
            .where(
                ZaloEvent.started_at.is_(None),
                ZaloEvent.body.is_not(None),
                ZaloEvent.at >= since,
            )
            .order_by(ZaloEvent.id)
        )
        return [WaitingEvent(int(row_id), str(body)) for row_id, body in result.all()]

    async def purge(self, older_than: datetime) -> int:
        """Forget the keys claimed before ``older_than`` (bodies that never started with
        them: Zalo's retries are long over); how many were forgotten."""
        result = await self.session.execute(delete(ZaloEvent).where(ZaloEvent.at < older_than))
        return int(affected_rows(result) or 0)


__all__ = ["Claim", "WaitingEvent", "ZaloEventRepository"]
