"""Housekeeping of the persisted conversation states (``fsm_records``); the aiogram storage
that reads and writes them is ``storage.fsm``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FsmRecord
from storage.repositories.common import affected_rows


class FsmRepository:
    """Housekeeping of the persisted conversation states."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def delete_idle(self, before: datetime) -> int:
        """Forget conversation states untouched since `before` (a half-finished search from
        months ago helps nobody, and web chat visitors are cheap to create). Caller commits."""
        result = await self.session.execute(delete(FsmRecord).where(FsmRecord.updated_at < before))
        return int(affected_rows(result) or 0)
