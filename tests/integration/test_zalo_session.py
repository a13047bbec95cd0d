"""The Zalo session carrying out the dialogs' Bot API calls against the stand-in Zalo server:
texts without HTML, buttons five per template and registered as presses, edits sent anew under
the same message id, alerts as messages, photos uploaded, what it cannot do refused loudly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo.api import ZaloApi, ZaloApiError
from bot.channels.zalo.session import ZaloBot, callback_query_id
from bot.channels.zalo.tokens import ZaloTokenError
from bot.factory import default_bot_properties
from bot.jobs.outbox import Deferred, PartiallyDelivered
from bot.jobs.senders import ZaloSender
from handlers.contracts import Rendered
from storage.repositories.zalo_users import ZaloUserRepository
from tests.tools.zalo_server import CurrentToken, FakeZalo

USER = "2468458835296117922"


@dataclass
class Env:
    fake: FakeZalo
    bot: ZaloBot
    factory: async_sessionmaker[AsyncSession]
    chat: int

    async def press(self, text: str) -> tuple[int, str] | None:
        async with self.factory() as session:
            return await ZaloUserRepository(session).press(self.chat, text)

    async def replies(self) -> int:
        async with self.factory() as session:
            user = await ZaloUserRepository(session).by_chat_id(self.chat)
        assert user is not None
        return user.window_replies


@pytest.fixture
async def env(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[Env]:
    fake = FakeZalo()
    await fake.start()
    async with aiohttp.ClientSession() as http:
        api = ZaloApi(http, CurrentToken(fake), api_base=fake.base_url)
        bot = ZaloBot(api, session_factory, default=default_bot_properties())
        async with session_factory() as session:
            user = await ZaloUserRepository(session).inbound(USER, display_name="An")
            await session.commit()
        yield Env(fake, bot, session_factory, user.id)
    await fake.stop()


def keyboard(count: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=f"Thủ tục {i}", callback_data=f"proc:{i}")]
            for i in range(count)
        ]
        + [[InlineKeyboardButton(text="Cổng Dịch vụ công", url="https://dichvucong.gov.vn")]]
    )


async def test_text_and_buttons_five_per_template_registered_as_presses(env: Env) -> None:
    sent = await env.bot.send_message(
        env.chat, "<b>Kết quả</b> cho «khai sinh»:", reply_markup=keyboard(6)
    )
    messages = env.fake.messages(USER)
    assert [len(m.buttons) for m in messages] == [5, 2]
    assert messages[0].text == "Kết quả cho «khai sinh»:"
    tag = f"#{sent.message_id}"
    assert messages[0].buttons[0] == {
        "title": "Thủ tục 0",
        "type": "oa.query.show",
        "payload": f"Thủ tục 0 {tag}",
    }
    assert messages[1].buttons[-1]["type"] == "oa.open.url"
    assert await env.press(f"Thủ tục 5 {tag}") == (sent.message_id, "proc:5")
    assert await env.press("Thủ tục 5") is None  # only the exact payload
    assert await env.press(f"Cổng Dịch vụ công {tag}") is None  # a link is not a press
    assert await env.replies() == 2


def _payloads(env: Env, index: int) -> dict[str, str]:
    """Title -> payload of the buttons on the ``index``-th Zalo message the user got."""
    return {b["title"]: b["payload"] for b in env.fake.messages(USER)[index].buttons}


async def test_an_edit_is_sent_anew_and_each_copy_keeps_its_buttons(env: Env) -> None:
    first = await env.bot.send_message(env.chat, "Trang 1", reply_markup=keyboard(2))
    edited = await env.bot.edit_message_text(
        "Trang 2",
        chat_id=env.chat,
        message_id=first.message_id,
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="◀ Trước", callback_data="page:1")]]
        ),
    )
    assert not isinstance(edited, bool) and edited.message_id == first.message_id
    assert env.fake.texts(USER) == ["Trang 1", "Trang 2"]
    old, new = _payloads(env, 0), _payloads(env, 1)
    # the old copy is still on the screen: its button does what it said, on the same message
    assert await env.press(old["Thủ tục 0"]) == (first.message_id, "proc:0")
    assert await env.press(new["◀ Trước"]) == (first.message_id, "page:1")
    second = await env.bot.send_message(env.chat, "Khác")
    assert second.message_id > first.message_id


async def test_equal_titles_on_two_messages_reach_their_own_targets(env: Env) -> None:
    def card(dossier: int) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="🔔 Theo dõi", callback_data=f"f:{dossier}")]
            ]
        )

    a = await env.bot.send_message(env.chat, "Hồ sơ A", reply_markup=card(1))
    b = await env.bot.send_message(env.chat, "Hồ sơ B", reply_markup=card(2))
    first, second = _payloads(env, 0)["🔔 Theo dõi"], _payloads(env, 1)["🔔 Theo dõi"]
    assert first != second
    assert await env.press(first) == (a.message_id, "f:1")  # the older card, not the newer
    assert await env.press(second) == (b.message_id, "f:2")


async def test_alerts_become_messages_and_toasts_are_dropped(env: Env) -> None:
    await env.bot.answer_callback_query(callback_query_id(env.chat), text="Đã chọn")
    assert env.fake.messages(USER) == []
    await env.bot.answer_callback_query(
        callback_query_id(env.chat), text="Nút này đã cũ.", show_alert=True
    )
    assert env.fake.texts(USER) == ["Nút này đã cũ."]


async def test_a_photo_is_uploaded_and_sent_as_an_image(env: Env) -> None:
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
        b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    await env.bot.send_photo(env.chat, BufferedInputFile(png, filename="digest.png"))
    [image] = env.fake.messages(USER)
    assert image.attachment_id is not None and image.attachment_id in env.fake.uploads


async def test_what_zalo_cannot_do_is_refused_loudly(env: Env) -> None:
    with pytest.raises(TelegramBadRequest, match="not supported by the Zalo channel"):
        await env.bot.send_document(env.chat, BufferedInputFile(b"x", filename="a.pdf"))
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await env.bot.send_message(env.chat, "<b>unclosed")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await env.bot.send_message(env.chat + 999, "xin chào")
    assert env.fake.messages(USER) == []


async def test_a_long_text_is_split_and_each_piece_counts(env: Env) -> None:
    text = "\n\n".join(f"Đoạn {i}: " + "giấy tờ cần mang theo " * 20 for i in range(8))
    await env.bot.send_message(env.chat, text)
    pieces = env.fake.texts(USER)
    assert len(pieces) >= 2 and all(len(p) <= 2000 for p in pieces)
    assert await env.replies() == len(pieces)


async def test_zalo_rate_limits_become_flood_control(env: Env) -> None:
    env.fake.fail_next("/v3.0/oa/message/cs", code=-32)
    with pytest.raises(TelegramRetryAfter):
        await env.bot.send_message(env.chat, "xin chào")


class BrokenTokens:
    """A token source whose refresh server is down."""

    async def access_token(self) -> str:
        raise ZaloTokenError("Zalo's OAuth server did not answer", retryable=True)

    async def refresh(self, stale: str) -> str:
        raise ZaloTokenError("Zalo's OAuth server did not answer", retryable=True)


async def test_the_outbox_learns_what_to_do_with_each_zalo_failure(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = ZaloSender(env.bot, env.factory)
    # this user's own limit: only this chat waits (a rate limit would pause every chat)
    env.fake.fail_next("/v3.0/oa/message/cs", code=-218)
    with pytest.raises(Deferred):
        await sender.send(str(env.chat), Rendered(text="Hồ sơ đã có kết quả."))
    assert env.fake.messages(USER) == []

    # the second piece of a long message fails: not retried, the first would come twice
    api = env.bot.session.zalo  # type: ignore[attr-defined]
    real_send_text = api.send_text
    calls = 0

    async def second_fails(user_id: str, text: str) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ZaloApiError(-1, "no answer", retryable=True)
        return await real_send_text(user_id, text)

    monkeypatch.setattr(api, "send_text", second_fails)
    long_text = "\n\n".join("Đoạn dài về hồ sơ của anh/chị. " * 40 for _ in range(3))
    with pytest.raises(PartiallyDelivered):
        await sender.send(str(env.chat), Rendered(text=long_text))
    assert len(env.fake.messages(USER)) == 1
    monkeypatch.setattr(api, "send_text", real_send_text)

    async with aiohttp.ClientSession() as http:
        broken = ZaloBot(
            ZaloApi(http, BrokenTokens(), api_base=env.fake.base_url),
            env.factory,
            default=default_bot_properties(),
        )
        # the token server is down: nothing went out, so the worker retries (not "uncertain")
        with pytest.raises(TelegramNetworkError):
            await broken.send_message(env.chat, "xin chào")
