"""Read-only queries behind the public faces of petitions: the Open311 GeoReport v2 API
(``bot/web/open311/``) and the page of published answers (``bot/web/publication.py``),
through :class:`PublicPetitionRepository`.

Nothing here writes. The published page gets :class:`PublishedPetition` values built from the
``public_*`` columns only (plus a topic with the sender's data masked), so a rendering mistake
there cannot leak what the query never returned. The Open311 listing returns whole petitions,
because it must redact unpublished texts itself; its serializer decides what leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from knowledge.petition_workflow import AttachmentKind, public_topic
from knowledge.petitions import parse_tracking_code
from storage.models import Agency, Petition, PetitionAttachment
from storage.records import PetitionRecord
from storage.repositories.common import chunks

MAX_SEARCH_WORDS = 8
MAX_SEARCH_WORD_CHARS = 60


@dataclass(frozen=True)
class TopicFilter:
    """Which petitions an Open311 ``service_code`` stands for.

    ``kinds`` restricts ``topic_kind``; ``sectors`` (exact stored spellings) keeps those whose
    sector is one of them; ``exclude_sectors`` keeps those whose sector is none of them (or
    empty). Empty tuples and None mean "no condition".
    """

    kinds: tuple[str, ...] = ()
    exclude_kinds: tuple[str, ...] = ()
    sectors: tuple[str, ...] | None = None
    exclude_sectors: tuple[str, ...] | None = None

    def clause(self) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = []
        if self.kinds:
            parts.append(Petition.topic_kind.in_(self.kinds))
        if self.exclude_kinds:
            parts.append(Petition.topic_kind.not_in(self.exclude_kinds))
        if self.sectors is not None:
            parts.append(Petition.sector.in_(self.sectors))
        if self.exclude_sectors:
            parts.append(
                or_(Petition.sector.is_(None), not_(Petition.sector.in_(self.exclude_sectors)))
            )
        return and_(*parts) if parts else Petition.id.is_not(None)


@dataclass(frozen=True)
class RequestRow:
    """One petition for the Open311 serializer, with its agency's name and its first media URL."""

    petition: PetitionRecord
    agency_name: str
    media_url: str | None


# --- the page of published answers ---------------------------------------------------------


@dataclass(frozen=True)
class PublishedPetition:
    """What the public page may show of a published petition (nothing else is loaded)."""

    tracking_code: str
    received_at: datetime
    published_at: datetime
    agency: str
    topic: str
    content: str
    answer: str


_PUBLIC_COLUMNS = (
    Petition.tracking_code,
    Petition.received_at,
    Petition.published_at,
    Agency.name,
    Petition.topic,
    Petition.sender_name,  # only to mask it in the topic; never returned
    Petition.public_content,
    Petition.public_answer,
)


def _published(row: Sequence[object]) -> PublishedPetition:
    code, received, published, agency, topic, sender, content, answer = row
    return PublishedPetition(
        tracking_code=str(code),
        received_at=received,  # type: ignore[arg-type]
        published_at=published,  # type: ignore[arg-type]
        agency=str(agency),
        topic=public_topic(str(topic or ""), str(sender) if sender else None),
        content=str(content or ""),
        answer=str(answer or ""),
    )


def search_words(query: str | None) -> list[str]:
    """The words of a search box query, bounded in number and length."""
    words = [w[:MAX_SEARCH_WORD_CHARS] for w in (query or "").split()]
    return words[:MAX_SEARCH_WORDS]


def _published_filter(query: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Petition.published_at.is_not(None),
    ]
    parsed = parse_tracking_code(query)
    if parsed is not None:
        conditions += [Petition.year == parsed[0], Petition.seq == parsed[1]]
        return conditions
    for word in search_words(query):
        conditions.append(
            or_(
                Petition.public_content.icontains(word, autoescape=True),
                Petition.public_answer.icontains(word, autoescape=True),
                Petition.topic.icontains(word, autoescape=True),
                Agency.name.icontains(word, autoescape=True),
                Petition.tracking_code.icontains(word, autoescape=True),
            )
        )
    return conditions


class PublicPetitionRepository:
    """What leaves the database for the public: Open311 requests and published answers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_requests(
        self,
        *,
        codes: Sequence[tuple[int, int]] | None = None,
        topic: TopicFilter | None = None,
        received_from: datetime | None = None,
        received_to: datetime | None = None,
        statuses: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[RequestRow]:
        """Petitions for ``GET requests.json``, newest first.

        ``codes`` are (year, number) pairs of tracking codes; ``received_from`` is inclusive and
        ``received_to`` exclusive (both on ``received_at``).
        """
        stmt = select(Petition, Agency.name).join(Agency, Agency.id == Petition.agency_id)
        if codes is not None:
            if not codes:
                return []
            stmt = stmt.where(or_(*(and_(Petition.year == y, Petition.seq == n) for y, n in codes)))
        if topic is not None:
            stmt = stmt.where(topic.clause())
        if received_from is not None:
            stmt = stmt.where(Petition.received_at >= received_from)
        if received_to is not None:
            stmt = stmt.where(Petition.received_at < received_to)
        if statuses is not None:
            stmt = stmt.where(Petition.status.in_(list(statuses)))
        stmt = stmt.order_by(Petition.received_at.desc(), Petition.id.desc()).limit(limit)
        rows = (await self.session.execute(stmt)).tuples().all()
        urls = await self._media_urls([p.id for p, _ in rows])
        return [RequestRow(PetitionRecord.of(p), name, urls.get(p.id)) for p, name in rows]

    async def _media_urls(self, ids: Sequence[int]) -> dict[int, str]:
        """The first attachment given as a URL (Open311 ``media_url``) of each petition."""
        urls: dict[int, str] = {}
        for part in chunks(ids, 1000):
            result = await self.session.execute(
                select(PetitionAttachment.petition_id, PetitionAttachment.file_id)
                .where(
                    PetitionAttachment.petition_id.in_(part),
                    PetitionAttachment.kind == AttachmentKind.URL,
                )
                .order_by(PetitionAttachment.id)
            )
            for petition_id, file_id in result.tuples():
                urls.setdefault(petition_id, file_id)
        return urls

    async def search_published(
        self, query: str | None = None, *, limit: int = 20, offset: int = 0
    ) -> tuple[list[PublishedPetition], int]:
        """Published petitions matching ``query`` (a tracking code however typed, or words that
        must all appear), newest first, and how many match in all."""
        conditions = _published_filter(query)
        total = await self.session.scalar(
            select(func.count())
            .select_from(Petition)
            .join(Agency, Agency.id == Petition.agency_id)
            .where(*conditions)
        )
        result = await self.session.execute(
            select(*_PUBLIC_COLUMNS)
            .join(Agency, Agency.id == Petition.agency_id)
            .where(*conditions)
            .order_by(Petition.published_at.desc(), Petition.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_published(row) for row in result.tuples()], int(total or 0)

    async def published_by_code(self, text: str) -> PublishedPetition | None:
        """The published petition of a tracking code, or None (unknown or not published)."""
        parsed = parse_tracking_code(text)
        if parsed is None:
            return None
        result = await self.session.execute(
            select(*_PUBLIC_COLUMNS)
            .join(Agency, Agency.id == Petition.agency_id)
            .where(
                Petition.year == parsed[0],
                Petition.seq == parsed[1],
                Petition.published_at.is_not(None),
            )
        )
        row = result.first()
        return _published(row) if row is not None else None
