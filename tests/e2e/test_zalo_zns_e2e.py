"""ZNS end to end: the app as `python -m bot` composes it with ZALO_ZNS_TEMPLATES set, a Zalo
citizen who follows a dossier, and what the follow confirmation and a push outside the reply
window then do on the stand-in Zalo server; with ZALO_REQUEST_USER_INFO too, the card that asks
for the ZNS phone, its answer kept and shown masked, /stopzns, and the lookup's own card whose
answer (the applicant's number, or a guess) is never the ZNS phone."""

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
from knowledge.dossier_records import parse_record
from storage.models import OutboxMessage, ZaloUser
from storage.outbox import PENDING, SENT
from storage.repositories.dossiers import DossierRepository
from storage.repositories.zalo_users import ZaloUserRepository
from tests.tools.zalo_chat import ZaloCitizen
from tests.tools.zalo_server import FakeZalo
from tests.tools.zalo_signing import APP_ID, OA_SECRET_KEY, submit_info_event

CITIZEN = "2468458835296117922"
CODE = "000.00.17.H12-260302-0042"
PHONE = "0912345678"  # the dossier's applicant phone (the lookup asks for its last 4 digits)
TEMPLATE = "231234"
CARD_IMAGE = "https://cdn.example.gov.vn/zalo/chia-se-so-dien-thoai.png"

pytestmark = pytest.mark.slow


@dataclass
class ZnsApp:
    fake: FakeZalo
    services: Services
    client: TestClient
    zalo: Zalo
    worker: OutboxWorker

    async def dossier(self, **fields: str) -> None:
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
            **fields,
        }
        async with self.services.session_factory() as session:
            await DossierRepository(session).upsert_many([parse_record(row)], source="test")
            await session.commit()
        self.worker.wake()


@pytest.fixture
async def zns_app(tmp_path: Path) -> AsyncIterator[ZnsApp]:
    """ZNS for status pushes, on an OA without "request user info" cards."""
    async with _zns_app(tmp_path) as running:
        yield running


@pytest.fixture
async def zns_cards_app(tmp_path: Path) -> AsyncIterator[ZnsApp]:
    """ZNS for status pushes, on an OA that sends "request user info" cards."""
    async with _zns_app(
        tmp_path, zalo_request_user_info=True, zalo_request_user_info_image_url=CARD_IMAGE
    ) as running:
        yield running


@contextlib.asynccontextmanager
async def _zns_app(tmp_path: Path, **overrides: Any) -> AsyncIterator[ZnsApp]:
    fake = FakeZalo(app_id=APP_ID)
    fake.templates = {TEMPLATE: {"receipt_code", "status", "date"}}
    await fake.start()
    access, refresh = fake.pair()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'zns.sqlite3'}",
        zalo_app_id=APP_ID,
        zalo_oa_secret_key=OA_SECRET_KEY,
        zalo_app_secret=fake.app_secret,
        zalo_access_token=access,
        zalo_refresh_token=refresh,
        zalo_api_base=fake.base_url,
        zalo_oauth_base=fake.base_url,
        zalo_business_base=fake.base_url,
        zalo_zns_templates=f'{{"dossier_status": "{TEMPLATE}"}}',
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
        yield ZnsApp(fake, services, client, zalo, worker)
        assert list(zalo.channel.unhandled.latest) == []
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        await client.close()
        await services.close()
        await fake.stop()


async def _follow(app: ZnsApp, citizen: ZaloCitizen) -> str:
    """Look the dossier up, follow it; the confirmation's text."""
    await app.dossier()
    await citizen.say("/start")
    await citizen.say(CODE)
    await citizen.say(PHONE[-4:])
    await citizen.press(next(t for t in citizen.titles() if t.startswith("🔔")))
    return citizen.text()


async def _stored_phone(app: ZnsApp) -> str | None:
    async with app.services.session_factory() as session:
        user = await ZaloUserRepository(session).by_user_id(CITIZEN)
    assert user is not None
    return user.phone


async def _quiet_for_three_days(app: ZnsApp) -> None:
    async with app.services.session_factory() as session:
        await session.execute(
            update(ZaloUser)
            .where(ZaloUser.user_id == CITIZEN)
            .values(last_inbound_at=datetime.now(UTC) - timedelta(days=3))
        )
        await session.commit()


