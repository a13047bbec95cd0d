"""The officials' inbox in a real (headless) Chromium: sign in by the chat's link, see the list,
filter it, open a petition, answer it, see its status change, download the CSV.

Runs against Debian's /usr/bin/chromium (never a downloaded browser). Skipped only when that
binary is missing and CI is not set; in CI a missing Chromium is a failure. The page has no
script at all: plain HTML forms, so this also proves the forms work under the page's CSP.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.web.inbox.routes import setup_inbox
from knowledge.petition_workflow import PetitionStatus
from storage.repositories.agencies import AgencyRepository
from storage.repositories.inbox_tokens import LINK_TTL, InboxTokenRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import AttachmentDraft, PetitionDraft, PetitionRepository
from tests.tools.browser import BROWSER_MARKS, TIMEOUT_MS
from tests.tools.builders import petition_draft
from tests.tools.databases import migrated_database
from tests.tools.net import free_port

pytestmark = BROWSER_MARKS

playwright_api = pytest.importorskip("playwright.async_api")


def _draft(**overrides: object) -> PetitionDraft:
    return petition_draft(
        **{"address": "Số 12 ngõ 34 Lê Lợi, phường Bến Thành, TP Hồ Chí Minh", **overrides}
    )


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, dict[str, str]]:
    """An agency with an officer, three of its petitions and one of another agency; the
    officer's sign-in link token and the tracking codes."""
    now = datetime.now(UTC)
    async with sessions() as session:
        agencies = AgencyRepository(session)
        justice = await agencies.save(
            "so-tu-phap", "Sở Tư pháp", sectors=["Hộ tịch"], procedure_codes=["1.001193"]
        )
        await agencies.save("so-tnmt", "Sở Nông nghiệp và Môi trường", sectors=["Đất đai"])
        officials = OfficialRepository(session)
        code, _ = await officials.create_invitation(justice.id, "officer")
        officer = await officials.enroll(
            code, channel="telegram", chat_id="501", display_name="Trần Thị Bình"
        )
        repo = PetitionRepository(session)
        codes = {
            "birth": (
                await repo.submit(
                    _draft(
                        attachments=[
                            AttachmentDraft(
                                "document", "file-id", "giay-hen.pdf", "application/pdf", 2048
                            )
                        ]
                    ),
                    now=now - timedelta(days=2),
                )
            ).petition.tracking_code,
            "copy": (
                await repo.submit(
                    _draft(
                        topic="Chứng thực bản sao từ bản chính",
                        content="Phòng tư pháp yêu cầu nộp thêm giấy tờ không có trong quy định.",
                        sender_name="Lê Văn Cường",
                        chat_id="1002",
                    ),
                    now=now - timedelta(days=1),
                )
            ).petition.tracking_code,
            "script": (
                await repo.submit(
                    _draft(
                        topic="<img src=x onerror=alert(1)> thủ tục cấp trích lục",
                        chat_id="1003",
                    ),
                    now=now - timedelta(days=40),
                )
            ).petition.tracking_code,
            "land": (
                await repo.submit(
                    _draft(procedure_code=None, sector="Đất đai", topic="Cấp sổ đỏ", chat_id="9"),
                    now=now,
                )
            ).petition.tracking_code,
        }
        token = await InboxTokenRepository(session).issue(officer, kind="link", ttl=LINK_TTL)
        await session.commit()
    return token, codes


