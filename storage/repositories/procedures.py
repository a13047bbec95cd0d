"""Procedures imported from a province's export, which overlay the shipped catalog."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.catalog import procedure_from_dict, procedure_to_dict
from storage.models import ImportedProcedure, utcnow
from storage.repositories.common import chunks

if TYPE_CHECKING:
    from knowledge.models import Procedure

# Keeps IN (...) lists well under SQLite's and asyncpg's bound-parameter limits.
LOOKUP_CHUNK = 500


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
        for chunk in chunks(list(wanted), LOOKUP_CHUNK):
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