async def _status_change(app: ZnsApp, status: str, minutes: int) -> None:
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)
    await app.dossier(status=status, status_at=at.isoformat())


async def _rows(
    app: ZnsApp, found: Callable[[list[OutboxMessage]], list[OutboxMessage]]
) -> list[OutboxMessage]:
    """What ``found`` picks from the Zalo outbox rows, once it picks something."""
    for _ in range(200):
        async with app.services.session_factory() as session:
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
        await asyncio.sleep(0.05)
    raise AssertionError(f"not found in {[(r.id, r.state, r.last_error) for r in rows]}")


async def test_with_a_phone_kept_the_confirmation_shows_it_masked_and_the_push_goes_as_zns(
    zns_app: ZnsApp,
) -> None:
    citizen = ZaloCitizen(zns_app.client, zns_app.fake, zns_app.zalo, CITIZEN)
    await citizen.say("/start")
    async with zns_app.services.session_factory() as session:  # kept earlier, for ZNS
        user = await ZaloUserRepository(session).by_user_id(CITIZEN)
        assert user is not None
        await ZaloUserRepository(session).set_phone(user.id, "0987 654 321")
        await session.commit()
    confirmation = await _follow(zns_app, citizen)
    assert "48" in confirmation and "ZNS" in confirmation
    assert "09•••••321" in confirmation and "0987" not in confirmation
    assert "/stopzns" in confirmation and citizen.cards() == []

    await _quiet_for_three_days(zns_app)
    seen = len(zns_app.fake.messages(CITIZEN))
    await _status_change(zns_app, "9", 0)
    for _ in range(100):
        if zns_app.fake.zns:
            break
        await asyncio.sleep(0.05)
    [zns] = zns_app.fake.zns
    assert (zns["phone"], zns["template_id"]) == ("84987654321", TEMPLATE)
    assert zns["template_data"]["receipt_code"] == CODE
    assert len(zns_app.fake.messages(CITIZEN)) == seen  # no OA message outside the window


async def test_without_cards_a_form_answer_is_not_the_zns_phone(zns_app: ZnsApp) -> None:
    """An OA without "request user info" sends no card of ours: an answer (a form the OA's
    staff sent by hand, say) is not a consent to ZNS messages."""
    citizen = ZaloCitizen(zns_app.client, zns_app.fake, zns_app.zalo, CITIZEN)
    now = datetime.now(UTC)
    assert await citizen.send(submit_info_event(CITIZEN, now, name="An", phone="0987654321")) == []
    assert await _stored_phone(zns_app) is None
    confirmation = await _follow(zns_app, citizen)
    assert "ZNS" not in confirmation and citizen.cards() == []


