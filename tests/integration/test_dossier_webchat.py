"""The whole assistant as `python -m bot` composes it (create_services + create_app), on a real
SQLite file and real HTTP: a province pushes dossiers through `POST /api/v1/dossiers`, a web chat
visitor looks one up and follows it, the next status change comes in through the API, and the
outbox worker delivers the push to the visitor's chat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import Settings
from bot.jobs.outbox import OUTBOX_KEY
from bot.services import create_services
from storage.repositories.api_keys import ApiKeyRepository
from tests.tools.webchat import assert_all_handled

CODE = "000.00.01.H29-261120-0007"


def item(**fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "receipt_code": CODE,
        "procedure_code": "1.001193",
        "applicant_name": "Trần Thị Bình",
        "applicant_phone": "0987654321",
        "channel": "trực tuyến",
        "received_at": (now - timedelta(days=2)).isoformat(),
        "appointment_at": (now + timedelta(days=12)).isoformat(),
        "status": "Đang xử lý",
        "status_at": (now - timedelta(days=1)).isoformat(),
    }
    base.update(fields)
    return base


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient, str, Any]]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.sqlite3'}")
    services = await create_services(settings)
    async with services.session_factory() as session:
        _info, key = await ApiKeyRepository(session).create("Sở Tư pháp Hà Nội", label="test")
        await session.commit()
    app, _bot, _dispatcher = create_app(services)
    test_client = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client, key, app[OUTBOX_KEY]
        assert_all_handled(app)
    finally:
        await test_client.close()
        await services.close()


async def say(client: TestClient, text: str) -> list[dict[str, Any]]:
    response = await client.post(
        "/api/chat/messages",
        data=json.dumps({"text": text}, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, await response.text()
    return [e for e in (await response.json())["events"] if e["type"] == "message"]


async def press(client: TestClient, message_id: int, data: str) -> list[dict[str, Any]]:
    response = await client.post(
        "/api/chat/callbacks",
        data=json.dumps({"message_id": message_id, "data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, await response.text()
    return [e for e in (await response.json())["events"] if e["type"] == "message"]


async def post_dossiers(client: TestClient, key: str, items: list[dict[str, Any]]) -> Any:
    response = await client.post(
        "/api/v1/dossiers", json=items, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def test_api_ingest_web_lookup_follow_and_push(
    client: tuple[TestClient, str, Any],
) -> None:
    http, key, worker = client
    first = await post_dossiers(http, key, [item()])
    assert (first["inserted"], first["updated"], first["unchanged"]) == (1, 0, 0)

    asked = await say(http, "tra cứu hồ sơ 000 00 01 h29 261120 0007")
    assert "4 số cuối" in asked[-1]["html"]
    assert "keyboard" not in asked[-1]  # no contact button on the web: it cannot share one

    shown = await say(http, "4321")
    card = shown[-1]
    assert "Đang xử lý" in card["html"] and "Trần T. B." in card["html"]
    assert "0987654321" not in card["html"]
    follow = next(b for row in card["buttons"] for b in row if "Báo cho tôi" in b["text"])
    followed = await press(http, card["message_id"], follow["callback_data"])
    assert "Đã đăng ký" in followed[-1]["html"]

    now = datetime.now(UTC).isoformat()
    result = await post_dossiers(
        http, key, [item(status="5", status_at=now, note="Bản sao sổ hộ khẩu")]
    )
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 1, 0)

    # The API wakes the running worker: the push reaches the visitor's event stream by itself.
    sending = asyncio.create_task(worker.run())
    try:
        push = ""
        cursor = 0
        async with asyncio.timeout(10):
            while "có cập nhật mới" not in push:
                response = await http.get(
                    "/api/chat/events", params={"after": str(cursor), "timeout": "5"}
                )
                assert response.status == 200
                body = await response.json()
                cursor = body["cursor"]
                pushes = [e["html"] for e in body["events"] if e["type"] == "message"]
                push = pushes[-1] if pushes else push
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    assert "có cập nhật mới" in push and "Yêu cầu bổ sung giấy tờ" in push
    assert "Bản sao sổ hộ khẩu" in push


async def test_minted_cookies_do_not_buy_fresh_identities(
    client: tuple[TestClient, str, Any],
) -> None:
    """Each well-formed cookie the server never issued is a new visitor, so it is counted by the
    new-visitor limit: a script cannot get unlimited lookup attempts by inventing cookies."""
    http, _key, _worker = client
    statuses = []
    for _ in range(12):
        http.session.cookie_jar.clear()
        response = await http.post(
            "/api/chat/messages",
            data=json.dumps({"text": "xin chào"}).encode(),
            headers={
                "Content-Type": "application/json",
                "Cookie": f"webchat_visitor={secrets.token_urlsafe(16)}",
            },
        )
        statuses.append(response.status)
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429, 429]
