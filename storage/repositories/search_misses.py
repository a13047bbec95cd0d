"""The search's misses and the phrasings officials mapped (``knowledge.misses``).

``SearchMissRepository.record`` counts a miss: one row per (text, kind, channel), its count
raised by an INSERT ... ON CONFLICT, so concurrent chats never lose a count nor fail on the
unique key. The rows hold no user or chat id. The inbox lists them grouped by text
(``groups``), most counted first; the digest takes the few most counted of the last days
(``top``). ``LearnedPhrasingRepository`` keeps what officials mapped, for the next start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.misses import miss_key, miss_text
from storage.models import LearnedPhrasing, SearchMiss, utcnow
from storage.records import LearnedPhrasingRecord, MissGroup, SearchMissRecord
from storage.repositories.common import affected_rows, dialect_name, upsert_insert


@dataclass(frozen=True)
class MissFilter:
    """Which misses a list shows: of one kind ("" any), unresolved only, seen since a moment."""

    kind: str = ""
    since: datetime | None = None
    unresolved: bool = True


class SearchMissRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self, text: str, kind: str, channel: str, *, at: datetime | None = None
    ) -> bool:
        """Count one miss of the citizen's ``text`` (redacted and normalised here; False when
        nothing is left of it). A text resolved earlier and missed again is open again. Flushes;
        the caller commits."""
        stored = miss_text(text)
        if not stored:
            return False
        now = at or utcnow()
        insert = upsert_insert(dialect_name(self.session), SearchMiss).values(
            text_key=miss_key(stored),
            text=stored,
            kind=kind,
            channel=channel[:16],
            count=1,
            first_seen=now,
            last_seen=now,
            resolved_at=None,
        )
        await self.session.execute(
            insert.on_conflict_do_update(
                index_elements=["text_key", "kind", "channel"],
                set_={
                    "count": SearchMiss.count + 1,
                    "last_seen": now,
                    "resolved_at": None,
                },
            )
        )
        return True

    def _where(self, where: MissFilter) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if where.unresolved:
            clauses.append(SearchMiss.resolved_at.is_(None))
        if where.kind:
            clauses.append(SearchMiss.kind == where.kind)
        if where.since is not None:
            clauses.append(SearchMiss.last_seen >= where.since)
        return clauses

    async def count_groups(self, where: MissFilter) -> int:
        """How many distinct texts match."""
        stmt = select(func.count(func.distinct(SearchMiss.text_key))).where(*self._where(where))
        return int((await self.session.execute(stmt)).scalar_one())

    async def groups(self, where: MissFilter, *, limit: int, offset: int = 0) -> list[MissGroup]:
        """The matching texts, most counted first (then most recent), each with its kinds and
        channels."""
        total = func.sum(SearchMiss.count).label("total")
        last = func.max(SearchMiss.last_seen).label("last")
        stmt = (
            select(SearchMiss.text_key, total, last)
            .where(*self._where(where))
            .group_by(SearchMiss.text_key)
            .order_by(total.desc(), last.desc(), SearchMiss.text_key)
            .limit(limit)
            .offset(offset)
        )
        keys = [row.text_key for row in (await self.session.execute(stmt)).all()]
        if not keys:
            return []
        rows = (
            await self.session.execute(
                select(SearchMiss)
                .where(SearchMiss.text_key.in_(keys), *self._where(where))
                .order_by(SearchMiss.id)
            )
        ).scalars()
        by_key: dict[str, list[SearchMiss]] = {}
        for row in rows:
            by_key.setdefault(row.text_key, []).append(row)
        return [_group(by_key[key]) for key in keys if key in by_key]

    async def top(self, since: datetime, limit: int) -> list[MissGroup]:
        """The ``limit`` most counted unresolved texts seen since ``since`` (the digest)."""
        return await self.groups(MissFilter(since=since), limit=limit)

    async def get_group(self, text_key: str) -> MissGroup | None:
        """Every row of one text (resolved or not) as a group; None when unknown."""
        rows = list(
            (
                await self.session.execute(
                    select(SearchMiss)
                    .where(SearchMiss.text_key == text_key)
                    .order_by(SearchMiss.id)
                )
            ).scalars()
        )
        return _group(rows) if rows else None

    async def resolve(self, text_key: str, *, at: datetime | None = None) -> int:
        """Mark every open row of a text resolved (how many were)."""
        result = await self.session.execute(
            update(SearchMiss)
            .where(SearchMiss.text_key == text_key, SearchMiss.resolved_at.is_(None))
            .values(resolved_at=at or utcnow())
        )
        return affected_rows(result)

    async def purge(self, last_seen_before: datetime) -> int:
        """Forget the questions nobody has asked since ``last_seen_before``; how many rows."""
        result = await self.session.execute(
            delete(SearchMiss).where(SearchMiss.last_seen < last_seen_before)
        )
        return int(affected_rows(result) or 0)

    async def all_rows(self) -> list[SearchMissRecord]:
        rows = await self.session.execute(select(SearchMiss).order_by(SearchMiss.id))
        return [SearchMissRecord.of(r) for r in rows.scalars()]


def _group(rows: Sequence[SearchMiss]) -> MissGroup:
    kinds: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    for row in rows:
        kinds[row.kind] += row.count
        channels[row.channel] += row.count
    return MissGroup(
        text_key=rows[0].text_key,
        text=rows[0].text,
        count=sum(r.count for r in rows),
        kinds=tuple(k for k, _ in kinds.most_common()),
        channels=tuple(c for c, _ in channels.most_common()),
        first_seen=min(r.first_seen for r in rows),
        last_seen=max(r.last_seen for r in rows),
    )


class LearnedPhrasingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, text: str, code: str, *, official_id: int | None, at: datetime | None = None
    ) -> LearnedPhrasingRecord:
        """Keep a mapping (the same text and code twice: the first one is kept). Flushes."""
        key = miss_key(text)
        await self.session.execute(
            upsert_insert(dialect_name(self.session), LearnedPhrasing)
            .values(
                text_key=key,
                text=text,
                code=code,
                official_id=official_id,
                created_at=at or utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["text_key", "code"])
        )
        row = (
            await self.session.execute(
                select(LearnedPhrasing).where(
                    LearnedPhrasing.text_key == key, LearnedPhrasing.code == code
                )
            )
        ).scalar_one()
        return LearnedPhrasingRecord.of(row)

    async def all(self) -> list[LearnedPhrasingRecord]:
        """Every mapping, oldest first (the order they are applied in at start)."""
        rows = await self.session.execute(select(LearnedPhrasing).order_by(LearnedPhrasing.id))
        return [LearnedPhrasingRecord.of(r) for r in rows.scalars()]