async def test_the_follow_confirmation_offers_the_zns_card_and_its_answer_is_kept(
    zns_cards_app: ZnsApp,
) -> None:
    app = zns_cards_app
    citizen = ZaloCitizen(app.client, app.fake, app.zalo, CITIZEN)
    confirmation = await _follow(app, citizen)
    # no phone kept: the confirmation says the push waits, unless one is shared with the card
    assert "ngay khi anh/chị nhắn" in confirmation and "thẻ bên dưới" in confirmation
    assert "09•" not in confirmation
    [card] = citizen.cards()  # the card comes last, alone (its purpose is its subtitle)
    assert citizen.last[-1].request_user_info == card and citizen.last[-1].text is None
    assert card["title"] == "📱 Nhận thông báo ZNS"
    assert card["subtitle"].startswith(
        "Nhận thông báo qua tin nhắn ZNS khi quá 48 giờ: chia sẻ số điện thoại của anh/chị."
    )
    assert "/stopzns" in card["subtitle"] and card["image_url"] == CARD_IMAGE
    assert card["subtitle"] not in confirmation  # not said twice

    # a landline cannot get ZNS: refused, nothing kept
    await citizen.submit_info(name="An", phone="024 3825 1234")
    assert "không phải số di động" in citizen.text()
    assert await _stored_phone(app) is None

    # the answer to that card: kept, and shown back masked with how to stop
    await citizen.submit_info(name="An", phone="0987 654 777")
    assert await _stored_phone(app) == "0987 654 777"
    assert "09•••••777" in citizen.text() and "0987" not in citizen.text()
    assert "/stopzns" in citizen.text() and citizen.titles() == ["🔕 Hủy nhận ZNS"]

    # following again: the confirmation now says ZNS, to the masked number, and offers no card
    await citizen.press("🔕 Ngừng theo dõi")
    await citizen.say(CODE)
    await citizen.say(PHONE[-4:])
    await citizen.press(next(t for t in citizen.titles() if t.startswith("🔔")))
    assert "ZNS" in citizen.text() and "09•••••777" in citizen.text()
    assert citizen.cards() == []

    # three quiet days: the next change goes as ZNS to the number kept
    await _quiet_for_three_days(app)
    seen = len(app.fake.messages(CITIZEN))
    await _status_change(app, "9", 1)
    await _rows(
        app,
        lambda rows: [
            r for r in rows if r.state == SENT and (r.last_error or "").startswith("zns")
        ],
    )
    [zns] = app.fake.zns
    assert (zns["phone"], zns["template_id"]) == ("84987654777", TEMPLATE)
    assert len(app.fake.messages(CITIZEN)) == seen

    # "Hủy nhận ZNS": the number is forgotten
    await citizen.press("🔕 Hủy nhận ZNS")
    assert "không còn được lưu" in citizen.text()
    assert await _stored_phone(app) is None
    await citizen.say("/stopzns")  # again: nothing is kept
    assert "Không có số điện thoại nào được lưu" in citizen.text()

    # so the next change after three quiet days waits for the citizen's next message
    await _quiet_for_three_days(app)
    await _status_change(app, "10", 2)
    [held] = await _rows(app, lambda rows: [r for r in rows if r.state == PENDING and r.last_error])
    assert held.last_error == f"deferred: {WINDOW_CLOSED}"
    assert len(app.fake.zns) == 1


async def test_the_stop_command_forgets_the_phone(zns_cards_app: ZnsApp) -> None:
    app = zns_cards_app
    citizen = ZaloCitizen(app.client, app.fake, app.zalo, CITIZEN)
    await _follow(app, citizen)
    await citizen.submit_info(phone="+84 912 000 777")
    assert "09•••••777" in citizen.text()
    await citizen.say("/stopzns")
    assert "không còn được lưu" in citizen.text()
    assert await _stored_phone(app) is None
    # a late answer to the old card is no consent any more: not kept, not answered
    assert await citizen.submit_info(phone="+84 912 000 777") == []
    assert await _stored_phone(app) is None


async def test_the_lookup_s_card_answer_is_never_the_zns_phone(zns_cards_app: ZnsApp) -> None:
    app = zns_cards_app
    await app.dossier()
    citizen = ZaloCitizen(app.client, app.fake, app.zalo, CITIZEN)
    await citizen.say(CODE)
    [factor_card] = citizen.cards()
    assert "đầy đủ số điện thoại" in factor_card["subtitle"]
    await citizen.submit_info(phone="0987654321")  # a wrong guess
    assert "không khớp" in citizen.text()
    await citizen.submit_info(phone=PHONE)  # the applicant's (a relative's?) number
    assert CODE in citizen.text()
    assert await _stored_phone(app) is None

    # following: no phone kept, so the ZNS card is offered
    await citizen.press(next(t for t in citizen.titles() if t.startswith("🔔")))
    assert [c["title"] for c in citizen.cards()] == ["📱 Nhận thông báo ZNS"]

    # a new lookup sends its own card: an answer now is the factor's, not the ZNS card's
    await citizen.say(CODE)
    assert citizen.cards() and "đầy đủ số điện thoại" in citizen.cards()[0]["subtitle"]
    await citizen.submit_info(phone=PHONE)
    assert CODE in citizen.text()
    assert await _stored_phone(app) is None
    # and a late answer (to either card) after that lookup is not kept either
    assert await citizen.submit_info(phone=PHONE) == []
    assert await _stored_phone(app) is None


async def test_without_a_phone_the_confirmation_says_the_push_waits(zns_app: ZnsApp) -> None:
    citizen = ZaloCitizen(zns_app.client, zns_app.fake, zns_app.zalo, CITIZEN)
    confirmation = await _follow(zns_app, citizen)
    assert "48" in confirmation and "ZNS" not in confirmation
    assert "ngay khi anh/chị nhắn" in confirmation
