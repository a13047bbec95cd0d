"""The per-chat petition limits (``petitions_per_hour`` / ``petitions_per_day``), counted on the
petitions stored for the chat; checked when a form starts and again at submission.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import DialogSettings
from knowledge.workdays import utcnow
from storage.repositories.citizen_petitions import CitizenPetitionRepository
from storage.repositories.petitions import PetitionRepository

from .rules import next_allowed_at


async def limit_until(
    session: AsyncSession, settings: DialogSettings, channel: str, chat_id: str
) -> datetime | None:
    """When this chat may send its next petition (None: now), by the per-hour and per-day
    limits, counted on the petitions stored for the chat."""
    now = utcnow()
    repo = PetitionRepository(session)
    last_hour = await repo.count_since(channel, chat_id, now - timedelta(hours=1))
    last_day = await repo.count_since(channel, chat_id, now - timedelta(days=1))
    if last_hour < settings.petitions_per_hour and last_day < settings.petitions_per_day:
        return None
    times = await CitizenPetitionRepository(session).received_times(
        channel, chat_id, now - timedelta(days=1)
    )
    return next_allowed_at(
        times, now, settings.petitions_per_hour, settings.petitions_per_day
    ) or now + timedelta(minutes=1)
