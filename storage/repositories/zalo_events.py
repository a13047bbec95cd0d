"""Zalo webhook events already taken, so that an event Zalo re-sends is handled once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ZaloEvent
from storage.repositories.common import affected_rows, dialect_name, upsert_insert


class ZaloEventRepository:
    """Zalo re-sends an event it got no 200 for (for up to 12 hours, with the same body); each
    event's key (its ``msg_id``, or a hash) is claimed once. Keys are kept about 2 days."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, key: str, at: datetime) -> bool:
        """Record the event's key; False when it was already recorded (a duplicate). The
        insert skips a conflicting key (ON CONFLICT DO NOTHING), so a duplicate leaves the
        transaction usable."""
        statement = (
            upsert_insert(dialect_name(self.session), ZaloEvent)
            .values(event_key=key, at=at)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(ZaloEvent.id)
        )
        result = await self.session.execute(statement)
        return result.first() is not None

    async def purge(self, older_than: datetime) -> int:
        """Forget the keys claimed before ``older_than``; how many were forgotten."""
        result = await self.session.execute(delete(ZaloEvent).where(ZaloEvent.at < older_than))
        return int(affected_rows(result) or 0)
