"""Secrets generated on first use and kept in the database (``app_secrets``), shared by every
process of the bot."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AppSecret


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
