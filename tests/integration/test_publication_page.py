"""The public page of published answers (``/cong-khai``) over real HTTP on loopback, on a
migrated SQLite and PostgreSQL database: only published petitions and only their public copies,
escaped; search, paging, the detail page, both languages, security headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.plumbing import RateLimiter
from bot.web.publication import PAGE_SIZE, setup_publication
from storage.models import Official
from storage.repositories.agencies import AgencyRepository
from storage.repositories.petitions import PetitionDraft, PetitionRepository
from tests.tools.databases import BACKENDS, migrated_database

NAME = "Lê Văn Cường"
PHONE = "0987 654 321"
EMAIL = "cuong.le@example.vn"
ADDRESS = "Số 5 ngõ 7 phố Huế, phường Hai Bà Trưng, Hà Nội"


def content(topic: str) -> str:
    return (
        f"Tôi là {NAME}, điện thoại {PHONE}, email {EMAIL}. Về {topic}: bộ phận một cửa yêu cầu "
        "nộp thêm giấy tờ không có trong quy định. <script>alert('x')</script> & đề nghị sửa."
    )


@dataclass
class Env:
    client: TestClient
    factory: async_sessionmaker[AsyncSession]

    async def page(self, path: str = "/cong-khai", **params: str | int) -> tuple[int, str]:
        response = await self.client.get(path, params={k: str(v) for k, v in params.items()})
        return response.status, await response.text()

    async def add(
        self, topic: str, *, state: str = "published", answer: str | None = None, when=None
    ) -> str:
        """A petition about ``topic``, taken to ``state``; its tracking code."""
        async with self.factory() as session:
            repo = PetitionRepository(session)
            official = await session.scalar(select(Official))
            assert official is not None
            draft = PetitionDraft(
                topic_kind="procedure",
                topic=topic,
                sector="Hộ tịch",
                content=content(topic),
                sender_name=NAME,
                phone=PHONE,
                email=EMAIL,
                address=ADDRESS,
            )
            petition = (await repo.submit(draft, now=when)).petition
            if state in ("answered", "published"):
                text = answer or f"Trả lời ông {NAME} về {topic}: đã chấn chỉnh bộ phận một cửa."
                petition = (
                    await repo.answer(petition, official, text, via="test", now=when)
                ).petition
            if state == "published":
                petition = (await repo.publish(petition, official, via="test", now=when)).petition
            await session.commit()
            return petition.tracking_code


@pytest.fixture(params=BACKENDS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    async with migrated_database(request.param, tmp_path, "publication") as factory:
        async with factory() as session:
            agency = await AgencyRepository(session).save(
                "so-tu-phap", "Sở Tư pháp", sectors=["Hộ tịch"], is_default=True
            )
            session.add(
                Official(agency_id=agency.id, channel="telegram", chat_id="1", role="officer")
            )
            await session.commit()
        app = web.Application()
        setup_publication(app, factory)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield Env(client, factory)
        finally:
            await client.close()


def codes_on(page: str) -> list[str]:
    return re.findall(r"<h2><a href=\"/cong-khai/[^\"]+\">(PAKN-\d{4}-\d{6})</a></h2>", page)


async def test_only_published_answers_escaped_and_without_personal_data(env: Env) -> None:
    published = await env.add("đăng ký khai sinh")
    answered = await env.add("đăng ký kết hôn", state="answered")
    received = await env.add("trích lục hộ tịch", state="received")
    status, page = await env.page()
    assert status == 200
    assert codes_on(page) == [published]
    assert answered not in page and received not in page
    assert "Sở Tư pháp" in page and "đăng ký khai sinh" in page
    assert "đã chấn chỉnh bộ phận một cửa" in page  # the answer
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; đề nghị sửa" in page
    for secret in (NAME, "Văn Cường", PHONE, "654 321", EMAIL, ADDRESS, "Số 5 ngõ 7"):
        assert secret not in page, secret
    assert "1 kết quả trả lời đã công khai" in page

    status, detail = await env.page(f"/cong-khai/{published}")
    assert status == 200
    assert f"<h2>{published}</h2>" in detail
    assert "&lt;script&gt;" in detail and "<script>" not in detail
    for secret in (NAME, PHONE, EMAIL, ADDRESS):
        assert secret not in detail, secret
    for code in (answered, received, "PAKN-2020-000001", "khong-phai-ma", "<b>x</b>"):
        status, missing = await env.page(f"/cong-khai/{code}")
        assert status == 404, code
        assert "<b>x</b>" not in missing


async def test_search_by_code_or_words(env: Env) -> None:
    birth = await env.add("đăng ký khai sinh")
    marriage = await env.add("đăng ký kết hôn")
    await env.add("đăng ký kết hôn có yếu tố nước ngoài", state="answered")
    year, number = birth.split("-")[1], int(birth.split("-")[2])
    _, page = await env.page(q=f"pakn {year} {number}")
    assert codes_on(page) == [birth]
    _, page = await env.page(q="kết hôn")
    assert codes_on(page) == [marriage]
    assert "1 kết quả trả lời khớp với “kết hôn”" in page
    _, page = await env.page(q="đăng ký")
    assert set(codes_on(page)) == {birth, marriage}
    _, page = await env.page(q="100%_ <i>x</i>")
    assert codes_on(page) == []
    assert "<i>x</i>" not in page and "&lt;i&gt;x&lt;/i&gt;" in page
    _, page = await env.page(q="x" * 5000)
    assert codes_on(page) == []
    # the search box keeps the query
    _, page = await env.page(q='"><b>')
    assert 'value="&quot;&gt;&lt;b&gt;"' in page


async def test_paging_newest_first(env: Env) -> None:
    start = datetime.now(UTC) - timedelta(days=40)
    codes = [
        await env.add(f"thủ tục số {i}", when=start + timedelta(days=i))
        for i in range(PAGE_SIZE + 3)
    ]
    _, first = await env.page()
    assert codes_on(first) == codes[::-1][:PAGE_SIZE]
    assert "Trang 1/2" in first and 'rel="next" href="/cong-khai?page=2"' in first
    _, second = await env.page(page=2)
    assert codes_on(second) == codes[::-1][PAGE_SIZE:]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    _, beyond = await env.page(page=99)
    assert codes_on(beyond) == codes_on(second)
    for junk in ("-1", "abc", "1e9"):
        status, page = await env.page(page=junk)
        assert status == 200 and codes_on(page) == codes_on(first), junk


async def test_english_and_empty_page(env: Env) -> None:
    status, page = await env.page(lang="en")
    assert status == 200
    assert '<html lang="en">' in page
    assert "Published answers to petitions" in page
    assert "No answer has been published yet." in page
    assert 'href="/cong-khai"' in page and "Tiếng Việt" in page
    code = await env.add("đăng ký khai sinh")
    _, page = await env.page(lang="en")
    assert "1 published answer" in page
    assert f'href="/cong-khai/{code}?lang=en"' in page
    _, page = await env.page()
    assert '<html lang="vi">' in page and "Công khai kết quả trả lời" in page


async def test_headers_stylesheet_and_rate_limit(env: Env, tmp_path: Path) -> None:
    response = await env.client.get("/cong-khai")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.content_type == "text/html"
    css = await env.client.get("/static/cong-khai.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert ".petition" in await css.text()

    app = web.Application()
    setup_publication(app, env.factory, limiter=RateLimiter(burst=2, per_second=0.001))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        statuses = [(await client.get("/cong-khai")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
