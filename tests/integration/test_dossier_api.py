"""POST /api/v1/dossiers on a real aiohttp server (loopback) over a real SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.dossier_api import MAX_ITEMS, setup_dossier_api
from knowledge.dossier import Status
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Dossier, DossierEvent
from storage.repositories.api_keys import ApiKeyRepository
from storage.repositories.dossiers import DossierRepository

AGENCY = "UBND Quận 1"
OTHER = "UBND Quận 3"


def item(n: int = 1, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_code": f"000.00.17.H12-260315-{n:04d}",
        "status": 2,
        "received_at": "2026-03-15T08:30:00+07:00",
        "appointment_at": "2026-03-20T17:00:00+07:00",
    }
    body.update(fields)
    return body


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[TestClient, dict[str, str], Any]]:
    """A client of a live server, the keys by agency, and the session factory."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'api.sqlite3'}"
    await upgrade(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    keys = {}
    async with factory() as session:
        for agency in (AGENCY, OTHER):
            _, keys[agency] = await ApiKeyRepository(session).create(agency, "test")
        _, keys["no-scope"] = await ApiKeyRepository(session).create(AGENCY, scopes="reports")
        await session.commit()
    app = web.Application()
    setup_dossier_api(app, factory)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, keys, factory
    finally:
        await client.close()
        await engine.dispose()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def stored(factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with factory() as session:
        dossiers = await session.scalar(select(func.count()).select_from(Dossier))
        events = await session.scalar(select(func.count()).select_from(DossierEvent))
    return dossiers or 0, events or 0


async def test_requests_without_a_valid_key_are_refused(env) -> None:
    client, keys, factory = env
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        bearer("vnd_not-a-real-key"),
        bearer(keys["no-scope"]),
        {"Authorization": "Bearer"},
    ):
        response = await client.post("/api/v1/dossiers", json=[item()], headers=headers)
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await response.json())["error"] == "unauthorized"
    async with factory() as session:
        revoked = await ApiKeyRepository(session).revoke(keys[OTHER][:12])
        await session.commit()
    assert revoked is not None
    response = await client.post("/api/v1/dossiers", json=[item()], headers=bearer(keys[OTHER]))
    assert response.status == 401
    assert await stored(factory) == (0, 0)


async def test_upsert_is_idempotent_and_a_later_status_adds_history(env) -> None:
    client, keys, factory = env
    batch = [item(1), item(2, agency=AGENCY, status="Đang xử lý", status_at="2026-03-16")]
    response = await client.post("/api/v1/dossiers", json=batch, headers=bearer(keys[AGENCY]))
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.json() == {
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "events_added": 2,
        "warnings": [],
    }
    response = await client.post("/api/v1/dossiers", json=batch, headers=bearer(keys[AGENCY]))
    assert await response.json() == {
        "inserted": 0,
        "updated": 0,
        "unchanged": 2,
        "events_added": 0,
        "warnings": [],
    }
    later = [item(1, status=10, status_at="2026-03-19T16:00:00+07:00")]
    response = await client.post("/api/v1/dossiers", json=later, headers=bearer(keys[AGENCY]))
    assert (await response.json())["updated"] == 1
    assert await stored(factory) == (2, 3)
    async with factory() as session:
        view = await DossierRepository(session).find("0000017H122603150001")
    assert view is not None
    assert view.agency == AGENCY and view.source == f"api:{AGENCY}"
    assert [e.status for e in view.events] == [Status.ACCEPTED, Status.RETURNED]


async def test_invalid_items_are_listed_and_nothing_is_written(env) -> None:
    client, keys, factory = env
    batch = [
        item(1),
        item(2, status="bogus", received_at="15/13/2026"),
        "not an object",
        item(4, appointment_at="2026-03-01"),
        item(5, agency=OTHER),
    ]
    response = await client.post("/api/v1/dossiers", json=batch, headers=bearer(keys[AGENCY]))
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "invalid_items"
    assert [entry["index"] for entry in body["items"]] == [1, 2, 3, 4]
    assert body["items"][0]["errors"] == [
        "unknown status: 'bogus'",
        "received_at: not a date/time: '15/13/2026'",
    ]
    assert body["items"][1]["errors"] == ["item must be a JSON object"]
    assert body["items"][2]["errors"] == ["appointment_at is before received_at"]
    assert "is not this API key's agency" in body["items"][3]["errors"][0]
    assert await stored(factory) == (0, 0)  # all or nothing: item 0 was not stored either


