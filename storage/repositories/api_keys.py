"""API keys of agencies for the ingest API: created, authenticated, listed and revoked; only
their SHA-256 hashes are stored."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiKey, utcnow
from storage.repositories.common import sha256_hex

API_KEYS = cast(Table, ApiKey.__table__)

KEY_PREFIX = "vnd_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # "vnd_" and the key's first 8 random characters
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key without its secret."""

    id: int
    agency: str
    label: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


_KEY_COLUMNS = (
    API_KEYS.c.id,
    API_KEYS.c.agency,
    API_KEYS.c.label,
    API_KEYS.c.prefix,
    API_KEYS.c.scopes,
    API_KEYS.c.created_at,
    API_KEYS.c.last_used_at,
    API_KEYS.c.revoked_at,
)


def _key_info(row: Sequence[Any]) -> ApiKeyInfo:
    key_id, agency, label, prefix, scopes, created, used, revoked = row
    return ApiKeyInfo(key_id, agency, label, prefix, tuple(scopes.split()), created, used, revoked)


class ApiKeyRepository:
    """API keys of agencies for the ingest API; only SHA-256 hashes are stored."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, agency: str, label: str = "", scopes: str = "dossiers"
    ) -> tuple[ApiKeyInfo, str]:
        """A new key for ``agency``; returns its info and the plaintext (shown once, never
        stored)."""
        agency = " ".join(agency.split())
        if not agency:
            raise ValueError("agency is empty")
        scope_list = " ".join(scopes.split()) or "dossiers"
        while True:
            plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
            prefix = plaintext[:PREFIX_LENGTH]
            clash = await self.session.scalar(
                select(API_KEYS.c.id).where(API_KEYS.c.prefix == prefix)
            )
            if clash is None:
                break
        now = utcnow()
        result = await self.session.execute(
            insert(API_KEYS)
            .values(
                agency=agency,
                label=label.strip(),
                prefix=prefix,
                key_hash=sha256_hex(plaintext),
                scopes=scope_list,
                created_at=now,
            )
            .returning(*_KEY_COLUMNS)
        )
        return _key_info(result.one()), plaintext

    async def authenticate(self, plaintext: str, scope: str) -> ApiKeyInfo | None:
        """The active key ``plaintext`` stands for, if it has ``scope``; else None.

        The key is looked up by its hash (the secret itself is never compared), so timing
        tells nothing about it. ``last_used_at`` is written at most once a minute per key.
        """
        if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > MAX_KEY_LENGTH:
            return None
        digest = sha256_hex(plaintext)
        result = await self.session.execute(
            select(*_KEY_COLUMNS, API_KEYS.c.key_hash).where(
                API_KEYS.c.key_hash == digest, API_KEYS.c.revoked_at.is_(None)
            )
        )
        row = result.first()
        if row is None or not hmac.compare_digest(row[-1], digest):
            return None
        info = _key_info(row[:-1])
        if scope not in info.scopes:
            return None
        now = utcnow()
        if info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION:
            await self.session.execute(
                update(API_KEYS).where(API_KEYS.c.id == info.id).values(last_used_at=now)
            )
        return info

    async def list(self) -> list[ApiKeyInfo]:
        """Every key (revoked ones too), oldest first."""
        result = await self.session.execute(select(*_KEY_COLUMNS).order_by(API_KEYS.c.id))
        return [_key_info(row) for row in result.tuples()]

    async def revoke(self, prefix_or_id: str) -> ApiKeyInfo | None:
        """Revoke the key with this prefix (with or without "vnd_") or id; None when no active
        key matches; ``ValueError`` when the prefix matches more than one."""
        text = prefix_or_id.strip()
        conditions = []
        if text.isdigit():
            conditions.append(API_KEYS.c.id == int(text))
        if len(text) >= 4:
            prefix = text if text.startswith(KEY_PREFIX) else KEY_PREFIX + text
            conditions.append(API_KEYS.c.prefix.startswith(prefix, autoescape=True))
        if not conditions:
            return None
        result = await self.session.execute(
            select(*_KEY_COLUMNS).where(or_(*conditions), API_KEYS.c.revoked_at.is_(None))
        )
        rows = result.all()
        if not rows:
            return None
        if len(rows) > 1:
            raise ValueError(f"{text!r} matches {len(rows)} keys; give more of the prefix")
        info = _key_info(rows[0])
        now = utcnow()
        await self.session.execute(
            update(API_KEYS).where(API_KEYS.c.id == info.id).values(revoked_at=now)
        )
        return ApiKeyInfo(
            info.id,
            info.agency,
            info.label,
            info.prefix,
            info.scopes,
            info.created_at,
            info.last_used_at,
            now,
        )
