"""The web chat in a real (headless) Chromium: typing, result buttons, a card edited in place.

Runs against Debian's /usr/bin/chromium (never a downloaded browser). Skipped only when that
binary is missing and CI is not set; in CI a missing Chromium is a failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher, F, Router
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiohttp import web

from bot.channels.webchat.routes import create_web_app
from bot.config import Settings
from tests.tools.browser import BROWSER_MARKS, TIMEOUT_MS
from tests.tools.net import serve as serve_app
from tests.tools.webchat import assert_all_handled

pytestmark = BROWSER_MARKS

playwright_api = pytest.importorskip("playwright.async_api")


# ------------------------------------------------------------------------ fixtures


def _kb(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows
        ]
    )


def create_demo_router() -> Router:
    """A stand-in for the real dialogs: menu, search results, a paged card edited in place."""
    router = Router(name="webchat-demo")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            "<b>Xin chào!</b> Hãy nhập tên thủ tục bạn cần.",
            reply_markup=_kb([("Tra cứu thủ tục", "menu:proc")]),
        )

    @router.message(F.text)
    async def search(message: Message) -> None:
        await message.answer(
            f"Kết quả cho <i>{message.text}</i>:",
            reply_markup=_kb([("Đăng ký khai sinh", "open:ks")], [("Đăng ký kết hôn", "open:kh")]),
        )

    @router.callback_query(F.data.startswith("open:"))
    async def open_card(query: CallbackQuery) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.answer(
            "<b>Đăng ký khai sinh</b>\nTrang 1/2: hồ sơ cần chuẩn bị <script>alert(1)</script>".replace(
                "<script>", "&lt;script&gt;"
            ).replace("</script>", "&lt;/script&gt;"),
            reply_markup=_kb([("1/2", "noop"), ("Trang sau ›", "page:2")]),
        )

    @router.callback_query(F.data.startswith("page:"))
    async def page(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text(
            '<b>Đăng ký khai sinh</b>\nTrang 2/2: nộp tại <a href="https://dichvucong.gov.vn">'
            "Cổng Dịch vụ công</a>",
            reply_markup=_kb([("‹ Trang trước", "page:1"), ("2/2", "noop")]),
        )
        await query.answer("Trang 2")

    return router


ServeFn = Callable[[Dispatcher], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[ServeFn]:
    """Serves a dispatcher's web chat; at the end, every update the page sent was handled."""
    runners: list[web.AppRunner] = []

    async def start(dispatcher: Dispatcher) -> str:
        app = create_web_app(dispatcher=dispatcher, settings=Settings(), visitor_secret=b"e2e")
        runner, url = await serve_app(app)
        runners.append(runner)
        return url

    yield start
    for runner in runners:
        await runner.cleanup()
    for runner in runners:
        assert_all_handled(runner.app)


async def _new_page(browser: Any) -> Any:
    context = await browser.new_context(locale="vi-VN", viewport={"width": 420, "height": 820})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


# --------------------------------------------------------------------------- tests


