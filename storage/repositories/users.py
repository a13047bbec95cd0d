"""Chat users by (channel, external_id): for now only the language each one chose."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatUser


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
