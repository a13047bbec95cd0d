"""Petitions (phản ánh, kiến nghị): agencies, officials and their invitations, the petitions
themselves with their life cycle, and the audit log.

Like every repository here, nothing commits: the caller owns the transaction. Every change of a
petition writes, in the same transaction, its event, an audit entry and the messages it causes
(to the citizen, to the agency's officials) into the outbox; so a change and its notifications
are recorded together or not at all, and each message is sent once (``dedup_key``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.petitions import (
    format_tracking_code,
    parse_tracking_code,
    petition_deadlines,
    publish_by,
    redact_personal_data,
    sender_strings,
)
from knowledge.workdays import to_local
from storage.models import (
    Agency,
    AuditEntry,
    InboxToken,
    Official,
    OfficialInvitation,
    Petition,
    PetitionAttachment,
    PetitionCounter,
    PetitionEvent,
    utcnow,
)
from storage.outbox import OutgoingMessage, enqueue

# Outbox kinds (renderers live in handlers/): a new or re-routed petition for an official, and a
# step of the citizen's petition for the citizen.
KIND_PETITION_NEW = "petition_new"
KIND_PETITION_UPDATE = "petition_update"

ROLE_ADMIN = "admin"
ROLE_OFFICER = "officer"
ROLES = (ROLE_ADMIN, ROLE_OFFICER)

# Petition statuses
RECEIVED = "received"
IN_PROGRESS = "in_progress"
INFO_REQUESTED = "info_requested"
ANSWERED = "answered"
PUBLISHED = "published"
REFUSED = "refused"
STATUSES = (RECEIVED, IN_PROGRESS, INFO_REQUESTED, ANSWERED, PUBLISHED, REFUSED)
OPEN_STATUSES = (RECEIVED, IN_PROGRESS, INFO_REQUESTED)
CLOSED_STATUSES = (ANSWERED, PUBLISHED, REFUSED)

# Event actions (petition_events.action, also the citizen notification's "action")
SUBMITTED = "submitted"
TAKEN = "taken"
INFO_REQUEST = "info_requested"
INFO_PROVIDED = "info_provided"
ANSWER = "answered"
REFUSAL = "refused"
PUBLICATION = "published"
REROUTED = "rerouted"

# Which actions the citizen is told about (through the outbox)
CITIZEN_NOTIFIED = frozenset({TAKEN, INFO_REQUEST, ANSWER, REFUSAL, PUBLICATION})

INVITATION_TTL = timedelta(days=7)
_INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


class PetitionError(Exception):
    """A change that is not allowed: ``code`` says why (for a message to the official)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- agencies ---------------------------------------------------------------------------------


def _base_code(code: str) -> str:
    """A procedure code without its province suffix: 1.012753.H19 -> 1.012753."""
    parts = code.strip().split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and parts[0].isdigit() else code.strip()


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


DEFAULT_AGENCY_CODE = "tiep-nhan-chung"
DEFAULT_AGENCY_NAME = "Bộ phận tiếp nhận phản ánh, kiến nghị"


class AgencyRepository:
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
    ) -> Agency:
        """Create the agency ``code``, or update it (its lists are replaced)."""
        agency = await self.by_code(code)
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
        return agency

    async def get(self, agency_id: int) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    async def by_code(self, code: str) -> Agency | None:
        result = await self.session.execute(select(Agency).where(Agency.code == code))
        return result.scalar_one_or_none()

    async def list(self) -> list[Agency]:
        result = await self.session.execute(select(Agency).order_by(Agency.name, Agency.id))
        return list(result.scalars())

    async def default(self) -> Agency:
        """The agency for petitions no other agency answers for (created on first need)."""
        result = await self.session.execute(
            select(Agency).where(Agency.is_default.is_(True)).limit(1)
        )
        agency = result.scalar_one_or_none()
        if agency is None:
            agency = await self.by_code(DEFAULT_AGENCY_CODE)
        if agency is None:
            agency = await self.save(DEFAULT_AGENCY_CODE, DEFAULT_AGENCY_NAME, is_default=True)
        return agency

    async def route(self, procedure_code: str | None, sector: str | None) -> Agency:
        """The agency answering for a procedure (exact code, then national code without the
        province suffix), else for its sector, else the default agency."""
        agencies = await self.list()
        if procedure_code:
            wanted = procedure_code.strip().upper()
            for agency in agencies:
                if wanted in (c.upper() for c in agency.procedure_codes):
                    return agency
            base = _base_code(wanted)
            for agency in agencies:
                if base in (_base_code(c.upper()) for c in agency.procedure_codes):
                    return agency
        if sector:
            wanted_sector = _fold(sector)
            for agency in agencies:
                if wanted_sector in (_fold(s) for s in agency.sectors):
                    return agency
        return await self.default()


