"""The Open311 services: one per sector of the catalog and per sector an agency answers for,
plus the two fixed ones (a public service centre, any other regulation), with stable codes."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.petitions import publication_texts as texts
from knowledge.normalize import clean_text, strip_diacritics
from knowledge.search import SearchIndex
from storage.records import PetitionRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.public_petitions import TopicFilter

CENTRE_CODE = "dich-vu-mot-cua"


OTHER_CODE = "quy-dinh-khac"


PROCEDURE_ATTRIBUTE = "procedure_code"


MAX_SLUG = 48


@dataclass(frozen=True)
class Service:
    """One Open311 service: a sector's petitions, or one of the two fixed services."""

    code: str
    kind: str  # topic_kind of its petitions: "procedure" (a sector), "service" or "other"
    sector: str | None = None  # the sector's name as shown
    spellings: tuple[str, ...] = ()  # every stored spelling of the sector (case, Nam/nam ...)
    group: str | None = None  # the ministry or agency; None: a localised generic group
    keywords: tuple[str, ...] = ()

    def name(self) -> str:
        if self.kind == "service":
            return texts.centre_service_name()
        if self.kind == "other":
            return texts.other_service_name()
        return self.sector or ""

    def description(self) -> str:
        if self.kind == "service":
            return texts.centre_service_description()
        if self.kind == "other":
            return texts.other_service_description()
        return texts.sector_service_description(self.sector or "")

    def group_name(self) -> str:
        if self.group:
            return self.group
        return texts.group_public_service() if self.kind == "service" else texts.group_other()


def _sector_key(sector: str) -> str:
    return clean_text(sector).casefold()


def slugify(text: str) -> str:
    """A short ASCII slug: "Đăng ký, quản lý cư trú" -> "dang-ky-quan-ly-cu-tru"."""
    ascii_text = strip_diacritics(clean_text(text)).replace("đ", "d").replace("Đ", "D").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] if "-" in slug[:MAX_SLUG] else slug[:MAX_SLUG]
    return slug or "linh-vuc"


@dataclass
class _SectorInfo:
    spellings: Counter[str]
    ministries: Counter[str]
    in_catalog: bool


def _catalog_sectors(index: SearchIndex | None) -> dict[str, _SectorInfo]:
    sectors: dict[str, _SectorInfo] = {}
    if index is None:
        return sectors
    for procedure in index.procedures:
        if not procedure.sector.strip():
            continue
        info = sectors.setdefault(
            _sector_key(procedure.sector), _SectorInfo(Counter(), Counter(), True)
        )
        info.spellings[clean_text(procedure.sector)] += 1
        if procedure.issuing_agency.strip():
            info.ministries[clean_text(procedure.issuing_agency)] += 1
    return sectors


class ServiceCatalog:
    """The services: the catalog's sectors (computed once) plus the agencies' own sectors (read
    per request, since agencies change while the process runs).

    A sector's code is the slug of its name; two sectors with the same slug (they differ only in
    diacritics) keep it for the catalog's one and the alphabetically first, the other gets a
    suffix from a hash of its name, so codes do not change between requests or restarts.
    """

    def __init__(self, index: SearchIndex | None) -> None:
        self.index = index
        self._catalog = _catalog_sectors(index)

    def build(self, agencies: Iterable[tuple[str, Sequence[str]]]) -> ServiceList:
        sectors = {
            key: _SectorInfo(Counter(info.spellings), info.ministries, True)
            for key, info in self._catalog.items()
        }
        agency_of: dict[str, str] = {}
        for agency_name, agency_sectors in agencies:
            for sector in agency_sectors:
                spelling = clean_text(sector)
                if not spelling:
                    continue
                key = _sector_key(spelling)
                info = sectors.setdefault(key, _SectorInfo(Counter(), Counter(), False))
                # an agency's spelling is known (petitions may carry it), the catalog's is shown
                info.spellings[spelling] += 0 if info.in_catalog else 1
                agency_of.setdefault(key, agency_name)
        taken = {CENTRE_CODE, OTHER_CODE}
        services: list[Service] = []
        ordered = sorted(sectors.items(), key=lambda kv: (not kv[1].in_catalog, kv[0]))
        for key, info in ordered:
            name = info.spellings.most_common(1)[0][0]
            code = slugify(name)
            if code in taken:
                code = f"{code[: MAX_SLUG - 5]}-{hashlib.sha1(key.encode()).hexdigest()[:4]}"
            taken.add(code)
            ministry = info.ministries.most_common(1)[0][0] if info.ministries else None
            services.append(
                Service(
                    code=code,
                    kind="procedure",
                    sector=name,
                    spellings=tuple(sorted(info.spellings)),
                    group=ministry or agency_of.get(key),
                    keywords=("phản ánh", "kiến nghị", name.lower()),
                )
            )
        services.sort(key=lambda s: (s.group or "", s.name()))
        fixed = [
            Service(
                code=CENTRE_CODE,
                kind="service",
                keywords=(
                    "một cửa",
                    "trung tâm phục vụ hành chính công",
                    "thái độ",
                    "thời gian chờ",
                ),
            ),
            Service(code=OTHER_CODE, kind="other", keywords=("phản ánh", "kiến nghị", "quy định")),
        ]
        return ServiceList(fixed + services)

    async def load(self, session: AsyncSession) -> ServiceList:
        agencies = await AgencyRepository(session).list()
        return self.build((a.name, a.sectors or []) for a in agencies)


class ServiceList:
    def __init__(self, services: list[Service]) -> None:
        self.services = services
        self._by_code = {s.code: s for s in services}
        self._by_spelling = {sp: s for s in services for sp in s.spellings}
        self._by_key = {_sector_key(sp): s for s in services for sp in s.spellings}
        self.all_spellings = tuple(sorted(self._by_spelling))

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def get(self, code: str) -> Service | None:
        return self._by_code.get(code)

    def for_sector(self, sector: str | None) -> Service | None:
        if not sector:
            return None
        return self._by_spelling.get(sector) or self._by_key.get(_sector_key(sector))

    def of_petition(self, petition: PetitionRecord) -> Service:
        """The service a stored petition belongs to (see :meth:`topic_filter`)."""
        if petition.topic_kind == "service":
            return self._by_code[CENTRE_CODE]
        if petition.sector and petition.sector in self._by_spelling:
            return self._by_spelling[petition.sector]
        return self._by_code[OTHER_CODE]

    def topic_filter(self, service: Service) -> TopicFilter:
        """The petitions of ``service``, exactly as :meth:`of_petition` assigns them."""
        if service.kind == "service":
            return TopicFilter(kinds=("service",))
        if service.kind == "other":
            return TopicFilter(exclude_kinds=("service",), exclude_sectors=self.all_spellings)
        return TopicFilter(exclude_kinds=("service",), sectors=service.spellings)


def service_json(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name(),
        "description": service.description(),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(service.keywords),
        "group": service.group_name(),
    }


def definition_json(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "attributes": [
            {
                "variable": True,
                "code": PROCEDURE_ATTRIBUTE,
                "datatype": "string",
                "required": False,
                "datatype_description": texts.procedure_attribute_datatype(),
                "order": 1,
                "description": texts.procedure_attribute_description(),
            }
        ],
    }