async def test_demo_dialog_in_browser(browser: Any, serve: ServeFn, tmp_path: Path) -> None:
    dispatcher = Dispatcher()
    dispatcher.include_router(create_demo_router())
    url = await serve(dispatcher)
    page = await _new_page(browser)
    expect = playwright_api.expect

    await page.goto(url + "/")
    await expect(page).to_have_title("Trợ lý thủ tục hành chính")
    # First visit: the page starts the dialog by itself, without showing "/start".
    await expect(page.locator(".msg.bot").first).to_contain_text("Xin chào!")
    assert await page.locator(".msg.user").count() == 0

    box = page.get_by_label("Nhập câu hỏi của bạn")
    await box.fill("làm giấy khai sinh cho con")
    await box.press("Enter")
    await expect(page.locator(".msg.user")).to_have_text("làm giấy khai sinh cho con")
    await expect(box).to_have_value("")
    result = page.get_by_role("button", name="Đăng ký khai sinh")
    await result.click()

    card = page.locator(".msg.bot").filter(has_text="Trang 1/2")
    await expect(card).to_be_visible()
    await expect(card.locator("b")).to_have_text("Đăng ký khai sinh")
    # Escaped markup from the bot is text, never an element.
    await expect(card).to_contain_text("<script>alert(1)</script>")
    assert await page.locator(".msg script").count() == 0
    message_id = await card.get_attribute("data-message-id")

    await card.get_by_role("button", name="Trang sau ›").click()
    edited = page.locator(f'.msg[data-message-id="{message_id}"]')
    await expect(edited).to_contain_text("Trang 2/2")
    await expect(edited).not_to_contain_text("Trang 1/2")
    await expect(page.locator("#toast")).to_have_text("Trang 2")
    link = edited.get_by_role("link", name="Cổng Dịch vụ công")
    assert await link.get_attribute("href") == "https://dichvucong.gov.vn/"
    assert await link.get_attribute("rel") == "noopener noreferrer"
    # Edited in place: still one card, and it is the same bubble.
    assert await page.locator(".msg.bot").filter(has_text="Trang 2/2").count() == 1
    assert await page.locator(".msg.bot").filter(has_text="Trang 1/2").count() == 0

    # The character counter warns before the server cuts a message to 4096 characters.
    await box.fill("a" * 4100)
    await expect(page.locator("#counter")).to_have_class("counter warn")
    await box.fill("")

    # A reload replays the conversation from the server.
    await page.reload()
    await expect(page.locator(f'.msg[data-message-id="{message_id}"]')).to_contain_text("Trang 2/2")
    await expect(page.locator(".msg.user")).to_have_text("làm giấy khai sinh cho con")

    await page.screenshot(path=str(tmp_path / "webchat.png"), full_page=True)
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_real_dialog_in_browser(browser: Any, tmp_path: Path) -> None:
    """The web app exactly as `python -m bot` composes it (bot.app), with the real catalog."""
    from bot.app import create_app
    from bot.services import create_services

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'webchat.sqlite3'}")
    services = await create_services(settings)
    runner = None
    try:
        app, telegram_bot, _dispatcher = create_app(services)
        assert telegram_bot is None  # no token: web chat only
        runner, url = await serve_app(app)
        page = await _new_page(browser)
        expect = playwright_api.expect

        await page.goto(url + "/")
        await expect(page.locator(".msg.bot").first).to_be_visible()  # the /start menu
        box = page.get_by_label("Nhập câu hỏi của bạn")
        await box.fill("lam giay khai sinh cho con")
        await box.press("Enter")

        answer = page.locator(".msg.bot").nth(1)
        first_result = answer.locator(".kb-btn").first
        await expect(first_result).to_be_visible()
        # the bot's HTML is rendered, not shown as tags
        assert await answer.locator("b").count() >= 1
        assert "<b>" not in await answer.inner_text()
        await first_result.click()

        card = page.locator(".msg.bot").nth(2)
        await expect(card).to_contain_text("khai sinh", ignore_case=True)
        await page.screenshot(path=str(tmp_path / "webchat-real.png"), full_page=True)

        # The birth registration card has several pages: "next" edits the same bubble.
        next_page = card.locator("button.kb-btn", has_text="›")
        assert await next_page.count() >= 1
        before = await card.inner_text()
        await next_page.first.click()
        await expect(card).not_to_have_text(before)
        assert await page.locator(".msg.bot").count() == 3
        assert page.js_errors == []  # type: ignore[attr-defined]

        # The English page: its own words in English, and the assistant answers in English.
        english = await _new_page(browser)
        await english.goto(url + "/?lang=en")
        await expect(english.locator(".msg.bot").first).to_contain_text("Hello Guest")
        assert await english.get_attribute("#input", "placeholder") == "Type your question…"
        assert await english.locator("html").get_attribute("lang") == "en"
        await expect(english.locator("#lang-switch")).to_have_text("Tiếng Việt")
        assert english.js_errors == []  # type: ignore[attr-defined]
        assert_all_handled(app)
    finally:
        if runner is not None:
            await runner.cleanup()
        await services.close()
