"""ZNS end to end: the app as `python -m bot` composes it with ZALO_ZNS_TEMPLATES set, a Zalo
citizen who follows a dossier, and what the follow confirmation and a push outside the reply
window then do on the stand-in Zalo server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from bot.app import create_app
from bot.channels.zalo.setup import ZALO_KEY, Zalo
from bot.config import Settings
from bot.jobs.outbox import OUTBOX_KEY, OutboxWorker
from bot.services import Services, create_services
from knowledge.dossier_records import parse_record
from storage.models import ZaloUser
from storage.repositories.dossiers import DossierRepository
from tests.tools.zalo_chat import ZaloCitizen
from tests.tools.zalo_server import FakeZalo
from tests.tools.zalo_signing import APP_ID, OA_SECRET_KEY, submit_info_event

CITIZEN = "2468458835296117922"
CODE = "000.00.17.H12-260302-0042"
PHONE = "0912345678"  # the dossier's applicant phone (the lookup asks for its last 4 digits)
TEMPLATE = "231234"

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
    )
    services = await create_services(settings)
    app, _bot, _dispatcher = create_app(services)
    client = TestClient(TestServer(app))
    await client.start_server()
    worker = app[OUTBOX_KEY]
    sending = asyncio.create_task(worker.run())
    try:
        yield ZnsApp(fake, services, client, app[ZALO_KEY], worker)
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


async def test_with_a_phone_given_the_confirmation_says_zns_and_the_push_goes_as_zns(
    zns_app: ZnsApp,
) -> None:
    citizen = ZaloCitizen(zns_app.client, zns_app.fake, zns_app.zalo, CITIZEN)
    now = datetime.now(UTC)
    await citizen.send(submit_info_event(CITIZEN, now, name="An", phone="0987 654 321"))
    confirmation = await _follow(zns_app, citizen)
    assert "48" in confirmation and "ZNS" in confirmation
    assert "số điện thoại anh/chị đã cung cấp" in confirmation

    async with zns_app.services.session_factory() as session:  # three quiet days
        await session.execute(
            update(ZaloUser)
            .where(ZaloUser.user_id == CITIZEN)
            .values(last_inbound_at=now - timedelta(days=3))
        )
        await session.commit()
    seen = len(zns_app.fake.messages(CITIZEN))
    await zns_app.dossier(status="9", status_at=now.replace(microsecond=0).isoformat())
    for _ in range(100):
        if zns_app.fake.zns:
            break
        await asyncio.sleep(0.05)
    [zns] = zns_app.fake.zns
    assert (zns["phone"], zns["template_id"]) == ("84987654321", TEMPLATE)
    assert zns["template_data"]["receipt_code"] == CODE
    assert len(zns_app.fake.messages(CITIZEN)) == seen  # no OA message outside the window


async def test_without_a_phone_the_confirmation_says_the_push_waits(zns_app: ZnsApp) -> None:
    citizen = ZaloCitizen(zns_app.client, zns_app.fake, zns_app.zalo, CITIZEN)
    confirmation = await _follow(zns_app, citizen)
    assert "48" in confirmation and "ZNS" not in confirmation
    assert "ngay khi anh/chị nhắn" in confirmation
