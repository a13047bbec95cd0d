"""The web chat's HTTP side: the page, its static files, its JSON API and a health check.

`create_web_app()` builds an `Application` with the chat mounted; the composition root may add
more routes to it (a Telegram webhook, an ingest API) before starting it. `setup_webchat()`
mounts the chat on an application someone else created.

HTTP API (all JSON, `Cache-Control: no-store`):
- `POST /api/chat/messages` `{"text": str, "client_id"?: str, "silent"?: bool}`
- `POST /api/chat/callbacks` `{"message_id": int, "data": str}`
  both -> `200 {"events": [...], "cursor": int}` (the events this input produced)
- `GET /api/chat/events?after=<seq>&timeout=<0..25 s>` long-poll
  -> `200 {"events": [...], "cursor": int, "reset": bool}`
- `GET /healthz` -> `200 {"status": "ok"}`
Errors: `{"error": <code>, "detail": <message>}` with 400/403/404/409/413/415/429/500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiogram import Dispatcher
from aiohttp import web

from bot.config import Settings
from bot.web.plumbing import (
    FAVICON,
    SECURITY_HEADERS,
    SETTINGS_KEY,
    BodyTooLarge,
    RateLimiter,
    client_key,
    file_response,
    json_error,
    json_response,
    read_body,
    same_origin_fetch,
)

from .channel import WebChatChannel
from .hub import Visitor, WebChatHub
from .input import MAX_BODY_BYTES, WebChatInputError, validate_client_id
from .session import WebChatBot

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
COOKIE_NAME = "webchat_visitor"
COOKIE_MAX_AGE = 30 * 24 * 3600
LONG_POLL_MAX_SECONDS = 25.0
JANITOR_INTERVAL_SECONDS = 60.0

WEBCHAT_CHANNEL_KEY = web.AppKey("webchat_channel", WebChatChannel)
_STATIC_FILES = {
    "/": ("index.html", "text/html"),
    "/static/chat.js": ("chat.js", "text/javascript"),
    "/static/chat.css": ("chat.css", "text/css"),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Config:
    """What the chat's handlers need, kept on the app under a private key."""

    def __init__(
        self,
        channel: WebChatChannel,
        allowed_origins: frozenset[str],
        message_limiter: RateLimiter | None = None,
        visitor_limiter: RateLimiter | None = None,
    ) -> None:
        self.channel = channel
        self.allowed_origins = allowed_origins
        # about one message every two seconds per address, with room for a quick burst
        self.message_limiter = message_limiter or RateLimiter(burst=20, per_second=0.5)
        # new visitors (cookies) per address: a flood of cookie-less requests cannot evict
        # the real visitors from the hub
        self.visitor_limiter = visitor_limiter or RateLimiter(burst=10, per_second=1 / 30)


def _check_rate(request: web.Request, limiter: RateLimiter) -> None:
    if not limiter.allow(client_key(request)):
        raise WebChatInputError(429, "too_many_requests", "too many requests; wait a moment")


_CONFIG_KEY = web.AppKey("webchat_config", _Config)


_API_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


def _error(status: int, code: str, detail: str) -> web.Response:
    return json_error(status, code, detail, headers=_API_HEADERS)


def _json(payload: dict[str, Any]) -> web.Response:
    return json_response(payload, headers=_API_HEADERS)


