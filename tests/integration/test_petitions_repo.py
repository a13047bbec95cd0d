"""The petition repository on SQLite and PostgreSQL: numbering, idempotency, routing, the life
cycle with its events, audit entries and outbox messages, invitations and access rules."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.outbox import OutboxKind
from knowledge.petition_workflow import PetitionError, PetitionStatus, can_see_personal_data
from storage.models import AuditEntry, OutboxMessage, Petition
from storage.repositories.agencies import AgencyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.inbox_tokens import InboxTokenRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import (
    AttachmentDraft,
    PetitionRepository,
)
from tests.tools.builders import petition_draft as draft

# Monday 2 November 2026, 09:00 in Hanoi
MONDAY_9AM = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


async def _setup_agencies(session: AsyncSession) -> tuple[int, int]:
    agencies = AgencyRepository(session)
    justice = await agencies.save(
        "so-tu-phap",
        "Sở Tư pháp",
        sectors=["Hộ tịch"],
        procedure_codes=["1.001193"],
        dossier_agency="Sở Tư pháp",
    )
    land = await agencies.save("so-tnmt", "Sở Nông nghiệp và Môi trường", sectors=["Đất đai"])
    return justice.id, land.id


async def _outbox(session: AsyncSession, kind: str) -> list[OutboxMessage]:
    result = await session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    )
    return list(result.scalars())


async def test_submit_numbers_routes_and_sets_deadlines(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        justice_id, land_id = await _setup_agencies(session)
        repo = PetitionRepository(session)
        first = await repo.submit(draft(), now=MONDAY_9AM)
        second = await repo.submit(
            draft(procedure_code=None, sector="Đất đai", topic="Cấp sổ đỏ"), now=MONDAY_9AM
        )
        third = await repo.submit(draft(procedure_code="1.001193.H19", sector=None), now=MONDAY_9AM)
        other = await repo.submit(draft(procedure_code=None, sector="Giao thông"), now=MONDAY_9AM)
        await session.commit()
    assert [r.created for r in (first, second, third, other)] == [True] * 4
    codes = [r.petition.tracking_code for r in (first, second, third, other)]
    assert codes == [f"PAKN-2026-{n:06d}" for n in (1, 2, 3, 4)]
    assert first.petition.agency_id == justice_id
    assert second.petition.agency_id == land_id
    assert third.petition.agency_id == justice_id  # province suffix dropped
    async with session_factory() as session:
        default = await AgencyRepository(session).default()
        assert other.petition.agency_id == default.id
        stored = await PetitionRepository(session).by_code("pakn 2026 1")
        assert stored is not None and stored.id == first.petition.id
        assert stored.status == PetitionStatus.RECEIVED
        # Monday 2 Nov: 2 / 5 / 15 working days
        assert stored.refuse_by == date(2026, 11, 4)
        assert stored.info_by == date(2026, 11, 9)
        assert stored.answer_by == date(2026, 11, 23)
        events = await PetitionRepository(session).events(stored.id)
        assert [e.action for e in events] == ["submitted"]


async def test_same_idempotency_key_never_makes_a_second_petition(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _setup_agencies(session)
        await session.commit()

    async def submit_once() -> str:
        async with session_factory() as session:
            result = await PetitionRepository(session).submit(draft(), idempotency_key="tg:1001:f1")
            await session.commit()
            return result.petition.tracking_code

    codes = await asyncio.gather(*(submit_once() for _ in range(5)))
    assert len(set(codes)) == 1
    async with session_factory() as session:
        count = (await session.execute(select(func.count()).select_from(Petition))).scalar_one()
        assert count == 1
        again = await PetitionRepository(session).submit(draft(), idempotency_key="tg:1001:f1")
        assert again.created is False and again.petition.tracking_code == codes[0]
        fresh = await PetitionRepository(session).submit(draft(), idempotency_key="tg:1001:f2")
        assert fresh.created is True and fresh.petition.tracking_code != codes[0]


async def test_life_cycle_notifies_audits_and_guards(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        justice_id, land_id = await _setup_agencies(session)
        officials = OfficialRepository(session)
        code, _ = await officials.create_invitation(justice_id, "officer")
        officer = await officials.enroll(
            code.lower().replace("-", " "), channel="telegram", chat_id="501"
        )
        admin_code, _ = await officials.create_invitation(justice_id, "admin")
        admin = await officials.enroll(admin_code, channel="telegram", chat_id="502")
        other_code, _ = await officials.create_invitation(land_id, "officer")
        outsider = await officials.enroll(other_code, channel="telegram", chat_id="601")
        with pytest.raises(PetitionError):  # used once
            await officials.enroll(code, channel="telegram", chat_id="503")
        repo = PetitionRepository(session)
        petition = (
            await repo.submit(
                draft(attachments=[AttachmentDraft("photo", "file-1", mime_type="image/jpeg")]),
                now=MONDAY_9AM,
            )
        ).petition
        new = await _outbox(session, OutboxKind.PETITION_NEW)
        assert sorted(m.chat_id for m in new) == ["501", "502"]  # not the other agency's

        assert can_see_personal_data(officer, petition)
        assert not can_see_personal_data(outsider, petition)
        with pytest.raises(PetitionError) as denied:
            await repo.take(petition, outsider, via="telegram")
        assert denied.value.code == "not_allowed"

        await repo.record_view(petition, officer, via="telegram")
        petition = (await repo.take(petition, officer, via="telegram")).petition
        assert petition.status == PetitionStatus.IN_PROGRESS and petition.assigned_to == officer.id
        with pytest.raises(PetitionError):
            await repo.take(petition, officer, via="telegram")
        petition = (
            await repo.request_info(petition, officer, "Xin gửi ảnh giấy hẹn.", via="telegram")
        ).petition
        assert petition.status == PetitionStatus.INFO_REQUESTED
        petition = (
            await repo.provide_info(
                petition, "Đã gửi ảnh.", attachments=[AttachmentDraft("photo", "file-2")]
            )
        ).petition
        assert petition.status == PetitionStatus.IN_PROGRESS
        petition = (
            await repo.answer(
                petition,
                officer,
                "Sở đã kiểm tra, ông Nguyễn Văn An nhận kết quả ngày 5/11.",
                via="telegram",
            )
        ).petition
        assert petition.status == PetitionStatus.ANSWERED and petition.publish_by is not None
        with pytest.raises(PetitionError):
            await repo.refuse(petition, officer, "muộn", via="telegram")
        petition = (await repo.publish(petition, officer, via="telegram")).petition
        assert petition.status == PetitionStatus.PUBLISHED
        assert "Nguyễn Văn An" not in (petition.public_answer or "")
        assert "0912345678" not in (petition.public_content or "")
        await session.commit()

        updates = await _outbox(session, OutboxKind.PETITION_UPDATE)
        assert [m.payload["action"] for m in updates] == [
            "taken",
            "info_requested",
            "answered",
            "published",
        ]
        assert {m.chat_id for m in updates} == {"1001"}
        assert len(await repo.attachments(petition.id)) == 2
        audit = await AuditRepository(session).for_petition(petition.id)
        assert [a.action for a in audit] == [
            "view",
            "taken",
            "info_requested",
            "answered",
            "published",
        ]
        assert all(a.official_id == officer.id for a in audit)

        # re-routing: admins only, open petitions only
        second = (await repo.submit(draft(), now=MONDAY_9AM)).petition
        land = await AgencyRepository(session).get(land_id)
        assert land is not None
        with pytest.raises(PetitionError):
            await repo.reroute(second, officer, land, via="telegram")
        second = (
            await repo.reroute(second, admin, land, via="telegram", reason="Thuộc lĩnh vực đất đai")
        ).petition
        assert second.agency_id == land_id and second.status == PetitionStatus.RECEIVED
        assert can_see_personal_data(outsider, second) and not can_see_personal_data(admin, second)
        second = (
            await repo.refuse(second, outsider, "Nội dung là khiếu nại", via="telegram")
        ).petition
        assert second.status == PetitionStatus.REFUSED
        await session.commit()
        reroute_new = [
            m
            for m in await _outbox(session, OutboxKind.PETITION_NEW)
            if m.payload["petition_id"] == second.id
        ]
        assert "601" in {m.chat_id for m in reroute_new}
        total_audit = (
            await session.execute(select(func.count()).select_from(AuditEntry))
        ).scalar_one()
        assert total_audit >= 5 + 3 + 3 + 2


async def test_invitation_expiry_and_inbox_tokens(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        justice_id, _ = await _setup_agencies(session)
        officials = OfficialRepository(session)
        code, _ = await officials.create_invitation(
            justice_id, "officer", now=MONDAY_9AM - timedelta(days=8)
        )
        with pytest.raises(PetitionError):
            await officials.enroll(code, channel="telegram", chat_id="700")
        with pytest.raises(PetitionError):
            await officials.enroll("MOI-XXXX", channel="telegram", chat_id="700")
        code, _ = await officials.create_invitation(justice_id, "officer")
        official = await officials.enroll(code, channel="web", chat_id="w-1")
        tokens = InboxTokenRepository(session)
        link = await tokens.issue(official, kind="link", ttl=timedelta(minutes=15))
        assert (await tokens.redeem_link(link)) is not None
        assert (await tokens.redeem_link(link)) is None  # one time
        assert (await tokens.redeem_link("forged")) is None
        session_token = await tokens.issue(official, kind="session", ttl=timedelta(hours=1))
        assert (await tokens.session_official(session_token)) is not None
        assert (await tokens.session_official(link)) is None  # a link is not a session
        await officials.deactivate(official.id)
        assert (await tokens.session_official(session_token)) is None
        await session.commit()


async def test_two_officials_taking_at_once_one_wins(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Compare-and-set on the status: the slower of two concurrent takes fails cleanly."""
    async with session_factory() as session:
        justice_id, _ = await _setup_agencies(session)
        officials = OfficialRepository(session)
        ids = []
        for chat in ("801", "802"):
            code, _ = await officials.create_invitation(justice_id, "officer")
            ids.append((await officials.enroll(code, channel="telegram", chat_id=chat)).id)
        petition_id = (
            await PetitionRepository(session).submit(draft(), now=MONDAY_9AM)
        ).petition.id
        await session.commit()

    # Both read the petition as "received" before either writes.
    first, second = session_factory(), session_factory()
    try:
        p1 = await PetitionRepository(first).get(petition_id)
        p2 = await PetitionRepository(second).get(petition_id)
        o1 = await OfficialRepository(first).get(ids[0])
        o2 = await OfficialRepository(second).get(ids[1])
        assert p1 is not None and p2 is not None and o1 is not None and o2 is not None
        assert p1.status == p2.status == PetitionStatus.RECEIVED
        p1 = (await PetitionRepository(first).take(p1, o1, via="telegram")).petition
        await first.commit()
        with pytest.raises(PetitionError) as lost:
            await PetitionRepository(second).take(p2, o2, via="telegram")
        assert lost.value.code == "wrong_status"
        await second.rollback()
    finally:
        await first.close()
        await second.close()
    async with session_factory() as session:
        stored = await PetitionRepository(session).get(petition_id)
        assert stored is not None and stored.assigned_to == ids[0]
        events = await PetitionRepository(session).events(petition_id)
        assert [e.action for e in events] == ["submitted", "taken"]


