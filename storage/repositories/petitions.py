"""Petitions (phản ánh, kiến nghị): reading them, submitting one, and every step of their
life cycle. The rules of who may take which step come from ``knowledge.petition_workflow``.

Like every repository here, nothing commits: the caller owns the transaction. Every change of a
petition writes, in the same transaction, its event, an audit entry and the messages it causes
(to the citizen, to the agency's officials) into the outbox; so a change and its notifications
are recorded together or not at all, and each message is sent once (``dedup_key``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.outbox import OutboxKind
from knowledge.petition_workflow import (
    CITIZEN_NOTIFIED,
    CITIZEN_REPLY,
    OFFICIAL_STEPS,
    REROUTE,
    AuditAction,
    EventActor,
    PetitionAction,
    PetitionError,
    PetitionStatus,
    Refusal,
    can_act_on,
    can_see_personal_data,
    public_copies,
    reply_refusal,
    reroute_refusal,
    step_refusal,
)
from knowledge.petitions import (
    format_tracking_code,
    parse_tracking_code,
    petition_deadlines,
    publish_by,
)
from knowledge.workdays import to_local
from storage.models import (
    Agency,
    Official,
    Petition,
    PetitionAttachment,
    PetitionCounter,
    PetitionEvent,
    utcnow,
)
from storage.outbox import OutgoingMessage, enqueue
from storage.repositories.agencies import AgencyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.citizen_petitions import CitizenPetitionRepository
from storage.repositories.common import affected_rows, dialect_name, upsert_insert
from storage.repositories.officials import OfficialRepository


@dataclass(frozen=True)
class AttachmentDraft:
    kind: str  # AttachmentKind: "photo" | "document" | "url"
    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class PetitionDraft:
    """A complete, validated petition about to be submitted."""

    topic_kind: str  # "procedure" | "service" | "other"
    topic: str
    content: str
    sender_name: str
    address: str
    phone: str | None = None
    email: str | None = None
    procedure_code: str | None = None
    sector: str | None = None
    source: str = "chat"  # "chat" | "open311"
    channel: str | None = None
    chat_id: str | None = None
    language: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    attachments: Sequence[AttachmentDraft] = field(default_factory=tuple)


@dataclass(frozen=True)
class SubmitResult:
    petition: Petition
    created: bool  # False: the same submission (idempotency key) was already stored


def _official_notice(
    petition: Petition, official: Official, *, reason: str, dedup_key: str
) -> OutgoingMessage:
    """The message telling an official of a new or re-routed petition, or of the citizen's
    reply to a request for information."""
    return OutgoingMessage(
        channel=official.channel,
        chat_id=official.chat_id,
        kind=OutboxKind.PETITION_NEW,
        payload={
            "petition_id": petition.id,
            "tracking_code": petition.tracking_code,
            "official_id": official.id,
            "reason": reason,
        },
        language=official.language,
        dedup_key=dedup_key,
    )


def citizen_update(
    petition: Petition, payload: dict[str, Any], *, dedup_key: str
) -> OutgoingMessage:
    """A message telling the citizen of a step of their petition, to the chat it came from
    (the petition has one: callers check ``channel`` and ``chat_id``)."""
    assert petition.channel is not None and petition.chat_id is not None
    return OutgoingMessage(
        channel=petition.channel,
        chat_id=petition.chat_id,
        kind=OutboxKind.PETITION_UPDATE,
        payload={"petition_id": petition.id, "tracking_code": petition.tracking_code, **payload},
        language=petition.language,
        dedup_key=dedup_key,
    )


class PetitionRepository:
    """Petitions: reading, submitting, and every step of their life cycle."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- reading ---------------------------------------------------------------------------

    async def get(self, petition_id: int) -> Petition | None:
        return await self.session.get(Petition, petition_id)

    async def by_code(self, text: str) -> Petition | None:
        """The petition of a tracking code however typed (``pakn 2026 123`` ...), or None."""
        parsed = parse_tracking_code(text)
        if parsed is None:
            return None
        year, seq = parsed
        result = await self.session.execute(
            select(Petition).where(Petition.year == year, Petition.seq == seq)
        )
        return result.scalar_one_or_none()

    async def attachments(self, petition_id: int) -> list[PetitionAttachment]:
        result = await self.session.execute(
            select(PetitionAttachment)
            .where(PetitionAttachment.petition_id == petition_id)
            .order_by(PetitionAttachment.id)
        )
        return list(result.scalars())

    async def latest_event_id(self, petition_id: int, action: str, note: str) -> int | None:
        """The newest event of ``action`` with exactly this ``note`` (e.g. an answer's text)."""
        result = await self.session.execute(
            select(PetitionEvent.id)
            .where(
                PetitionEvent.petition_id == petition_id,
                PetitionEvent.action == action,
                PetitionEvent.note == note,
            )
            .order_by(PetitionEvent.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def events(self, petition_id: int) -> list[PetitionEvent]:
        result = await self.session.execute(
            select(PetitionEvent)
            .where(PetitionEvent.petition_id == petition_id)
            .order_by(PetitionEvent.at, PetitionEvent.id)
        )
        return list(result.scalars())

    async def count_since(self, channel: str, chat_id: str, since: datetime) -> int:
        """Petitions a chat submitted since ``since`` (for the per-user limits)."""
        result = await self.session.execute(
            select(func.count())
            .select_from(Petition)
            .where(
                Petition.channel == channel,
                Petition.chat_id == str(chat_id),
                Petition.received_at >= since,
            )
        )
        return int(result.scalar_one())

    async def of_sender(self, channel: str, chat_id: str, limit: int = 10) -> list[Petition]:
        result = await self.session.execute(
            select(Petition)
            .where(Petition.channel == channel, Petition.chat_id == str(chat_id))
            .order_by(Petition.received_at.desc(), Petition.id.desc())
            .limit(limit)
        )
        return list(result.scalars())

    async def list_for_agency(
        self,
        agency_id: int,
        *,
        statuses: Sequence[str] | None = None,
        query: str | None = None,
        received_from: datetime | None = None,
        received_to: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Petition]:
        """An agency's petitions, newest first, optionally filtered."""
        stmt = select(Petition).where(Petition.agency_id == agency_id)
        if statuses:
            stmt = stmt.where(Petition.status.in_(list(statuses)))
        if received_from is not None:
            stmt = stmt.where(Petition.received_at >= received_from)
        if received_to is not None:
            stmt = stmt.where(Petition.received_at < received_to)
        if query and query.strip():
            needle = f"%{query.strip()}%"
            stmt = stmt.where(
                or_(
                    Petition.tracking_code.ilike(needle),
                    Petition.topic.ilike(needle),
                    Petition.content.ilike(needle),
                )
            )
        stmt = stmt.order_by(Petition.received_at.desc(), Petition.id.desc())
        result = await self.session.execute(stmt.limit(limit).offset(offset))
        return list(result.scalars())

    async def published(
        self, *, limit: int = 10, offset: int = 0, since: datetime | None = None
    ) -> list[Petition]:
        """Published petitions, newest first (read their ``public_*`` fields only)."""
        stmt = select(Petition).where(Petition.published_at.is_not(None))
        if since is not None:
            stmt = stmt.where(Petition.published_at >= since)
        stmt = stmt.order_by(Petition.published_at.desc(), Petition.id.desc())
        result = await self.session.execute(stmt.limit(limit).offset(offset))
        return list(result.scalars())

    async def count_published(self) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(Petition).where(Petition.published_at.is_not(None))
        )
        return int(result.scalar_one())

    # -- submitting -------------------------------------------------------------------------

    async def _by_idempotency_key(self, key: str) -> Petition | None:
        return await CitizenPetitionRepository(self.session).by_idempotency_key(key)

    async def _next_number(self, year: int) -> int:
        """The next tracking number of ``year``, in one statement (row-locked until commit)."""
        stmt = (
            upsert_insert(dialect_name(self.session), PetitionCounter)
            .values(year=year, last=1)
            .on_conflict_do_update(
                index_elements=[PetitionCounter.year],
                set_={"last": PetitionCounter.last + 1},
            )
            .returning(PetitionCounter.last)
        )
        result = await self.session.execute(stmt)
        return int(result.scalar_one())

    async def submit(
        self,
        draft: PetitionDraft,
        *,
        idempotency_key: str | None = None,
        now: datetime | None = None,
    ) -> SubmitResult:
        """Store a petition: number it, route it, set its deadlines, tell the agency's officials.

        With an ``idempotency_key`` already used, nothing is written and the stored petition is
        returned (``created=False``): a re-sent update or a double tap gives the same code.
        """
        if idempotency_key is not None:
            existing = await self._by_idempotency_key(idempotency_key)
            if existing is not None:
                return SubmitResult(existing, created=False)
        now = now or utcnow()
        agency = await AgencyRepository(self.session).route(draft.procedure_code, draft.sector)
        deadlines = petition_deadlines(now)
        try:
            async with self.session.begin_nested():
                year = to_local(now).year
                number = await self._next_number(year)
                petition = Petition(
                    tracking_code=format_tracking_code(year, number),
                    year=year,
                    seq=number,
                    idempotency_key=idempotency_key,
                    source=draft.source,
                    channel=draft.channel,
                    chat_id=str(draft.chat_id) if draft.chat_id is not None else None,
                    language=draft.language,
                    topic_kind=draft.topic_kind,
                    procedure_code=draft.procedure_code,
                    sector=draft.sector,
                    topic=draft.topic[:500],
                    content=draft.content,
                    sender_name=draft.sender_name,
                    phone=draft.phone,
                    email=draft.email,
                    address=draft.address,
                    latitude=draft.latitude,
                    longitude=draft.longitude,
                    agency_id=agency.id,
                    status=PetitionStatus.RECEIVED,
                    received_at=now,
                    refuse_by=deadlines.refuse_by,
                    info_by=deadlines.first_info_request_by,
                    answer_by=deadlines.answer_by,
                    updated_at=now,
                )
                self.session.add(petition)
                await self.session.flush()
        except IntegrityError:
            if idempotency_key is None:
                raise
            existing = await self._by_idempotency_key(idempotency_key)
            if existing is None:
                raise
            return SubmitResult(existing, created=False)
        self._add_attachments(petition, draft.attachments, now)
        await self._event(petition, PetitionAction.SUBMITTED, actor=EventActor.CITIZEN, at=now)
        await self._notify_officials(petition, reason=PetitionAction.SUBMITTED)
        return SubmitResult(petition, created=True)

    # -- the life cycle ---------------------------------------------------------------------

    async def _event(
        self,
        petition: Petition,
        action: str,
        *,
        actor: str,
        official: Official | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> PetitionEvent:
        event = PetitionEvent(
            petition_id=petition.id,
            action=action,
            actor=actor,
            official_id=official.id if official else None,
            note=note,
            at=at or utcnow(),
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def _notify_citizen(self, petition: Petition, event: PetitionEvent) -> None:
        if petition.channel is None or petition.chat_id is None:
            return  # filed through Open311: the filing system polls requests/{id}.json
        payload = {"action": event.action, "note": event.note}
        await enqueue(
            self.session,
            [citizen_update(petition, payload, dedup_key=f"petition-event:{event.id}")],
        )

    async def _notify_officials(
        self, petition: Petition, *, reason: str, event: PetitionEvent | None = None
    ) -> None:
        """Tell the agency's officials; a re-route's notices are keyed by its event, so a
        petition sent back to an agency that had it before is announced there again."""
        officials = await OfficialRepository(self.session).of_agency(petition.agency_id)
        await enqueue(
            self.session,
            [
                _official_notice(
                    petition,
                    official,
                    reason=reason,
                    dedup_key=(
                        f"petition-rerouted:{event.id}:{official.id}"
                        if event is not None
                        else f"petition-new:{petition.id}:{petition.agency_id}:{official.id}"
                    ),
                )
                for official in officials
            ],
        )

    def _add_attachments(
        self, petition: Petition, attachments: Sequence[AttachmentDraft], now: datetime
    ) -> None:
        for attachment in attachments:
            self.session.add(
                PetitionAttachment(
                    petition_id=petition.id,
                    kind=attachment.kind,
                    file_id=attachment.file_id,
                    file_name=attachment.file_name,
                    mime_type=attachment.mime_type,
                    size=attachment.size,
                    created_at=now,
                )
            )

    async def _change_status(self, petition: Petition, new_status: str, now: datetime) -> None:
        """Compare-and-set: the status (and agency) read earlier must still be the stored ones.

        Two officials pressing "Take" at once, or an answer crossing a re-route: the second
        UPDATE waits for the first transaction's lock, then matches no row, and its caller gets
        ``wrong_status`` instead of silently overwriting the first one's change.
        """
        result = await self.session.execute(
            update(Petition)
            .where(
                Petition.id == petition.id,
                Petition.status == petition.status,
                Petition.agency_id == petition.agency_id,
            )
            .values(status=new_status, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result) != 1:
            await self.session.refresh(petition)
            raise PetitionError(Refusal.WRONG_STATUS)
        petition.status = new_status
        petition.updated_at = now

    async def _step(
        self,
        petition: Petition,
        official: Official,
        action: PetitionAction,
        *,
        note: str | None = None,
        via: str,
        now: datetime | None = None,
    ) -> PetitionEvent:
        """One of ``OFFICIAL_STEPS`` by ``official``: checked by ``step_refusal``, then the
        status, the event, the audit entry and the citizen's message."""
        refusal = step_refusal(official, petition, action)
        if refusal is not None:
            raise PetitionError(refusal)
        now = now or utcnow()
        await self._change_status(petition, OFFICIAL_STEPS[action].new_status, now)
        event = await self._event(
            petition, action, actor=EventActor.OFFICIAL, official=official, note=note, at=now
        )
        await AuditRepository(self.session).record(
            action, official=official, petition_id=petition.id, via=via, at=now
        )
        if action in CITIZEN_NOTIFIED:
            await self._notify_citizen(petition, event)
        return event

    async def take(
        self, petition: Petition, official: Official, *, via: str, now: datetime | None = None
    ) -> PetitionEvent:
        """An officer takes the petition (it becomes theirs; the citizen is told it is being
        handled)."""
        event = await self._step(
            petition,
            official,
            PetitionAction.TAKEN,
            via=via,
            now=now,
        )
        petition.assigned_to = official.id
        petition.taken_at = event.at
        return event

    async def request_info(
        self,
        petition: Petition,
        official: Official,
        question: str,
        *,
        via: str,
        now: datetime | None = None,
    ) -> PetitionEvent:
        """Ask the citizen for more information (the petition waits for the answer)."""
        if not question.strip():
            raise PetitionError(Refusal.EMPTY_TEXT)
        event = await self._step(
            petition,
            official,
            PetitionAction.INFO_REQUEST,
            note=question.strip(),
            via=via,
            now=now,
        )
        if petition.assigned_to is None:
            petition.assigned_to = official.id
            petition.taken_at = event.at
        return event

    async def provide_info(
        self,
        petition: Petition,
        text: str,
        *,
        attachments: Sequence[AttachmentDraft] = (),
        now: datetime | None = None,
    ) -> PetitionEvent:
        """The citizen's reply to a request for information; the assigned officer (else the
        agency's officials) is told."""
        refusal = reply_refusal(petition)
        if refusal is not None:
            raise PetitionError(refusal)
        if not text.strip() and not attachments:
            raise PetitionError(Refusal.EMPTY_TEXT)
        now = now or utcnow()
        await self._change_status(petition, CITIZEN_REPLY.new_status, now)
        self._add_attachments(petition, attachments, now)
        event = await self._event(
            petition,
            PetitionAction.INFO_PROVIDED,
            actor=EventActor.CITIZEN,
            note=text.strip(),
            at=now,
        )
        officials = OfficialRepository(self.session)
        recipients: list[Official] = []
        if petition.assigned_to is not None:
            assigned = await officials.get(petition.assigned_to)
            if assigned is not None and can_act_on(assigned, petition):
                recipients = [assigned]
        if not recipients:
            recipients = await officials.of_agency(petition.agency_id)
        await enqueue(
            self.session,
            [
                _official_notice(
                    petition,
                    o,
                    reason=PetitionAction.INFO_PROVIDED,
                    dedup_key=f"petition-info:{event.id}:{o.id}",
                )
                for o in recipients
            ],
        )
        return event

    async def answer(
        self,
        petition: Petition,
        official: Official,
        text: str,
        *,
        via: str,
        now: datetime | None = None,
    ) -> PetitionEvent:
        """The agency's answer; it awaits publication (within 2 working days)."""
        if not text.strip():
            raise PetitionError(Refusal.EMPTY_TEXT)
        event = await self._step(
            petition,
            official,
            PetitionAction.ANSWER,
            note=text.strip(),
            via=via,
            now=now,
        )
        petition.answer = text.strip()
        petition.answered_at = event.at
        petition.publish_by = publish_by(event.at)
        if petition.assigned_to is None:
            petition.assigned_to = official.id
        return event

    async def refuse(
        self,
        petition: Petition,
        official: Official,
        reason: str,
        *,
        via: str,
        now: datetime | None = None,
    ) -> PetitionEvent:
        """Refuse the petition, with the reason the citizen is given."""
        if not reason.strip():
            raise PetitionError(Refusal.EMPTY_TEXT)
        event = await self._step(
            petition,
            official,
            PetitionAction.REFUSAL,
            note=reason.strip(),
            via=via,
            now=now,
        )
        petition.refused_at = event.at
        petition.refusal_reason = reason.strip()
        return event

    async def publish(
        self, petition: Petition, official: Official, *, via: str, now: datetime | None = None
    ) -> PetitionEvent:
        """Publish the answer: the public copies have the sender's personal data removed."""
        event = await self._step(
            petition,
            official,
            PetitionAction.PUBLICATION,
            via=via,
            now=now,
        )
        petition.published_at = event.at
        petition.public_content, petition.public_answer = public_copies(
            petition, petition.content, petition.answer
        )
        return event

    async def reroute(
        self,
        petition: Petition,
        official: Official | None,
        agency: Agency,
        *,
        via: str,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> PetitionEvent:
        """Send the petition to another agency (an admin of its current agency, or the CLI when
        ``official`` is None). It starts again there as received, unassigned."""
        refusal = reroute_refusal(official, petition, agency.id)
        if refusal is not None:
            raise PetitionError(refusal)
        now = now or utcnow()
        old_agency = petition.agency_id
        await self._change_status(petition, REROUTE.new_status, now)
        petition.agency_id = agency.id
        petition.assigned_to = None
        event = await self._event(
            petition,
            PetitionAction.REROUTED,
            actor=EventActor.OFFICIAL if official else EventActor.SYSTEM,
            official=official,
            note=reason,
            at=now,
        )
        await AuditRepository(self.session).record(
            AuditAction.REROUTE,
            official=official,
            actor=None if official else "cli",
            petition_id=petition.id,
            via=via,
            at=now,
            details={"from_agency_id": old_agency, "to_agency_id": agency.id},
        )
        await self._notify_officials(petition, reason=PetitionAction.REROUTED, event=event)
        return event

    async def record_view(
        self,
        petition: Petition,
        official: Official,
        *,
        via: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Audit an official's look at a petition (whatever they were allowed to see)."""
        await AuditRepository(self.session).record(
            AuditAction.VIEW,
            official=official,
            petition_id=petition.id,
            via=via,
            details={"personal_data": can_see_personal_data(official, petition), **(details or {})},
        )
