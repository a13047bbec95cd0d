"""Queries of the officials' side of the chat that the petition repository does not have.

Failed enrolment attempts are kept in the audit log (action ``enroll_failed``, no official, the
chat as the actor), so the guess limit holds across processes and restarts, and the attempts are
on record next to every other security event. Like every repository here, nothing commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, AuditEntry, Official
from storage.petitions import AuditRepository

ENROLL_FAILED = "enroll_failed"


def chat_actor(channel: str, chat_id: str) -> str:
    """The audit actor of a chat that is not (yet) an official."""
    return f"chat:{channel}:{chat_id}"[:64]


async def record_enroll_failure(
    session: AsyncSession, channel: str, chat_id: str, *, at: datetime | None = None
) -> None:
    """One wrong, used or expired code from this chat (the code itself is not stored: a typo
    of a real code would otherwise end up in the log)."""
    await AuditRepository(session).record(
        ENROLL_FAILED, actor=chat_actor(channel, chat_id), via=channel, at=at
    )


async def enroll_failures(
    session: AsyncSession, channel: str, chat_id: str, since: datetime
) -> list[datetime]:
    """When this chat's failed enrolments since ``since`` happened, oldest first.

    ``official_id IS NULL`` and ``at >=`` let the (official_id, at) index narrow the scan."""
    result = await session.execute(
        select(AuditEntry.at)
        .where(
            AuditEntry.official_id.is_(None),
            AuditEntry.at >= since,
            AuditEntry.action == ENROLL_FAILED,
            AuditEntry.actor == chat_actor(channel, chat_id),
        )
        .order_by(AuditEntry.at)
    )
    return list(result.scalars())


async def official_names(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    """Display names of officials by id (for "handled by" and the history of a card)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    result = await session.execute(
        select(Official.id, Official.display_name).where(Official.id.in_(wanted))
    )
    return {row.id: (row.display_name or f"#{row.id}") for row in result}


async def list_officials(
    session: AsyncSession, agency_id: int | None = None
) -> list[tuple[Official, str]]:
    """Every official (active or not) with their agency's code, by agency then id."""
    stmt = select(Official, Agency.code).join(Agency, Agency.id == Official.agency_id)
    if agency_id is not None:
        stmt = stmt.where(Official.agency_id == agency_id)
    result = await session.execute(stmt.order_by(Agency.code, Official.id))
    return [(row[0], row[1]) for row in result]


async def count_active_officials(session: AsyncSession) -> dict[int, int]:
    """Active officials per agency id."""
    result = await session.execute(
        select(Official.agency_id, func.count())
        .where(Official.active.is_(True))
        .group_by(Official.agency_id)
    )
    return {int(agency_id): int(count) for agency_id, count in result}