async def test_official_signs_in_answers_and_exports(browser: Any, tmp_path: Path) -> None:
    async with migrated_database("sqlite", tmp_path, "inbox_browser") as sessions:
        token, codes = await _seed(sessions)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        posted: list[dict[str, str]] = []

        @web.middleware
        async def record_posts(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.method == "POST":
                posted.append(
                    {k: request.headers.get(k, "") for k in ("Origin", "Referer", "Sec-Fetch-Site")}
                )
            return await handler(request)

        app = web.Application(middlewares=[record_posts])
        setup_inbox(app, sessions, Settings(public_base_url=base_url))
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await _drive(browser, base_url, token, codes, tmp_path, posted)
        finally:
            await runner.cleanup()
        async with sessions() as session:
            answered = await PetitionRepository(session).by_code(codes["birth"])
            assert answered is not None and answered.status == PetitionStatus.ANSWERED


async def _drive(
    browser: Any,
    base_url: str,
    token: str,
    codes: dict[str, str],
    tmp_path: Path,
    posted: list[dict[str, str]],
) -> None:
    expect = playwright_api.expect
    context = await browser.new_context(
        locale="vi-VN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))

    # 1. The link from the chat: a confirmation page, then the button signs in.
    await page.goto(f"{base_url}/inbox/login?token={token}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Đăng nhập hộp thư phản ánh, kiến nghị"
    )
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page).to_have_url(f"{base_url}/inbox")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Phản ánh, kiến nghị của Sở Tư pháp"
    )
    await expect(page.locator(".top .who")).to_contain_text("Trần Thị Bình")
    session_cookie = [c for c in await context.cookies() if c["name"] == "inbox_session"]
    assert (
        session_cookie
        and session_cookie[0]["httpOnly"]
        and session_cookie[0]["sameSite"] == "Strict"
    )

    # 2. The list: own agency only, the old one marked overdue, user text shown as text.
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(3)
    await expect(page.locator("tbody")).not_to_contain_text(codes["land"])
    overdue_row = rows.filter(has_text=codes["script"])
    await expect(overdue_row.locator(".deadline-overdue")).to_be_visible()
    await expect(overdue_row).to_contain_text("<img src=x onerror=alert(1)>")
    assert await page.locator("main img").count() == 0

    # 3. Filter: a search, then a status.
    await page.get_by_label("Tìm kiếm").fill("chứng thực")
    await page.get_by_role("button", name="Lọc").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(codes["copy"])
    await page.get_by_role("link", name="Bỏ lọc").click()
    await expect(rows).to_have_count(3)
    await page.get_by_label("Hạn xử lý").select_option("overdue")
    await page.get_by_role("button", name="Lọc").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(codes["script"])
    await page.get_by_role("link", name="Bỏ lọc").click()

    # 4. Open a petition: personal data, the attachment by name, the history.
    await page.get_by_role("link", name=codes["birth"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Phản ánh, kiến nghị {codes['birth']}"
    )
    await expect(page.locator(".private")).to_contain_text("Nguyễn Văn An")
    await expect(page.locator(".private")).to_contain_text("0912345678")
    await expect(page.locator("main")).to_contain_text("giay-hen.pdf")
    await expect(page.locator("main .badge").first).to_have_text("Đã tiếp nhận")

    # 5. Answer it: the status changes, the answer and the publication preview show.
    answer = "Sở Tư pháp đã trả kết quả cho ông Nguyễn Văn An (0912345678) ngày hôm nay."
    await page.get_by_label("Nội dung trả lời của cơ quan gửi người phản ánh").fill(answer)
    await page.get_by_role("button", name="Lưu nội dung trả lời").click()
    await expect(page.locator(".notice.ok")).to_contain_text("Đã lưu nội dung trả lời")
    await expect(page.locator("main .badge").first).to_have_text("Đã trả lời, chờ công khai")
    await expect(page.locator("main")).to_contain_text(answer)
    await expect(page.locator("#actions")).to_contain_text(
        "Sở Tư pháp đã trả kết quả cho ông *** (***) ngày hôm nay."
    )
    await expect(page.get_by_role("button", name="Nhận xử lý")).to_have_count(0)
    # a reload after the POST does not post again (303 to a GET)
    await page.reload()
    await expect(page.locator("main .badge").first).to_have_text("Đã trả lời, chờ công khai")
    await page.screenshot(path=str(tmp_path / "inbox-petition.png"), full_page=True)

    # 6. Back to the list: the new status; then download the CSV.
    await page.get_by_role("link", name="‹ Quay lại danh sách").first.click()
    await expect(rows.filter(has_text=codes["birth"])).to_contain_text("Đã trả lời, chờ công khai")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Tải về CSV").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("pakn-so-tu-phap-")
    data = Path(await download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert table[0][0] == "Mã số phản ánh"
    by_code = {row[0]: row for row in table[1:]}
    assert set(by_code) == {codes["birth"], codes["copy"], codes["script"]}
    assert "Đã trả lời, chờ công khai" in by_code[codes["birth"]]
    assert "Nguyễn Văn An" in by_code[codes["birth"]]

    # 7. English, then sign out: the list is gone.
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Petitions of Sở Tư pháp")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You have signed out")
    assert problems == [], problems
    await page.goto(f"{base_url}/inbox")  # answered 401: the console notes it
    await expect(page.get_by_role("heading", level=1)).to_have_text("Please sign in")

    # every POST the browser made passed the same-origin check; none was refused
    # (Chromium sends "Origin: null" under Referrer-Policy: no-referrer, with Sec-Fetch-Site)
    assert len(posted) == 3  # sign in, answer, sign out
    assert all(p["Origin"] in ("null", base_url) for p in posted), posted
    await context.close()
