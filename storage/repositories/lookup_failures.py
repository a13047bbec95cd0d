"""Failed dossier lookups: the rate limit that stops receipt codes being probed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LookupFailure, utcnow
from storage.repositories.common import affected_rows


class LookupFailureRepository:
    """Failed dossier lookups per chat user: the rate limit that stops receipt codes being probed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        channel: str,
        user_id: str,
        lookup_key: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Remember one failure (flushes; the caller commits, even when the lookup failed)."""
        self.session.add(
            LookupFailure(
                channel=channel, user_id=user_id, lookup_key=lookup_key, at=at or utcnow()
            )
        )
        await self.session.flush()

    async def recent_for_code(self, lookup_key: str, since: datetime) -> list[datetime]:
        """When anyone, on any channel, failed with this code since `since`, oldest first."""
        result = await self.session.execute(
            select(LookupFailure.at)
            .where(LookupFailure.lookup_key == lookup_key, LookupFailure.at >= since)
            .order_by(LookupFailure.at)
        )
        return list(result.scalars())

    async def recent(self, channel: str, user_id: str, since: datetime) -> list[datetime]:
        """When this user failed since `since`, oldest first."""
        result = await self.session.execute(
            select(LookupFailure.at)
            .where(
                LookupFailure.channel == channel,
                LookupFailure.user_id == user_id,
                LookupFailure.at >= since,
            )
            .order_by(LookupFailure.at)
        )
        return list(result.scalars())

    async def purge(self, before: datetime) -> int:
        """Forget failures older than `before` (housekeeping). Caller commits."""
        result = await self.session.execute(delete(LookupFailure).where(LookupFailure.at < before))
        return int(affected_rows(result) or 0)
