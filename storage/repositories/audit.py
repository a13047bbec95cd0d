"""The audit log (``audit_log``): every official's look at or change of a petition, sign-ins,
exports, enrolments and their failures, appended in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.petition_workflow import AuditAction, PetitionAction
from storage.models import AuditEntry, utcnow
from storage.records import AuditRecord, OfficialRecord


class AuditRepository:
    """The audit log: who did what to which petition, through which channel."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        action: AuditAction | PetitionAction,
        *,
        official: OfficialRecord | None = None,
        actor: str | None = None,
        petition_id: int | None = None,
        via: str,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append one entry: who (an official, or ``actor`` such as "cli" or "api:<prefix>")
        did ``action`` ("view", "take", "answer", "export", "login", ...) through ``via``."""
        self.session.add(
            AuditEntry(
                at=at or utcnow(),
                official_id=official.id if official else None,
                actor=actor or (f"official:{official.id}" if official else "system"),
                action=action,
                petition_id=petition_id,
                via=via,
                details=details,
            )
        )
        await self.session.flush()

    async def for_petition(self, petition_id: int) -> list[AuditRecord]:
        result = await self.session.execute(
            select(AuditEntry)
            .where(AuditEntry.petition_id == petition_id)
            .order_by(AuditEntry.at, AuditEntry.id)
        )
        return [AuditRecord.of(row) for row in result.scalars()]

    async def recent(self, limit: int = 100) -> list[AuditRecord]:
        result = await self.session.execute(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        )
        return [AuditRecord.of(row) for row in result.scalars()]
