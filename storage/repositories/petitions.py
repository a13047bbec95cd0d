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
    Petition,
    PetitionAttachment,
    PetitionCounter,
    PetitionEvent,
    utcnow,
)
from storage.outbox import OutgoingMessage, enqueue
from storage.records import (
    AgencyRecord,
    AttachmentRecord,
    EventRecord,
    OfficialRecord,
    PetitionChange,
    PetitionRecord,
)
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
    petition: PetitionRecord
    created: bool  # False: the same submission (idempotency key) was already stored


def _official_notice(
    petition: PetitionRecord, official: OfficialRecord, *, reason: str, dedup_key: str
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
    petition: PetitionRecord, payload: dict[str, Any], *, dedup_key: str
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

    async def get(self, petition_id: int) -> PetitionRecord | None:
        row = await self.session.get(Petition, petition_id)
        return PetitionRecord.of(row) if row is not None else None

    async def by_code(self, text: str) -> PetitionRecord | None:
        """The petition of a tracking code however typed (``pakn 2026 123`` ...), or None."""
        parsed = parse_tracking_code(text)
        if parsed is None:
            return None
        year, seq = parsed
        result = await self.session.execute(
            select(Petition).where(Petition.year == year, Petition.seq == seq)
        )
        row = result.scalar_one_or_none()
        return PetitionRecord.of(row) if row is not None else None

    async def attachments(self, petition_id: int) -> list[AttachmentRecord]:
        result = await self.session.execute(
            select(PetitionAttachment)
            .where(PetitionAttachment.petition_id == petition_id)
            .order_by(PetitionAttachment.id)
        )
        return [AttachmentRecord.of(row) for row in result.scalars()]

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

    async def events(self, petition_id: int) -> list[EventRecord]:
        result = await self.session.execute(
            select(PetitionEvent)
            .where(PetitionEvent.petition_id == petition_id)
            .order_by(PetitionEvent.at, PetitionEvent.id)
        )
        return [EventRecord.of(row) for row in result.scalars()]

    async def event(self, event_id: int) -> EventRecord | None:
        row = await self.session.get(PetitionEvent, event_id)
        return EventRecord.of(row) if row is not None else None

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

    async def of_sender(self, channel: str, chat_id: str, limit: int = 10) -> list[PetitionRecord]:
        result = await self.session.execute(
            select(Petition)
            .where(Petition.channel == channel, Petition.chat_id == str(chat_id))
            .order_by(Petition.received_at.desc(), Petition.id.desc())
            .limit(limit)
        )
        return [PetitionRecord.of(row) for row in result.scalars()]

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
    ) -> list[PetitionRecord]:
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
        return [PetitionRecord.of(row) for row in result.scalars()]

    async def published(
        self, *, limit: int = 10, offset: int = 0, since: datetime | None = None
    ) -> list[PetitionRecord]:
        """Published petitions, newest first (read their ``public_*`` fields only)."""
        stmt = select(Petition).where(Petition.published_at.is_not(None))
        if since is not None:
            stmt = stmt.where(Petition.published_at >= since)
        stmt = stmt.order_by(Petition.published_at.desc(), Petition.id.desc())
        result = await self.session.execute(stmt.limit(limit).offset(offset))
        return [PetitionRecord.of(row) for row in result.scalars()]

    async def count_published(self) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(Petition).where(Petition.published_at.is_not(None))
        )
        return int(result.scalar_one())

    # -- submitting -------------------------------------------------------------------------

    async def _by_idempotency_key(self, key: str) -> PetitionRecord | None:
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
        self._add_attachments(petition.id, draft.attachments, now)
        await self._event(petition.id, PetitionAction.SUBMITTED, actor=EventActor.CITIZEN, at=now)
        stored = PetitionRecord.of(petition)
        await self._notify_officials(stored, reason=PetitionAction.SUBMITTED)
        return SubmitResult(stored, created=True)

    # -- the life cycle ---------------------------------------------------------------------

    async def _event(
        self,
        petition_id: int,
        action: str,
        *,
        actor: str,
        official: OfficialRecord | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> EventRecord:
        event = PetitionEvent(
            petition_id=petition_id,
            action=action,
            actor=actor,
            official_id=official.id if official else None,
            note=note,
            at=at or utcnow(),
        )
        self.session.add(event)
        await self.session.flush()
        return EventRecord.of(event)

    async def _notify_citizen(self, petition: PetitionRecord, event: EventRecord) -> None:
        if petition.channel is None or petition.chat_id is None:
            return  # filed through Open311: the filing system polls requests/{id}.json
        payload = {"action": event.action, "note": event.note}
        await enqueue(
            self.session,
            [citizen_update(petition, payload, dedup_key=f"petition-event:{event.id}")],
        )

    async def _notify_officials(
        self, petition: PetitionRecord, *, reason: str, event: EventRecord | None = None
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
        self, petition_id: int, attachments: Sequence[AttachmentDraft], now: datetime
    ) -> None:
        for attachment in attachments:
            self.session.add(
                PetitionAttachment(
                    petition_id=petition_id,
                    kind=attachment.kind,
                    file_id=attachment.file_id,
                    file_name=attachment.file_name,
                    mime_type=attachment.mime_type,
                    size=attachment.size,
                    created_at=now,
                )
            )

    async def _change_status(
        self, petition: PetitionRecord, new_status: str, now: datetime
    ) -> Petition:
        """Compare-and-set: the status (and agency) the caller read must still be the stored
        ones; then the row, read again under the lock, for the step to complete.

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
            raise PetitionError(Refusal.WRONG_STATUS)
        row = await self.session.get(Petition, petition.id, populate_existing=True)
        assert row is not None  # the UPDATE above just matched it
        return row

    async def _step(
        self,
        petition: PetitionRecord,
        official: OfficialRecord,
        action: PetitionAction,
        *,
        note: str | None = None,
        via: str,
        now: datetime | None = None,
    ) -> tuple[Petition, EventRecord]:
        """One of ``OFFICIAL_STEPS`` by ``official``: checked by ``step_refusal``, then the
        status, the event, the audit entry and the citizen's message; the row, for the step's
        own fields, and the event."""
        refusal = step_refusal(official, petition, action)
        if refusal is not None:
            raise PetitionError(refusal)
        now = now or utcnow()
        row = await self._change_status(petition, OFFICIAL_STEPS[action].new_status, now)
        event = await self._event(
            row.id, action, actor=EventActor.OFFICIAL, official=official, note=note, at=now
        )
        await AuditRepository(self.session).record(
            action, official=official, petition_id=row.id, via=via, at=now
        )
        if action in CITIZEN_NOTIFIED:
            await self._notify_citizen(petition, event)
        return row, event

    async def take(
        self,
        petition: PetitionRecord,
        official: OfficialRecord,
        *,
        via: str,
        now: datetime | None = None,
    ) -> PetitionChange:
        """An officer takes the petition (it becomes theirs; the citizen is told it is being
        handled)."""
        row, event = await self._step(petition, official, PetitionAction.TAKEN, via=via, now=now)
        row.assigned_to = official.id
        row.taken_at = event.at
        return PetitionChange(PetitionRecord.of(row), event)

    async def request_info(
        self,
        petition: PetitionRecord,
        official: OfficialRecord,
        question: str,
        *,
        via: str,
        now: datetime | None = None,
    ) -> PetitionChange:
        """Ask the citizen for more information (the petition waits for the answer)."""
        if not question.strip():
            raise PetitionError(Refusal.EMPTY_TEXT)
        row, event = await self._step(
            petition,
            official,
            PetitionAction.INFO_REQUEST,
            note=question.strip(),
            via=via,
            now=now,
        )
        if row.assigned_to is None:
            row.assigned_to = official.id
            row.taken_at = event.at
        return PetitionChange(PetitionRecord.of(row), event)

    async def provide_info(
        self,
        petition: PetitionRecord,
        text: str,
        *,
        attachments: Sequence[AttachmentDraft] = (),
        now: datetime | None = None,
    ) -> PetitionChange:
        """The citizen's reply to a request for information; the assigned officer (else the
        agency's officials) is told."""
        refusal = reply_refusal(petition)
        if refusal is not None:
            raise PetitionError(refusal)
        if not text.strip() and not attachments:
            raise PetitionError(Refusal.EMPTY_TEXT)
        now = now or utcnow()
        row = await self._change_status(petition, CITIZEN_REPLY.new_status, now)
        self._add_attachments(row.id, attachments, now)
        event = await self._event(
            row.id,
            PetitionAction.INFO_PROVIDED,
            actor=EventActor.CITIZEN,
            note=text.strip(),
            at=now,
        )
        current = PetitionRecord.of(row)
        officials = OfficialRepository(self.session)
        recipients: list[OfficialRecord] = []
        if current.assigned_to is not None:
            assigned = await officials.get(current.assigned_to)
            if assigned is not None and can_act_on(assigned, current):
                recipients = [assigned]
        if not recipients:
            recipients = await officials.of_agency(current.agency_id)
        await enqueue(
            self.session,
            [
                _official_notice(
                    current,
                    o,
                    reason=PetitionAction.INFO_PROVIDED,
                    dedup_key=f"petition-info:{event.id}:{o.id}",
                )
                for o in recipients
            ],
        )
        return PetitionChange(current, event)

    async def answer(
        self,
        petition: PetitionRecord,
        official: OfficialRecord,
        text: str,
        *,
        via: str,
        now: datetime | None = None,
    ) -> PetitionChange:
        """The agency's answer; it awaits publication (within 2 working days)."""
        if not text.strip():
            raise PetitionError(Refusal.EMPTY_TEXT)
        row, event = await self._step(
            petition,
            official,
            PetitionAction.ANSWER,
            note=text.strip(),
            via=via,
            now=now,
        )
        row.answer = text.strip()
        row.answered_at = event.at
        row.publish_by = publish_by(event.at)
        if row.assigned_to is None:
            row.assigned_to = official.id
        return PetitionChange(PetitionRecord.of(row), event)

    async def refuse(
        self,
        petition: PetitionRecord,
        official: OfficialRecord,
        reason: str,
        *,
        via: str,
        now: datetime | None = None,
    ) -> PetitionChange:
        """Refuse the petition, with the reason the citizen is given."""
        if not reason.strip():
            raise PetitionError(Refusal.EMPTY_TEXT)
        row, event = await self._step(
            petition,
            official,
            PetitionAction.REFUSAL,
            note=reason.strip(),
            via=via,
            now=now,
        )
        row.refused_at = event.at
        row.refusal_reason = reason.strip()
        return PetitionChange(PetitionRecord.of(row), event)

    async def publish(
        self,
        petition: PetitionRecord,
        official: OfficialRecord,
        *,
        via: str,
        now: datetime | None = None,
    ) -> PetitionChange:
        """Publish the answer: the public copies have the sender's personal data removed."""
        row, event = await self._step(
            petition, official, PetitionAction.PUBLICATION, via=via, now=now
        )
        row.published_at = event.at
        row.public_content, row.public_answer = public_copies(row, row.content, row.answer)
        return PetitionChange(PetitionRecord.of(row), event)

    async def reroute(
        self,
        petition: PetitionRecord,
        official: OfficialRecord | None,
        agency: AgencyRecord,
        *,
        via: str,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> PetitionChange:
        """Send the petition to another agency (an admin of its current agency, or the CLI when
        ``official`` is None). It starts again there as received, unassigned."""
        refusal = reroute_refusal(official, petition, agency.id)
        if refusal is not None:
            raise PetitionError(refusal)
        now = now or utcnow()
        row = await self._change_status(petition, REROUTE.new_status, now)
        row.agency_id = agency.id
        row.assigned_to = None
        event = await self._event(
            row.id,
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
            petition_id=row.id,
            via=via,
            at=now,
            details={"from_agency_id": petition.agency_id, "to_agency_id": agency.id},
        )
        current = PetitionRecord.of(row)
        await self._notify_officials(current, reason=PetitionAction.REROUTED, event=event)
        return PetitionChange(current, event)

    async def record_view(
        self,
        petition: PetitionRecord,
        official: OfficialRecord,
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
