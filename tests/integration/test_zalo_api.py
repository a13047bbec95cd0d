"""The Zalo OA API client and its token manager against the stand-in Zalo server, on SQLite and
PostgreSQL: messages reach Zalo in Zalo's shape, limits are refused before sending, a refused
access token is refreshed once, and two processes racing to refresh spend the single-use refresh
token once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo.api import (
    NO_ANSWER,
    ZaloApi,
    ZaloApiError,
    ZaloButton,
    ZaloOutsideWindow,
    ZaloQuotaExceeded,
    ZaloRateLimited,
    ZaloTokenRejected,
    ZaloUnreachable,
)
from bot.channels.zalo.tokens import ACCESS_LIFETIME, ZaloTokenError, ZaloTokens
from bot.logs import RedactSecrets
from storage.db import create_engine, create_session_factory
from storage.records import ZaloTokenRecord
from storage.repositories.zalo_tokens import ZaloTokenRepository
from tests.tools.zalo_server import (
    MESSAGE_PATH,
    OAUTH_PATH,
    UPLOAD_IMAGE_PATH,
    ZNS_PATH,
    CurrentToken,
    FakeZalo,
)

USER = "2512523625412515"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    fake = FakeZalo()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def redacted() -> list[str]:
    """What the managers handed to the log redaction (``on_new_secret``)."""
    return []


def manager(
    sessions: async_sessionmaker[AsyncSession],
    http: aiohttp.ClientSession,
    zalo: FakeZalo,
    clock: Clock,
    redacted: list[str] | None = None,
) -> ZaloTokens:
    return ZaloTokens(
        sessions,
        http,
        app_id=zalo.app_id,
        app_secret=zalo.app_secret,
        oauth_base=zalo.base_url,
        on_new_secret=redacted.append if redacted is not None else None,
        clock=clock,
    )


def client(http: aiohttp.ClientSession, tokens: ZaloTokens, zalo: FakeZalo) -> ZaloApi:
    return ZaloApi(http, tokens, api_base=zalo.base_url, business_base=zalo.base_url)


@pytest.fixture
async def tokens(
    session_factory: async_sessionmaker[AsyncSession],
    http: aiohttp.ClientSession,
    zalo: FakeZalo,
    clock: Clock,
    redacted: list[str],
) -> ZaloTokens:
    tokens = manager(session_factory, http, zalo, clock, redacted)
    assert await tokens.seed(*zalo.pair(), ACCESS_LIFETIME)
    return tokens


@pytest.fixture
def api(http: aiohttp.ClientSession, tokens: ZaloTokens, zalo: FakeZalo) -> ZaloApi:
    """The API with the token manager over the database (both backends)."""
    return client(http, tokens, zalo)


@pytest.fixture
def bare_api(http: aiohttp.ClientSession, zalo: FakeZalo) -> ZaloApi:
    """The API with an in-memory token source: for what does not touch the tokens."""
    return ZaloApi(http, CurrentToken(zalo), api_base=zalo.base_url, business_base=zalo.base_url)


async def stored(sessions: async_sessionmaker[AsyncSession], zalo: FakeZalo) -> ZaloTokenRecord:
    async with sessions() as db:
        record = await ZaloTokenRepository(db).get(zalo.app_id)
    assert record is not None
    return record


# --- messages in Zalo's shape ------------------------------------------------------------------


async def test_a_text_reaches_zalo_with_the_access_token(api: ZaloApi, zalo: FakeZalo) -> None:
    message_id = await api.send_text(USER, "Xin chào! Tôi có thể giúp gì?")
    (call,) = zalo.calls(MESSAGE_PATH)
    assert call.headers["access_token"] == zalo.access_token
    assert call.json == {
        "recipient": {"user_id": USER},
        "message": {"text": "Xin chào! Tôi có thể giúp gì?"},
    }
    assert zalo.texts(USER) == ["Xin chào! Tôi có thể giúp gì?"]
    assert message_id == zalo.messages(USER)[0].message_id != ""


async def test_buttons_go_as_a_template_of_the_three_kinds(
    bare_api: ZaloApi, zalo: FakeZalo
) -> None:
    buttons = [
        ZaloButton.query("Làm giấy khai sinh", "#p:1.001193"),
        ZaloButton.url("Cổng dịch vụ công", "https://dichvucong.gov.vn/"),
        ZaloButton.phone("Gọi tổng đài", "19001234"),
    ]
    message_id = await bare_api.send_buttons(USER, "Chọn một thủ tục:", buttons)
    (call,) = zalo.calls(MESSAGE_PATH)
    assert call.json["message"] == {
        "text": "Chọn một thủ tục:",
        "attachment": {
            "type": "template",
            "payload": {
                "buttons": [
                    {
                        "title": "Làm giấy khai sinh",
                        "type": "oa.query.show",
                        "payload": "#p:1.001193",
                    },
                    {
                        "title": "Cổng dịch vụ công",
                        "type": "oa.open.url",
                        "payload": {"url": "https://dichvucong.gov.vn/"},
                    },
                    {
                        "title": "Gọi tổng đài",
                        "type": "oa.open.phone",
                        "payload": {"phone_code": "19001234"},
                    },
                ]
            },
        },
    }
    (sent,) = zalo.messages(USER)
    assert sent.message_id == message_id
    assert sent.button_titles == ["Làm giấy khai sinh", "Cổng dịch vụ công", "Gọi tổng đài"]


async def test_an_image_is_uploaded_then_sent_by_its_attachment_id(
    bare_api: ZaloApi, zalo: FakeZalo
) -> None:
    attachment_id = await bare_api.upload_image(PNG, "chart.png", "image/png")
    (upload,) = zalo.calls(UPLOAD_IMAGE_PATH)
    assert upload.headers["access_token"] == zalo.access_token
    assert upload.files["file"].data == PNG
    assert (upload.files["file"].filename, upload.files["file"].content_type) == (
        "chart.png",
        "image/png",
    )
    message_id = await bare_api.send_image(USER, attachment_id, "Số liệu tuần này")
    (call,) = zalo.calls(MESSAGE_PATH)
    assert call.json["message"] == {
        "text": "Số liệu tuần này",
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "attachment_id": attachment_id}],
            },
        },
    }
    (sent,) = zalo.messages(USER)
    assert (sent.message_id, sent.attachment_id, sent.text) == (
        message_id,
        attachment_id,
        "Số liệu tuần này",
    )


async def test_a_request_user_info_card_goes_as_its_template(
    bare_api: ZaloApi, zalo: FakeZalo
) -> None:
    image = "https://cdn.example.gov.vn/card.png"
    await bare_api.send_request_user_info(USER, "📱 Chia sẻ số điện thoại", "Số đã khai", image)
    (call,) = zalo.calls(MESSAGE_PATH)
    element = {"title": "📱 Chia sẻ số điện thoại", "subtitle": "Số đã khai", "image_url": image}
    assert call.json["message"] == {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "request_user_info", "elements": [element]},
        }
    }
    (sent,) = zalo.messages(USER)
    assert sent.request_user_info == element and sent.text is None
    with pytest.raises(ValueError):
        await bare_api.send_request_user_info(USER, "x" * 101, "Số đã khai", image)
    with pytest.raises(ValueError):
        await bare_api.send_request_user_info(USER, "Chia sẻ", "x" * 501, image)
    # the stand-in refuses what Zalo refuses: a card with text, or an image that is not PNG/JPEG
    for message in (
        {"text": "x", "attachment": call.json["message"]["attachment"]},
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "request_user_info",
                    "elements": [{**element, "image_url": "https://cdn.example.gov.vn/a.gif"}],
                },
            }
        },
    ):
        body = {"recipient": {"user_id": USER}, "message": message}
        async with aiohttp.ClientSession() as http:
            answer = await http.post(
                zalo.base_url + MESSAGE_PATH,
                json=body,
                headers={"access_token": zalo.access_token or ""},
            )
            assert (await answer.json())["error"] == -201
    assert len(zalo.messages(USER)) == 1


async def test_a_zns_goes_to_the_phone_number_in_zalos_form(
    bare_api: ZaloApi, zalo: FakeZalo
) -> None:
    zalo.templates = {"353985": {"receipt_code", "status"}}
    data = {"receipt_code": "000.00.19.H29-260101-0001", "status": "Đã có kết quả"}
    msg_id = await bare_api.send_zns("0912 345 678", "353985", data, "outbox-42")
    (call,) = zalo.calls(ZNS_PATH)
    assert call.headers["access_token"] == zalo.access_token
    assert call.json == {
        "phone": "84912345678",
        "template_id": "353985",
        "template_data": data,
        "tracking_id": "outbox-42",
    }
    assert zalo.zns[0]["msg_id"] == msg_id != ""


Send = Callable[[ZaloApi], Awaitable[Any]]
TOO_MUCH: list[tuple[str, Send]] = [
    ("text over 2000", lambda api: api.send_text(USER, "a" * 2001)),
    ("empty text", lambda api: api.send_text(USER, "  ")),
    ("not a user id", lambda api: api.send_text("lan", "hi")),
    ("6 buttons", lambda api: api.send_buttons(USER, "hi", [ZaloButton.query("b", "b")] * 6)),
    ("no button", lambda api: api.send_buttons(USER, "hi", [])),
    (
        "title over 100",
        lambda api: api.send_buttons(USER, "hi", [ZaloButton.query("t" * 101, "p")]),
    ),
    (
        "payload over 1000",
        lambda api: api.send_buttons(USER, "hi", [ZaloButton.query("t", "p" * 1001)]),
    ),
    (
        "unknown type",
        lambda api: api.send_buttons(USER, "hi", [ZaloButton("t", "oa.open.sms", "1")]),
    ),
    (
        "url not http",
        lambda api: api.send_buttons(USER, "hi", [ZaloButton.url("t", "javascript:x")]),
    ),
    (
        "buttons text over 2000",
        lambda api: api.send_buttons(USER, "a" * 2001, [ZaloButton.query("t", "p")]),
    ),
    ("caption over 2000", lambda api: api.send_image(USER, "att", "a" * 2001)),
    ("a GIF", lambda api: api.upload_image(b"GIF89a", "x.gif", "image/gif")),
    (
        "an image over 1 MB",
        lambda api: api.upload_image(b"x" * (1024 * 1024 + 1), "x.png", "image/png"),
    ),
    ("not a phone", lambda api: api.send_zns("12345", "1", {"a": "b"}, "t")),
    ("no tracking id", lambda api: api.send_zns("0912345678", "1", {"a": "b"}, "")),
]


@pytest.mark.parametrize(("case", "send"), TOO_MUCH, ids=[case for case, _ in TOO_MUCH])
async def test_what_zalo_refuses_is_refused_before_sending(
    bare_api: ZaloApi, zalo: FakeZalo, case: str, send: Send
) -> None:
    with pytest.raises(ValueError):
        await send(bare_api)
    assert zalo.calls() == []


async def test_the_stand_in_refuses_what_zalo_refuses(
    http: aiohttp.ClientSession, zalo: FakeZalo
) -> None:
    """Sent raw, past the client's checks: the stand-in server answers Zalo's error codes."""

    async def post(message: dict[str, Any], user_id: str = USER) -> int:
        body = {"recipient": {"user_id": user_id}, "message": message}
        headers = {"access_token": zalo.access_token or ""}
        async with http.post(zalo.base_url + MESSAGE_PATH, json=body, headers=headers) as r:
            assert r.status == 200
            return int((await r.json())["error"])

    def buttons(*items: dict[str, Any]) -> dict[str, Any]:
        return {
            "text": "hi",
            "attachment": {"type": "template", "payload": {"buttons": list(items)}},
        }

    query = {"title": "t", "type": "oa.query.show", "payload": "p"}
    assert await post({"text": "a" * 2001}) == -210
    assert await post(buttons(*[query] * 6)) == -210
    assert await post(buttons(dict(query, title="t" * 101))) == -210
    assert await post(buttons(dict(query, payload="p" * 1001))) == -210
    assert await post(buttons(dict(query, type="oa.open.sms"))) == -201
    assert await post(buttons({"title": "t", "type": "oa.open.url", "payload": "x"})) == -201
    image = {"template_type": "media", "elements": [{"media_type": "image", "attachment_id": "x"}]}
    assert await post({"attachment": {"type": "template", "payload": image}}) == -201
    assert await post({"text": "hi"}, user_id="") == -201
    assert await post({"text": "hi"}) == 0
    zalo.expire_access_token()
    assert await post({"text": "hi"}) == -216
    assert zalo.texts(USER) == ["hi"]


# --- tokens -----------------------------------------------------------------------------------


async def test_a_refused_token_is_refreshed_once_and_the_call_succeeds(
    api: ZaloApi, zalo: FakeZalo, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await api.send_text(USER, "một")
    old_access, old_refresh = zalo.pair()
    before = await stored(session_factory, zalo)
    zalo.expire_access_token()
    await api.send_text(USER, "hai")
    assert zalo.refreshes == 1 and zalo.refresh_reuses == 0
    assert [c.error for c in zalo.calls(MESSAGE_PATH)] == [0, -216, 0]
    assert zalo.texts(USER) == ["một", "hai"]
    after = await stored(session_factory, zalo)
    assert (after.access_token, after.refresh_token) == zalo.pair()
    assert after.access_token != old_access and after.refresh_token != old_refresh
    assert after.version == before.version + 1
    (oauth,) = zalo.calls(OAUTH_PATH)
    assert oauth.headers["secret_key"] == zalo.app_secret
    assert oauth.form == {
        "app_id": zalo.app_id,
        "grant_type": "refresh_token",
        "refresh_token": old_refresh,
    }


async def test_the_expired_code_220_refreshes_too(api: ZaloApi, zalo: FakeZalo) -> None:
    zalo.expire_access_token(code=-220)
    await api.send_text(USER, "hi")
    assert zalo.refreshes == 1 and zalo.texts(USER) == ["hi"]


async def test_a_token_refused_after_the_refresh_is_not_refreshed_again(
    api: ZaloApi, zalo: FakeZalo
) -> None:
    zalo.fail_next(MESSAGE_PATH, code=-216, times=3)
    with pytest.raises(ZaloTokenRejected) as caught:
        await api.send_text(USER, "hi")
    assert caught.value.code == -216 and not caught.value.retryable
    assert zalo.refreshes == 1 and len(zalo.calls(MESSAGE_PATH)) == 2


async def test_concurrent_callers_in_one_process_wait_for_one_refresh(
    api: ZaloApi, zalo: FakeZalo
) -> None:
    await api.send_text(USER, "0")
    zalo.expire_access_token()
    zalo.oauth_delay = 0.1
    await asyncio.gather(*(api.send_text(USER, str(i)) for i in range(1, 6)))
    assert zalo.refreshes == 1 and zalo.refresh_reuses == 0
    assert sorted(zalo.texts(USER)) == [str(i) for i in range(6)]


async def test_the_token_is_refreshed_before_it_expires(
    api: ZaloApi, tokens: ZaloTokens, zalo: FakeZalo, clock: Clock
) -> None:
    first = zalo.access_token
    clock.now += timedelta(seconds=ACCESS_LIFETIME) - timedelta(minutes=31)
    assert await tokens.access_token() == first  # 31 minutes left: not yet
    assert zalo.refreshes == 0
    clock.now += timedelta(minutes=2)  # 29 minutes left: within the margin
    await api.send_text(USER, "hi")
    assert zalo.refreshes == 1
    assert [c.error for c in zalo.calls(MESSAGE_PATH)] == [0]  # no -216 first
    assert zalo.calls(MESSAGE_PATH)[0].headers["access_token"] == zalo.access_token != first


async def test_a_failing_refresh_raises_and_keeps_the_old_pair(
    api: ZaloApi, zalo: FakeZalo, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    before = await stored(session_factory, zalo)
    zalo.expire_access_token()
    zalo.fail_next(OAUTH_PATH, code=-14014, message="Invalid refresh token")
    with pytest.raises(ZaloTokenError) as refused:
        await api.send_text(USER, "hi")
    assert refused.value.code == -14014 and not refused.value.retryable
    zalo.fail_next_http(OAUTH_PATH, status=503)
    with pytest.raises(ZaloTokenError) as unavailable:
        await api.send_text(USER, "hi")
    assert unavailable.value.retryable
    zalo.drop_next(OAUTH_PATH)
    with pytest.raises(ZaloTokenError) as dropped:
        await api.send_text(USER, "hi")
    assert dropped.value.retryable
    after = await stored(session_factory, zalo)
    assert (after.access_token, after.refresh_token, after.version) == (
        before.access_token,
        before.refresh_token,
        before.version,
    )
    await api.send_text(USER, "hi")  # the kept refresh token still works
    assert zalo.refreshes == 1 and zalo.texts(USER) == ["hi"]


async def test_nothing_stored_is_a_token_error(
    session_factory: async_sessionmaker[AsyncSession],
    http: aiohttp.ClientSession,
    zalo: FakeZalo,
    clock: Clock,
) -> None:
    api = client(http, manager(session_factory, http, zalo, clock), zalo)
    with pytest.raises(ZaloTokenError, match="seed"):
        await api.send_text(USER, "hi")
    assert zalo.calls() == []


async def test_seeding_from_the_settings_keeps_a_stored_pair(
    tokens: ZaloTokens, zalo: FakeZalo, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = await stored(session_factory, zalo)
    assert not await tokens.seed("settings-access", "settings-refresh", 3600, replace=False)
    assert await stored(session_factory, zalo) == first
    assert await tokens.seed("cli-access", "cli-refresh", 3600)  # a new authorisation
    again = await stored(session_factory, zalo)
    assert (again.access_token, again.refresh_token, again.version) == (
        "cli-access",
        "cli-refresh",
        first.version + 1,
    )
    assert await tokens.access_token() == "cli-access"


async def test_the_repository_never_overwrites_a_pair_it_did_not_lock(
    session_factory: async_sessionmaker[AsyncSession], zalo: FakeZalo
) -> None:
    later = datetime(2026, 12, 4, tzinfo=UTC)
    async with session_factory() as db, db.begin():
        repo = ZaloTokenRepository(db)
        assert await repo.lock_for_refresh(zalo.app_id) is None
        first = await repo.seed(
            zalo.app_id,
            access_token="a1",
            refresh_token="r1",
            access_expires_at=later,
            replace=False,
        )
        assert first is not None and first.version == 1
        with pytest.raises(RuntimeError):
            await repo.save_refreshed(
                zalo.app_id,
                expected_version=0,
                access_token="a2",
                refresh_token="r2",
                access_expires_at=later,
            )
        saved = await repo.save_refreshed(
            zalo.app_id,
            expected_version=1,
            access_token="a2",
            refresh_token="r2",
            access_expires_at=later,
        )
    assert (saved.access_token, saved.version, saved.access_expires_at) == ("a2", 2, later)
    assert "a2" not in repr(saved) and "r2" not in repr(saved)


# --- two processes -----------------------------------------------------------------------------


@pytest.fixture
async def other_process(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A second engine on the same database, as another process of the assistant has."""
    url = session_factory.kw["bind"].url.render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("when", ["after -216", "before expiry"])