async def test_publication_masks_the_senders_address_and_phone_not_only_the_name(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The public copies (/cong-khai, Open311, the chat) must not carry the sender's address
    or phone however written, in the petition or in the official's answer."""
    async with session_factory() as session:
        justice_id, _land = await _setup_agencies(session)
        officials = OfficialRepository(session)
        code, _ = await officials.create_invitation(justice_id, "officer")
        officer = await officials.enroll(code, channel="telegram", chat_id="701")
        repo = PetitionRepository(session)
        petition = (
            await repo.submit(
                draft(
                    content=(
                        "Hố ga trước nhà tôi ở 12 Lê Lợi bị vỡ nắp, rất nguy hiểm. "
                        "Xin gọi tôi: +84-912-345-678."
                    )
                ),
                now=MONDAY_9AM,
            )
        ).petition
        petition = (
            await repo.answer(
                petition,
                officer,
                "Đã cử người đến 12 Lê Lợi thay nắp hố ga; đã gọi ông An qua số 0912 345 678.",
                via="telegram",
            )
        ).petition
        petition = (await repo.publish(petition, officer, via="telegram")).petition
        await session.commit()
        public = (petition.public_content or "") + (petition.public_answer or "")
    for secret in ("12 Lê Lợi", "912", "345", "678"):
        assert secret not in public, public
    assert "Hố ga" in public and "thay nắp hố ga" in public


async def test_a_removed_admins_unused_invitations_stop_working(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Removing an official must end their access: codes they handed out (or kept for a second
    account) before the removal may not enrol anyone afterwards."""
    async with session_factory() as session:
        justice_id, land_id = await _setup_agencies(session)
        officials = OfficialRepository(session)
        first, _ = await officials.create_invitation(justice_id, "admin")
        admin = await officials.enroll(first, channel="telegram", chat_id="801")
        kept, _ = await officials.create_invitation(justice_id, "admin", created_by=admin)
        handed, _ = await officials.create_invitation(justice_id, "officer", created_by=admin)
        await officials.deactivate(admin.id)
        await session.commit()
        for code, chat in ((kept, "802"), (handed, "803")):
            with pytest.raises(PetitionError) as refused:
                await officials.enroll(code, channel="telegram", chat_id=chat)
            assert refused.value.code == "invitation_invalid"
            await session.rollback()
        assert await officials.by_chat("telegram", "802") is None

        # the same for an admin moved to another agency meanwhile: the code was for the old one
        second, _ = await officials.create_invitation(justice_id, "admin")
        mover = await officials.enroll(second, channel="telegram", chat_id="804")
        stale, _ = await officials.create_invitation(justice_id, "officer", created_by=mover)
        elsewhere, _ = await officials.create_invitation(land_id, "admin")
        await officials.enroll(elsewhere, channel="telegram", chat_id="804")
        with pytest.raises(PetitionError):
            await officials.enroll(stale, channel="telegram", chat_id="805")
        await session.rollback()
        # a CLI invitation (no creator) and an active admin's still work
        cli_code, _ = await officials.create_invitation(justice_id, "officer")
        assert (await officials.enroll(cli_code, channel="telegram", chat_id="806")).active
        third, _ = await officials.create_invitation(justice_id, "admin")
        active_admin = await officials.enroll(third, channel="telegram", chat_id="807")
        fresh, _ = await officials.create_invitation(justice_id, "officer", created_by=active_admin)
        assert (await officials.enroll(fresh, channel="telegram", chat_id="808")).active
        await session.commit()
