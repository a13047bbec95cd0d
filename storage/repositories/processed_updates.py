"""Telegram updates already taken, so that a re-delivered one is handled once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate
from storage.repositories.common import affected_rows


class ProcessedUpdateRepository:
    """Telegram updates already taken, so that a re-delivered one (webhook retries, a restart
    before the polling offset was confirmed) is handled once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, bot_id: str, update_id: int) -> bool:
        """Record the update; False when it was already recorded (a duplicate)."""
        try:
            async with self.session.begin_nested():
                self.session.add(ProcessedUpdate(bot_id=bot_id, update_id=update_id))
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def release(self, bot_id: str, update_id: int) -> None:
        """Forget a claim whose handling failed, so a re-delivery can try again."""
        await self.session.execute(
            delete(ProcessedUpdate).where(
                ProcessedUpdate.bot_id == bot_id, ProcessedUpdate.update_id == update_id
            )
        )

    async def purge(self, older_than: datetime) -> int:
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.at < older_than)
        )
        return int(affected_rows(result) or 0)
