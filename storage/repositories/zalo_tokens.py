"""The Zalo Official Account's token pair (``zalo_tokens``): read it, lock it for a refresh, store
the pair a refresh gave or a first pair (seed).

Zalo's refresh token is single use, so a refresh must hold the row's lock from the moment it
reads the refresh token until it has stored the new pair: :meth:`ZaloTokenRepository.lock_for_refresh`
takes that lock on both databases. Like every repository, nothing here commits: the caller owns
the transaction (and commits only after the new pair is written).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.workdays import utcnow
from storage.models import ZaloToken
from storage.records import ZaloTokenRecord
from storage.repositories.common import affected_rows


def _record(row: ZaloToken | None) -> ZaloTokenRecord | None:
    return ZaloTokenRecord.of(row) if row is not None else None


class ZaloTokenRepository:
    """The OA's access and refresh tokens, one row per Zalo app."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, app_id: str) -> ZaloTokenRecord | None:
        """The stored pair, unlocked (what a sender uses until Zalo refuses it)."""
        row = await self.session.scalar(select(ZaloToken).where(ZaloToken.app_id == app_id))
        return _record(row)

    async def lock_for_refresh(self, app_id: str) -> ZaloTokenRecord | None:
        """The stored pair, locked until the transaction ends: a second process refreshing at
        the same time waits here, then reads the pair the first one stored.

        The no-op UPDATE takes the lock first on both databases: PostgreSQL's row lock, and
        SQLite's write lock (its transaction only begins at the first write, so what is read
        after it is current; a bare SELECT would read a snapshot a concurrent refresh makes
        stale). The SELECT ... FOR UPDATE that follows is a no-op on SQLite."""
        await self.session.execute(
            update(ZaloToken)
            .where(ZaloToken.app_id == app_id)
            .values(version=ZaloToken.version)
            .execution_options(synchronize_session=False)
        )
        stmt = (
            select(ZaloToken)
            .where(ZaloToken.app_id == app_id)
            .with_for_update()
            .execution_options(populate_existing=True)  # past an older read in this session
        )
        return _record((await self.session.execute(stmt)).scalar_one_or_none())

    async def save_refreshed(
        self,
        app_id: str,
        *,
        expected_version: int,
        access_token: str,
        refresh_token: str,
        access_expires_at: datetime,
    ) -> ZaloTokenRecord:
        """Store the pair a refresh returned and bump ``version``. The row must still be at
        ``expected_version`` (it is, under :meth:`lock_for_refresh`); anything else is a bug in
        the caller's locking, and raises rather than overwrite someone else's pair."""
        result = await self.session.execute(
            update(ZaloToken)
            .where(ZaloToken.app_id == app_id, ZaloToken.version == expected_version)
            .values(
                access_token=access_token,
                refresh_token=refresh_token,
                access_expires_at=access_expires_at,
                version=expected_version + 1,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result) != 1:
            raise RuntimeError("the Zalo token row changed under its lock")
        record = await self.get_fresh(app_id)
        assert record is not None
        return record

    async def get_fresh(self, app_id: str) -> ZaloTokenRecord | None:
        """Like :meth:`get`, past anything the session's identity map remembers."""
        stmt = (
            select(ZaloToken)
            .where(ZaloToken.app_id == app_id)
            .execution_options(populate_existing=True)
        )
        return _record(await self.session.scalar(stmt))

    async def seed(
        self,
        app_id: str,
        *,
        access_token: str,
        refresh_token: str,
        access_expires_at: datetime,
        replace: bool,
    ) -> ZaloTokenRecord | None:
        """Store a first pair (from the settings, or a new authorisation given from the CLI).

        With ``replace=False`` an existing pair is kept and None returned; otherwise it is
        overwritten (under the lock, ``version`` bumped so a refresh in flight elsewhere does not
        take it for its own). Two processes inserting the first pair at once: the loser's commit
        fails with an IntegrityError, which the caller treats as "already seeded"."""
        current = await self.lock_for_refresh(app_id)
        if current is not None and not replace:
            return None
        if current is None:
            self.session.add(
                ZaloToken(
                    app_id=app_id,
                    access_token=access_token,
                    refresh_token=refresh_token,
                    access_expires_at=access_expires_at,
                    version=1,
                    updated_at=utcnow(),
                )
            )
            await self.session.flush()
            return await self.get_fresh(app_id)
        return await self.save_refreshed(
            app_id,
            expected_version=current.version,
            access_token=access_token,
            refresh_token=refresh_token,
            access_expires_at=access_expires_at,
        )