# --- officials and invitations -------------------------------------------------------------------


def new_invitation_code() -> str:
    raw = "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(12))
    return f"MOI-{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_invitation_code(text: str) -> str:
    """What a typed invitation code is compared as (case, spaces and dashes do not matter)."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if cleaned.startswith("MOI"):
        cleaned = cleaned[3:]
    return cleaned


class OfficialRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, official_id: int) -> Official | None:
        return await self.session.get(Official, official_id)

    async def by_chat(self, channel: str, chat_id: str) -> Official | None:
        """The active official behind a chat, or None."""
        result = await self.session.execute(
            select(Official).where(
                Official.channel == channel,
                Official.chat_id == str(chat_id),
                Official.active.is_(True),
            )
        )
        return result.scalar_one_or_none()

    async def of_agency(self, agency_id: int, *, roles: Sequence[str] = ROLES) -> list[Official]:
        result = await self.session.execute(
            select(Official)
            .where(
                Official.agency_id == agency_id,
                Official.active.is_(True),
                Official.role.in_(list(roles)),
            )
            .order_by(Official.id)
        )
        return list(result.scalars())

    async def create_invitation(
        self,
        agency_id: int,
        role: str,
        *,
        created_by: Official | None = None,
        ttl: timedelta = INVITATION_TTL,
        via: str = "cli",
        now: datetime | None = None,
    ) -> tuple[str, OfficialInvitation]:
        """A one-time enrolment code (shown once; only its hash is kept)."""
        if role not in ROLES:
            raise PetitionError("bad_role")
        if created_by is not None and (
            created_by.role != ROLE_ADMIN or created_by.agency_id != agency_id
        ):
            raise PetitionError("not_allowed")
        now = now or utcnow()
        code = new_invitation_code()
        invitation = OfficialInvitation(
            code_hash=sha256(normalize_invitation_code(code)),
            agency_id=agency_id,
            role=role,
            created_by=created_by.id if created_by else None,
            created_at=now,
            expires_at=now + ttl,
        )
        self.session.add(invitation)
        await self.session.flush()
        await AuditRepository(self.session).record(
            "invite_create",
            official=created_by,
            via=via,
            details={"agency_id": agency_id, "role": role, "invitation_id": invitation.id},
        )
        return code, invitation

    async def enroll(
        self,
        code: str,
        *,
        channel: str,
        chat_id: str,
        display_name: str = "",
        language: str | None = None,
        now: datetime | None = None,
    ) -> Official:
        """Use an invitation: the chat becomes (or is moved to) an official of its agency.

        Raises ``PetitionError("invitation_invalid")`` for an unknown, used or expired code; the
        same error for all three, so that guessing learns nothing.
        """
        now = now or utcnow()
        normalized = normalize_invitation_code(code)
        if len(normalized) != 12:
            raise PetitionError("invitation_invalid")
        result = await self.session.execute(
            select(OfficialInvitation)
            .where(OfficialInvitation.code_hash == sha256(normalized))
            .with_for_update()
        )
        invitation = result.scalar_one_or_none()
        if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
            raise PetitionError("invitation_invalid")
        if invitation.created_by is not None:
            # An admin's codes are good only while the admin still is one of that agency: a
            # removed (or moved) admin must not get back in with a code kept for later.
            creator = await self.get(invitation.created_by)
            if (
                creator is None
                or not creator.active
                or creator.role != ROLE_ADMIN
                or creator.agency_id != invitation.agency_id
            ):
                raise PetitionError("invitation_invalid")
        claimed = await self.session.execute(
            update(OfficialInvitation)
            .where(OfficialInvitation.id == invitation.id, OfficialInvitation.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:  # used at the same moment by someone else
            raise PetitionError("invitation_invalid")
        existing = await self.session.execute(
            select(Official).where(Official.channel == channel, Official.chat_id == str(chat_id))
        )
        official = existing.scalar_one_or_none()
        if official is None:
            official = Official(channel=channel, chat_id=str(chat_id))
            self.session.add(official)
        official.agency_id = invitation.agency_id
        official.role = invitation.role
        official.display_name = display_name[:255]
        official.language = language
        official.active = True
        await self.session.flush()
        invitation.used_by = official.id
        await AuditRepository(self.session).record(
            "enroll",
            official=official,
            via=channel,
            details={"invitation_id": invitation.id, "role": official.role},
        )
        return official

    async def deactivate(self, official_id: int, *, by: Official | None = None) -> bool:
        official = await self.get(official_id)
        if official is None:
            return False
        official.active = False
        await AuditRepository(self.session).record(
            "deactivate",
            official=by,
            via="cli" if by is None else by.channel,
            details={"official_id": official_id},
        )
        return True


# --- the audit log -----------------------------------------------------------------------------


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        action: str,
        *,
        official: Official | None = None,
        actor: str | None = None,
        petition_id: int | None = None,
        via: str,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append one entry: who (an official, or ``actor`` such as "cli" or "api:<prefix>")
        did ``action`` ("view", "take", "answer", "export", "login", ...) through ``via``."""
        self.session.add(
            AuditEntry(
                at=at or utcnow(),
                official_id=official.id if official else None,
                actor=actor or (f"official:{official.id}" if official else "system"),
                action=action,
                petition_id=petition_id,
                via=via,
                details=details,
            )
        )
        await self.session.flush()

    async def for_petition(self, petition_id: int) -> list[AuditEntry]:
        result = await self.session.execute(
            select(AuditEntry)
            .where(AuditEntry.petition_id == petition_id)
            .order_by(AuditEntry.at, AuditEntry.id)
        )
        return list(result.scalars())

    async def recent(self, limit: int = 100) -> list[AuditEntry]:
        result = await self.session.execute(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        )
        return list(result.scalars())