def _api(handler: Handler) -> Handler:
    """Turns `WebChatInputError` into a JSON error response."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except WebChatInputError as error:
            return _error(error.status, error.code, error.message)

    return wrapper


async def _read_json(request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
    if not same_origin_fetch(request, allowed):
        raise WebChatInputError(403, "cross_origin", "cross-origin requests are not allowed")
    if request.content_type != "application/json":
        raise WebChatInputError(415, "unsupported_media_type", "send application/json")
    try:
        body = await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        raise WebChatInputError(
            413, "payload_too_large", f"request body exceeds {MAX_BODY_BYTES} bytes"
        ) from None
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WebChatInputError(400, "invalid_json", f"body is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise WebChatInputError(400, "invalid_json", "body must be a JSON object")
    return payload


def _visitor(request: web.Request) -> tuple[Visitor, bool]:
    config = request.app[_CONFIG_KEY]
    hub = config.channel.hub
    token = request.cookies.get(COOKIE_NAME)
    # A token this process has not seen counts as a new visitor too: otherwise a script could
    # mint fresh well-formed tokens to get fresh identities (and fresh lookup attempts).
    if not hub.knows(token) and not config.visitor_limiter.allow(client_key(request)):
        raise WebChatInputError(
            429, "too_many_requests", "too many new conversations; wait a moment"
        )
    return hub.visitor(token)


PAGE_LANGUAGES = ("vi", "en")


def _set_language(visitor: Visitor, payload: dict[str, Any]) -> None:
    """The page says which language it shows (optional "lang"); the dialogs follow it."""
    lang = payload.get("lang")
    if lang is None:
        return
    if lang not in PAGE_LANGUAGES:
        raise WebChatInputError(400, "invalid_lang", "'lang' must be 'vi' or 'en'")
    visitor.language = lang


def _with_cookie(request: web.Request, response: web.StreamResponse, visitor: Visitor) -> None:
    response.set_cookie(
        COOKIE_NAME,
        visitor.token,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


def _load_static() -> dict[str, tuple[bytes, str]]:
    files = {
        route: ((STATIC_DIR / name).read_bytes(), content_type)
        for route, (name, content_type) in _STATIC_FILES.items()
    }
    files["/static/favicon.svg"] = (FAVICON.read_bytes(), "image/svg+xml")
    return files


def _static_handler(body: bytes, content_type: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = file_response(
            body, content_type, headers=SECURITY_HEADERS, cache_control="no-cache"
        )
        if content_type == "text/html":
            # The page is where a visitor first arrives: give it its cookie before any fetch
            # (unless this address opens too many conversations: then the page's first request
            # is answered 429 and the page says so).
            with contextlib.suppress(WebChatInputError):
                visitor, new_cookie = _visitor(request)
                if new_cookie:
                    _with_cookie(request, response, visitor)
        return response

    return handler


async def _answer(
    request: web.Request,
    visitor: Visitor,
    new_cookie: bool,
    handling: Awaitable[list[dict[str, Any]]],
    what: str,
) -> web.StreamResponse:
    """Run the channel; the events it produced, or a JSON error. The cookie is set either way,
    so a first request that fails still ties later polls to the same visitor."""
    try:
        events = await handling
        response = _json({"events": events, "cursor": visitor.cursor})
    except WebChatInputError as error:
        response = _error(error.status, error.code, error.message)
    except Exception:  # the channel boundary: a handler bug must not kill the connection
        logger.exception("web chat failed to handle %s", what)
        response = _error(500, "internal_error", "the assistant failed to answer; try again")
    if new_cookie:
        _with_cookie(request, response, visitor)
    return response


async def _posted(request: web.Request) -> tuple[_Config, dict[str, Any]]:
    """The chat's config and the posted JSON object, once the rate and origin are checked."""
    config = request.app[_CONFIG_KEY]
    _check_rate(request, config.message_limiter)
    return config, await _read_json(request, config.allowed_origins)


@_api
async def post_message(request: web.Request) -> web.StreamResponse:
    config, payload = await _posted(request)
    text = payload.get("text")
    if not isinstance(text, str):
        raise WebChatInputError(400, "invalid_text", "'text' must be a string")
    client_id = validate_client_id(payload.get("client_id"))
    silent = payload.get("silent", False)
    if not isinstance(silent, bool):
        raise WebChatInputError(400, "invalid_silent", "'silent' must be a boolean")
    visitor, new_cookie = _visitor(request)
    _set_language(visitor, payload)
    handling = config.channel.handle_text(visitor, text, client_id=client_id, echo=not silent)
    return await _answer(request, visitor, new_cookie, handling, "a message")


