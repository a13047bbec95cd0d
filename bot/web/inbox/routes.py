"""Mounting the inbox on the web app: its settings, routes and two static files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.web.plumbing import FAVICON, RateLimiter, file_response, origin_of
from handlers.i18n import create_i18n
from knowledge.search import SearchIndex

from .actions import petition_action
from .auth import login, login_page, logout
from .context import INBOX_KEY, PREFIX, SECURITY_HEADERS, Clock, Inbox, utcnow
from .export import export_csv
from .misses import MAP_PATH, MISSES_PATH, map_miss, misses_page
from .views import list_page, petition_page

STATIC_DIR = Path(__file__).parent.parent / "static" / "inbox"


def _static(
    body: Callable[[Inbox], bytes], content_type: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return file_response(
            body(request.app[INBOX_KEY]),
            content_type,
            headers=SECURITY_HEADERS,
            cache_control="no-cache",
        )

    return handler


def setup_inbox(
    app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    login_limiter: RateLimiter | None = None,
    i18n: I18n | None = None,
    clock: Clock | None = None,
    index: SearchIndex | None = None,
) -> None:
    """Mount the officials' inbox under ``/inbox`` on ``app``; ``index`` is the live search the
    unanswered questions are mapped into (without it, every code is refused as unknown).

    Default sign-in limit per address: 10 attempts at once, then one every 6 seconds (a link
    holds 256 random bits: the limit only keeps the database calm).
    """
    base = settings.base_url
    origin = origin_of(base) or base.lower()
    app[INBOX_KEY] = Inbox(
        session_factory=session_factory,
        settings=settings,
        i18n=i18n or create_i18n(settings.default_language),
        origin=origin,
        secure_cookies=origin.startswith("https://"),
        login_limiter=login_limiter or RateLimiter(burst=10, per_second=1 / 6),
        css=(STATIC_DIR / "inbox.css").read_bytes(),
        favicon=FAVICON.read_bytes(),
        clock=clock or utcnow,
        index=index,
    )
    app.router.add_get(PREFIX + "/login", login_page)
    app.router.add_post(PREFIX + "/login", login)
    app.router.add_post(PREFIX + "/logout", logout)
    app.router.add_get(PREFIX, list_page)
    app.router.add_get(PREFIX + "/", list_page)
    app.router.add_get(PREFIX + "/export.csv", export_csv)
    app.router.add_get(PREFIX + "/p/{code}", petition_page)
    app.router.add_post(PREFIX + "/p/{code}/{action}", petition_action)
    app.router.add_get(MISSES_PATH, misses_page)
    app.router.add_post(MAP_PATH, map_miss)
    app.router.add_get(PREFIX + "/static/inbox.css", _static(lambda i: i.css, "text/css"))
    app.router.add_get(
        PREFIX + "/static/favicon.svg", _static(lambda i: i.favicon, "image/svg+xml")
    )
