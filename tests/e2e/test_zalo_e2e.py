"""Zalo end to end: the app as `python -m bot` composes it (bot.app) with Zalo configured, its
real webhook fed events signed as Zalo signs them, and its replies read on the stand-in Zalo
server over loopback. The dialogs are the same ones Telegram and the web chat run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from bot.app import create_app
from bot.channels.zalo.setup import ZALO_KEY, Zalo
from bot.channels.zalo.window import WINDOW_CLOSED
from bot.config import Settings
from bot.jobs.outbox import OUTBOX_KEY, OutboxWorker
from bot.services import Services, create_services
from handlers.petitions.notifications import enqueue_answer_parts
from knowledge.dossier_records import parse_record
from storage.models import OutboxMessage, ZaloUser
from storage.outbox import PENDING, SENT
from storage.repositories.dossiers import DossierRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository
from storage.repositories.zalo_users import ZaloUserRepository
from tests.tools.builders import justice_with_official
from tests.tools.zalo_chat import ZaloCitizen, settle
from tests.tools.zalo_server import FakeZalo
from tests.tools.zalo_signing import (
    APP_ID,
    OA_SECRET_KEY,
    follow_event,
    message_event,
    signed,
    submit_info_event,
    text_event,
)

CITIZEN = "2468458835296117922"
CODE = "000.00.17.H12-260302-0042"
PHONE = "0912345678"


@dataclass
class ZaloApp:
    fake: FakeZalo
    services: Services
    client: TestClient
    zalo: Zalo
    worker: OutboxWorker

    def citizen(self, user_id: str = CITIZEN) -> ZaloCitizen:
        return ZaloCitizen(self.client, self.fake, self.zalo, user_id)


@pytest.fixture
async def zapp(tmp_path: Path) -> AsyncIterator[ZaloApp]:
    async with zalo_app(tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def zalo_app(tmp_path: Path, **overrides: Any) -> AsyncIterator[ZaloApp]:
    """The app with Zalo configured against a fresh stand-in server (``overrides``: more
    settings); no unhandled update may be left when it stops."""
    fake = FakeZalo(app_id=APP_ID)
    await fake.start()
    access, refresh = fake.pair()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'zalo.sqlite3'}",
        zalo_app_id=APP_ID,
        zalo_oa_secret_key=OA_SECRET_KEY,
        zalo_app_secret=fake.app_secret,
        zalo_access_token=access,
        zalo_refresh_token=refresh,
        zalo_api_base=fake.base_url,
        zalo_oauth_base=fake.base_url,
        zalo_business_base=fake.base_url,
        **overrides,
    )
    services = await create_services(settings)
    app, _bot, _dispatcher = create_app(services)
    client = TestClient(TestServer(app))
    await client.start_server()
    worker = app[OUTBOX_KEY]
    sending = asyncio.create_task(worker.run())
    zalo = app[ZALO_KEY]
    try:
        yield ZaloApp(fake, services, client, zalo, worker)
        assert list(zalo.channel.unhandled.latest) == []
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        await client.close()
        await services.close()
        await fake.stop()


async def test_a_procedure_question_with_buttons_and_a_paged_card(zapp: ZaloApp) -> None:
    citizen = zapp.citizen()
    welcome = await citizen.follow()
    assert welcome and "thủ tục" in citizen.text().lower()
    assert "<b>" not in citizen.text()  # Zalo shows no HTML: the tags are gone

    results = await citizen.say("dang ky ket hon")
    assert results and all(len(m.text or "") <= 2000 for m in results)
    assert all(len(m.buttons) <= 5 for m in results)
    first = next(t for t in citizen.titles() if "kết hôn" in t.lower())
    await citizen.press(first)
    page_one = citizen.text()
    assert "kết hôn" in page_one.lower() and "<" not in page_one
    assert all(len(m.text or "") <= 2000 for m in citizen.last)  # a card page split for Zalo
    counter = next(t for t in citizen.titles() if t.startswith("1/"))  # a paged card
    await citizen.press(next(t for t in citizen.titles() if t.endswith("›")))
    assert citizen.text() != page_one
    assert any(t.startswith("2/") for t in citizen.titles()), (counter, citizen.titles())
    await citizen.press(next(t for t in citizen.titles() if t.startswith("‹")))
    assert citizen.text() == page_one


async def test_a_retried_event_is_handled_once_and_bad_signatures_are_refused(
    zapp: ZaloApp,
) -> None:
    citizen = zapp.citizen()
    body = text_event(CITIZEN, "/start", datetime.now(UTC))
    assert await citizen.post(body) == 200
    await settle(zapp.zalo)
    first = len(zapp.fake.messages(CITIZEN))
    assert first >= 1
    assert await citizen.post(body) == 200  # Zalo retries what it thinks was not answered
    await settle(zapp.zalo)
    assert len(zapp.fake.messages(CITIZEN)) == first

    raw, headers = signed(text_event(CITIZEN, "/start", datetime.now(UTC)), oa_secret_key="x" * 20)
    response = await zapp.client.post("/zalo/webhook", data=raw, headers=headers)
    assert response.status == 401
    await settle(zapp.zalo)
    assert len(zapp.fake.messages(CITIZEN)) == first


async def test_the_token_is_refreshed_mid_conversation(zapp: ZaloApp) -> None:
    citizen = zapp.citizen()
    await citizen.say("/start")
    zapp.fake.expire_access_token()
    answer = await citizen.say("mất sổ đỏ")
    assert answer, "no answer after the token expired"
    assert zapp.fake.refreshes == 1 and zapp.fake.refresh_reuses == 0


async def import_dossier(zapp: ZaloApp, **fields: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    row = {
        "receipt_code": CODE,
        "procedure_code": "1.001193",
        "agency": "UBND phường Bến Nghé",
        "applicant_name": "Nguyễn Văn An",
        "applicant_phone": PHONE,
        "channel": "1",
        "received_at": (now - timedelta(days=1)).isoformat(),
        "appointment_at": (now + timedelta(days=10)).isoformat(),
        "status": "4",
        "status_at": (now - timedelta(hours=20)).isoformat(),
    }
    row.update(fields)
    async with zapp.services.session_factory() as session:
        await DossierRepository(session).upsert_many([parse_record(row)], source="test")
        await session.commit()
    zapp.worker.wake()


async def test_dossier_lookup_follow_and_pushes_inside_and_outside_the_window(
    zapp: ZaloApp,
) -> None:
    await import_dossier(zapp)
    citizen = zapp.citizen()
    await citizen.say("/start")
    await citizen.say(CODE)
    assert "4" in citizen.text()  # asks for the last 4 digits of the phone (no contact button)
    card = await citizen.say(PHONE[-4:])
    assert card and CODE in citizen.text()
    assert "Nguyễn Văn An" not in citizen.text()
    follow = next(t for t in citizen.titles() if t.startswith("🔔"))
    await citizen.press(follow)
    assert "48" in citizen.text()  # the confirmation says how Zalo's window works

    now = datetime.now(UTC).replace(microsecond=0)
    await import_dossier(zapp, status="9", status_at=now.isoformat())
    pushed = await zapp.fake.wait_for_messages(CITIZEN, citizen.seen + 1, timeout=10)
    assert CODE in (pushed[-1].text or "") or CODE in "\n".join(m.text or "" for m in pushed)
    citizen.news()

    # the citizen goes quiet for three days: the next change waits for them
    async with zapp.services.session_factory() as session:
        await session.execute(
            update(ZaloUser)
            .where(ZaloUser.user_id == CITIZEN)
            .values(last_inbound_at=now - timedelta(days=3))
        )
        await session.commit()
    await import_dossier(zapp, status="10", status_at=(now + timedelta(minutes=5)).isoformat())
    [row] = await _until(
        zapp, lambda rows: [r for r in rows if r.state == PENDING and r.last_error]
    )
    assert row.last_error == f"deferred: {WINDOW_CLOSED}"
    assert row.last_error == "deferred: outside the Zalo reply window"
    assert citizen.news() == []  # the worker held it: nothing went to Zalo
    reply = await citizen.say("xin chào")
    await zapp.fake.wait_for_messages(CITIZEN, citizen.seen + 1, timeout=10)
    held = zapp.fake.messages(CITIZEN)[citizen.seen - len(reply) :]
    assert any(CODE in (m.text or "") for m in held), [m.text for m in held]
    [sent] = await _until(
        zapp, lambda rows: [r for r in rows if r.id == row.id and r.state == SENT]
    )
    assert sent.sent_at is not None


async def _until(
    zapp: ZaloApp,
    found: Callable[[list[OutboxMessage]], list[OutboxMessage]],
    *,
    timeout: float = 10.0,
) -> list[OutboxMessage]:
    """What ``found`` picks from the Zalo outbox rows, once it picks something (the worker
    runs in the background: wait for its work, not for a fixed time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with zapp.services.session_factory() as session:
            rows = list(
                (
                    await session.scalars(
                        select(OutboxMessage)
                        .where(OutboxMessage.channel == "zalo")
                        .order_by(OutboxMessage.id)
                    )
                ).all()
            )
        if picked := found(rows):
            return picked
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError([(r.id, r.state, r.last_error) for r in rows])
        await asyncio.sleep(0.02)


CONTENT = (
    "Tôi nộp hồ sơ đăng ký khai sinh cho con tại UBND phường từ 10 ngày trước, đến hẹn vẫn "
    "chưa có kết quả và không ai báo lý do. Đề nghị cơ quan kiểm tra và trả lời."
)


async def test_a_petition_to_its_tracking_code_and_the_officials_answer(zapp: ZaloApp) -> None:
    async with zapp.services.session_factory() as session:
        await justice_with_official(session, chat_id="900")
        await session.commit()
    citizen = zapp.citizen()
    await citizen.say("/phananh")
    await citizen.press(next(t for t in citizen.titles() if "Gửi phản ánh mới" in t))
    assert "Bước 1/7" in citizen.text()  # the attachments step is there on Zalo
    await citizen.say("khai sinh")
    await citizen.press(next(t for t in citizen.titles() if "khai sinh" in t.lower()))
    await citizen.say(CONTENT)
    await citizen.press("⏭ Bỏ qua, không đính kèm")
    assert "Họ và tên" in citizen.text()
    await citizen.say("Nguyễn Văn An")
    await citizen.say("0987 654 321")
    await citizen.say("12 Lê Lợi, phường Bến Thành, Quận 1, TP Hồ Chí Minh")
    assert "Bước 7/7" in citizen.text()
    await citizen.press(next(t for t in citizen.titles() if "Gửi phản ánh" in t))
    async with zapp.services.session_factory() as session:
        [petition] = await PetitionRepository(session).of_sender("zalo", "1")
    assert petition.tracking_code in citizen.text()
    assert petition.channel == "zalo"

    async with zapp.services.session_factory() as session:
        repo = PetitionRepository(session)
        official = await OfficialRepository(session).by_chat("telegram", "900")
        assert official is not None
        taken = await repo.take(petition, official, via="test")
        answered = await repo.answer(
            taken.petition, official, "Sở đã kiểm tra: kết quả được trả ngày 05/12.", via="test"
        )
        await enqueue_answer_parts(session, answered.petition, answered.event)
        await session.commit()
    zapp.worker.wake()
    before = citizen.seen
    await zapp.fake.wait_for_messages(CITIZEN, before + 2, timeout=10)
    news = "\n".join(m.text or "" for m in citizen.news())
    assert petition.tracking_code in news and "05/12" in news


async def test_stickers_images_unfollow_and_submitted_info(zapp: ZaloApp) -> None:
    citizen = zapp.citizen()
    now = datetime.now(UTC)
    sticker = message_event(
        "user_send_sticker",
        CITIZEN,
        now,
        attachments=[{"type": "sticker", "payload": {"id": "abc", "url": "https://s.zalo.me/1"}}],
    )
    await citizen.send(sticker)
    assert "chỉ đọc được tin nhắn dạng chữ" in citizen.text()
    not_text = citizen.text()
    image = message_event(
        "user_send_image",
        CITIZEN,
        now,
        attachments=[{"type": "image", "payload": {"url": "https://photo.zalo.me/a.jpg"}}],
    )
    await citizen.send(image)  # outside a form, a photo gets the same polite answer
    assert len(citizen.last) == 1 and citizen.text() == not_text
    assert "hình ảnh" in citizen.text()

    assert await citizen.send(submit_info_event(CITIZEN, now, name="An", phone="84912345678")) == []
    assert await citizen.send(follow_event(CITIZEN, now, name="unfollow")) == []
    async with zapp.services.session_factory() as session:
        user = await ZaloUserRepository(session).by_user_id(CITIZEN)
    # no card of ours asked for it: the number is not kept (ZNS needs the citizen's consent)
    assert user is not None and user.phone is None and not user.followed
    unknown = {**text_event(CITIZEN, "x", now), "event_name": "oa_send_text"}
    assert await citizen.send(unknown) == []  # Zalo's echo of our own message: acknowledged