async def test_two_processes_racing_spend_the_refresh_token_once(
    tokens: ZaloTokens,
    other_process: async_sessionmaker[AsyncSession],
    zalo: FakeZalo,
    clock: Clock,
    when: str,
) -> None:
    async with aiohttp.ClientSession() as other_http:
        other = manager(other_process, other_http, zalo, clock)
        apis = [client(tokens.http, tokens, zalo), client(other_http, other, zalo)]
        for api in apis:  # both processes have read the pair and sent with it
            await api.send_text(USER, "warm-up")
        if when == "after -216":
            zalo.expire_access_token()
        else:
            clock.now += timedelta(seconds=ACCESS_LIFETIME - 60)
        zalo.oauth_delay = 0.3  # the first refresh is still running when the second starts
        await asyncio.gather(*(api.send_text(USER, "raced") for api in apis))
        assert zalo.refreshes == 1
        assert zalo.refresh_reuses == 0 and len(zalo.calls(OAUTH_PATH)) == 1
        assert zalo.texts(USER) == ["warm-up", "warm-up", "raced", "raced"]
        assert await tokens.access_token() == await other.access_token() == zalo.access_token
        record = await stored(other_process, zalo)
        assert record.access_token == zalo.access_token and record.version == 2


# --- Zalo's refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "retryable"),
    [
        (-32, ZaloRateLimited, True),
        (-211, ZaloQuotaExceeded, True),
        (-218, ZaloQuotaExceeded, True),
        (-234, ZaloRateLimited, True),
        (-230, ZaloOutsideWindow, False),
        (-232, ZaloOutsideWindow, False),
        (-213, ZaloUnreachable, False),
        (-227, ZaloUnreachable, False),
        (-201, ZaloApiError, False),
    ],
)
async def test_zalo_errors_map_to_what_a_sender_can_act_on(
    bare_api: ZaloApi, zalo: FakeZalo, code: int, kind: type[ZaloApiError], retryable: bool
) -> None:
    zalo.fail_next(MESSAGE_PATH, code=code)
    with pytest.raises(ZaloApiError) as caught:
        await bare_api.send_text(USER, "hi")
    assert type(caught.value) is kind
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    if isinstance(caught.value, ZaloRateLimited):
        assert caught.value.retry_after >= 1
    assert zalo.refreshes == 0 and len(zalo.calls(MESSAGE_PATH)) == 1


