"""The officials' inbox page through real HTTP (aiohttp test server on loopback) over migrated
SQLite and PostgreSQL databases: sign-in by a one-time link, sessions, agency isolation, the
actions with their audit entries and citizen messages, CSRF, filters, and the CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.jobs.outbox import OUTBOX_KEY
from bot.web.inbox.context import TEXT_MAX_CHARS
from bot.web.inbox.export import csv_cell
from bot.web.inbox.filters import parse_day
from bot.web.inbox.routes import setup_inbox
from bot.web.plumbing import RateLimiter
from handlers.i18n import create_i18n
from handlers.officials import inbox_texts as tx
from knowledge.outbox import OutboxKind
from knowledge.petition_workflow import PetitionStatus
from storage.models import AuditEntry, InboxToken, Official, OutboxMessage, Petition
from storage.repositories.agencies import AgencyRepository
from storage.repositories.inbox_tokens import LINK_TTL, InboxTokenRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import (
    AttachmentDraft,
    PetitionDraft,
    PetitionRepository,
)
from tests.tools.builders import petition_draft
from tests.tools.databases import BACKENDS, migrated_database
from tests.tools.recording import WakeCounter

# Monday 2 November 2026, 09:00 in Hanoi
MONDAY_9AM = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
# "Now" for the page (its clock): Monday 16 November 2026, 10:00 in Hanoi
NOW = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)


I18N = create_i18n()


def in_locale(locale: str, text: Any, *args: Any) -> Any:
    """A label of the page as the catalogs give it (labels shared with the chat's texts are
    compared through the catalog, not copied here)."""
    with I18N.context(), I18N.use_locale(locale):
        return text(*args)


@dataclass
class Env:
    client: TestClient
    sessions: async_sessionmaker[AsyncSession]
    officer: Official  # Sở Tư pháp
    outsider: Official  # another agency
    codes: dict[str, str]  # name -> tracking code
    worker: WakeCounter
    clock: list[datetime] = field(default_factory=lambda: [NOW])

    def now(self) -> datetime:
        return self.clock[-1]

    @property
    def origin(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")


def draft(**overrides: object) -> PetitionDraft:
    return petition_draft(
        **{
            "email": "an.nguyen@example.com",
            "address": "Số 12 ngõ 34 Lê Lợi, phường Bến Thành, TP Hồ Chí Minh",
            **overrides,
        }
    )


@pytest.fixture(params=BACKENDS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    async with migrated_database(request.param, tmp_path, "inbox") as sessions:
        codes: dict[str, str] = {}
        async with sessions() as session:
            agencies = AgencyRepository(session)
            justice = await agencies.save(
                "so-tu-phap", "Sở Tư pháp", sectors=["Hộ tịch"], procedure_codes=["1.001193"]
            )
            land = await agencies.save(
                "so-tnmt", "Sở Nông nghiệp và Môi trường", sectors=["Đất đai"]
            )
            officials = OfficialRepository(session)
            code, _ = await officials.create_invitation(justice.id, "officer")
            officer = await officials.enroll(
                code, channel="telegram", chat_id="501", display_name="Trần Thị Bình"
            )
            code, _ = await officials.create_invitation(land.id, "officer")
            outsider = await officials.enroll(code, channel="telegram", chat_id="601")
            repo = PetitionRepository(session)
            codes["birth"] = (
                await repo.submit(
                    draft(
                        attachments=[
                            AttachmentDraft(
                                "document",
                                "BQACAgIAAxk-file-id",
                                "giay-hen.pdf",
                                "application/pdf",
                                48_213,
                            ),
                            AttachmentDraft("photo", "AgACAgIAAxk-photo-id"),
                        ]
                    ),
                    now=MONDAY_9AM,
                )
            ).petition.tracking_code
            codes["old"] = (
                await repo.submit(
                    draft(
                        topic="Chứng thực bản sao",
                        content="Phòng tư pháp yêu cầu nộp thêm giấy tờ không có trong quy định hiện hành.",
                        sender_name="Lê Văn Cường",
                        phone="0987654321",
                        chat_id="1002",
                    ),
                    now=MONDAY_9AM - timedelta(days=60),
                )
            ).petition.tracking_code
            codes["land"] = (
                await repo.submit(
                    draft(
                        procedure_code=None,
                        sector="Đất đai",
                        topic="Cấp giấy chứng nhận quyền sử dụng đất",
                        sender_name="Phạm Thị Dung",
                        phone="0903111222",
                        chat_id="1003",
                    ),
                    now=MONDAY_9AM,
                )
            ).petition.tracking_code
            codes["formula"] = (
                await repo.submit(
                    draft(
                        topic='=HYPERLINK("http://evil.example","bấm vào")',
                        sender_name="@SUM(A1:A9)",
                        phone="+84912000111",
                        address="-1+1 đường Trần Hưng Đạo, Hoàn Kiếm, Hà Nội",
                        content="<script>alert('x')</script> thủ tục cấp bản sao trích lục bị chậm 50% thời gian",
                        chat_id="1004",
                    ),
                    now=MONDAY_9AM + timedelta(hours=1),
                )
            ).petition.tracking_code
            await session.commit()
        worker = WakeCounter()
        app = web.Application()
        app[OUTBOX_KEY] = worker  # type: ignore[misc]
        clock: list[datetime] = [NOW]

        def now() -> datetime:
            return clock[-1]

        setup_inbox(
            app,
            sessions,
            Settings(),
            login_limiter=RateLimiter(burst=1000, per_second=1000),
            clock=now,
        )
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield Env(client, sessions, officer, outsider, codes, worker, clock)
        finally:
            await client.close()


# --- helpers -----------------------------------------------------------------------------------


async def link_for(env: Env, official: Official, ttl: timedelta = LINK_TTL) -> str:
    async with env.sessions() as session:
        token = await InboxTokenRepository(session).issue(
            official, kind="link", ttl=ttl, now=env.now()
        )
        await session.commit()
    return token


async def sign_in(env: Env, official: Official | None = None) -> None:
    token = await link_for(env, official or env.officer)
    response = await env.client.post(
        "/inbox/login", data={"token": token}, headers={"Origin": env.origin}, allow_redirects=False
    )
    assert response.status == 303, await response.text()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)


async def page(env: Env, path: str, status: int = 200) -> str:
    response = await env.client.get(path)
    text = await response.text()
    assert response.status == status, text
    return text


async def act(
    env: Env, code: str, action: str, text: str | None = None, **headers: str
) -> tuple[int, str, str | None]:
    csrf = csrf_of(await page(env, f"/inbox/p/{code}"))
    data = {"csrf": csrf}
    if text is not None:
        data["text"] = text
    response = await env.client.post(
        f"/inbox/p/{code}/{action}",
        data=data,
        headers=headers or {"Origin": env.origin},
        allow_redirects=False,
    )
    return response.status, await response.text(), response.headers.get("Location")


async def petition(env: Env, code: str) -> Petition:
    async with env.sessions() as session:
        found = await PetitionRepository(session).by_code(code)
    assert found is not None
    return found


async def audit(env: Env, action: str | None = None) -> list[AuditEntry]:
    async with env.sessions() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            stmt = stmt.where(AuditEntry.action == action)
        return list((await session.execute(stmt)).scalars())


async def citizen_messages(env: Env) -> list[OutboxMessage]:
    async with env.sessions() as session:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.kind == OutboxKind.PETITION_UPDATE)
            .order_by(OutboxMessage.id)
        )
        return list((await session.execute(stmt)).scalars())


def listed_codes(html: str) -> list[str]:
    return re.findall(r'href="/inbox/p/(PAKN-\d{4}-\d{6})"', html)


# --- sign-in -----------------------------------------------------------------------------------


async def test_the_link_is_used_only_by_the_sign_in_button(env: Env) -> None:
    token = await link_for(env, env.officer)
    for _ in range(3):  # link scanners and chat previews fetch it
        html = await page(env, f"/inbox/login?token={token}")
        assert 'method="post" action="/inbox/login"' in html
    async with env.sessions() as session:
        stored = (await session.execute(select(InboxToken))).scalars().one()
        assert stored.used_at is None

    response = await env.client.post(
        "/inbox/login", data={"token": token}, headers={"Origin": env.origin}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/inbox"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("inbox_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/inbox" in cookie
    assert "Secure" not in cookie  # the base URL is http here
    assert token not in cookie
    html = await page(env, "/inbox")
    assert "Trần Thị Bình" in html and "Sở Tư pháp" in html
    logins = await audit(env, "login")
    assert [(e.official_id, e.via) for e in logins] == [(env.officer.id, "inbox")]

    # used: neither the page nor the button accept it again
    env.client.session.cookie_jar.clear()
    html = await page(env, f"/inbox/login?token={token}", status=403)
    assert "/inbox" in html and 'method="post"' not in html
    response = await env.client.post(
        "/inbox/login", data={"token": token}, headers={"Origin": env.origin}
    )
    assert response.status == 403
    assert len(await audit(env, "login")) == 1
    await page(env, "/inbox", status=401)


async def test_expired_malformed_and_foreign_logins_fail_cleanly(env: Env) -> None:
    expired = await link_for(env, env.officer, ttl=timedelta(seconds=-1))
    await page(env, f"/inbox/login?token={expired}", status=403)
    response = await env.client.post(
        "/inbox/login", data={"token": expired}, headers={"Origin": env.origin}
    )
    assert response.status == 403
    for bad in ("", "x" * 5000, "' OR 1=1 --", "🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂", "a\u200b" * 20):
        response = await env.client.get("/inbox/login", params={"token": bad})
        assert response.status == 403, bad
        response = await env.client.post(
            "/inbox/login", data={"token": bad}, headers={"Origin": env.origin}
        )
        assert response.status == 403, bad
        assert "Set-Cookie" not in response.headers
    # a valid link posted from another site is refused and not used up
    token = await link_for(env, env.officer)
    response = await env.client.post(
        "/inbox/login", data={"token": token}, headers={"Origin": "https://evil.example"}
    )
    assert response.status == 403
    await page(env, f"/inbox/login?token={token}")  # still usable
    assert await audit(env, "login") == []
    # a link of a deactivated official is dead
    async with env.sessions() as session:
        await OfficialRepository(session).deactivate(env.officer.id)
        await session.commit()
    await page(env, f"/inbox/login?token={token}", status=403)


async def test_login_is_rate_limited_per_address(tmp_path: Path) -> None:
    async with migrated_database("sqlite", tmp_path, "inbox_rate") as sessions:
        app = web.Application()
        setup_inbox(app, sessions, Settings(), login_limiter=RateLimiter(burst=3, per_second=0.001))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            statuses = [
                (await client.get("/inbox/login", params={"token": "A" * 43})).status
                for _ in range(5)
            ]
    assert statuses == [403, 403, 403, 429, 429]


async def test_every_request_rechecks_the_session(env: Env) -> None:
    await page(env, "/inbox", status=401)
    env.client.session.cookie_jar.update_cookies({"inbox_session": "A" * 43})
    html = await page(env, "/inbox", status=401)
    assert "/inbox" in html  # tells how to get a link
    env.client.session.cookie_jar.clear()
    await sign_in(env)
    await page(env, "/inbox")
    # the session expires
    env.clock.append(NOW + timedelta(hours=8, seconds=1))
    await page(env, "/inbox", status=401)
    env.clock.pop()
    # deactivated: signed out on the next request, whatever page
    await sign_in(env)
    await page(env, f"/inbox/p/{env.codes['birth']}")
    async with env.sessions() as session:
        await OfficialRepository(session).deactivate(env.officer.id)
        await session.commit()
    response = await env.client.get(f"/inbox/p/{env.codes['birth']}")
    assert response.status == 401
    assert "inbox_session=" in response.headers.get("Set-Cookie", "")  # the cookie is removed
    for path in ("/inbox", "/inbox/export.csv"):
        response = await env.client.get(path)
        assert response.status == 401, path
    assert (
        "Nguyễn Văn An" not in await (await env.client.get(f"/inbox/p/{env.codes['birth']}")).text()
    )


async def test_sign_out_ends_the_session(env: Env) -> None:
    await sign_in(env)
    html = await page(env, "/inbox")
    cookie = env.client.session.cookie_jar.filter_cookies(env.client.make_url("/inbox"))
    session_token = cookie["inbox_session"].value
    response = await env.client.post(
        "/inbox/logout", data={"csrf": "0" * 64}, headers={"Origin": env.origin}
    )
    assert response.status == 403  # wrong CSRF token: still signed in
    await page(env, "/inbox")
    response = await env.client.post(
        "/inbox/logout", data={"csrf": csrf_of(html)}, headers={"Origin": env.origin}
    )
    assert response.status == 200
    await page(env, "/inbox", status=401)
    # the old cookie, replayed, is dead too
    env.client.session.cookie_jar.update_cookies({"inbox_session": session_token})
    await page(env, "/inbox", status=401)
    assert [e.official_id for e in await audit(env, "logout")] == [env.officer.id]


# --- list, detail, isolation -------------------------------------------------------------------


async def test_list_shows_only_the_agency_and_filters(env: Env) -> None:
    await sign_in(env)
    html = await page(env, "/inbox")
    own = {env.codes["birth"], env.codes["old"], env.codes["formula"]}
    assert set(listed_codes(html)) == own
    assert env.codes["land"] not in html and "Phạm Thị Dung" not in html
    assert "<script" not in html.lower()
    # the old petition is overdue (60 days ago: 15 working days passed)
    assert re.search(r'class="deadline-overdue"', html)
    html = await page(env, "/inbox?due=overdue")
    assert listed_codes(html) == [env.codes["old"]]
    # text search: topic, name, phone; LIKE wildcards are literal; SQL is only text
    assert listed_codes(await page(env, "/inbox?q=chứng+thực")) == [env.codes["old"]]
    assert listed_codes(await page(env, "/inbox?q=0987654321")) == [env.codes["old"]]
    assert listed_codes(await page(env, "/inbox?q=50%25")) == [env.codes["formula"]]
    assert listed_codes(await page(env, "/inbox?q=%25")) == [env.codes["formula"]]
    assert listed_codes(await page(env, "/inbox?q=_")) == []
    assert listed_codes(await page(env, "/inbox?q=x'%20OR%201=1%20--")) == []
    # another agency's phone finds nothing here
    assert listed_codes(await page(env, "/inbox?q=0903111222")) == []
    # tracking code typed loosely
    number = int(env.codes["birth"].rsplit("-", 1)[1])
    assert listed_codes(await page(env, f"/inbox?q=pakn+2026+{number}")) == [env.codes["birth"]]
    # received date range (local days)
    html = await page(env, "/inbox?from=2026-11-02&to=02/11/2026")
    assert set(listed_codes(html)) == {env.codes["birth"], env.codes["formula"]}
    html = await page(env, "/inbox?from=not-a-date&status=received")
    assert "not-a-date" in html and len(listed_codes(html)) == 3
    html = await page(env, "/inbox?from=2026-12-01&to=2026-11-01")
    assert listed_codes(html) == []
    # status filter, unknown values ignored
    assert listed_codes(await page(env, "/inbox?status=refused")) == []
    assert len(listed_codes(await page(env, "/inbox?status=bogus&page=-3&due=zzz"))) == 3
    # searches are audited (a name or phone is a look-up of personal data)
    searches = await audit(env, "search")
    assert searches and searches[1].details["filters"]["q"] == "0987654321"
    assert searches[1].details["results"] == 1


async def test_paging(env: Env) -> None:
    async with env.sessions() as session:
        repo = PetitionRepository(session)
        for n in range(30):
            await repo.submit(
                draft(chat_id=f"2{n:03d}"), now=MONDAY_9AM + timedelta(days=1, minutes=n)
            )
        await session.commit()
    await sign_in(env)
    first = await page(env, "/inbox?status=received")
    second = await page(env, "/inbox?status=received&page=2")
    beyond = await page(env, "/inbox?status=received&page=99")
    assert len(listed_codes(first)) == 25 and len(listed_codes(second)) == 8
    assert not set(listed_codes(first)) & set(listed_codes(second))
    assert 'rel="next" href="/inbox?status=received&amp;page=2"' in first
    assert listed_codes(beyond) == listed_codes(second)  # clamped to the last page


async def test_petition_page_shows_everything_to_its_agency_only(env: Env) -> None:
    await sign_in(env)
    code = env.codes["birth"]
    html = await page(env, f"/inbox/p/{code}")
    for shown in (
        "Nguyễn Văn An",
        "0912345678",
        "an.nguyen@example.com",
        "Số 12 ngõ 34 Lê Lợi",
        "giay-hen.pdf",
        "application/pdf",
        "47,1 KB",
        "Ảnh",  # the unnamed photo, by its kind
        "Cán bộ hẹn trả kết quả khai sinh",
    ):
        assert shown in html, shown
    assert "BQACAgIAAxk-file-id" not in html  # Telegram file ids mean nothing in a browser
    views = await audit(env, "view")
    assert [(v.official_id, v.via, v.details["personal_data"]) for v in views] == [
        (env.officer.id, "inbox", True)
    ]
    # user text is escaped
    html = await page(env, f"/inbox/p/{env.codes['formula']}")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    # another agency's petition does not exist here
    html = await page(env, f"/inbox/p/{env.codes['land']}", status=404)
    assert "Phạm Thị Dung" not in html and "0903111222" not in html
    denied = await audit(env, "view_denied")
    assert [d.official_id for d in denied] == [env.officer.id]
    for bad in ("PAKN-2026-999999", "pakn-2026-000001", "' OR 1=1", "PAKN-2026-000001x"):
        await page(env, f"/inbox/p/{bad}", status=404)


async def test_security_headers_and_language(env: Env) -> None:
    await sign_in(env)
    for path in ("/inbox", f"/inbox/p/{env.codes['birth']}", "/inbox/login?token=x"):
        response = await env.client.get(path)
        headers = response.headers
        assert headers["Cache-Control"] == "no-store", path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        csp = headers["Content-Security-Policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
    html = await page(env, "/inbox")
    assert '<html lang="vi">' in html and "Trạng thái" in html
    html = await page(env, "/inbox?lang=en")
    assert '<html lang="en">' in html and "All statuses" in html and "Trạng thái" not in html
    html = await page(env, f"/inbox/p/{env.codes['birth']}")  # remembered
    assert "Take the petition" in html
    css = await env.client.get("/inbox/static/inbox.css")
    assert css.status == 200 and css.content_type == "text/css"


# --- actions -----------------------------------------------------------------------------------


async def test_each_action_changes_the_petition_audits_and_tells_the_citizen(env: Env) -> None:
    await sign_in(env)
    code = env.codes["birth"]

    status, _, location = await act(env, code, "take")
    assert status == 303 and location == f"/inbox/p/{code}?done=take"
    taken = await petition(env, code)
    assert taken.status == PetitionStatus.IN_PROGRESS and taken.assigned_to == env.officer.id
    html = await page(env, location)
    assert "Bạn đã nhận xử lý" in html  # the flash

    status, _, _ = await act(env, code, "info", "Xin anh/chị gửi ảnh giấy hẹn trả kết quả.")
    assert status == 303
    asked = await petition(env, code)
    assert asked.status == PetitionStatus.INFO_REQUESTED

    async with env.sessions() as session:  # the citizen answers in the chat
        stored = await PetitionRepository(session).by_code(code)
        assert stored is not None
        stored = (
            await PetitionRepository(session).provide_info(stored, "Giấy hẹn ngày 20/10.", now=NOW)
        ).petition
        await session.commit()

    answer = "Sở đã kiểm tra: hồ sơ của ông Nguyễn Văn An (0912345678) được trả ngày 05/11."
    status, _, _ = await act(env, code, "answer", answer + "\u200b\r\n")
    assert status == 303
    answered = await petition(env, code)
    assert answered.status == PetitionStatus.ANSWERED and answered.answer == answer
    html = await page(env, f"/inbox/p/{code}")
    assert "hồ sơ của ông *** (***) được trả" in html  # the publication preview

    status, _, _ = await act(env, code, "publish")
    assert status == 303
    published = await petition(env, code)
    assert published.status == PetitionStatus.PUBLISHED
    assert published.public_answer is not None and "0912345678" not in published.public_answer

    refused_code = env.codes["old"]
    status, _, _ = await act(
        env, refused_code, "refuse", "Nội dung thuộc thẩm quyền của UBND quận."
    )
    assert status == 303
    refused = await petition(env, refused_code)
    assert (
        refused.status == PetitionStatus.REFUSED
        and refused.refusal_reason == "Nội dung thuộc thẩm quyền của UBND quận."
    )

    actions = [
        (e.action, e.via, e.official_id)
        for e in await audit(env)
        if e.action in ("taken", "info_requested", "answered", "published", "refused")
    ]
    assert actions == [
        ("taken", "inbox", env.officer.id),
        ("info_requested", "inbox", env.officer.id),
        ("answered", "inbox", env.officer.id),
        ("published", "inbox", env.officer.id),
        ("refused", "inbox", env.officer.id),
    ]
    messages = await citizen_messages(env)
    assert [(m.chat_id, m.payload["action"]) for m in messages] == [
        ("1001", "taken"),
        ("1001", "info_requested"),
        ("1001", "answered"),
        ("1001", "published"),
        ("1002", "refused"),
    ]
    assert messages[1].payload["note"] == "Xin anh/chị gửi ảnh giấy hẹn trả kết quả."
    assert env.worker.wakes == 5
    html = await page(env, f"/inbox/p/{code}")
    history = html[html.index("Lịch sử xử lý") :]
    steps = [in_locale("vi", tx.event_label, a) for a in ("taken", "info_requested")]
    for step in ("Gửi phản ánh, kiến nghị", "Đã bổ sung thông tin", *steps,
                 "Giấy hẹn ngày 20/10.", "Trần Thị Bình"):  # fmt: skip
        assert step in history, step


async def test_bad_action_input_changes_nothing(env: Env) -> None:
    await sign_in(env)
    code = env.codes["birth"]
    before = len(await audit(env))
    for text, status in (
        ("", 400),
        ("  \u200b\u200d\ufeff \n ", 400),
        ("x" * (TEXT_MAX_CHARS + 1), 400),
    ):
        got, html, _ = await act(env, code, "answer", text)
        assert got == status, text[:20]
        assert 'role="alert"' in html
    got, html, _ = await act(env, code, "publish")  # not answered yet
    assert got == 409
    got, _, _ = await act(env, code, "take")
    assert got == 303
    got, html, _ = await act(env, code, "take")  # a double click, or a colleague first
    assert got == 409 and in_locale("vi", tx.status_label, PetitionStatus.IN_PROGRESS) in html
    typed = "Trả lời có ký tự <b>đặc biệt</b> và emoji 🙂 " + "y" * TEXT_MAX_CHARS
    got, html, _ = await act(env, code, "refuse", typed)
    assert got == 400 and "&lt;b&gt;đặc biệt&lt;/b&gt; và emoji 🙂" in html  # kept for editing
    got, _, _ = await act(env, code, "delete")
    assert got == 404
    stored = await petition(env, code)
    assert stored.status == PetitionStatus.IN_PROGRESS and stored.answer is None
    changes = [e.action for e in (await audit(env))[before:] if e.action not in ("view",)]
    assert changes == ["taken"]
    assert [m.payload["action"] for m in await citizen_messages(env)] == ["taken"]


async def test_two_officials_acting_at_once_are_serialised(env: Env) -> None:
    """Both press "take" at the same moment: one wins, the other is told it changed; one event,
    one message to the citizen."""
    await sign_in(env)
    code = env.codes["birth"]
    csrf = csrf_of(await page(env, f"/inbox/p/{code}"))

    async def take() -> int:
        response = await env.client.post(
            f"/inbox/p/{code}/take",
            data={"csrf": csrf},
            headers={"Origin": env.origin},
            allow_redirects=False,
        )
        return response.status

    statuses = await asyncio.gather(*(take() for _ in range(4)))
    assert sorted(statuses) == [303, 409, 409, 409]
    async with env.sessions() as session:
        events = await PetitionRepository(session).events((await petition(env, code)).id)
    assert [e.action for e in events] == ["submitted", "taken"]
    assert [m.payload["action"] for m in await citizen_messages(env)] == ["taken"]


async def test_actions_on_another_agency_are_not_found(env: Env) -> None:
    await sign_in(env)
    csrf = csrf_of(await page(env, "/inbox"))
    for action in ("take", "refuse"):
        response = await env.client.post(
            f"/inbox/p/{env.codes['land']}/{action}",
            data={"csrf": csrf, "text": "Không thuộc thẩm quyền"},
            headers={"Origin": env.origin},
        )
        assert response.status == 404
    assert (await petition(env, env.codes["land"])).status == PetitionStatus.RECEIVED
    assert await citizen_messages(env) == []


async def test_csrf_is_required_on_every_post(env: Env) -> None:
    await sign_in(env)
    code = env.codes["birth"]
    csrf = csrf_of(await page(env, f"/inbox/p/{code}"))
    attempts: list[tuple[dict[str, str], dict[str, str]]] = [
        ({}, {"Origin": env.origin}),  # no token
        ({"csrf": "f" * 64}, {"Origin": env.origin}),  # wrong token
        ({"csrf": csrf}, {"Origin": "https://evil.example"}),  # right token, other site
        ({"csrf": csrf}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"}),
        ({"csrf": csrf}, {"Referer": "https://evil.example/page"}),
        ({"csrf": csrf}, {}),  # no origin information at all
    ]
    for data, headers in attempts:
        response = await env.client.post(
            f"/inbox/p/{code}/take", data=data, headers=headers, allow_redirects=False
        )
        assert response.status == 403, (data.keys(), headers)
    assert (await petition(env, code)).status == PetitionStatus.RECEIVED
    # a same-origin form under Referrer-Policy: no-referrer may say "Origin: null"
    response = await env.client.post(
        f"/inbox/p/{code}/take",
        data={"csrf": csrf},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )
    assert response.status == 303
    # another official's token does not work for this session
    other_html = await _other_session_page(env)
    response = await env.client.post(
        f"/inbox/p/{code}/info",
        data={"csrf": csrf_of(other_html), "text": "?"},
        headers={"Origin": env.origin},
    )
    assert response.status == 403


async def _other_session_page(env: Env) -> str:
    """The list page as another browser (its own cookie jar) signed in as the same official."""
    token = await link_for(env, env.officer)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as other:
        await other.post(
            env.client.make_url("/inbox/login"),
            data={"token": token},
            headers={"Origin": env.origin},
        )
        async with other.get(env.client.make_url("/inbox")) as response:
            assert response.status == 200
            return await response.text()


# --- CSV ---------------------------------------------------------------------------------------


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))


async def test_csv_export(env: Env) -> None:
    await sign_in(env)
    await act(env, env.codes["birth"], "take")
    response = await env.client.get("/inbox/export.csv")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="pakn-so-tu-phap-'
    )
    assert response.headers["Cache-Control"] == "no-store"
    rows = _csv(await response.read())
    header, data = rows[0], rows[1:]
    assert header[:2] == ["Mã số phản ánh", "Ngày tiếp nhận"]
    assert header == in_locale("vi", tx.csv_headers)
    columns = in_locale("en", tx.csv_headers)  # the rows by their English column names
    by_code = {row[0]: dict(zip(columns, row)) for row in data}
    assert set(by_code) == {env.codes["birth"], env.codes["old"], env.codes["formula"]}
    birth = by_code[env.codes["birth"]]
    assert birth["Received on"] == "2026-11-02 09:00"
    assert birth["Status"] == in_locale("vi", tx.status_label, PetitionStatus.IN_PROGRESS)
    assert birth["Answer by"] == "2026-11-23"
    assert birth["Assigned to"] == "Trần Thị Bình"
    assert birth["Full name"] == "Nguyễn Văn An" and birth["Phone"] == "0912345678"
    assert birth["E-mail"] == "an.nguyen@example.com"
    assert birth["Taken on"] == "2026-11-16 10:00"
    assert birth["Content"].startswith("Cán bộ hẹn trả kết quả")
    overdue = in_locale("vi", tx.deadline_state_label, "overdue")
    assert by_code[env.codes["old"]]["Deadline status"] == overdue
    formula = by_code[env.codes["formula"]]
    assert formula["Topic"] == '\'=HYPERLINK("http://evil.example","bấm vào")'
    assert formula["Full name"] == "'@SUM(A1:A9)"
    assert formula["Phone"] == "'+84912000111"
    assert formula["Address"].startswith("'-1+1")
    for row in data:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    exports = await audit(env, "export")
    assert [(e.official_id, e.via, e.details["rows"]) for e in exports] == [
        (env.officer.id, "inbox", 3)
    ]

    # the list's filters apply; English on request
    response = await env.client.get("/inbox/export.csv?status=in_progress&lang=en")
    rows = _csv(await response.read())
    assert rows[0][:3] == ["Tracking code", "Received on", "Status"]
    assert [r[0] for r in rows[1:]] == [env.codes["birth"]]
    assert rows[1][2] == "Being handled"  # the English catalog
    exports = await audit(env, "export")
    assert exports[-1].details == {
        "rows": 1,
        "filters": {"status": "in_progress"},
        "format": "csv",
    }


async def test_export_needs_a_session(env: Env) -> None:
    response = await env.client.get("/inbox/export.csv")
    assert response.status == 401
    assert "text/html" in response.headers["Content-Type"]
    async with env.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")
        )
    assert count == 0


# --- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+84912", "'+84912"),
        ("-5", "'-5"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("bình thường", "bình thường"),
        (" =x", " =x"),
        (None, ""),
        (12, "12"),
    ],
)
def test_csv_cell_guards_formulas(value: Any, expected: str) -> None:
    assert csv_cell(value) == expected


def test_parse_day() -> None:
    assert str(parse_day("2026-11-02")) == "2026-11-02"
    assert str(parse_day("02/11/2026")) == "2026-11-02"
    assert parse_day("31/02/2026") is None
    assert parse_day("1899-01-01") is None
    assert parse_day("'; drop table petitions; --") is None
