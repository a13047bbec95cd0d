"""Agencies that answer petitions: saved from the command line, listed, and the one a new
petition is routed to."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.petition_workflow import answering_agency
from storage.models import Agency
from storage.records import AgencyRecord

DEFAULT_AGENCY_CODE = "tiep-nhan-chung"
DEFAULT_AGENCY_NAME = "Bộ phận tiếp nhận phản ánh, kiến nghị"


class AgencyRepository:
    """The agencies that answer petitions, and which one answers for what."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(
        self,
        code: str,
        name: str,
        *,
        sectors: Sequence[str] = (),
        procedure_codes: Sequence[str] = (),
        dossier_agency: str | None = None,
        is_default: bool = False,
    ) -> AgencyRecord:
        """Create the agency ``code``, or update it (its lists are replaced)."""
        result = await self.session.execute(select(Agency).where(Agency.code == code))
        agency = result.scalar_one_or_none()
        if agency is None:
            agency = Agency(code=code)
            self.session.add(agency)
        agency.name = name
        agency.sectors = [s.strip() for s in sectors if s.strip()]
        agency.procedure_codes = [c.strip() for c in procedure_codes if c.strip()]
        agency.dossier_agency = dossier_agency
        if is_default:
            await self.session.execute(update(Agency).values(is_default=False))
        agency.is_default = is_default
        await self.session.flush()
        return AgencyRecord.of(agency)

    async def get(self, agency_id: int) -> AgencyRecord | None:
        row = await self.session.get(Agency, agency_id)
        return AgencyRecord.of(row) if row is not None else None

    async def by_code(self, code: str) -> AgencyRecord | None:
        result = await self.session.execute(select(Agency).where(Agency.code == code))
        row = result.scalar_one_or_none()
        return AgencyRecord.of(row) if row is not None else None

    async def list(self) -> list[AgencyRecord]:
        result = await self.session.execute(select(Agency).order_by(Agency.name, Agency.id))
        return [AgencyRecord.of(row) for row in result.scalars()]

    async def default(self) -> AgencyRecord:
        """The agency for petitions no other agency answers for (created on first need)."""
        result = await self.session.execute(
            select(Agency).where(Agency.is_default.is_(True)).limit(1)
        )
        row = result.scalar_one_or_none()
        if row is not None:
            return AgencyRecord.of(row)
        agency = await self.by_code(DEFAULT_AGENCY_CODE)
        if agency is None:
            agency = await self.save(DEFAULT_AGENCY_CODE, DEFAULT_AGENCY_NAME, is_default=True)
        return agency

    async def route(self, procedure_code: str | None, sector: str | None) -> AgencyRecord:
        """The agency answering for a procedure (exact code, then national code without the
        province suffix), else for its sector, else the default agency
        (``knowledge.petition_workflow.answering_agency``)."""
        found = answering_agency(await self.list(), procedure_code, sector)
        return found if found is not None else await self.default()
