"""Open311 GeoReport v2 (``/open311/v2/``) over real HTTP on loopback, on a migrated SQLite and
PostgreSQL database: services, filing petitions with API keys, validation and refusals,
idempotency, listing with filters, and no personal data in anything a GET returns."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli.dossiers import cmd_api_keys
from bot.config import Settings
from bot.web.open311.routes import setup_open311
from bot.web.open311.services import CENTRE_CODE, OTHER_CODE, slugify
from bot.web.plumbing import RateLimiter
from knowledge.models import Procedure
from knowledge.outbox import OutboxKind
from knowledge.search import SearchIndex
from storage.db import create_engine, create_session_factory
from storage.models import AuditEntry, Official, OutboxMessage, Petition
from storage.repositories.agencies import AgencyRepository
from storage.repositories.api_keys import ApiKeyRepository
from storage.repositories.petitions import PetitionDraft, PetitionRepository
from tests.tools.databases import BACKENDS, migrated_database

PROCEDURES = [
    Procedure(
        code="1.001193",
        name="Thủ tục đăng ký khai sinh",
        sector="Hộ tịch",
        issuing_agency="Bộ Tư pháp",
    ),
    Procedure(
        code="1.000001",
        name="Đăng ký đất đai lần đầu",
        sector="Đất đai",
        issuing_agency="Bộ Nông nghiệp và Môi trường",
    ),
    Procedure(
        code="2.000100",
        name="Đăng ký dự án đầu tư",
        sector="Đầu tư tại Việt nam",
        issuing_agency="Bộ Tài chính",
    ),
    Procedure(
        code="2.000101",
        name="Điều chỉnh dự án đầu tư",
        sector="Đầu tư tại Việt Nam",
        issuing_agency="Bộ Tài chính",
    ),
]

NAME = "Trần Thị Bích"
PHONE = "0912 345 678"
EMAIL = "bich.tran@example.vn"
ADDRESS = "Số 12 ngõ 34 phố Láng Hạ, phường Láng, Hà Nội"
CONTENT = (
    "Tôi là Trần Thị Bích, số điện thoại 0912 345 678, email bich.tran@example.vn. "
    "Thủ tục đăng ký khai sinh cho con tại phường yêu cầu nộp bản sao giấy chứng nhận kết hôn "
    "có chứng thực, trong khi quy định không đòi hỏi giấy này. Đề nghị bỏ yêu cầu này."
)


def form(**overrides: str | None) -> dict[str, str]:
    fields: dict[str, str | None] = {
        "service_code": "ho-tich",
        "description": CONTENT,
        "first_name": "Trần",
        "last_name": "Thị Bích",
        "phone": PHONE,
        "email": EMAIL,
        "address_string": ADDRESS,
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


@dataclass
class Env:
    client: TestClient
    factory: async_sessionmaker[AsyncSession]
    key: str
    other_key: str  # scope open311 too, another agency's system
    dossier_key: str  # scope dossiers only
    justice_id: int

    async def post(self, fields: dict[str, str], *, key: str | None = "default", **kw: Any):
        data = dict(fields)
        if key is not None:
            data["api_key"] = self.key if key == "default" else key
        return await self.client.post("/open311/v2/requests.json", data=data, **kw)

    async def count(self, model: Any = Petition) -> int:
        async with self.factory() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture(params=BACKENDS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    async with migrated_database(request.param, tmp_path, "open311") as factory:
        async with factory() as session:
            agencies = AgencyRepository(session)
            # also the default agency: it receives what no other agency answers for
            justice = await agencies.save(
                "so-tu-phap", "Sở Tư pháp", sectors=["Hộ tịch"], is_default=True
            )
            await agencies.save(
                "so-xay-dung", "Sở Xây dựng", sectors=["Quản lý trật tự xây dựng đô thị"]
            )
            session.add(
                Official(agency_id=justice.id, channel="telegram", chat_id="77", role="officer")
            )
            keys = ApiKeyRepository(session)
            _, key = await keys.create("Cổng FixMyStreet", "test", scopes="open311")
            _, other_key = await keys.create("Hệ thống khác", "test", scopes="open311 dossiers")
            _, dossier_key = await keys.create("Một cửa", "test", scopes="dossiers")
            await session.commit()
            justice_id = justice.id
        app = web.Application()
        setup_open311(
            app,
            factory,
            SearchIndex.build(PROCEDURES),
            post_per_address=RateLimiter(burst=1000, per_second=1000),
            per_key=RateLimiter(burst=1000, per_second=1000),
        )
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield Env(client, factory, key, other_key, dossier_key, justice_id)
        finally:
            await client.close()


def codes_of(errors: list[dict[str, Any]], status: int) -> list[str]:
    assert all(e["code"] == status for e in errors), errors
    return [e["description"] for e in errors]


# --- services ---------------------------------------------------------------------------------


async def test_services_list_sectors_agencies_and_the_fixed_services(env: Env) -> None:
    response = await env.client.get("/open311/v2/services.json")
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    services = {s["service_code"]: s for s in await response.json()}
    assert {CENTRE_CODE, OTHER_CODE, "ho-tich", "dat-dai", "dau-tu-tai-viet-nam"} <= set(services)
    # the agency's own sector, not in the catalog, is a service too
    assert "quan-ly-trat-tu-xay-dung-do-thi" in services
    # one service for two spellings of a sector
    assert sum(1 for c in services if c.startswith("dau-tu-tai-viet-nam")) == 1
    birth = services["ho-tich"]
    assert birth["service_name"] == "Hộ tịch"
    assert birth["group"] == "Bộ Tư pháp"
    assert birth["type"] == "realtime" and birth["metadata"] is True
    assert "Hộ tịch" in birth["description"]
    assert isinstance(birth["keywords"], str) and "kiến nghị" in birth["keywords"]
    assert services["quan-ly-trat-tu-xay-dung-do-thi"]["group"] == "Sở Xây dựng"
    assert services[CENTRE_CODE]["service_name"].startswith("Phục vụ tại Trung tâm")

    english = {
        s["service_code"]: s
        for s in await (await env.client.get("/open311/v2/services.json?locale=en")).json()
    }
    assert english[CENTRE_CODE]["service_name"] == "Service at a public service centre"
    assert english["ho-tich"]["service_name"] == "Hộ tịch"  # a sector's name is its own

    response = await env.client.get("/open311/v2/services.xml")
    assert response.status == 200 and response.content_type == "text/xml"
    root = ET.fromstring(await response.read())
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.findall("service")} == set(services)


async def test_service_definition_and_unknown_service(env: Env) -> None:
    response = await env.client.get("/open311/v2/services/ho-tich.json")
    assert response.status == 200
    definition = await response.json()
    assert definition["service_code"] == "ho-tich"
    [attribute] = definition["attributes"]
    assert attribute["code"] == "procedure_code" and attribute["required"] is False
    assert attribute["datatype"] == "string" and attribute["variable"] is True

    root = ET.fromstring(await (await env.client.get("/open311/v2/services/ho-tich.xml")).read())
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/code").text == "procedure_code"  # type: ignore[union-attr]

    response = await env.client.get("/open311/v2/services/khong-co.json")
    assert response.status == 404
    [error] = await response.json()
    assert error["code"] == 404 and "khong-co" in error["description"]

    for path in ("/open311/v2/nothing", "/open311/v2/services.csv", "/open311/v2/requests"):
        response = await env.client.get(path)
        assert response.status == 404, path
        assert (await response.json())[0]["code"] == 404


def test_slugs_are_short_ascii() -> None:
    assert slugify("Đăng ký, quản lý cư trú") == "dang-ky-quan-ly-cu-tru"
    assert slugify("Thi đua – Khen thưởng") == "thi-dua-khen-thuong"
    long = slugify("Thành lập và hoạt động của tổ hợp tác, hợp tác xã, liên hiệp hợp tác xã")
    assert len(long) <= 48 and not long.endswith("-")


# --- POST requests: keys ------------------------------------------------------------------------


async def test_post_needs_a_valid_open311_key(env: Env) -> None:
    response = await env.post(form(), key=None)
    assert response.status == 401
    assert codes_of(await response.json(), 401)
    for bad in ("vnd_not-a-real-key", env.dossier_key, "x" * 5000):
        response = await env.post(form(), key=bad)
        assert response.status == 403, bad[:20]
        assert "open311" in codes_of(await response.json(), 403)[0]
    async with env.factory() as session:
        revoked = await ApiKeyRepository(session).revoke(env.other_key[:12])
        await session.commit()
    assert revoked is not None
    response = await env.post(form(), key=env.other_key)
    assert response.status == 403
    assert await env.count() == 0


# --- POST requests: a good petition ------------------------------------------------------------


async def test_post_files_a_petition_routes_it_and_tells_the_officials(env: Env) -> None:
    fields = form(lat="21.0245678", long="105.8412345", media_url="https://example.vn/a.jpg")
    response = await env.post(fields)
    assert response.status == 200, await response.text()
    [answer] = await response.json()
    code = answer["service_request_id"]
    assert code.startswith("PAKN-") and code.endswith("-000001")
    assert answer["account_id"] is None
    assert "/cong-khai" in answer["service_notice"]
    async with env.factory() as session:
        petition = await PetitionRepository(session).by_code(code)
        assert petition is not None
        assert petition.source == "open311" and petition.channel is None
        assert petition.sender_name == NAME
        assert petition.phone == "0912345678"
        assert petition.email == EMAIL and petition.address == ADDRESS
        assert petition.sector == "Hộ tịch" and petition.topic_kind == "procedure"
        assert petition.agency_id == env.justice_id
        assert petition.latitude == pytest.approx(21.0245678)
        [attachment] = await PetitionRepository(session).attachments(petition.id)
        assert (attachment.kind, attachment.file_id) == ("url", "https://example.vn/a.jpg")
        messages = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.PETITION_NEW)
            )
        ).all()
        assert [m.chat_id for m in messages] == ["77"]
        audit = (await session.scalars(select(AuditEntry))).all()
        assert [(a.action, a.via, a.petition_id) for a in audit] == [("submit", "api", petition.id)]
        assert audit[0].actor.startswith("api:vnd_")


async def test_post_accepts_json_with_a_procedure_attribute(env: Env) -> None:
    body = {
        **form(service_code="ho-tich"),
        "api_key": env.key,
        "attribute": {"procedure_code": "1.001193.H29"},
        "lat": 21.02,
        "long": 105.84,
    }
    response = await env.client.post("/open311/v2/requests.json", json=body)
    assert response.status == 200, await response.text()
    code = (await response.json())[0]["service_request_id"]
    async with env.factory() as session:
        petition = await PetitionRepository(session).by_code(code)
    assert petition is not None
    assert petition.procedure_code == "1.001193"
    assert petition.topic == "Thủ tục đăng ký khai sinh"

    # form-encoded attribute, a centre service: stored as a "service" petition
    response = await env.post(
        form(service_code=CENTRE_CODE, **{"attribute[procedure_code]": "1.000001"})
    )
    assert response.status == 200
    code = (await response.json())[0]["service_request_id"]
    async with env.factory() as session:
        petition = await PetitionRepository(session).by_code(code)
    assert petition is not None and petition.topic_kind == "service"
    assert petition.topic.startswith("Phục vụ tại Trung tâm")

    response = await env.post(form(**{"attribute[procedure_code]": "1.000001"}))
    assert response.status == 400
    [description] = codes_of(await response.json(), 400)
    assert "dat-dai" in description  # the procedure's own service is named
    response = await env.post(form(**{"attribute[procedure_code]": "9.999999"}))
    assert response.status == 400
    assert "9.999999" in codes_of(await response.json(), 400)[0]
    assert await env.count() == 2


# --- POST requests: bad input ------------------------------------------------------------------


async def test_every_problem_is_listed_and_nothing_is_stored(env: Env) -> None:
    response = await env.post(
        form(description="hỏng", first_name="", last_name="", phone="12345", address_string=None)
    )
    assert response.status == 400
    errors = codes_of(await response.json(), 400)
    assert len(errors) == 4
    joined = " ".join(errors)
    for field in ("description", "first_name", "phone", "address_string"):
        assert field in joined

    english = await env.post(form(email="not-an-email", phone=""), params={"locale": "en"})
    assert codes_of(await english.json(), 400) == ["email is not a valid e-mail address."]

    cases: list[dict[str, str]] = [
        form(service_code=None),
        form(service_code="khong-co"),
        form(description="😀😀😀😀😀 🙏🙏🙏🙏 👍👍👍👍"),
        form(description="\u200b\u200b\u200b\u200b" * 50),
        form(description="x" * 5001),
        form(description="This is an English text about the birth registration procedure here."),
        form(phone="", email=""),
        form(lat="91", long="10"),
        form(lat="abc", long="10"),
        form(lat="21.0"),
        form(media_url="javascript:alert(1)"),
        form(first_name="Robert'); DROP TABLE petitions;--", last_name=""),
    ]
    for fields in cases:
        response = await env.post(fields)
        assert response.status == 400, fields
        assert codes_of(await response.json(), 400)
    assert await env.count() == 0
    # SQL-looking text in an otherwise valid petition is just text
    sql = CONTENT + " '; DROP TABLE petitions; -- "
    response = await env.post(form(description=sql))
    assert response.status == 200
    async with env.factory() as session:
        stored = await session.scalar(select(Petition.content))
    assert stored is not None and stored.endswith("DROP TABLE petitions; --")


async def test_bodies_types_and_sizes(env: Env) -> None:
    url = "/open311/v2/requests.json"
    response = await env.client.post(
        url, data=b"a" * 70_000, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 413
    response = await env.client.post(url, data="<x/>", headers={"Content-Type": "text/xml"})
    assert response.status == 415
    for bad in (b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"):
        response = await env.client.post(
            url, data=bad, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, bad
    response = await env.client.post(url, json={**form(), "api_key": env.key, "phone": 912345678})
    assert response.status == 400
    assert "phone" in codes_of(await response.json(), 400)[0]
    assert await env.count() == 0
    # a lone surrogate in JSON (valid JSON, not storable text) is dropped, not a crash
    body = json.dumps({**form(description=CONTENT + " MARK"), "api_key": env.key})
    body = body.replace("MARK", "\\ud800")
    response = await env.client.post(url, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 200, await response.text()
    async with env.factory() as session:
        stored = await session.scalar(select(Petition.content))
    assert stored == CONTENT


@pytest.mark.parametrize(
    ("text", "word"),
    [
        (
            "Tôi muốn khiếu nại quyết định xử phạt của Chủ tịch UBND phường đối với gia đình tôi.",
            "khiếu nại",
        ),
        (
            "Tôi tố cáo cán bộ địa chính phường nhận tiền của người dân khi làm hồ sơ đất đai.",
            "tố cáo",
        ),
        ("Nhờ luật sư tư vấn giúp tôi về việc chia thừa kế nhà đất của bố mẹ để lại.", "luật sư"),
    ],
)
async def test_complaints_denunciations_and_legal_advice_are_refused(
    env: Env, text: str, word: str
) -> None:
    response = await env.post(form(description=text))
    assert response.status == 400
    [description] = codes_of(await response.json(), 400)
    assert word in description
    assert await env.count() == 0


# --- POST requests: idempotency ----------------------------------------------------------------


async def test_idempotency_key_repeats_the_first_answer(env: Env) -> None:
    headers = {"Idempotency-Key": "fms-report-42"}
    first = await env.post(form(), headers=headers)
    again = await env.post(form(), headers=headers)
    assert first.status == again.status == 200
    code = (await first.json())[0]["service_request_id"]
    assert (await again.json())[0]["service_request_id"] == code
    assert await env.count() == 1
    assert await env.count(OutboxMessage) == 1

    # the same header from another system is another petition
    other = await env.post(form(), key=env.other_key, headers=headers)
    assert (await other.json())[0]["service_request_id"] != code
    # without the header a retry is a new petition
    plain = await env.post(form())
    assert (await plain.json())[0]["service_request_id"] not in (code,)
    assert await env.count() == 3

    changed = await env.post(form(description=CONTENT + " Xin cảm ơn."), headers=headers)
    assert changed.status == 409
    for bad in ("", "a" * 101, "khóa có dấu"):
        response = await env.post(form(), headers={"Idempotency-Key": bad})
        assert response.status == 400, bad
    assert await env.count() == 3


async def test_rate_limits_answer_429(tmp_path: Path) -> None:
    async with migrated_database("sqlite", tmp_path, "limits") as factory:
        app = web.Application()
        setup_open311(app, factory, get_per_address=RateLimiter(burst=2, per_second=0.001))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            statuses = [(await client.get("/open311/v2/services.json")).status for _ in range(3)]
            assert statuses == [200, 200, 429]
            response = await client.get("/open311/v2/requests.json")
            assert response.status == 429 and response.headers["Retry-After"]
            assert (await response.json())[0]["code"] == 429
            preflight = await client.options(
                "/open311/v2/requests.json",
                headers={"Origin": "https://map.example", "Access-Control-Request-Method": "GET"},
            )
            assert preflight.status == 204
            assert preflight.headers["Access-Control-Allow-Origin"] == "*"
            assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


# --- GET requests ------------------------------------------------------------------------------


async def _petitions(env: Env) -> dict[str, str]:
    """Petitions in every state; returns their codes by name."""
    now = datetime.now(UTC)
    base = {
        "content": CONTENT,
        "sender_name": NAME,
        "phone": "0912345678",
        "email": EMAIL,
        "address": ADDRESS,
        "source": "open311",
    }
    codes: dict[str, str] = {}
    async with env.factory() as session:
        repo = PetitionRepository(session)
        official = await session.scalar(select(Official))
        assert official is not None

        async def submit(name: str, when: datetime, **fields: Any) -> Petition:
            values = {"topic_kind": "procedure", "topic": "Hộ tịch", "sector": "Hộ tịch", **base}
            values.update(fields)
            result = await repo.submit(PetitionDraft(**values), now=when)  # type: ignore[arg-type]
            codes[name] = result.petition.tracking_code
            return result.petition

        await submit("received", now - timedelta(days=1))
        taken = await submit("taken", now - timedelta(days=2), topic_kind="service", sector=None)
        taken = (await repo.take(taken, official, via="test")).petition
        refused = await submit("refused", now - timedelta(days=3), topic_kind="other", sector=None)
        refused = (
            await repo.refuse(
                refused, official, f"Chị {NAME} (SĐT {PHONE}) đã gửi trùng nội dung.", via="test"
            )
        ).petition
        published = await submit("published", now - timedelta(days=10))
        published = (
            await repo.answer(
                published, official, f"Trả lời bà {NAME}: đã bỏ yêu cầu này.", via="test"
            )
        ).petition
        published = (await repo.publish(published, official, via="test")).petition
        await submit("old", now - timedelta(days=120), sector="Đất đai")
        await session.commit()
    return codes


async def _get(env: Env, path: str, **params: str) -> tuple[int, Any]:
    response = await env.client.get(f"/open311/v2/{path}", params=params)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.status, await response.json()


async def test_get_requests_filters(env: Env) -> None:
    codes = await _petitions(env)
    status, items = await _get(env, "requests.json")
    assert status == 200
    ids = [i["service_request_id"] for i in items]
    # newest first; the 120-day-old one is outside the default 90 days
    assert ids == [codes[n] for n in ("received", "taken", "refused", "published")]
    by_id = {i["service_request_id"]: i for i in items}
    received = by_id[codes["received"]]
    assert received["status"] == "open"
    assert received["service_code"] == "ho-tich" and received["service_name"] == "Hộ tịch"
    assert received["agency_responsible"] == "Sở Tư pháp"
    assert received["expected_datetime"].endswith("T23:59:59+07:00")
    assert received["requested_datetime"].endswith("+07:00")
    assert by_id[codes["taken"]]["service_code"] == CENTRE_CODE
    assert by_id[codes["refused"]]["service_code"] == OTHER_CODE
    assert by_id[codes["refused"]]["status"] == "closed"
    assert by_id[codes["refused"]]["status_notes"].startswith("Không tiếp nhận")
    assert by_id[codes["published"]]["status_notes"].startswith("Trả lời bà ***")
    assert "/cong-khai/" + codes["published"] in by_id[codes["published"]]["service_notice"]

    _, items = await _get(env, "requests.json", status="open")
    assert {i["service_request_id"] for i in items} == {codes["received"], codes["taken"]}
    _, items = await _get(env, "requests.json", status="closed")
    assert {i["service_request_id"] for i in items} == {codes["refused"], codes["published"]}
    _, items = await _get(env, "requests.json", service_code=CENTRE_CODE)
    assert [i["service_request_id"] for i in items] == [codes["taken"]]
    _, items = await _get(env, "requests.json", service_code="ho-tich", status="open,closed")
    assert {i["service_request_id"] for i in items} == {codes["received"], codes["published"]}
    _, items = await _get(env, "requests.json", service_code=OTHER_CODE)
    assert [i["service_request_id"] for i in items] == [codes["refused"]]

    today = datetime.now(UTC)
    start = (today - timedelta(days=200)).date().isoformat()
    end = (today - timedelta(days=5)).date().isoformat()
    _, items = await _get(env, "requests.json", start_date=start, end_date=end)
    assert [i["service_request_id"] for i in items] == [codes["published"], codes["old"]]
    since = (today - timedelta(days=2, hours=12)).isoformat()
    _, items = await _get(env, "requests.json", start_date=since)
    assert [i["service_request_id"] for i in items] == [codes["received"], codes["taken"]]

    wanted = f"{codes['old']}, pakn {codes['received'][5:9]} {int(codes['received'][-6:])}"
    _, items = await _get(env, "requests.json", service_request_id=wanted)
    assert {i["service_request_id"] for i in items} == {codes["old"], codes["received"]}

    for params in (
        {"start_date": "yesterday"},
        {"end_date": "2026-13-01"},
        {"start_date": "2026-03-10", "end_date": "2026-03-01"},
        {"status": "pending"},
        {"service_code": "khong-co"},
        {"service_request_id": "12345"},
        {"service_request_id": ",".join(["PAKN-2026-000001"] * 101)},
    ):
        status, errors = await _get(env, "requests.json", **params)
        assert status == 400, params
        assert codes_of(errors, 400)


async def test_get_request_by_id(env: Env) -> None:
    codes = await _petitions(env)
    status, [item] = await _get(env, f"requests/{codes['published']}.json")
    assert status == 200
    assert item["service_request_id"] == codes["published"]
    assert item["status"] == "closed"
    response = await env.client.get(f"/open311/v2/requests/{codes['taken']}.xml")
    root = ET.fromstring(await response.read())
    assert root.tag == "service_requests"
    assert root.findtext("request/status") == "open"
    assert root.findtext("request/service_code") == CENTRE_CODE
    status, [unpublished] = await _get(env, f"requests/{codes['taken']}.json")
    assert unpublished["description"] is None  # its text leaves only once published
    for missing in ("PAKN-2020-000001", "not-a-code", "PAKN-2026-0000000001"):
        status, errors = await _get(env, f"requests/{missing}.json")
        assert status == 404, missing
        assert codes_of(errors, 404)


async def test_no_personal_data_in_any_get(env: Env) -> None:
    codes = await _petitions(env)
    response = await env.post(form(lat="21.0245678", long="105.8412345"))
    codes["posted"] = (await response.json())[0]["service_request_id"]
    bodies = []
    for path in (
        "requests.json",
        "requests.xml",
        "requests.json?status=closed&locale=en",
        "requests.json?start_date=2000-01-01",
        *(f"requests/{code}.json" for code in codes.values()),
        *(f"requests/{code}.xml" for code in codes.values()),
    ):
        response = await env.client.get(f"/open311/v2/{path}")
        assert response.status == 200, path
        bodies.append(await response.text())
    text = "\n".join(bodies)
    assert codes["posted"] in text and codes["old"] in text
    for secret in (
        NAME, "Thị Bích", PHONE, "0912345678", "345 678", EMAIL, ADDRESS, "Số 12 ngõ 34",
        "21.0245678", "105.8412345",
    ):  # fmt: skip
        assert secret not in text, secret
    # what is kept: the sense of the petition, and a coarse location
    assert "giấy chứng nhận kết hôn" in text
    assert '"lat": 21.02' in text


async def test_cli_makes_open311_keys_and_refuses_unknown_scopes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    settings = Settings(database_url=url)

    def args(scopes: str) -> argparse.Namespace:
        return argparse.Namespace(action="create", agency="Cổng FMS", label="t", scopes=scopes)

    assert await cmd_api_keys(settings, args("open-311")) == 2
    assert "unknown scope" in capsys.readouterr().err
    assert await cmd_api_keys(settings, args("open311")) == 0
    key = capsys.readouterr().out.strip()
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            info = await ApiKeyRepository(session).authenticate(key, "open311")
            assert info is not None and info.scopes == ("open311",)
            assert await ApiKeyRepository(session).authenticate(key, "dossiers") is None
    finally:
        await engine.dispose()
