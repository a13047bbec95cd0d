"""Web chat adapter: Bot API methods -> events, browser input -> Updates, HTTP input limits."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiogram import Dispatcher, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandStart
from aiogram.methods import SendPhoto, SetMyCommands
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.telegram_html import parse_telegram_html
from bot.channels.webchat.channel import (
    UNHANDLED_KEPT,
    Unhandled,
    UnhandledUpdateError,
    WebChatChannel,
)
from bot.channels.webchat.hub import WebChatHub
from bot.channels.webchat.input import MAX_TEXT_CHARS, WebChatInputError, clean_user_text
from bot.channels.webchat.routes import COOKIE_NAME, WEBCHAT_CHANNEL_KEY, create_web_app
from bot.channels.webchat.session import WebChatBot
from bot.config import Settings
from tests.tools.webchat import assert_all_handled, assert_none_logged, take_unhandled


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows
        ]
    )


def create_test_router(seen: list[Update] | None = None) -> Router:
    router = Router(name="webchat-test")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            "<b>Xin chào!</b> Chọn một mục:",
            reply_markup=keyboard([("Thủ tục", "menu:proc")], [("Trợ giúp", "menu:help")]),
        )

    @router.message(Command("long"))
    async def too_long(message: Message) -> None:
        await message.answer("x" * (MAX_TEXT_CHARS + 1))

    @router.callback_query(F.data.startswith("menu:"))
    async def menu(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text(
            f"Bạn chọn <i>{query.data}</i>", reply_markup=keyboard([("Quay lại", "menu:back")])
        )
        await query.answer("Đã chọn")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        if seen is not None:
            seen.append(message)  # type: ignore[arg-type]
        await message.answer(f"len={len(message.text or '')}")

    return router


@pytest.fixture
def hub() -> WebChatHub:
    return WebChatHub(secret=b"test-secret")


@pytest.fixture
def seen() -> list[Any]:
    return []


@pytest.fixture
def channel(hub: WebChatHub, seen: list[Any]) -> Iterator[WebChatChannel]:
    """A strict channel over the test router: an update no router takes fails the call, and the
    end of the test checks the record too."""
    dispatcher = Dispatcher()
    dispatcher.include_router(create_test_router(seen))
    web_chat = WebChatChannel(dispatcher, hub=hub, strict=True)
    yield web_chat
    assert_all_handled(web_chat)


# ------------------------------------------------------------------- session adapter


async def test_send_message_becomes_event_and_returns_valid_message(hub: WebChatHub) -> None:
    bot = WebChatBot(hub)
    visitor, _ = hub.visitor(None)
    markup = keyboard([("Mở", "po:1.001193")])
    sent = await bot.send_message(
        visitor.chat_id, "<b>Giấy</b> khai sinh &amp; hộ tịch", reply_markup=markup
    )

    assert isinstance(sent, Message)
    assert sent.message_id == 1
    assert sent.chat.id == visitor.chat_id and sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.id == bot.id and sent.from_user.is_bot
    assert sent.text == "Giấy khai sinh & hộ tịch"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [("bold", 0, 4)]
    assert sent.html_text == "<b>Giấy</b> khai sinh &amp; hộ tịch"
    assert sent.reply_markup is not None and sent.reply_markup.model_dump() == markup.model_dump()
    assert sent.bot is bot  # shortcuts such as sent.edit_text() work

    [event] = visitor.events_after(0)
    assert event == {
        "seq": 1,
        "type": "message",
        "message_id": 1,
        "html": "<b>Giấy</b> khai sinh &amp; hộ tịch",
        "buttons": [[{"text": "Mở", "callback_data": "po:1.001193"}]],
    }
    again = await bot.send_message(visitor.chat_id, "hai")
    assert again.message_id == 2


async def test_html_default_given_as_enum_is_rendered_not_escaped(hub: WebChatHub) -> None:
    """The composition root passes ParseMode.HTML (an enum), not the string "HTML"."""
    from aiogram.client.default import DefaultBotProperties
    from aiogram.enums import ParseMode

    bot = WebChatBot(hub, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    visitor, _ = hub.visitor(None)
    sent = await bot.send_message(visitor.chat_id, "1. <b>Đăng ký</b> <code>1.001193</code>")
    assert sent.text == "1. Đăng ký 1.001193"
    [event] = visitor.events_after(0)
    assert event["html"] == "1. <b>Đăng ký</b> <code>1.001193</code>"


async def test_edit_message_text_replaces_in_place(hub: WebChatHub) -> None:
    bot = WebChatBot(hub)
    visitor, _ = hub.visitor(None)
    sent = await bot.send_message(
        visitor.chat_id, "Trang 1", reply_markup=keyboard([("›", "pp:2")])
    )
    edited = await sent.edit_text("Trang <u>2</u>", reply_markup=keyboard([("‹", "pp:1")]))

    assert isinstance(edited, Message)
    assert edited.message_id == sent.message_id and edited.edit_date is not None
    assert edited.text == "Trang 2"
    event = visitor.events_after(1)[0]
    assert event["type"] == "edit" and event["message_id"] == sent.message_id
    assert event["html"] == "Trang <u>2</u>"
    assert event["buttons"] == [[{"text": "‹", "callback_data": "pp:1"}]]
    assert visitor.messages[sent.message_id].text == "Trang 2"

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await edited.edit_text("Trang <u>2</u>", reply_markup=keyboard([("‹", "pp:1")]))
    # Like Telegram: an edit without reply_markup drops the keyboard.
    await edited.edit_text("Trang 2")
    assert visitor.events_after(0)[-1]["buttons"] == []
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=visitor.chat_id, message_id=999)


async def test_markup_delete_toast_typing_events(hub: WebChatHub) -> None:
    bot = WebChatBot(hub)
    visitor, _ = hub.visitor(None)
    sent = await bot.send_message(visitor.chat_id, "Chọn", reply_markup=keyboard([("A", "a")]))
    await bot.edit_message_reply_markup(
        chat_id=visitor.chat_id, message_id=sent.message_id, reply_markup=keyboard([("B", "b")])
    )
    await bot.send_chat_action(visitor.chat_id, "typing")
    assert await bot.delete_message(visitor.chat_id, sent.message_id) is True
    types = [e["type"] for e in visitor.events_after(0)]
    assert types == ["message", "edit", "typing", "delete"]
    assert visitor.events_after(0)[1]["html"] == "Chọn"

    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(123, "nobody")


async def test_unknown_methods(hub: WebChatHub) -> None:
    bot = WebChatBot(hub)
    visitor, _ = hub.visitor(None)
    # Configuration calls that return bool are harmless and answered True...
    assert await bot(SetMyCommands(commands=[BotCommand(command="start", description="x")])) is True
    # ...anything else fails loudly instead of silently showing nothing.
    with pytest.raises(TelegramBadRequest, match="SendPhoto is not supported"):
        await bot(SendPhoto(chat_id=visitor.chat_id, photo="https://example.org/x.png"))
    me = await bot.get_me()
    assert me.id == 1000000001 and me.is_bot
    assert WebChatBot.channel_name == "web" and bot.channel_name == "web"


async def test_bot_html_is_validated_like_telegram(hub: WebChatHub) -> None:
    bot = WebChatBot(hub)
    visitor, _ = hub.visitor(None)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(visitor.chat_id, "<script>alert(1)</script>")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(visitor.chat_id, "a" * (MAX_TEXT_CHARS + 1))
    # Plain text (parse_mode=None) is escaped for the page.
    await bot.send_message(visitor.chat_id, "<i>not html</i>", parse_mode=None)
    assert visitor.events_after(0)[-1]["html"] == "&lt;i&gt;not html&lt;/i&gt;"


def test_parse_telegram_html_entities_use_utf16_offsets() -> None:
    text, entities = parse_telegram_html(
        '😀 <b>đậm <i>nghiêng</i></b> <a href="https://dichvucong.gov.vn">DVC</a>'
        '<pre><code class="language-python">x</code></pre><tg-spoiler>ẩn</tg-spoiler>'
    )
    assert text == "😀 đậm nghiêng DVCxẩn"
    got = [(e.type, e.offset, e.length, e.url, e.language) for e in entities]
    assert got == [
        ("bold", 3, 11, None, None),
        ("italic", 7, 7, None, None),
        ("text_link", 15, 3, "https://dichvucong.gov.vn", None),
        ("pre", 18, 1, None, "python"),
        ("spoiler", 19, 2, None, None),
    ]


# ------------------------------------------------------------------ update construction


async def test_text_and_callback_updates(channel: WebChatChannel) -> None:
    visitor, _ = channel.hub.visitor(None)
    update = channel.text_update(visitor, "/start", visitor.next_message_id())
    assert update.message is not None
    assert update.message.chat.id == visitor.chat_id and update.message.chat.type == "private"
    assert update.message.from_user is not None and update.message.from_user.id == visitor.user_id
    assert not update.message.from_user.is_bot
    assert [(e.type, e.length) for e in update.message.entities or []] == [("bot_command", 6)]

    events = await channel.handle_text(visitor, "/start")
    message_event = next(e for e in events if e["type"] == "message")
    stored = visitor.messages[message_event["message_id"]]
    callback = channel.callback_update(visitor, stored, "menu:proc")
    assert callback.update_id > update.update_id  # monotonically increasing
    query = callback.callback_query
    assert query is not None and query.data == "menu:proc" and query.chat_instance
    assert query.from_user.id == visitor.user_id
    assert isinstance(query.message, Message) and query.message.message_id == stored.message_id
    assert query.message.reply_markup is not None and stored.reply_markup is not None
    assert query.message.reply_markup.model_dump() == stored.reply_markup.model_dump()


async def test_dialog_round_trip_through_dispatcher(channel: WebChatChannel) -> None:
    visitor, _ = channel.hub.visitor(None)
    events = await channel.handle_text(visitor, "/start", echo=False)
    assert [e["type"] for e in events] == ["message"]
    menu = events[0]
    assert menu["buttons"][0][0] == {"text": "Thủ tục", "callback_data": "menu:proc"}

    events = await channel.handle_callback(visitor, menu["message_id"], "menu:proc")
    assert [e["type"] for e in events] == ["edit", "toast"]
    assert events[0]["message_id"] == menu["message_id"]
    assert events[0]["html"] == "Bạn chọn <i>menu:proc</i>"
    assert events[1]["text"] == "Đã chọn"

    # The keyboard changed: the old button is gone, as it is on Telegram.
    with pytest.raises(WebChatInputError) as stale:
        await channel.handle_callback(visitor, menu["message_id"], "menu:help")
    assert stale.value.status == 409
    with pytest.raises(WebChatInputError) as unknown:
        await channel.handle_callback(visitor, 999, "menu:proc")
    assert unknown.value.status == 404


def test_the_channel_uses_the_hub_it_is_given_even_while_empty() -> None:
    """An empty hub is falsy (it has a length): the channel, and `create_web_app`'s
    `visitor_secret`, once fell back to a fresh hub without the secret."""
    hub = WebChatHub(secret=b"k")
    assert len(hub) == 0 and WebChatChannel(Dispatcher(), hub=hub).hub is hub
    app = create_web_app(dispatcher=Dispatcher(), settings=Settings(), visitor_secret=b"k")
    assert app[WEBCHAT_CHANNEL_KEY].hub.chat_id_for("A" * 32) == hub.chat_id_for("A" * 32)
    bot = WebChatBot(hub)
    assert WebChatChannel(Dispatcher(), bot=bot).hub is hub
    with pytest.raises(ValueError, match="differ"):
        WebChatChannel(Dispatcher(), hub=WebChatHub(), bot=bot)


# ------------------------------------------------------------------ unhandled updates


async def test_an_update_no_router_takes_is_logged_and_recorded(
    hub: WebChatHub, caplog: pytest.LogCaptureFixture
) -> None:
    channel = WebChatChannel(Dispatcher(), hub=hub)  # no routers at all, not strict
    visitor, _ = hub.visitor(None)
    with caplog.at_level(logging.INFO, logger="bot.channels.webchat.channel"):
        events = await channel.handle_text(visitor, "xin chào")
    assert [e["type"] for e in events] == ["user"]  # the visitor's answer is as before: none
    [record] = channel.unhandled_updates
    assert record == Unhandled(record.update_id, "message") and channel.unhandled_total == 1
    assert f"web chat update {record.update_id} (message) was not handled" in caplog.text
    assert "xin chào" not in caplog.text  # what the visitor typed is neither logged nor kept
    with pytest.raises(AssertionError, match="no handler took web chat updates"):
        assert_all_handled(channel)
    with pytest.raises(AssertionError, match="web chat updates not handled"):
        assert_none_logged(caplog.text)  # the check of a `python -m bot` subprocess's log
    assert take_unhandled(channel) == [record]
    assert_all_handled(channel)
    assert channel.unhandled_total == 1  # taking the record does not reset the count


async def test_a_handled_update_is_not_recorded_and_a_strict_channel_raises(
    hub: WebChatHub,
) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Chọn", reply_markup=keyboard([("Nút", "nobody:1")]))

    dispatcher = Dispatcher()
    dispatcher.include_router(router)  # nothing takes callbacks or other texts
    channel = WebChatChannel(dispatcher, hub=hub, strict=True)
    visitor, _ = hub.visitor(None)
    [menu] = await channel.handle_text(visitor, "/start", echo=False)
    assert not channel.unhandled_updates and channel.unhandled_total == 0
    with pytest.raises(UnhandledUpdateError, match=r"\(callback_query, data='nobody:1'\)"):
        await channel.handle_callback(visitor, menu["message_id"], "nobody:1")
    with pytest.raises(UnhandledUpdateError, match=r"\(message, text='hỏi gì đó'\)"):
        await channel.handle_text(visitor, "hỏi gì đó")
    assert [r.event_type for r in take_unhandled(channel)] == ["callback_query", "message"]
    assert visitor.pending == 0 and not visitor.lock.locked()  # the visitor can go on
    assert [e["type"] for e in await channel.handle_text(visitor, "/start")] == ["user", "message"]
    assert_all_handled(channel)


async def test_the_record_is_bounded_but_the_count_is_not(hub: WebChatHub) -> None:
    channel = WebChatChannel(Dispatcher(), hub=hub)
    visitor, _ = hub.visitor(None)
    for i in range(UNHANDLED_KEPT + 5):
        await channel.handle_text(visitor, f"q{i}")
    assert channel.unhandled_total == UNHANDLED_KEPT + 5
    kept = take_unhandled(channel)
    assert len(kept) == UNHANDLED_KEPT and kept[-1].update_id == UNHANDLED_KEPT + 5


async def test_an_unhandled_update_over_http_is_a_quiet_200_and_recorded() -> None:
    app = create_web_app(dispatcher=Dispatcher(), settings=Settings(), visitor_secret=b"k")
    async with TestClient(TestServer(app)) as test_client:
        response = await post(test_client, "/api/chat/messages", {"text": "có ai không"})
        assert response.status == 200
        assert [e["type"] for e in (await response.json())["events"]] == ["user"]
    [record] = take_unhandled(app)
    assert record.event_type == "message"


def test_clean_user_text() -> None:
    assert clean_user_text("  a\x00b\x07c\r\nd\u202e  ") == "abc\nd"
    assert clean_user_text("Thu\u0309 tu\u0323c") == "Thủ tục"  # NFC
    assert clean_user_text("\ud800x") == "x"
    assert len(clean_user_text("ă" * 5000)) == MAX_TEXT_CHARS


def test_hub_bounds_and_expiry() -> None:
    now = [0.0]
    hub = WebChatHub(secret=b"s", max_visitors=2, idle_ttl=10, clock=lambda: now[0])
    first, new_cookie = hub.visitor(None)
    assert new_cookie and hub.is_valid_token(first.token)
    assert hub.visitor(first.token) == (first, False)
    assert hub.chat_id_for(first.token) == first.chat_id and 0 < first.chat_id < 2**53
    second, _ = hub.visitor("not a token")
    assert second is not first
    now[0] = 1
    third, _ = hub.visitor(None)  # full: the least recently seen goes
    assert len(hub) == 2 and hub.by_chat_id(first.chat_id) is None
    now[0] = 20
    assert hub.expire_idle() == 2 and len(hub) == 0
    # Same cookie after expiry (or a restart with the same secret): same chat id.
    back, new_cookie = hub.visitor(second.token)
    assert not new_cookie and back.chat_id == second.chat_id


def test_event_log_is_bounded() -> None:
    hub = WebChatHub(max_events_per_visitor=5, max_event_bytes_per_visitor=2000)
    visitor, _ = hub.visitor(None)
    for i in range(10):
        visitor.push({"type": "toast", "text": str(i)})
    assert [e["seq"] for e in visitor.events_after(0)] == [6, 7, 8, 9, 10]
    for _ in range(10):
        visitor.push({"type": "toast", "text": "x" * 900})
    assert visitor.event_bytes <= 2000 and len(visitor.events) == 2


# ------------------------------------------------------------------------ HTTP layer


@pytest.fixture
async def client(seen: list[Any]) -> AsyncIterator[TestClient]:
    dispatcher = Dispatcher()
    dispatcher.include_router(create_test_router(seen))
    app = create_web_app(dispatcher=dispatcher, settings=Settings(), visitor_secret=b"k")
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
    assert_all_handled(app)


async def post(client: TestClient, path: str, payload: Any, **headers: str) -> Any:
    return await client.post(
        path,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", **headers},
    )


async def test_page_security_headers_and_cookie(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status == 200
    body = await response.text()
    assert "Trợ lý thủ tục hành chính" in body and '<script src="/static/chat.js"' in body
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    js = await client.get("/static/chat.js")
    assert js.status == 200 and js.content_type == "text/javascript"
    health = await client.get("/healthz")
    assert (await health.json()) == {"status": "ok"}


async def test_post_message_returns_events_and_long_poll_replays_them(client: TestClient) -> None:
    await client.get("/")
    response = await post(client, "/api/chat/messages", {"text": "xin chào", "client_id": "c1"})
    assert response.status == 200
    data = await response.json()
    assert [e["type"] for e in data["events"]] == ["user", "message"]
    assert data["events"][0]["client_id"] == "c1"
    assert data["events"][1]["html"] == "len=8"
    poll = await (await client.get("/api/chat/events?after=0&timeout=0")).json()
    assert poll["events"] == data["events"] and poll["cursor"] == 2 and not poll["reset"]
    newer = await (await client.get("/api/chat/events?after=2&timeout=0")).json()
    assert newer["events"] == []
    stale = await (await client.get("/api/chat/events?after=99&timeout=0")).json()
    assert stale["reset"] and len(stale["events"]) == 2


async def test_callback_over_http(client: TestClient) -> None:
    await client.get("/")
    started = await post(client, "/api/chat/messages", {"text": "/start", "silent": True})
    start = await started.json()
    [menu] = start["events"]
    press = {"message_id": menu["message_id"], "data": "menu:help"}
    response = await post(client, "/api/chat/callbacks", press)
    assert response.status == 200
    assert (await response.json())["events"][0]["type"] == "edit"
    gone = await post(client, "/api/chat/callbacks", press)
    assert gone.status == 409 and (await gone.json())["error"] == "stale_button"


async def test_oversized_body_is_413(client: TestClient) -> None:
    response = await post(client, "/api/chat/messages", {"text": "a" * 20000})
    assert response.status == 413
    assert (await response.json())["error"] == "payload_too_large"


async def test_bad_json_is_400(client: TestClient) -> None:
    response = await client.post(
        "/api/chat/messages", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "invalid_json" and "JSON" in body["detail"]
    not_object = await post(client, "/api/chat/messages", ["text"])
    assert not_object.status == 400
    no_text = await post(client, "/api/chat/messages", {"text": 5})
    assert no_text.status == 400 and (await no_text.json())["error"] == "invalid_text"
    empty = await post(client, "/api/chat/messages", {"text": " \x00 "})
    assert empty.status == 400 and (await empty.json())["error"] == "empty_text"


async def test_overlong_text_is_cut_to_4096(client: TestClient, seen: list[Any]) -> None:
    response = await post(client, "/api/chat/messages", {"text": "ă" * 5000 + "\x00"})
    assert response.status == 200
    events = (await response.json())["events"]
    assert events[-1]["html"] == f"len={MAX_TEXT_CHARS}"  # the dialog answered as usual
    assert len(seen[-1].text) == MAX_TEXT_CHARS


async def test_too_long_callback_data_is_400(client: TestClient) -> None:
    response = await post(client, "/api/chat/callbacks", {"message_id": 1, "data": "d" * 65})
    assert response.status == 400
    assert (await response.json())["error"] == "callback_too_long"
    bad_id = await post(client, "/api/chat/callbacks", {"message_id": True, "data": "x"})
    assert bad_id.status == 400


async def test_csrf_guards(client: TestClient) -> None:
    form = await client.post("/api/chat/messages", data={"text": "x"})
    assert form.status == 415
    foreign = await post(client, "/api/chat/messages", {"text": "x"}, Origin="https://evil.example")
    assert foreign.status == 403
    null_origin = await post(client, "/api/chat/messages", {"text": "x"}, Origin="null")
    assert null_origin.status == 403
    cross_site = await post(
        client, "/api/chat/messages", {"text": "x"}, **{"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status == 403
    host = f"http://{client.server.host}:{client.server.port}"
    same = await post(client, "/api/chat/messages", {"text": "x"}, Origin=host)
    assert same.status == 200


async def test_app_is_extensible(client: TestClient) -> None:
    app = client.server.app
    assert isinstance(app[WEBCHAT_CHANNEL_KEY], WebChatChannel)
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    assert ("POST", "/api/chat/messages") in routes and ("GET", "/healthz") in routes


async def test_long_poll_wakes_on_new_event(hub: WebChatHub) -> None:
    visitor, _ = hub.visitor(None)
    waiting = asyncio.create_task(visitor.wait_for_events(0, timeout=5))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    visitor.push({"type": "toast", "text": "hi"})
    events = await asyncio.wait_for(waiting, 1)
    assert [e["text"] for e in events] == ["hi"]
    assert await visitor.wait_for_events(1, timeout=0) == []


async def test_handler_crash_is_a_json_500() -> None:
    router = Router()

    @router.message()
    async def boom(message: Message) -> None:
        await message.answer("một phần")
        raise RuntimeError("bug in a handler")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = create_web_app(dispatcher=dispatcher, settings=Settings())
    async with TestClient(TestServer(app)) as test_client:
        response = await post(test_client, "/api/chat/messages", {"text": "x"})
        assert response.status == 500
        assert (await response.json())["error"] == "internal_error"
        # What was sent before the crash still reaches the page.
        poll = await (await test_client.get("/api/chat/events?after=0&timeout=0")).json()
        assert [e["type"] for e in poll["events"]] == ["user", "message"]
    assert_all_handled(app)  # a crash is not "no handler"


def test_rate_limiter_buckets() -> None:
    from bot.web.plumbing import RateLimiter

    now = [0.0]
    limiter = RateLimiter(burst=3, per_second=0.5, max_clients=2, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # another address has its own bucket
    now[0] += 2.0  # one token back after two seconds
    assert limiter.allow("a") and not limiter.allow("a")
    limiter.allow("c")  # a third address: the least recently seen one ("b") is forgotten
    assert set(limiter._buckets) == {"a", "c"}


async def test_message_flood_from_one_address_gets_429(client: TestClient) -> None:
    await client.get("/")  # the page gives the cookie
    statuses = [
        (await post(client, "/api/chat/messages", {"text": f"q{i}"})).status for i in range(25)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[-1] == 429
    body = await (await post(client, "/api/chat/messages", {"text": "again"})).json()
    assert body["error"] == "too_many_requests"


async def test_cookieless_flood_cannot_create_unbounded_visitors(seen: list[Any]) -> None:
    dispatcher = Dispatcher()
    dispatcher.include_router(create_test_router(seen))
    app = create_web_app(dispatcher=dispatcher, settings=Settings(), visitor_secret=b"k")
    async with TestClient(TestServer(app)) as fresh:
        statuses = []
        for i in range(12):
            fresh.session.cookie_jar.clear()  # every request as a brand-new visitor
            statuses.append((await post(fresh, "/api/chat/messages", {"text": f"x{i}"})).status)
        assert statuses[:10] == [200] * 10 and set(statuses[10:]) == {429}
        hub = app[WEBCHAT_CHANNEL_KEY].hub
        assert len(hub._by_token) == 10
    assert_all_handled(app)


async def test_page_language_becomes_the_users_language_code(
    client: TestClient, seen: list[Any]
) -> None:
    await client.get("/")
    response = await post(client, "/api/chat/messages", {"text": "hello", "lang": "en"})
    assert response.status == 200
    assert seen[-1].from_user.language_code == "en"
    response = await post(client, "/api/chat/messages", {"text": "xin chào"})
    assert seen[-1].from_user.language_code == "en"  # kept for the visitor
    bad = await post(client, "/api/chat/messages", {"text": "x", "lang": "fr"})
    assert bad.status == 400 and (await bad.json())["error"] == "invalid_lang"


def test_hub_knows_its_own_signed_cookies_after_a_restart_but_not_minted_ones() -> None:
    before = WebChatHub(secret=b"deployment secret")
    visitor, new_cookie = before.visitor(None)
    assert new_cookie and before.knows(visitor.token)
    after_restart = WebChatHub(secret=b"deployment secret")  # empty, same secret
    assert after_restart.knows(visitor.token)
    assert after_restart.visitor(visitor.token)[0].chat_id == visitor.chat_id
    assert not WebChatHub(secret=b"another deployment").knows(visitor.token)
    random_part, _, signature = visitor.token.partition(".")
    assert not after_restart.knows(random_part)  # a bare (or minted) token
    assert not after_restart.knows(random_part + "." + "A" * len(signature))  # forged signature
    assert not after_restart.knows(None)
    # Bare tokens of older releases are still accepted as cookies (they just count as new).
    legacy = "B" * 22
    assert after_restart.is_valid_token(legacy) and not after_restart.knows(legacy)
