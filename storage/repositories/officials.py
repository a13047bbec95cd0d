"""Officials of the agencies: enrolment with one-time invitation codes, the chat behind each
official, the failed enrolment attempts, and lists for the command line.

Failed enrolment attempts are kept in the audit log (action ``enroll_failed``, no official, the
chat as the actor), so the guess limit holds across processes and restarts, and the attempts are
on record next to every other security event. Like every repository here, nothing commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.petition_workflow import (
    ROLES,
    AuditAction,
    PetitionError,
    Refusal,
    invitation_refusal,
    inviter_still_entitled,
)
from storage.models import Agency, AuditEntry, Official, OfficialInvitation, utcnow
from storage.records import InvitationRecord, OfficialRecord
from storage.repositories.audit import AuditRepository
from storage.repositories.common import affected_rows, sha256_hex

INVITATION_TTL = timedelta(days=7)
_INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def chat_actor(channel: str, chat_id: str) -> str:
    """The audit actor of a chat that is not (yet) an official."""
    return f"chat:{channel}:{chat_id}"[:64]


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
    """Officials of the agencies, their enrolment by invitation, and the failed attempts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, official_id: int) -> OfficialRecord | None:
        row = await self.session.get(Official, official_id)
        return OfficialRecord.of(row) if row is not None else None

    async def by_chat(self, channel: str, chat_id: str) -> OfficialRecord | None:
        """The active official behind a chat, or None."""
        result = await self.session.execute(
            select(Official).where(
                Official.channel == channel,
                Official.chat_id == str(chat_id),
                Official.active.is_(True),
            )
        )
        row = result.scalar_one_or_none()
        return OfficialRecord.of(row) if row is not None else None

    async def of_agency(
        self, agency_id: int, *, roles: Sequence[str] = ROLES
    ) -> list[OfficialRecord]:
        result = await self.session.execute(
            select(Official)
            .where(
                Official.agency_id == agency_id,
                Official.active.is_(True),
                Official.role.in_(list(roles)),
            )
            .order_by(Official.id)
        )
        return [OfficialRecord.of(row) for row in result.scalars()]

    async def create_invitation(
        self,
        agency_id: int,
        role: str,
        *,
        created_by: OfficialRecord | None = None,
        ttl: timedelta = INVITATION_TTL,
        via: str = "cli",
        now: datetime | None = None,
    ) -> tuple[str, InvitationRecord]:
        """A one-time enrolment code (shown once; only its hash is kept)."""
        refusal = invitation_refusal(role, agency_id, created_by)
        if refusal is not None:
            raise PetitionError(refusal)
        now = now or utcnow()
        code = new_invitation_code()
        invitation = OfficialInvitation(
            code_hash=sha256_hex(normalize_invitation_code(code)),
            agency_id=agency_id,
            role=role,
            created_by=created_by.id if created_by else None,
            created_at=now,
            expires_at=now + ttl,
        )
        self.session.add(invitation)
        await self.session.flush()
        await AuditRepository(self.session).record(
            AuditAction.INVITE_CREATE,
            official=created_by,
            via=via,
            details={"agency_id": agency_id, "role": role, "invitation_id": invitation.id},
        )
        return code, InvitationRecord.of(invitation)

    async def enroll(
        self,
        code: str,
        *,
        channel: str,
        chat_id: str,
        display_name: str = "",
        language: str | None = None,
        now: datetime | None = None,
    ) -> OfficialRecord:
        """Use an invitation: the chat becomes (or is moved to) an official of its agency.

        Raises ``PetitionError("invitation_invalid")`` for an unknown, used or expired code; the
        same error for all three, so that guessing learns nothing.
        """
        now = now or utcnow()
        invitation = await self._claim_invitation(code, now)
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
        enrolled = OfficialRecord.of(official)
        await AuditRepository(self.session).record(
            AuditAction.ENROLL,
            official=enrolled,
            via=channel,
            details={"invitation_id": invitation.id, "role": official.role},
        )
        return enrolled

    async def _claim_invitation(self, code: str, now: datetime) -> OfficialInvitation:
        """The invitation of ``code``, marked used; ``invitation_invalid`` for an unknown, used
        or expired code, or one whose admin no longer is one of that agency."""
        normalized = normalize_invitation_code(code)
        if len(normalized) != 12:
            raise PetitionError(Refusal.INVITATION_INVALID)
        result = await self.session.execute(
            select(OfficialInvitation)
            .where(OfficialInvitation.code_hash == sha256_hex(normalized))
            .with_for_update()
        )
        invitation = result.scalar_one_or_none()
        if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
            raise PetitionError(Refusal.INVITATION_INVALID)
        if invitation.created_by is not None:
            creator = await self.get(invitation.created_by)
            if not inviter_still_entitled(creator, invitation.agency_id):
                raise PetitionError(Refusal.INVITATION_INVALID)
        claimed = await self.session.execute(
            update(OfficialInvitation)
            .where(OfficialInvitation.id == invitation.id, OfficialInvitation.used_at.is_(None))
            .values(used_at=now)
        )
        if affected_rows(claimed) != 1:  # used at the same moment by someone else
            raise PetitionError(Refusal.INVITATION_INVALID)
        return invitation

    async def deactivate(self, official_id: int, *, by: OfficialRecord | None = None) -> bool:
        official = await self.session.get(Official, official_id)
        if official is None:
            return False
        official.active = False
        await AuditRepository(self.session).record(
            AuditAction.DEACTIVATE,
            official=by,
            via="cli" if by is None else by.channel,
            details={"official_id": official_id},
        )
        return True

    # -- enrolment failures, names, lists ---------------------------------------------------

    async def record_enroll_failure(
        self, channel: str, chat_id: str, *, at: datetime | None = None
    ) -> None:
        """One wrong, used or expired code from this chat (the code itself is not stored: a typo
        of a real code would otherwise end up in the log)."""
        await AuditRepository(self.session).record(
            AuditAction.ENROLL_FAILED, actor=chat_actor(channel, chat_id), via=channel, at=at
        )

    async def enroll_failures(self, channel: str, chat_id: str, since: datetime) -> list[datetime]:
        """When this chat's failed enrolments since ``since`` happened, oldest first.

        ``official_id IS NULL`` and ``at >=`` let the (official_id, at) index narrow the scan."""
        result = await self.session.execute(
            select(AuditEntry.at)
            .where(
                AuditEntry.official_id.is_(None),
                AuditEntry.at >= since,
                AuditEntry.action == AuditAction.ENROLL_FAILED,
                AuditEntry.actor == chat_actor(channel, chat_id),
            )
            .order_by(AuditEntry.at)
        )
        return list(result.scalars())

    async def official_names(
        self, ids: Iterable[int | None], *, unnamed: str | None = None
    ) -> dict[int, str]:
        """Display names of officials by id (for "handled by" and the history of a card); one
        who never gave a name is ``unnamed``, by default "#<id>"."""
        wanted = sorted({i for i in ids if i is not None})
        if not wanted:
            return {}
        result = await self.session.execute(
            select(Official.id, Official.display_name).where(Official.id.in_(wanted))
        )
        return {
            row.id: row.display_name or (f"#{row.id}" if unnamed is None else unnamed)
            for row in result
        }

    async def list_officials(
        self, agency_id: int | None = None
    ) -> list[tuple[OfficialRecord, str]]:
        """Every official (active or not) with their agency's code, by agency then id."""
        stmt = select(Official, Agency.code).join(Agency, Agency.id == Official.agency_id)
        if agency_id is not None:
            stmt = stmt.where(Official.agency_id == agency_id)
        result = await self.session.execute(stmt.order_by(Agency.code, Official.id))
        return [(OfficialRecord.of(row[0]), row[1]) for row in result]

    async def count_active_officials(self) -> dict[int, int]:
        """Active officials per agency id."""
        result = await self.session.execute(
            select(Official.agency_id, func.count())
            .where(Official.active.is_(True))
            .group_by(Official.agency_id)
        )
        return {int(agency_id): int(count) for agency_id, count in result}