async def test_the_rate_limit_says_when_to_try_again(bare_api: ZaloApi, zalo: FakeZalo) -> None:
    zalo.fail_next(MESSAGE_PATH, code=-32, times=2)
    for _ in range(2):
        with pytest.raises(ZaloRateLimited) as caught:
            await bare_api.send_text(USER, "hi")
        assert caught.value.retry_after == 60
    await bare_api.send_text(USER, "hi")
    assert zalo.texts(USER) == ["hi"]


async def test_server_errors_and_no_answer_are_retryable(bare_api: ZaloApi, zalo: FakeZalo) -> None:
    zalo.fail_next_http(MESSAGE_PATH, status=500)
    with pytest.raises(ZaloApiError) as failed:
        await bare_api.send_text(USER, "hi")
    assert (failed.value.code, failed.value.status) == (NO_ANSWER, 500)
    assert failed.value.retryable and not failed.value.uncertain
    zalo.fail_next_http(MESSAGE_PATH, status=502)  # a gateway's: Zalo may have taken it
    with pytest.raises(ZaloApiError) as bad_gateway:
        await bare_api.send_text(USER, "hi")
    assert bad_gateway.value.status == 502 and bad_gateway.value.uncertain
    zalo.drop_next(UPLOAD_IMAGE_PATH)
    with pytest.raises(ZaloApiError) as dropped:
        await bare_api.upload_image(PNG, "x.png", "image/png")
    assert dropped.value.retryable and dropped.value.uncertain
    await zalo.stop()
    with pytest.raises(ZaloApiError) as refused:
        await bare_api.send_text(USER, "hi")
    assert refused.value.retryable and not refused.value.uncertain


