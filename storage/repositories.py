"""Repositories over an ``AsyncSession``; they return plain values and dataclasses.

Repository methods never commit: the caller owns the transaction and calls
``await session.commit()`` (in the bot, the per-event session middleware does so).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.catalog import procedure_from_dict, procedure_to_dict
from storage.models import (
    AppSecret,
    ChatUser,
    FsmRecord,
    ImportedProcedure,
    LookupFailure,
    OutboxMessage,
    ProcessedUpdate,
    ServiceRating,
    utcnow,
)

if TYPE_CHECKING:
    from knowledge.models import Procedure

# Keeps IN (...) lists well under SQLite's and asyncpg's bound-parameter limits.
LOOKUP_CHUNK = 500


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class UserRepository:
    """Chat users by (channel, external_id); only the language preference for now."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _get(self, channel: str, external_id: str) -> ChatUser | None:
        result = await self.session.execute(
            select(ChatUser).where(ChatUser.channel == channel, ChatUser.external_id == external_id)
        )
        return result.scalar_one_or_none()

    async def get_language(self, channel: str, external_id: str) -> str | None:
        """The user's chosen language code, or None if unknown or never chosen."""
        result = await self.session.execute(
            select(ChatUser.language).where(
                ChatUser.channel == channel, ChatUser.external_id == external_id
            )
        )
        return result.scalar_one_or_none()

    async def set_language(self, channel: str, external_id: str, language: str | None) -> None:
        """Store the user's language, creating the user if missing (flushes, doesn't commit)."""
        user = await self._get(channel, external_id)
        if user is None:
            self.session.add(ChatUser(channel=channel, external_id=external_id, language=language))
        elif user.language != language:
            user.language = language
        await self.session.flush()


def _normalise(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload exactly as it will read back from a JSON column (tuples become lists...)."""
    loaded: dict[str, Any] = json.loads(json.dumps(payload, ensure_ascii=False, allow_nan=False))
    return loaded


class ProcedureRepository:
    """Procedures imported from a province's export, overlaying the shipped catalog."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_many(self, procedures: Iterable[Procedure], source: str) -> tuple[int, int]:
        """Insert new codes and update changed ones; returns ``(inserted, updated)``.

        Unchanged procedures (same payload and source) are left untouched, so re-importing
        the same export reports ``(0, 0)``. A code repeated in ``procedures``: the last wins.
        Lookups are batched; portable SQL only (select, then bulk insert / bulk update).
        """

        wanted: dict[str, dict[str, Any]] = {}
        for procedure in procedures:
            wanted[procedure.code] = _normalise(procedure_to_dict(procedure))
        if not wanted:
            return 0, 0

        existing: dict[str, tuple[dict[str, Any], str]] = {}
        for chunk in _chunks(list(wanted), LOOKUP_CHUNK):
            rows = await self.session.execute(
                select(
                    ImportedProcedure.code, ImportedProcedure.payload, ImportedProcedure.source
                ).where(ImportedProcedure.code.in_(chunk))
            )
            for code, payload, row_source in rows:
                existing[code] = (payload, row_source)

        now = utcnow()
        to_insert: list[dict[str, Any]] = []
        to_update: list[dict[str, Any]] = []
        for code, payload in wanted.items():
            row = {"code": code, "payload": payload, "source": source, "imported_at": now}
            if code not in existing:
                to_insert.append(row)
            elif existing[code] != (payload, source):
                to_update.append(row)

        if to_insert:
            await self.session.execute(insert(ImportedProcedure), to_insert)
        if to_update:
            # ORM bulk UPDATE by primary key: one executemany, portable across dialects.
            await self.session.execute(update(ImportedProcedure), to_update)
        return len(to_insert), len(to_update)

    async def list_all(self) -> list[Procedure]:
        """All imported procedures, ordered by code."""

        result = await self.session.execute(
            select(ImportedProcedure.payload).order_by(ImportedProcedure.code)
        )
        return [procedure_from_dict(payload) for payload in result.scalars()]

    async def count(self) -> int:
        """Number of imported procedures."""
        result = await self.session.execute(select(func.count()).select_from(ImportedProcedure))
        return int(result.scalar_one())


class SecretRepository:
    """Secrets generated on first use and kept in the database, so every process shares them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_create(self, name: str, nbytes: int = 32) -> str:
        """The secret called `name`, created (random, URL-safe) and committed if missing."""
        value = await self.session.scalar(select(AppSecret.value).where(AppSecret.name == name))
        if value is not None:
            return value
        self.session.add(AppSecret(name=name, value=secrets.token_urlsafe(nbytes)))
        try:
            await self.session.commit()
        except IntegrityError:  # another process created it first: use theirs
            await self.session.rollback()
        value = await self.session.scalar(select(AppSecret.value).where(AppSecret.name == name))
        assert value is not None
        return value


class FsmRepository:
    """Housekeeping of the persisted conversation states."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def delete_idle(self, before: datetime) -> int:
        """Forget conversation states untouched since `before` (a half-finished search from
        months ago helps nobody, and web chat visitors are cheap to create). Caller commits."""
        result = await self.session.execute(delete(FsmRecord).where(FsmRecord.updated_at < before))
        return int(result.rowcount or 0)


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
        return int(result.rowcount or 0)


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
                OutboxMessage.kind == "dossier_rating",
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.state == "sent",
                OutboxMessage.dedup_key.like(f"dossier_rating:{int(dossier_id)}:%"),
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
        return int(result.rowcount or 0)
