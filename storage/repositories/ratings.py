"""Citizens' satisfaction with returned dossiers, kept per agency and procedure."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.outbox import OutboxKind
from storage.models import OutboxMessage, ServiceRating, utcnow
from storage.outbox import SENT


class RatingRepository:
    """Citizens' satisfaction with returned dossiers, kept per agency and procedure."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rate(
        self,
        *,
        dossier_id: int,
        agency: str,
        procedure_code: str | None,
        level: int,
        channel: str,
        chat_id: str,
    ) -> bool:
        """Store (or change) this chat's rating of the dossier; True when it was new."""
        if not 1 <= level <= 5:
            raise ValueError(f"rating level out of range: {level}")
        existing = await self.session.scalar(
            select(ServiceRating).where(
                ServiceRating.dossier_id == dossier_id,
                ServiceRating.channel == channel,
                ServiceRating.chat_id == chat_id,
            )
        )
        if existing is not None:
            existing.level = level
            existing.updated_at = utcnow()
            await self.session.flush()
            return False
        self.session.add(
            ServiceRating(
                dossier_id=dossier_id,
                agency=agency,
                procedure_code=procedure_code,
                level=level,
                channel=channel,
                chat_id=chat_id,
            )
        )
        await self.session.flush()
        return True

    async def was_asked(self, dossier_id: int, channel: str, chat_id: str) -> bool:
        """True when the outbox sent this chat the rating request of this dossier (so a citizen
        who stopped following it after the result came can still answer)."""
        found = await self.session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.kind == OutboxKind.DOSSIER_RATING,
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.state == SENT,
                OutboxMessage.dedup_key.like(f"{OutboxKind.DOSSIER_RATING}:{int(dossier_id)}:%"),
            )
            .limit(1)
        )
        return found is not None

    async def summary(self, agency: str) -> dict[int, int]:
        """How many ratings of each level (1..5) the agency received."""
        result = await self.session.execute(
            select(ServiceRating.level, func.count())
            .where(ServiceRating.agency == agency)
            .group_by(ServiceRating.level)
        )
        return {int(level): int(count) for level, count in result.all()}
