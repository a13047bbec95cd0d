"""What every inbox handler shares: the inbox's settings on the app, the signed-in official, the
per-request view (language, texts, page rendering through the templates) and the route wrapper
that sets the language and the security headers and turns a failure into a friendly page."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.web.plumbing import RateLimiter
from bot.web.rendering import render
from handlers.formatting import format_date, format_datetime, format_number
from handlers.i18n import SUPPORTED_LOCALES
from handlers.officials import inbox_texts as tx
from knowledge.petition_workflow import OPEN_STATUSES, PetitionStatus
from knowledge.search import SearchIndex
from knowledge.workdays import to_local
from storage.records import AgencyRecord, OfficialRecord

from .csrf import csrf_token

logger = logging.getLogger(__name__)

PREFIX = "/inbox"
SESSION_COOKIE = "inbox_session"
LANG_COOKIE = "inbox_lang"
PAGE_SIZE = 25
TEXT_MAX_CHARS = 3000  # a question / answer / reason: it must fit a chat message with its frame
SEARCH_MAX_CHARS = 200
EXPORT_MAX_ROWS = 20_000
TOKEN_MAX_CHARS = 128  # our tokens are 43 characters; anything far longer is not one
VIA = "inbox"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

ACTIONS = ("take", "info", "answer", "refuse", "publish")
ALLOWED_FROM = {
    "take": (PetitionStatus.RECEIVED,),
    "info": (PetitionStatus.RECEIVED, PetitionStatus.IN_PROGRESS),
    "answer": OPEN_STATUSES,
    "refuse": OPEN_STATUSES,
    "publish": (PetitionStatus.ANSWERED,),
}
CODE_RE = re.compile(r"PAKN-20\d\d-\d{6}")
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Inbox:
    """What the inbox's handlers share, kept on the app."""

    session_factory: async_sessionmaker[AsyncSession]
    settings: Settings
    i18n: I18n
    origin: str  # scheme://host[:port] of the public base URL
    secure_cookies: bool
    login_limiter: RateLimiter
    css: bytes
    favicon: bytes
    clock: Clock = utcnow
    index: SearchIndex | None = None  # the live search (the unanswered questions' page)


INBOX_KEY = web.AppKey("inbox", Inbox)


@dataclass
class Signed:
    official: OfficialRecord
    agency: AgencyRecord
    token: str
    # copied when signing in: the page header must render even after a rollback expired the
    # ORM objects (and on the error page, outside the database session)
    name: str = ""
    agency_name: str = ""

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


@dataclass
class View:
    """One request's rendering context: language, texts and the signed-in official if any."""

    inbox: Inbox
    lang: str
    t: tx.InboxTexts
    signed: Signed | None = None
    self_path: str = PREFIX
    self_query: dict[str, str] = field(default_factory=dict)

    def page(self, template: str, title: str, *, status: int = 200, **context: Any) -> web.Response:
        """The page ``inbox/<template>`` in the layout (header, account, language link)."""
        other = "en" if self.lang == "vi" else "vi"
        body = render(
            f"inbox/{template}",
            lang=self.lang,
            title=title,
            t=self.t,
            labels=tx,
            prefix=PREFIX,
            signed=self.signed,
            lang_href=self.self_path + "?" + urlencode({**self.self_query, "lang": other}),
            lang_other=other,
            lang_name=tx.LANGUAGE_NAMES[other],
            date=self.date,
            moment=self.moment,
            number=self.number,
            **context,
        )
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    def message(
        self, title: str, text: str, *, status: int, back_href: str = "", css: str = ""
    ) -> web.Response:
        """A short page: a title, a sentence and, with ``back_href``, a link back to the list."""
        return self.page(
            "message.html", title, status=status, text=text, back_href=back_href, css=css
        )

    def date(self, value: date | None) -> str:
        return format_date(value, locale=self.lang) if value is not None else ""

    def moment(self, value: datetime | None) -> str:
        return format_datetime(to_local(value), locale=self.lang) if value is not None else ""

    def number(self, value: float) -> str:
        return format_number(value, locale=self.lang)


def official_name(view: View, official: OfficialRecord) -> str:
    return official.display_name or view.t.official_fallback.format(id=official.id)


def name_of(view: View, names: Mapping[int, str], official_id: int | None) -> str:
    if official_id is None:
        return ""
    return names.get(official_id) or view.t.official_fallback.format(id=official_id)


Handler = Callable[[web.Request, View], Awaitable[web.StreamResponse]]


def language(request: web.Request, inbox: Inbox) -> tuple[str, bool]:
    """The page's language and whether to remember it: ``?lang=`` wins, then the cookie."""
    asked = request.query.get("lang")
    if asked in SUPPORTED_LOCALES:
        return asked, True
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in SUPPORTED_LOCALES:
        return remembered, False
    return inbox.settings.default_language, False


def route(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Language, texts, security headers and a friendly page instead of a stack trace."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        inbox = request.app[INBOX_KEY]
        lang, remember = language(request, inbox)
        with inbox.i18n.context(), inbox.i18n.use_locale(lang):
            view = View(inbox, lang, tx.texts(), self_path=request.path)
            try:
                response = await handler(request, view)
            except web.HTTPRequestEntityTooLarge:  # a form far beyond the text limits
                response = view.message(view.t.error_title, view.t.error_text, status=413)
            except Exception:
                logger.exception("inbox: %s %s failed", request.method, request.path)
                response = view.message(view.t.error_title, view.t.error_text, status=500)
        response.headers.update(SECURITY_HEADERS)
        if remember:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=365 * 24 * 3600,
                path=PREFIX,
                httponly=True,
                samesite="Lax",
                secure=inbox.secure_cookies,
            )
        return response

    return wrapper


def see_other(location: str) -> web.Response:
    """303: after a POST, the browser GETs the next page (a reload does not post again)."""
    return web.Response(status=303, headers={"Location": location})


async def read_form(request: web.Request) -> dict[str, str]:
    """The posted form's text fields (file parts ignored; a repeated field: its last value)."""
    data = await request.post()
    return {key: value for key, value in data.items() if isinstance(value, str)}


def forbidden(view: View) -> web.Response:
    return view.message(view.t.forbidden_title, view.t.forbidden_text, status=403, css="bad")


def not_found(view: View) -> web.Response:
    return view.message(view.t.not_found_title, view.t.not_found_text, status=404, back_href=PREFIX)