@_api
async def post_callback(request: web.Request) -> web.StreamResponse:
    config, payload = await _posted(request)
    message_id = payload.get("message_id")
    if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id <= 0:
        raise WebChatInputError(
            400, "invalid_message_id", "'message_id' must be a positive integer"
        )
    visitor, new_cookie = _visitor(request)
    _set_language(visitor, payload)
    data: Any = payload.get("data")  # validated by the channel
    handling = config.channel.handle_callback(visitor, message_id, data)
    return await _answer(request, visitor, new_cookie, handling, "a button press")


@_api
async def get_events(request: web.Request) -> web.StreamResponse:
    try:
        after = int(request.query.get("after", "0"))
        timeout = float(request.query.get("timeout", str(LONG_POLL_MAX_SECONDS)))
    except ValueError as error:
        raise WebChatInputError(
            400, "invalid_query", "'after' and 'timeout' must be numbers"
        ) from error
    if not math.isfinite(timeout):  # "nan" would reach asyncio.wait_for
        timeout = LONG_POLL_MAX_SECONDS
    timeout = min(max(timeout, 0.0), LONG_POLL_MAX_SECONDS)
    visitor, new_cookie = _visitor(request)
    reset = after < 0 or after > visitor.cursor  # the page knows a log this server never had
    if reset:
        events = visitor.events_after(0)
    else:
        events = await visitor.wait_for_events(after, timeout)
    response = _json({"events": events, "cursor": visitor.cursor, "reset": reset})
    if new_cookie:
        _with_cookie(request, response, visitor)
    return response


async def healthz(request: web.Request) -> web.StreamResponse:
    return _json({"status": "ok"})


def setup_webchat(
    app: web.Application,
    *,
    dispatcher: Dispatcher,
    hub: WebChatHub | None = None,
    bot: WebChatBot | None = None,
    allowed_origins: Iterable[str] = (),
    feed_kwargs: dict[str, Any] | None = None,
) -> WebChatChannel:
    """Mount the web chat (page, static files, API) on `app`; returns the channel."""
    channel = WebChatChannel(dispatcher, hub=hub, bot=bot, feed_kwargs=feed_kwargs)
    app[WEBCHAT_CHANNEL_KEY] = channel
    app[_CONFIG_KEY] = _Config(channel, frozenset(allowed_origins))
    for route, (body, content_type) in _load_static().items():
        app.router.add_get(route, _static_handler(body, content_type))
    app.router.add_post("/api/chat/messages", post_message)
    app.router.add_post("/api/chat/callbacks", post_callback)
    app.router.add_get("/api/chat/events", get_events)
    app.cleanup_ctx.append(_janitor)
    app.on_shutdown.append(_wake_long_polls)
    return channel


async def _janitor(app: web.Application) -> AsyncIterator[None]:
    channel = app[WEBCHAT_CHANNEL_KEY]

    async def sweep() -> None:
        while True:
            await asyncio.sleep(JANITOR_INTERVAL_SECONDS)
            channel.hub.expire_idle()

    task = asyncio.create_task(sweep(), name="webchat-janitor")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await channel.close()


async def _wake_long_polls(app: web.Application) -> None:
    app[WEBCHAT_CHANNEL_KEY].hub.wake_all()


def create_web_app(
    *,
    dispatcher: Dispatcher,
    settings: Settings,
    hub: WebChatHub | None = None,
    bot: WebChatBot | None = None,
    visitor_secret: bytes | None = None,
    allowed_origins: Iterable[str] = (),
    feed_kwargs: dict[str, Any] | None = None,
) -> web.Application:
    """The web application with the chat mounted and `GET /healthz`.

    `visitor_secret` keys the cookie -> chat id mapping (stable ids across restarts); ignored
    when `hub` is given. Add further routes to the returned app before starting it.
    """
    app = web.Application()
    app[SETTINGS_KEY] = settings
    if hub is None and bot is None:
        hub = WebChatHub(secret=visitor_secret)
    setup_webchat(
        app,
        dispatcher=dispatcher,
        hub=hub,
        bot=bot,
        allowed_origins=allowed_origins,
        feed_kwargs=feed_kwargs,
    )
    app.router.add_get("/healthz", healthz)
    return app
