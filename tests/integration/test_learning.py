"""Learning from use, end to end, on the assistant as `python -m bot` composes it
(create_services + create_app, real HTTP, SQLite and PostgreSQL): the web chat's answers that
miss are counted without personal data; officials see them in the inbox and map one to a
procedure in one step; the next start teaches the search every stored phrasing again; the
digest lists the week's most asked."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.app import create_app
from bot.config import Settings
from bot.services import Services, apply_learned_phrasings, create_services
from handlers.digest.build import build_digest
from handlers.digest.render import render_digest
from handlers.i18n import create_i18n
from knowledge.digest import Digest
from knowledge.misses import MissKind
from knowledge.search import SearchIndex
from storage.records import OfficialRecord, SearchMissRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.inbox_tokens import LINK_TTL, InboxTokenRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.search_misses import (
    LearnedPhrasingRepository,
    MissFilter,
    SearchMissRepository,
)
from tests.tools.databases import BACKENDS, empty_database
from tests.tools.webchat import assert_all_handled

NOTHING = "xyzzy qwerty blorf"
LOW = "con chó cắn"  # a top hit below LOW_CONFIDENCE_SCORE
CLEAR = "đăng ký khai sinh"  # a confident list
FAIR = "xin giấy phép xây dựng nhà"  # a list above the threshold
CODE_RE = re.compile(r"^po:(.+)$")


@dataclass
class Env:
    client: TestClient
    services: Services
    admin: OfficialRecord
    officer: OfficialRecord

    @property
    def origin(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")


@pytest.fixture(params=BACKENDS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    async with empty_database(request.param, tmp_path, "learning") as url:
        services = await create_services(Settings(database_url=url))
        async with services.session_factory() as session:
            agency = await AgencyRepository(session).save("so-tu-phap", "Sở Tư pháp")
            officials = OfficialRepository(session)
            code, _ = await officials.create_invitation(agency.id, "admin")
            admin = await officials.enroll(code, channel="telegram", chat_id="701")
            code, _ = await officials.create_invitation(agency.id, "officer")
            officer = await officials.enroll(code, channel="telegram", chat_id="702")
            await session.commit()
        app, _bot, _dispatcher = create_app(services)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield Env(client, services, admin, officer)
            assert_all_handled(app)
        finally:
            await client.close()
            await services.close()


# --- helpers -----------------------------------------------------------------------------------


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """The count is written right after the answer: give it a moment."""
    for _ in range(int(timeout / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not recorded in time")


async def say(env: Env, words: str) -> list[dict[str, Any]]:
    response = await env.client.post(
        "/api/chat/messages",
        data=json.dumps({"text": words}, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, await response.text()
    return [e for e in (await response.json())["events"] if e["type"] == "message"]


async def press(env: Env, message: dict[str, Any], data: str) -> list[dict[str, Any]]:
    response = await env.client.post(
        "/api/chat/callbacks",
        data=json.dumps({"message_id": message["message_id"], "data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, await response.text()
    return [e for e in (await response.json())["events"] if e["type"] == "message"]


def result_buttons(message: dict[str, Any]) -> list[str]:
    return [b["callback_data"] for row in message.get("buttons", []) for b in row]


async def misses(env: Env) -> list[SearchMissRecord]:
    async with env.services.session_factory() as session:
        return await SearchMissRepository(session).all_rows()


async def kinds(env: Env) -> dict[str, tuple[str, int]]:
    return {m.kind: (m.text, m.count) for m in await misses(env)}


async def sign_in(env: Env, official: OfficialRecord) -> None:
    async with env.services.session_factory() as session:
        token = await InboxTokenRepository(session).issue(
            official, kind="link", ttl=LINK_TTL, now=datetime.now(UTC)
        )
        await session.commit()
    response = await env.client.post(
        "/inbox/login", data={"token": token}, headers={"Origin": env.origin}, allow_redirects=False
    )
    assert response.status == 303, await response.text()


async def page(env: Env, path: str, status: int = 200) -> str:
    response = await env.client.get(path)
    body = await response.text()
    assert response.status == status, body
    return body


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match is not None
    return match.group(1)


def key_of(html: str) -> str:
    match = re.search(r'name="key" value="([0-9a-f]{64})"', html)
    assert match is not None, "no mapping form on the page"
    return match.group(1)


# --- recording ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_each_kind_of_miss_is_counted_through_the_dialog(env: Env) -> None:
    # nothing found
    answer = await say(env, NOTHING)
    assert answer  # the citizen is answered
    await wait_until(lambda: _has(env, MissKind.NOTHING))
    # a weak best result
    answer = await say(env, LOW)
    assert result_buttons(answer[-1])
    await wait_until(lambda: _has(env, MissKind.LOW_CONFIDENCE))
    # result #2 pressed
    answer = await say(env, CLEAR)
    buttons = result_buttons(answer[-1])
    assert len(buttons) >= 2
    card = await press(env, answer[-1], buttons[1])
    assert card
    await wait_until(lambda: _has(env, MissKind.LOWER_PICK))
    # a list not pressed, then another question
    await say(env, FAIR)
    await say(env, CLEAR)
    await wait_until(lambda: _has(env, MissKind.ASKED_AGAIN))
    found = await kinds(env)
    assert found == {
        "nothing": (NOTHING, 1),
        "low_confidence": (LOW, 1),
        "lower_pick": (CLEAR, 1),
        "asked_again": (FAIR, 1),
    }
    assert {m.channel for m in await misses(env)} == {"web"}


@pytest.mark.slow
async def test_first_result_pressed_and_clear_answers_are_not_misses(env: Env) -> None:
    answer = await say(env, CLEAR)
    await press(env, answer[-1], result_buttons(answer[-1])[0])
    await say(env, "thủ tục 1.001193")  # a code: its card
    await say(env, CLEAR)
    assert await misses(env) == []


async def _has(env: Env, kind: MissKind) -> bool:
    return kind.value in await kinds(env)


@pytest.mark.slow
async def test_personal_data_is_not_stored_and_identical_texts_are_counted_together(
    env: Env,
) -> None:
    # a question holding personal data is not kept at all, however it is disguised
    await say(env, f"{NOTHING} gọi 0912345678 hoặc an.nguyen@example.com số 001099012345")
    await say(env, f"{NOTHING} tôi tên là Nguyễn Văn An")
    await say(env, f"{NOTHING} mail an[at]gmail.com")
    # the same question typed twice, differently spaced and cased: one row, counted twice
    await say(env, f"{NOTHING} nhà số 12")
    await say(env, f"  {NOTHING.upper()}   nhà  số 12 ")
    await wait_until(lambda: _count(env, 2))
    [row] = await misses(env)
    assert row.count == 2 and row.kind == "nothing"
    for secret in ("0912", "345678", "example", "001099", "Nguyễn", "gmail", "12"):
        assert secret not in row.text
    assert row.text.startswith(NOTHING)


async def _count(env: Env, count: int) -> bool:
    return sum(m.count for m in await misses(env)) == count


@pytest.mark.slow
async def test_a_failing_count_never_fails_the_answer(env: Env) -> None:
    async with env.services.session_factory() as session:
        await session.execute(text("DROP TABLE search_misses"))
        await session.commit()
    answer = await say(env, NOTHING)
    assert answer and answer[-1]["html"]
    answer = await say(env, LOW)
    assert result_buttons(answer[-1])


# --- the inbox ---------------------------------------------------------------------------------


async def _seed(env: Env, *entries: tuple[str, str, int]) -> None:
    async with env.services.session_factory() as session:
        repo = SearchMissRepository(session)
        for words, kind, times in entries:
            for _ in range(times):
                await repo.record(words, kind, "telegram")
        await session.commit()


@pytest.mark.slow
async def test_the_page_needs_a_session_lists_by_count_and_filters(env: Env) -> None:
    await _seed(env, ("giấy độc thân", "nothing", 3), ("làm passport", "low_confidence", 5))
    html = await page(env, "/inbox/misses", status=401)
    assert "giấy độc thân" not in html
    await sign_in(env, env.officer)
    html = await page(env, "/inbox/misses")
    assert html.index("làm passport") < html.index("giấy độc thân")  # most asked first
    assert 'name="key"' not in html  # an officer sees, an administrator maps
    html = await page(env, "/inbox/misses?kind=nothing")
    assert "giấy độc thân" in html and "làm passport" not in html
    english = await page(env, "/inbox/misses?lang=en")
    assert "Unanswered questions" in english
    vietnamese = await page(env, "/inbox/misses?lang=vi")
    assert "Câu hỏi chưa trả lời được" in vietnamese


@pytest.mark.slow
async def test_paging(env: Env) -> None:
    await _seed(
        env,
        *((f"câu hỏi lạ số {i}", "nothing", 1) for i in range(30)),
    )
    await sign_in(env, env.admin)
    first = await page(env, "/inbox/misses")
    second = await page(env, "/inbox/misses?page=2")
    assert first.count('name="key"') == 25 and second.count('name="key"') == 5


@pytest.mark.slow
async def test_an_administrator_maps_a_question_in_one_step(env: Env) -> None:
    everyday = "giấy độc thân"
    await _seed(env, (everyday, "nothing", 2), (everyday, "asked_again", 1))
    await sign_in(env, env.admin)
    html = await page(env, "/inbox/misses")
    csrf, key = csrf_of(html), key_of(html)
    form = {"csrf": csrf, "key": key, "code": "9.999999"}
    # no CSRF token, or another site: refused
    for data, headers in (
        ({"key": key, "code": "1.001193"}, {"Origin": env.origin}),
        ({**form, "code": "1.001193"}, {"Origin": "https://evil.example"}),
    ):
        response = await env.client.post(
            "/inbox/misses/map", data=data, headers=headers, allow_redirects=False
        )
        assert response.status == 403
    # an unknown code: said so, nothing kept
    response = await env.client.post(
        "/inbox/misses/map", data=form, headers={"Origin": env.origin}, allow_redirects=False
    )
    assert response.status == 400
    assert "9.999999" in await response.text()
    assert await _learned(env) == []
    # a code typed: kept, the question resolved
    code = "1.001193"
    response = await env.client.post(
        "/inbox/misses/map",
        data={**form, "code": code},
        headers={"Origin": env.origin},
        allow_redirects=False,
    )
    assert response.status == 303
    done = await page(env, response.headers["Location"])
    assert code in done
    [learned] = await _learned(env)
    assert (learned.text, learned.code, learned.official_id) == (everyday, code, env.admin.id)
    assert all(m.resolved_at is not None for m in await misses(env))
    assert 'name="key"' not in await page(env, "/inbox/misses")  # no longer listed
    index = env.services.index
    if hasattr(SearchIndex, "learn"):
        assert index.search(everyday, 1)[0].procedure.code == code  # the live search learned it
    # the next start teaches it again
    fresh = await create_services(env.services.settings)
    try:
        taken = await apply_learned_phrasings(fresh.index, fresh.session_factory)
        if hasattr(SearchIndex, "learn"):
            assert taken == 1
            assert fresh.index.search(everyday, 1)[0].procedure.code == code
    finally:
        await fresh.close()


@pytest.mark.slow
async def test_a_pick_among_the_search_hits_and_an_officer_refused(env: Env) -> None:
    await _seed(env, ("làm giấy khai sinh cho con", "low_confidence", 1))
    await sign_in(env, env.officer)
    html = await page(env, "/inbox/misses")
    async with env.services.session_factory() as session:
        [group] = await SearchMissRepository(session).groups(MissFilter(), limit=5)
    response = await env.client.post(
        "/inbox/misses/map",
        data={"csrf": csrf_of(html), "key": group.text_key, "pick": "1.001193"},
        headers={"Origin": env.origin},
        allow_redirects=False,
    )
    assert response.status == 403
    assert await _learned(env) == []
    await sign_in(env, env.admin)
    html = await page(env, "/inbox/misses")
    picks = re.findall(r'name="pick" value="([^"]+)"', html)
    assert picks  # the search's own results for the text, one press each
    response = await env.client.post(
        "/inbox/misses/map",
        data={"csrf": csrf_of(html), "key": key_of(html), "code": "", "pick": picks[0]},
        headers={"Origin": env.origin},
        allow_redirects=False,
    )
    assert response.status == 303
    [learned] = await _learned(env)
    assert learned.code == picks[0]


async def _learned(env: Env) -> list[Any]:
    async with env.services.session_factory() as session:
        return await LearnedPhrasingRepository(session).all()


# --- the digest --------------------------------------------------------------------------------


@pytest.mark.slow
async def test_the_digest_lists_the_weeks_most_asked(env: Env) -> None:
    now = datetime.now(UTC)
    await _seed(
        env,
        *((f"câu hỏi {name}", "nothing", times) for name, times in zip("abcdefg", range(7, 0, -1))),
    )
    async with env.services.session_factory() as session:
        old = await SearchMissRepository(session).record(
            "câu hỏi cũ", "nothing", "web", at=now - timedelta(days=10)
        )
        assert old
        await session.commit()
        agency = await AgencyRepository(session).by_code("so-tu-phap")
        assert agency is not None
        digest = await build_digest(
            session, agency, now.date(), now, misses_url="https://example.gov.vn/inbox/misses"
        )
    assert [m.text for m in digest.misses] == [f"câu hỏi {c}" for c in "abcde"]
    assert Digest.from_payload(json.loads(json.dumps(digest.to_payload()))) == digest
    i18n = create_i18n()
    for locale, heading in (("vi", "Câu hỏi công dân chưa được trả lời"), ("en", "not answered")):
        with i18n.context(), i18n.use_locale(locale):
            rendered = render_digest(digest)
        assert heading in rendered
        assert "câu hỏi a" in rendered and "câu hỏi f" not in rendered
        assert "https://example.gov.vn/inbox/misses" in rendered
    assert "câu hỏi cũ" not in rendered