async def test_one_agency_cannot_touch_another_agencys_dossiers(env) -> None:
    client, keys, factory = env
    response = await client.post("/api/v1/dossiers", json=[item(7)], headers=bearer(keys[OTHER]))
    assert response.status == 200
    takeover = [item(8), item(7, status=8, status_at="2026-03-16")]
    response = await client.post("/api/v1/dossiers", json=takeover, headers=bearer(keys[AGENCY]))
    assert response.status == 403
    body = await response.json()
    assert body["error"] == "forbidden_items"
    assert body["items"] == [
        {"index": 1, "errors": ["this receipt code belongs to another agency's dossier"]}
    ]
    assert await stored(factory) == (1, 1)  # item 8 was not stored either
    async with factory() as session:
        view = await DossierRepository(session).find("0000017H122603150007")
    assert view is not None and view.agency == OTHER and view.status is Status.ACCEPTED


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "invalid_json"),
        (b'{"receipt_code": "x"}', {"Content-Type": "application/json"}, 400, "invalid_json"),
        (b"[]", {"Content-Type": "text/csv"}, 415, "unsupported_media_type"),
        (b"[" + b"{}," * MAX_ITEMS + b"{}]", {"Content-Type": "application/json"}, 413,
         "too_many_items"),
        (b"[" + b" " * (8 * 1024 * 1024) + b"]", {"Content-Type": "application/json"}, 413,
         "payload_too_large"),
    ],
)  # fmt: skip
async def test_malformed_requests(
    env, body: bytes, headers: dict[str, str], status: int, error: str
) -> None:
    client, keys, _ = env
    response = await client.post(
        "/api/v1/dossiers", data=body, headers={**headers, **bearer(keys[AGENCY])}
    )
    assert response.status == status
    assert (await response.json())["error"] == error


async def test_an_empty_list_is_fine(env) -> None:
    client, keys, _ = env
    response = await client.post("/api/v1/dossiers", json=[], headers=bearer(keys[AGENCY]))
    assert response.status == 200
    assert (await response.json())["inserted"] == 0


async def test_codes_the_chat_cannot_find_are_stored_with_a_warning(env) -> None:
    client, keys, factory = env
    batch = [
        item(1),
        item(2, receipt_code="HS-2026-000123"),  # no letter group and date: never found
        item(3, receipt_code="38.98.H29-260315-0013"),  # an older local format: found
        item(4, receipt_code="000.00.17.H12-261345-0004"),  # month 13: never found
    ]
    response = await client.post("/api/v1/dossiers", json=batch, headers=bearer(keys[AGENCY]))
    assert response.status == 200
    body = await response.json()
    assert body["inserted"] == 4
    assert [w["index"] for w in body["warnings"]] == [1, 3]
    assert all("cannot be typed into the chat" in w["message"] for w in body["warnings"])
    assert await stored(factory) == (4, 4)


async def test_rate_limits_per_key_and_per_address(tmp_path: Path) -> None:
    """One agency's key cannot flood the API; an address without keys is slowed down too."""
    from bot.web.plumbing import RateLimiter

    url = f"sqlite+aiosqlite:///{tmp_path / 'limits.sqlite3'}"
    await upgrade(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    async with factory() as session:
        _, key_a = await ApiKeyRepository(session).create(AGENCY, "a")
        _, key_b = await ApiKeyRepository(session).create(OTHER, "b")
        await session.commit()
    app = web.Application()
    frozen = lambda: 0.0  # noqa: E731 - no refill during the test
    setup_dossier_api(
        app,
        factory,
        per_address=RateLimiter(burst=5, per_second=1, clock=frozen),
        per_key=RateLimiter(burst=2, per_second=1, clock=frozen),
    )
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        statuses = []
        for key in (key_a, key_a, key_a, key_b):
            response = await client.post("/api/v1/dossiers", json=[], headers=bearer(key))
            statuses.append(response.status)
        assert statuses == [200, 200, 429, 200]  # a's third request waits; b is not affected
        limited = await client.post("/api/v1/dossiers", json=[], headers=bearer(key_a))
        assert limited.status == 429 and limited.headers["Retry-After"] == "1"
        assert (await limited.json())["error"] == "too_many_requests"
        # The address has used its 5 requests: even a bad key is now refused before the lookup.
        refused = await client.post("/api/v1/dossiers", json=[], headers=bearer("vnd_guess"))
        assert refused.status == 429
    finally:
        await client.close()
        await engine.dispose()
