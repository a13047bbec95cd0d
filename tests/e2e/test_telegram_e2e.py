"""The Telegram channel end to end, over real HTTP.

The real bot (`create_bot` pointed at a stand-in Bot API server through TELEGRAM_API_SERVER) and
the real dispatcher (`create_dispatcher` on a migrated SQLite database and the shipped catalog)
run long polling (or a webhook) against `tests.tools.telegram_server.FakeTelegram`. Assertions are on the
content of the replies, so a dialog that matched nothing fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.telegram import run_polling, setup_webhook
from bot.factory import create_bot, create_dispatcher
from handlers.common.callbacks import CALLBACK_DATA_LIMIT
from handlers.i18n import create_i18n
from handlers.procedures.render import render_card_pages
from knowledge.search import SearchIndex
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from tests.tools.polling import bot_settings
from tests.tools.telegram_server import (
    TEXT_LIMIT,
    FakeTelegram,
    FakeUser,
    button,
    parse_html,
    utf16_len,
)

WEBHOOK_SECRET = "e2e-secret_TOKEN-42"


class FailingIndex:
    """The real index, except that one query blows up like an unexpected bug would."""

    BOOM = "kích hoạt lỗi thử nghiệm"

    def __init__(self, inner: SearchIndex) -> None:
        self._inner = inner

    def search(self, query: str, limit: int = 5, **options: Any) -> Any:
        if query == self.BOOM:
            raise RuntimeError("simulated failure inside search")
        return self._inner.search(query, limit=limit, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
async def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'e2e.sqlite3'}"
    await upgrade(url)
    return url


@contextlib.asynccontextmanager
async def polling_bot(fake: FakeTelegram, database_url: str, index: Any) -> AsyncIterator[None]:
    """The whole Telegram side of `python -m bot`, long polling the stand-in server."""
    settings = bot_settings(fake, database_url)
    engine = create_engine(database_url)
    bot = create_bot(settings)
    dispatcher = create_dispatcher(
        settings=settings, index=index, session_factory=create_session_factory(engine)
    )
    since = fake.mark()
    task = asyncio.create_task(run_polling(bot, dispatcher, polling_timeout=1))
    try:
        await fake.wait_for(lambda c: c.method == "getUpdates", since=since)
        yield
    finally:
        with contextlib.suppress(RuntimeError):  # polling already stopped
            await dispatcher.stop_polling()
        await asyncio.wait_for(task, 5)
        await engine.dispose()


@pytest.fixture
async def running(
    fake: FakeTelegram, database_url: str, index: SearchIndex
) -> AsyncIterator[FakeTelegram]:
    async with polling_bot(fake, database_url, FailingIndex(index)):
        yield fake


def assert_within_limits(fake: FakeTelegram) -> None:
    """Every text the bot sent fits 4096 characters (visible and raw) and every callback_data 64 bytes."""
    checked = 0
    for call in fake.calls:
        if call.method not in ("sendMessage", "editMessageText"):
            continue
        assert call.ok, f"{call.method} refused: {call.error}"
        assert utf16_len(parse_html(call.text)) <= TEXT_LIMIT
        assert utf16_len(call.text) <= TEXT_LIMIT
        for b in call.buttons:
            if "callback_data" in b:
                assert len(b["callback_data"].encode("utf-8")) <= CALLBACK_DATA_LIMIT
        checked += 1
    assert checked, "the bot sent nothing"


CITIZEN = FakeUser(id=1001, first_name="Lan", language_code="vi")


async def test_start_shows_menu_dossier_lookup_and_feedback_menu(running: FakeTelegram) -> None:
    fake = running
    assert any(c.method == "deleteWebhook" for c in fake.calls)
    commands = [c for c in fake.calls if c.method == "setMyCommands"]
    assert {cmd["command"] for cmd in commands[0].params["commands"]} == {
        "start",
        "hoso",
        "phananh",
        "help",
        "language",
    }
    assert any(c.params.get("language_code") == "en" for c in commands)

    menu = await fake.reply_to(fake.text_update(CITIZEN, "/start"))
    assert "Xin chào Lan" in menu.text
    labels = " | ".join(b["text"] for b in menu.buttons)
    for expected in (
        "Thủ tục hành chính",
        "Tra cứu hồ sơ",
        "Phản ánh, kiến nghị",
        "Hướng dẫn",
        "Ngôn ngữ",
    ):
        assert expected in labels

    message = fake.message_of(menu)
    dossiers = await fake.reply_to(
        fake.callback_update(CITIZEN, message, button(menu, "Tra cứu hồ sơ")["callback_data"])
    )
    assert "mã hồ sơ" in dossiers.text and "000.00.17.H12-220615-0001" in dossiers.text
    feedback = await fake.reply_to(
        fake.callback_update(CITIZEN, message, button(menu, "Phản ánh")["callback_data"])
    )
    assert "Phản ánh, kiến nghị" in feedback.text and "Khiếu nại, tố cáo" in feedback.text
    assert any("Gửi phản ánh mới" in b["text"] for b in feedback.buttons)
    help_reply = await fake.reply_to(fake.text_update(CITIZEN, "/help"))
    assert "/language" in help_reply.text
    await fake.wait_for(lambda c: c.method == "answerCallbackQuery")
    assert_within_limits(fake)


async def test_question_results_and_card(running: FakeTelegram) -> None:
    fake = running
    results = await fake.reply_to(fake.text_update(CITIZEN, "lam giay khai sinh cho con"))
    assert "khai sinh" in results.text.lower()
    choice = button(results, "khai sinh")
    assert choice["callback_data"].startswith("po:")

    since = fake.mark()
    card = await fake.reply_to(
        fake.callback_update(CITIZEN, fake.message_of(results), choice["callback_data"])
    )
    assert card.method == "sendMessage"
    assert "khai sinh" in card.text.lower()
    for heading in ("Mã thủ tục", "Hồ sơ cần chuẩn bị", "Lĩnh vực"):
        assert heading in card.text
    # The spinner of the pressed button is stopped.
    await fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert_within_limits(fake)


async def test_did_you_mean_button_searches_the_corrected_question(running: FakeTelegram) -> None:
    fake = running
    nothing = await fake.reply_to(fake.text_update(CITIZEN, "kett hoon"))
    assert "chưa tìm thấy" in nothing.text
    suggestion = button(nothing, "ket hon")
    assert suggestion["callback_data"].startswith("sg:")
    results = await fake.reply_to(
        fake.callback_update(CITIZEN, fake.message_of(nothing), suggestion["callback_data"])
    )
    assert "kết hôn" in results.text.lower()
    assert any(b["callback_data"].startswith("po:1.000894") for b in results.buttons)


async def test_code_opens_card_and_pages_edit_in_place(
    running: FakeTelegram, index: SearchIndex
) -> None:
    fake = running
    procedure = index.get("1.001193")
    assert procedure is not None
    with (i18n := create_i18n()).context(), i18n.use_locale("vi"):
        pages = render_card_pages(procedure)
    assert len(pages) >= 2, "pick a procedure whose card is long enough to page"

    card = await fake.reply_to(fake.text_update(CITIZEN, "1.001193"))
    assert "1.001193" in card.text and "Mã thủ tục" in card.text
    page_counter = f"1/{len(pages)}"
    assert any(b["text"] == page_counter for b in card.buttons)

    message = fake.message_of(card)
    page2 = await fake.reply_to(
        fake.callback_update(CITIZEN, message, button(card, "Tiếp")["callback_data"])
    )
    assert page2.method == "editMessageText"
    assert page2.params["message_id"] == message["message_id"]
    assert f"trang 2/{len(pages)}" in page2.text
    assert any(b["text"] == f"2/{len(pages)}" for b in page2.buttons)

    back = await fake.reply_to(
        fake.callback_update(
            CITIZEN, fake.message_of(page2), button(page2, "Trước")["callback_data"]
        )
    )
    assert back.method == "editMessageText" and "Mã thủ tục" in back.text

    # "thủ tục <code>" opens the card directly too.
    direct = await fake.reply_to(fake.text_update(CITIZEN, "thủ tục 1.004873"))
    assert "1.004873" in direct.text and "Mã thủ tục" in direct.text
    assert_within_limits(fake)


async def test_bad_input_gets_helpful_replies_and_bot_keeps_serving(running: FakeTelegram) -> None:
    fake = running
    sticker = {
        "file_id": "CAACAgIAAxk",
        "file_unique_id": "AgAD",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    photo = [{"file_id": "AgACAgIAAxk", "file_unique_id": "AQAD", "width": 90, "height": 90}]
    contact = {"phone_number": "+84900000000", "first_name": "Lan"}
    for content in ({"sticker": sticker}, {"photo": photo}, {"contact": contact}):
        reply = await fake.reply_to({"message": fake.make_message(CITIZEN, **content)})
        assert "chỉ đọc được tin nhắn dạng chữ" in reply.text

    for empty in ("   ", "\u200b\u200c\u200d\ufeff", "\n\t "):
        reply = await fake.reply_to(fake.text_update(CITIZEN, empty))
        assert "chưa có nội dung" in reply.text

    reply = await fake.reply_to(fake.text_update(CITIZEN, "😀🙏🏻👍👨‍👩‍👧"))
    assert "chưa thấy chữ nào" in reply.text

    long_text = ("làm giấy khai sinh cho con " * 200)[:5000]
    reply = await fake.reply_to(fake.text_update(CITIZEN, long_text))
    assert "300 ký tự đầu tiên" in reply.text and "khai sinh" in reply.text.lower()

    nfd = unicodedata.normalize("NFD", "làm giấy khai sinh cho con")
    zero_width = "khai\u200b sinh\u200d cho con"
    glued = "làm giấy\u200bkhai\u200bsinh"  # a zero-width space is the only separator
    for variant in (nfd, zero_width, glued):
        reply = await fake.reply_to(fake.text_update(CITIZEN, variant))
        assert "khai sinh" in reply.text.lower() and any(
            b["callback_data"].startswith("po:") for b in reply.buttons
        )

    reply = await fake.reply_to(fake.text_update(CITIZEN, "'; DROP TABLE users; --"))
    assert reply.ok and "chưa tìm thấy" in reply.text
    assert "DROP TABLE users" in reply.text  # echoed back as text, nothing executed
    reply = await fake.reply_to(fake.text_update(CITIZEN, "<script>alert('x')</script> & <b>"))
    assert reply.ok and "chưa tìm thấy" in reply.text
    assert "&lt;script&gt;" in reply.text and "<script>" not in reply.text  # escaped, shown

    reply = await fake.reply_to(fake.text_update(CITIZEN, "/unknowncommand"))
    assert "/start" in reply.text
    reply = await fake.reply_to(fake.text_update(CITIZEN, "/unknowncommand@tthc_test_bot"))
    assert "/start" in reply.text
    # a command addressed to another bot gets no reply; the next message is answered as usual
    since = fake.mark()
    fake.push(fake.text_update(CITIZEN, "/weather@OtherBot"))
    reply = await fake.reply_to(fake.text_update(CITIZEN, "/unknowncommand"))
    sent = [c for c in fake.calls[since:] if c.method == "sendMessage"]
    assert len(sent) == 1 and "/start" in sent[0].text

    # An unexpected failure inside a handler is answered politely; the next question still works.
    reply = await fake.reply_to(fake.text_update(CITIZEN, FailingIndex.BOOM))
    assert "hệ thống đang gặp sự cố" in reply.text
    stale = {"message": fake.make_message(CITIZEN, text="x")}
    reply = await fake.reply_to(fake.callback_update(CITIZEN, stale["message"], "po:9.999999"))
    assert "không còn trong danh mục" in reply.text

    since = fake.mark()
    fake.push(fake.callback_update(CITIZEN, stale["message"], "zz:from-an-old-release"))
    alert = await fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert "không còn hiệu lực" in alert.params["text"]

    reply = await fake.reply_to(fake.text_update(CITIZEN, "đăng ký khai sinh"))
    assert "khai sinh" in reply.text.lower()
    assert_within_limits(fake)


async def test_language_switch_survives_restart(
    fake: FakeTelegram, database_url: str, index: SearchIndex
) -> None:
    english_phone = FakeUser(id=2002, first_name="Minh", language_code="en-US")
    async with polling_bot(fake, database_url, index):
        # No stored preference: Telegram's language_code decides.
        assert "Hello Minh" in (await fake.reply_to(fake.text_update(english_phone, "/start"))).text
        assert "Xin chào Lan" in (await fake.reply_to(fake.text_update(CITIZEN, "/start"))).text

        prompt = await fake.reply_to(fake.text_update(CITIZEN, "/language"))
        switched = await fake.reply_to(
            fake.callback_update(
                CITIZEN, fake.message_of(prompt), button(prompt, "English")["callback_data"]
            )
        )
        assert "Language changed to English" in switched.text
        assert "Administrative procedures" in " ".join(b["text"] for b in switched.buttons)
        menu = await fake.reply_to(fake.text_update(CITIZEN, "/start"))
        assert "Hello Lan" in menu.text
        assert "Administrative procedures" in " ".join(b["text"] for b in menu.buttons)

    # A new bot and dispatcher on the same database: the choice is still there.
    async with polling_bot(fake, database_url, index):
        menu = await fake.reply_to(fake.text_update(CITIZEN, "/start"))
        assert "Hello Lan" in menu.text
        results = await fake.reply_to(fake.text_update(CITIZEN, "đăng ký khai sinh"))
        assert "Procedures matching" in results.text

        # Switching back to Vietnamese works the same way.
        prompt = await fake.reply_to(fake.text_update(CITIZEN, "/language"))
        back = await fake.reply_to(
            fake.callback_update(
                CITIZEN, fake.message_of(prompt), button(prompt, "Tiếng Việt")["callback_data"]
            )
        )
        assert "Đã chuyển sang tiếng Việt" in back.text
    assert_within_limits(fake)


async def test_webhook_checks_the_secret_and_replies(
    fake: FakeTelegram, database_url: str, index: SearchIndex
) -> None:
    settings = bot_settings(
        fake,
        database_url,
        telegram_mode="webhook",
        webhook_base_url="https://assistant.example.gov.vn",
        webhook_secret=WEBHOOK_SECRET,
    )
    engine = create_engine(database_url)
    bot = create_bot(settings)
    dispatcher = create_dispatcher(
        settings=settings, index=index, session_factory=create_session_factory(engine)
    )

    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        setup_webhook(
            web.Application(),
            bot,
            dispatcher,
            bot_settings(fake, database_url, webhook_base_url="https://x.example"),
        )

    app = web.Application()
    setup_webhook(app, bot, dispatcher, settings)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}{settings.webhook_path}"
    try:
        registered = await fake.wait_for(lambda c: c.method == "setWebhook")
        assert registered.params["url"] == "https://assistant.example.gov.vn/telegram/webhook"
        assert registered.params["secret_token"] == WEBHOOK_SECRET
        assert str(registered.params.get("drop_pending_updates", "false")).lower() == "false"

        update = {"update_id": 900001, **fake.text_update(CITIZEN, "/start")}
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 401
            assert not [c for c in fake.calls if c.method == "sendMessage"]

            since = fake.mark()
            async with http.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            ) as response:
                assert response.status == 200
            reply = await fake.wait_for(lambda c: c.method == "sendMessage", since=since)
            assert reply.ok and "Xin chào Lan" in reply.text

            # Telegram re-sends an update it got no timely answer for: handled once only.
            since = fake.mark()
            async with http.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            ) as response:
                assert response.status == 200
            fresh = {"update_id": 900002, **fake.text_update(CITIZEN, "/help")}
            async with http.post(
                url, json=fresh, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            ) as response:
                assert response.status == 200
            answer = await fake.wait_for(lambda c: c.method == "sendMessage", since=since)
            await asyncio.sleep(0.3)
            sent = [c for c in fake.calls[since:] if c.method == "sendMessage"]
            assert [c.text for c in sent] == [answer.text]
            assert "Xin chào" not in answer.text  # the /help answer, not a second welcome
    finally:
        await runner.cleanup()
        await engine.dispose()