# --- secrets -----------------------------------------------------------------------------------


async def _through_everything(api: ZaloApi, zalo: FakeZalo) -> list[BaseException]:
    """Sends, a refresh, a refused refresh, and each kind of refusal; the exceptions raised."""
    errors: list[BaseException] = []
    await api.send_text(USER, "hi")
    zalo.expire_access_token()
    await api.send_text(USER, "hi")  # a refresh
    zalo.expire_access_token()
    zalo.fail_next(OAUTH_PATH, code=-14014, message="Invalid refresh token")
    for script in (
        lambda: None,  # the refresh is refused
        lambda: zalo.fail_next(MESSAGE_PATH, code=-32),
        lambda: zalo.fail_next(MESSAGE_PATH, code=-216, times=2),  # refreshed, refused again
        lambda: zalo.fail_next_http(MESSAGE_PATH, status=500),
        lambda: zalo.drop_next(MESSAGE_PATH),
    ):
        script()
        try:
            await api.send_text(USER, "hi")
        except (ZaloApiError, ZaloTokenError) as exc:
            errors.append(exc)
    assert len(errors) == 5
    assert zalo.refreshes == 2
    return errors


async def test_no_token_or_secret_reaches_our_logs_or_exceptions(
    api: ZaloApi,
    zalo: FakeZalo,
    caplog: pytest.LogCaptureFixture,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    errors = await _through_everything(api, zalo)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    record = await stored(session_factory, zalo)
    shown = ours + "".join(f"{e!s}{e!r}" for e in errors) + repr(record)
    leaked = [secret for secret in zalo.issued_secrets() if secret in shown]
    assert not leaked, "a token or the app secret reached a log line or an exception"
    assert "zalo send_text" in ours and "zalo tokens: refreshed" in ours  # named, not shown


async def test_every_token_is_handed_to_the_log_redaction(
    session_factory: async_sessionmaker[AsyncSession],
    http: aiohttp.ClientSession,
    zalo: FakeZalo,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database driver's DEBUG log shows statement parameters (the tokens among them): the
    redaction the app feeds from ``on_new_secret`` masks them there too."""
    redact = RedactSecrets([])
    caplog.handler.addFilter(redact)
    caplog.set_level(logging.DEBUG)

    def learn(secret: str) -> None:  # what the app does with on_new_secret
        redact.secrets = sorted({*redact.secrets, secret}, key=len, reverse=True)

    tokens = ZaloTokens(
        session_factory,
        http,
        app_id=zalo.app_id,
        app_secret=zalo.app_secret,
        oauth_base=zalo.base_url,
        on_new_secret=learn,
        clock=clock,
    )
    await tokens.seed(*zalo.pair(), ACCESS_LIFETIME)
    await _through_everything(client(http, tokens, zalo), zalo)
    record = await stored(session_factory, zalo)
    assert {zalo.app_secret, record.access_token, record.refresh_token} <= set(redact.secrets)
    leaked = [secret for secret in zalo.issued_secrets() if secret in caplog.text]
    assert not leaked, "a token reached the log past the redaction"
    if "aiosqlite" in caplog.text:  # SQLite's driver logged the statements, tokens masked
        assert "***" in caplog.text
