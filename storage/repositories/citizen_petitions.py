"""Read-only queries the citizen's petition dialogs need beyond ``PetitionRepository``.

Kept apart from ``storage.repositories.petitions`` (which owns the life cycle) so the dialogs'
needs do not change its behaviour. Nothing here writes or commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Petition
from storage.records import PetitionRecord


class CitizenPetitionRepository:
    """A chat's own petitions: the one a form submitted, when they came, whose they are."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_idempotency_key(self, key: str) -> PetitionRecord | None:
        """The petition a form already submitted (``<channel>:<chat>:<form id>``), or None.

        Checked before the per-chat limits: a re-delivered submission of a stored form must get
        its tracking code again, not "limit reached" because it counts itself.
        """
        result = await self.session.execute(select(Petition).where(Petition.idempotency_key == key))
        row = result.scalar_one_or_none()
        return PetitionRecord.of(row) if row is not None else None

    async def received_times(self, channel: str, chat_id: str, since: datetime) -> list[datetime]:
        """When a chat's petitions since ``since`` were received (oldest first), for the
        limits."""
        result = await self.session.execute(
            select(Petition.received_at)
            .where(
                Petition.channel == channel,
                Petition.chat_id == str(chat_id),
                Petition.received_at >= since,
            )
            .order_by(Petition.received_at)
        )
        return list(result.scalars())

    async def own_petition(
        self, petition_id: int, channel: str, chat_id: str
    ) -> PetitionRecord | None:
        """Petition ``petition_id`` if it was sent from this chat; None otherwise (same answer
        for a petition that does not exist and one of somebody else, so ids cannot be probed)."""
        petition = await self.session.get(Petition, petition_id)
        if petition is None or petition.channel != channel or petition.chat_id != str(chat_id):
            return None
        return PetitionRecord.of(petition)

    async def agency_names(self, ids: set[int]) -> dict[int, str]:
        """The names of these agencies, by id."""
        if not ids:
            return {}
        result = await self.session.execute(
            select(Agency.id, Agency.name).where(Agency.id.in_(ids))
        )
        return {row.id: row.name for row in result}
