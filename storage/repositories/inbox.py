"""Queries of the officials' inbox web page: one agency's petitions filtered, counted and paged,
officials' names, and a look at a sign-in link that does not use it up.

Read-only apart from the lock of :meth:`InboxRepository.for_change`: every change goes through
``storage.repositories.petitions`` (which writes the event, the audit entry and the citizen's
message together). Like every repository, nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.petition_workflow import OPEN_STATUSES, PetitionStatus
from knowledge.petitions import due_soon_until, format_tracking_code, parse_tracking_code
from storage.models import InboxToken, Official, Petition, utcnow
from storage.records import PetitionRecord
from storage.repositories.common import local_midnight, sha256_hex
from storage.repositories.inbox_tokens import LINK
from storage.repositories.officials import OfficialRepository

OVERDUE = "overdue"
DUE_SOON = "due_soon"
DUE_FILTERS = (OVERDUE, DUE_SOON)

_LIKE_ESCAPE = "\\"


def _like_pattern(text: str) -> str:
    """``%text%`` with the LIKE wildcards of ``text`` taken literally ("50%" is not "50...")."""
    escaped = text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class InboxFilter:
    """What the official asked to see. Dates are local calendar days, both ends included."""

    statuses: tuple[str, ...] = ()
    query: str = ""
    received_from: date | None = None
    received_to: date | None = None
    due: str | None = None  # OVERDUE | DUE_SOON | None
    today: date | None = None  # the local date "due" is judged on (required with ``due``)

    def conditions(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.statuses:
            conds.append(Petition.status.in_(list(self.statuses)))
        if self.received_from is not None:
            conds.append(Petition.received_at >= local_midnight(self.received_from))
        if self.received_to is not None:
            conds.append(
                Petition.received_at < local_midnight(self.received_to + timedelta(days=1))
            )
        needle = self.query.strip()
        if needle:
            pattern = _like_pattern(needle)
            matches: list[ColumnElement[bool]] = [
                Petition.tracking_code.ilike(pattern, escape=_LIKE_ESCAPE),
                Petition.topic.ilike(pattern, escape=_LIKE_ESCAPE),
                Petition.content.ilike(pattern, escape=_LIKE_ESCAPE),
                Petition.sender_name.ilike(pattern, escape=_LIKE_ESCAPE),
                Petition.phone.ilike(pattern, escape=_LIKE_ESCAPE),
                Petition.email.ilike(pattern, escape=_LIKE_ESCAPE),
                Petition.procedure_code.ilike(pattern, escape=_LIKE_ESCAPE),
            ]
            parsed = parse_tracking_code(needle)  # "pakn 2026 12" finds PAKN-2026-000012
            if parsed is not None:
                try:
                    matches.append(Petition.tracking_code == format_tracking_code(*parsed))
                except ValueError:
                    pass
            conds.append(or_(*matches))
        if self.due is not None:
            conds.append(self._due_condition())
        return conds

    def _due_condition(self) -> ColumnElement[bool]:
        """Open petitions judged on their answer deadline, answered ones on their publication
        deadline; published and refused petitions are never overdue."""
        today = self.today
        if today is None or self.due not in DUE_FILTERS:
            return false()
        open_ = Petition.status.in_(list(OPEN_STATUSES))
        answered = and_(
            Petition.status == PetitionStatus.ANSWERED, Petition.publish_by.is_not(None)
        )
        if self.due == OVERDUE:
            return or_(
                and_(open_, Petition.answer_by < today),
                and_(answered, Petition.publish_by < today),
            )
        until = due_soon_until(today)
        return or_(
            and_(open_, Petition.answer_by >= today, Petition.answer_by <= until),
            and_(answered, Petition.publish_by >= today, Petition.publish_by <= until),
        )


def _record(row: Petition | None) -> PetitionRecord | None:
    return PetitionRecord.of(row) if row is not None else None


class InboxRepository:
    """One agency's petitions as the inbox page filters, counts and pages them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _select(self, agency_id: int, where: InboxFilter) -> Select[tuple[Petition]]:
        return select(Petition).where(Petition.agency_id == agency_id, *where.conditions())

    async def page(
        self, agency_id: int, where: InboxFilter, *, limit: int, offset: int = 0
    ) -> list[PetitionRecord]:
        """One page of the agency's petitions, newest first."""
        stmt = (
            self._select(agency_id, where)
            .order_by(Petition.received_at.desc(), Petition.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [PetitionRecord.of(row) for row in (await self.session.execute(stmt)).scalars()]

    async def count(self, agency_id: int, where: InboxFilter) -> int:
        stmt = (
            select(func.count())
            .select_from(Petition)
            .where(Petition.agency_id == agency_id, *where.conditions())
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def status_counts(self, agency_id: int) -> dict[str, int]:
        """How many of the agency's petitions are in each status."""
        stmt = (
            select(Petition.status, func.count())
            .where(Petition.agency_id == agency_id)
            .group_by(Petition.status)
        )
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def of_agency(self, agency_id: int, tracking_code: str) -> PetitionRecord | None:
        """The agency's petition of an exact tracking code (another agency's is None: the page
        answers 404 and does not tell that it exists)."""
        stmt = select(Petition).where(
            Petition.tracking_code == tracking_code, Petition.agency_id == agency_id
        )
        return _record((await self.session.execute(stmt)).scalar_one_or_none())

    async def for_change(self, agency_id: int, tracking_code: str) -> PetitionRecord | None:
        """Like :meth:`of_agency`, locked until commit: two officials pressing buttons at once
        are serialised and the second sees the first's status (and is refused).

        The no-op UPDATE first takes the lock on both databases: PostgreSQL's row lock, and
        SQLite's write lock (whose transaction only begins at the first write, so what is read
        after it is current; a bare SELECT would read a snapshot that a concurrent writer can
        make stale, and its later write would then fail)."""
        await self.session.execute(
            update(Petition)
            .where(Petition.tracking_code == tracking_code, Petition.agency_id == agency_id)
            .values(updated_at=Petition.updated_at)
            .execution_options(synchronize_session=False)
        )
        stmt = (
            select(Petition)
            .where(Petition.tracking_code == tracking_code, Petition.agency_id == agency_id)
            .with_for_update()
        )
        return _record((await self.session.execute(stmt)).scalar_one_or_none())

    async def by_tracking_code(self, tracking_code: str) -> PetitionRecord | None:
        stmt = select(Petition).where(Petition.tracking_code == tracking_code)
        return _record((await self.session.execute(stmt)).scalar_one_or_none())

    async def official_names(self, ids: Iterable[int | None]) -> dict[int, str]:
        """Display names of officials by id ("" when they never gave one)."""
        return await OfficialRepository(self.session).official_names(ids, unnamed="")

    async def link_is_usable(self, token: str, *, now: datetime | None = None) -> bool:
        """Would :meth:`InboxTokenRepository.redeem_link` accept this sign-in link now? It is
        not used up: link scanners that fetch the URL must not burn it."""
        now = now or utcnow()
        stmt = (
            select(InboxToken.id)
            .join(Official, Official.id == InboxToken.official_id)
            .where(
                InboxToken.token_hash == sha256_hex(token),
                InboxToken.kind == LINK,
                InboxToken.used_at.is_(None),
                InboxToken.expires_at > now,
                Official.active.is_(True),
            )
        )
        return (await self.session.execute(stmt)).first() is not None
