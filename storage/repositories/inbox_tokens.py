"""One-time sign-in links and signed-in sessions of the officials' inbox page (only the tokens'
SHA-256 hashes are stored)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxToken, utcnow
from storage.records import OfficialRecord
from storage.repositories.common import sha256_hex
from storage.repositories.officials import OfficialRepository

LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
# ``inbox_tokens.kind``
LINK = "link"
SESSION = "session"


class InboxTokenRepository:
    """One-time sign-in links and signed-in sessions of the officials' inbox page."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(
        self, official: OfficialRecord, *, kind: str, ttl: timedelta, now: datetime | None = None
    ) -> str:
        now = now or utcnow()
        token = secrets.token_urlsafe(32)
        self.session.add(
            InboxToken(
                token_hash=sha256_hex(token),
                kind=kind,
                official_id=official.id,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        await self.session.flush()
        return token

    async def redeem_link(
        self, token: str, *, now: datetime | None = None
    ) -> OfficialRecord | None:
        """Use a sign-in link once; the official it was issued to (still active), or None."""
        now = now or utcnow()
        result = await self.session.execute(
            update(InboxToken)
            .where(
                InboxToken.token_hash == sha256_hex(token),
                InboxToken.kind == LINK,
                InboxToken.used_at.is_(None),
                InboxToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(InboxToken.official_id)
        )
        return await self._active_official(result.scalar_one_or_none())

    async def session_official(
        self, token: str, *, now: datetime | None = None
    ) -> OfficialRecord | None:
        now = now or utcnow()
        result = await self.session.execute(
            select(InboxToken.official_id).where(
                and_(
                    InboxToken.token_hash == sha256_hex(token),
                    InboxToken.kind == SESSION,
                    InboxToken.used_at.is_(None),
                    InboxToken.expires_at > now,
                )
            )
        )
        return await self._active_official(result.scalar_one_or_none())

    async def end_session(self, token: str, *, now: datetime | None = None) -> None:
        await self.session.execute(
            update(InboxToken)
            .where(InboxToken.token_hash == sha256_hex(token), InboxToken.kind == SESSION)
            .values(used_at=now or utcnow())
        )

    async def purge(self, older_than: datetime) -> None:
        await self.session.execute(delete(InboxToken).where(InboxToken.expires_at < older_than))

    async def _active_official(self, official_id: int | None) -> OfficialRecord | None:
        """The official a token was issued to, while still active; else None."""
        if official_id is None:
            return None
        official = await OfficialRepository(self.session).get(official_id)
        return official if official is not None and official.active else None