# --- petitions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentDraft:
    kind: str  # "photo" | "document" | "url"
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


def can_see_personal_data(official: Official | None, petition: Petition) -> bool:
    """Officials see the sender's name, phone, e-mail and address only for their own agency."""
    return official is not None and official.active and official.agency_id == petition.agency_id


def public_names(petition: Petition) -> list[str]:
    """The strings :func:`redact_personal_data` must mask in anything public about it."""
    return sender_strings(petition.sender_name, petition.address, petition.phone, petition.email)


def can_act_on(official: Official | None, petition: Petition) -> bool:
    return can_see_personal_data(official, petition)


def local_today(now: datetime | None = None) -> date:
    return to_local(now or datetime.now(UTC)).date()


class PetitionRepository:
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
        result = await self.session.execute(select(Petition).where(Petition.idempotency_key == key))
        return result.scalar_one_or_none()

    async def _next_number(self, year: int) -> int:
        """The next tracking number of ``year``, in one statement (row-locked until commit)."""
        dialect = self.session.get_bind().dialect.name
        insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert_fn(PetitionCounter)
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
                    status=RECEIVED,
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
        for attachment in draft.attachments:
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
        await self._event(petition, SUBMITTED, actor="citizen", at=now)
        await self._notify_officials(petition, reason=SUBMITTED)
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
        await enqueue(
            self.session,
            [
                OutgoingMessage(
                    channel=petition.channel,
                    chat_id=petition.chat_id,
                    kind=KIND_PETITION_UPDATE,
                    payload={
                        "petition_id": petition.id,
                        "tracking_code": petition.tracking_code,
                        "action": event.action,
                        "note": event.note,
                    },
                    language=petition.language,
                    dedup_key=f"petition-event:{event.id}",
                )
            ],
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
                OutgoingMessage(
                    channel=official.channel,
                    chat_id=official.chat_id,
                    kind=KIND_PETITION_NEW,
                    payload={
                        "petition_id": petition.id,
                        "tracking_code": petition.tracking_code,
                        "official_id": official.id,
                        "reason": reason,
                    },
                    language=official.language,
                    dedup_key=(
                        f"petition-rerouted:{event.id}:{official.id}"
                        if event is not None
                        else f"petition-new:{petition.id}:{petition.agency_id}:{official.id}"
                    ),
                )
                for official in officials
            ],
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
        if result.rowcount != 1:
            await self.session.refresh(petition)
            raise PetitionError("wrong_status")
        petition.status = new_status
        petition.updated_at = now

    async def _step(
        self,
        petition: Petition,
        official: Official,
        action: str,
        *,
        allowed_from: Sequence[str],
        new_status: str,
        note: str | None = None,
        via: str,
        now: datetime | None = None,
    ) -> PetitionEvent:
        if not can_act_on(official, petition):
            raise PetitionError("not_allowed")
        if petition.status not in allowed_from:
            raise PetitionError("wrong_status")
        now = now or utcnow()
        await self._change_status(petition, new_status, now)
        event = await self._event(
            petition, action, actor="official", official=official, note=note, at=now
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
            TAKEN,
            allowed_from=(RECEIVED,),
            new_status=IN_PROGRESS,
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
            raise PetitionError("empty_text")
        event = await self._step(
            petition,
            official,
            INFO_REQUEST,
            allowed_from=(RECEIVED, IN_PROGRESS),
            new_status=INFO_REQUESTED,
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
        if petition.status != INFO_REQUESTED:
            raise PetitionError("wrong_status")
        if not text.strip() and not attachments:
            raise PetitionError("empty_text")
        now = now or utcnow()
        await self._change_status(petition, IN_PROGRESS, now)
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
        event = await self._event(
            petition, INFO_PROVIDED, actor="citizen", note=text.strip(), at=now
        )
        recipients: list[Official] = []
        if petition.assigned_to is not None:
            assigned = await OfficialRepository(self.session).get(petition.assigned_to)
            if assigned is not None and can_act_on(assigned, petition):
                recipients = [assigned]
        if not recipients:
            recipients = await OfficialRepository(self.session).of_agency(petition.agency_id)
        await enqueue(
            self.session,
            [
                OutgoingMessage(
                    channel=o.channel,
                    chat_id=o.chat_id,
                    kind=KIND_PETITION_NEW,
                    payload={
                        "petition_id": petition.id,
                        "tracking_code": petition.tracking_code,
                        "official_id": o.id,
                        "reason": INFO_PROVIDED,
                    },
                    language=o.language,
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
            raise PetitionError("empty_text")
        event = await self._step(
            petition,
            official,
            ANSWER,
            allowed_from=OPEN_STATUSES,
            new_status=ANSWERED,
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
            raise PetitionError("empty_text")
        event = await self._step(
            petition,
            official,
            REFUSAL,
            allowed_from=OPEN_STATUSES,
            new_status=REFUSED,
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
            PUBLICATION,
            allowed_from=(ANSWERED,),
            new_status=PUBLISHED,
            via=via,
            now=now,
        )
        # every personal string of the sender (name, address and its house number, phone
        # however written, e-mail), in the petition and in the official's answer alike
        names = public_names(petition)
        petition.published_at = event.at
        petition.public_content = redact_personal_data(petition.content, names=names)
        petition.public_answer = redact_personal_data(petition.answer or "", names=names)
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
        if official is not None and (
            official.role != ROLE_ADMIN or not can_act_on(official, petition)
        ):
            raise PetitionError("not_allowed")
        if petition.status not in OPEN_STATUSES:
            raise PetitionError("wrong_status")
        if agency.id == petition.agency_id:
            raise PetitionError("same_agency")
        now = now or utcnow()
        old_agency = petition.agency_id
        await self._change_status(petition, RECEIVED, now)
        petition.agency_id = agency.id
        petition.assigned_to = None
        event = await self._event(
            petition,
            REROUTED,
            actor="official" if official else "system",
            official=official,
            note=reason,
            at=now,
        )
        await AuditRepository(self.session).record(
            "reroute",
            official=official,
            actor=None if official else "cli",
            petition_id=petition.id,
            via=via,
            at=now,
            details={"from_agency_id": old_agency, "to_agency_id": agency.id},
        )
        await self._notify_officials(petition, reason=REROUTED, event=event)
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
            "view",
            official=official,
            petition_id=petition.id,
            via=via,
            details={"personal_data": can_see_personal_data(official, petition), **(details or {})},
        )


# --- inbox sign-in tokens ------------------------------------------------------------------------

LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)


class InboxTokenRepository:
    """One-time sign-in links and signed-in sessions of the officials' inbox page."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(
        self, official: Official, *, kind: str, ttl: timedelta, now: datetime | None = None
    ) -> str:
        now = now or utcnow()
        token = secrets.token_urlsafe(32)
        self.session.add(
            InboxToken(
                token_hash=sha256(token),
                kind=kind,
                official_id=official.id,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        await self.session.flush()
        return token

    async def redeem_link(self, token: str, *, now: datetime | None = None) -> Official | None:
        """Use a sign-in link once; the official it was issued to (still active), or None."""
        now = now or utcnow()
        result = await self.session.execute(
            update(InboxToken)
            .where(
                InboxToken.token_hash == sha256(token),
                InboxToken.kind == "link",
                InboxToken.used_at.is_(None),
                InboxToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(InboxToken.official_id)
        )
        official_id = result.scalar_one_or_none()
        if official_id is None:
            return None
        official = await OfficialRepository(self.session).get(official_id)
        return official if official is not None and official.active else None

    async def session_official(self, token: str, *, now: datetime | None = None) -> Official | None:
        now = now or utcnow()
        result = await self.session.execute(
            select(InboxToken.official_id).where(
                and_(
                    InboxToken.token_hash == sha256(token),
                    InboxToken.kind == "session",
                    InboxToken.used_at.is_(None),
                    InboxToken.expires_at > now,
                )
            )
        )
        official_id = result.scalar_one_or_none()
        if official_id is None:
            return None
        official = await OfficialRepository(self.session).get(official_id)
        return official if official is not None and official.active else None

    async def end_session(self, token: str, *, now: datetime | None = None) -> None:
        await self.session.execute(
            update(InboxToken)
            .where(InboxToken.token_hash == sha256(token), InboxToken.kind == "session")
            .values(used_at=now or utcnow())
        )

    async def purge(self, older_than: datetime) -> None:
        await self.session.execute(delete(InboxToken).where(InboxToken.expires_at < older_than))
