"""The public page of published answers to petitions: ``GET /cong-khai`` (and ``/cong-khai/{code}``).

Vietnamese by default, English with ``?lang=en`` (the texts are in
``handlers/petitions/publication_texts.py``, translated through the gettext catalogs). The list
is newest first, 20 a page (``?page=N``), with a search box (``?q=``: a tracking code however
typed, or words that must all appear in the petition, the answer, the topic or the agency). Each
petition has its own page with the whole texts.

Only what publishing made public is shown: the tracking code, dates, agency, topic (masked
like the texts) and the ``public_content`` / ``public_answer`` copies from which
``PetitionRepository.publish`` removed the sender's personal data; the query module
(``storage/public_petitions.py``) loads nothing else. The pages are the templates of
``bot/web/templates/publication/``, autoescaped (``bot.web.rendering``); the page has no script,
and ships the web chat's Content-Security-Policy with one same-origin style sheet.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.plumbing import SECURITY_HEADERS, RateLimiter, client_key, file_response
from bot.web.rendering import render
from handlers.formatting import format_date, format_number
from handlers.i18n import create_i18n
from handlers.petitions import publication_texts as texts
from knowledge.workdays import to_local
from storage.repositories.public_petitions import PublicPetitionRepository, PublishedPetition

PATH = "/cong-khai"
CSS_PATH = "/static/cong-khai.css"
CSS_FILE = Path(__file__).parent / "static" / "publication.css"
PAGE_SIZE = 20
MAX_QUERY_CHARS = 200
EXCERPT_CHARS = 600
MAX_PAGE = 100_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Config:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        i18n: I18n,
        limiter: RateLimiter,
    ) -> None:
        self.session_factory = session_factory
        self.i18n = i18n
        self.limiter = limiter


CONFIG_KEY = web.AppKey("publication_config", _Config)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> tuple[str, bool]:
    """The start of ``text`` cut at a word (and whether it was cut)."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…", True


def _locale(request: web.Request) -> str:
    return "en" if request.query.get("lang", "").strip().lower().startswith("en") else "vi"


def _url(path: str, locale: str, **params: object) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "", 1)}
    if locale == "en":
        query["lang"] = "en"
    return path + ("?" + urlencode(query) if query else "")


def _detail_path(code: str) -> str:
    return f"{PATH}/{url_quote(code, safe='')}"


def _local_date(moment: datetime, locale: str) -> str:
    return format_date(to_local(moment).date(), locale)


@dataclass(frozen=True)
class Card:
    """A petition in the list: its texts cut to an excerpt, and where its whole page is."""

    item: PublishedPetition
    link: str
    content: str
    answer: str
    cut: bool  # the page says "read more"


def _card(item: PublishedPetition, locale: str) -> Card:
    content, cut_content = excerpt(item.content)
    answer, cut_answer = excerpt(item.answer)
    link = _url(_detail_path(item.tracking_code), locale)
    return Card(item, link, content, answer, cut_content or cut_answer)


def _page(template: str, locale: str, title: str, other_language_url: str, **context: Any) -> str:
    """A page of the publication in its layout (header, language link, privacy note)."""
    return render(
        f"publication/{template}",
        locale=locale,
        title=title,
        texts=texts,
        css_path=CSS_PATH,
        path=PATH,
        list_url=_url(PATH, locale),
        other_language_url=other_language_url,
        local_date=lambda moment: _local_date(moment, locale),
        **context,
    )


def _page_number(request: web.Request) -> int:
    try:
        page = int(request.query.get("page", "1")[:9])
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


def _html(body: str, status: int = 200, **headers: str) -> web.Response:
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    response.headers.update(headers)
    return response


def _message_page(locale: str, title: str, message: str, other_language_url: str) -> str:
    return _page("message.html", locale, title, other_language_url, message=message)


def _guarded(handler: Handler) -> Handler:
    """Rate limit per address, and the locale of ``?lang`` around the handler."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        config = request.app[CONFIG_KEY]
        locale = _locale(request)
        with config.i18n.context(), config.i18n.use_locale(locale):
            if not config.limiter.allow(client_key(request)):
                page = _message_page(
                    locale,
                    texts.page_title(),
                    texts.too_many_requests_page(),
                    _url(PATH, "vi" if locale == "en" else "en"),
                )
                return _html(page, 429, **{"Retry-After": "5"})
            return await handler(request)

    return wrapper


@_guarded
async def list_page(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG_KEY]
    locale = _locale(request)
    query = " ".join(request.query.get("q", "").split())[:MAX_QUERY_CHARS]
    page = _page_number(request)
    async with config.session_factory() as session:
        published = PublicPetitionRepository(session)
        items, total = await published.search_published(
            query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if page > pages:  # past the end (a stale link): show the last page
            page = pages
            items, total = await published.search_published(
                query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
    formatted = format_number(total, locale)
    if query:
        count = texts.count_found(total, formatted, query) if total else texts.nothing_found(query)
    else:
        count = texts.count_all(total, formatted) if total else texts.nothing_published()
    other = _url(PATH, "vi" if locale == "en" else "en", q=query, page=page)
    page_html = _page(
        "list.html",
        locale,
        texts.page_title(),
        other,
        query=query,
        max_query_chars=MAX_QUERY_CHARS,
        count=count,
        cards=[_card(item, locale) for item in items],
        pages=pages,
        position=texts.page_of(format_number(page, locale), format_number(pages, locale)),
        prev_url=_url(PATH, locale, q=query, page=page - 1) if page > 1 else "",
        next_url=_url(PATH, locale, q=query, page=page + 1) if page < pages else "",
    )
    return _html(page_html)


@_guarded
async def detail_page(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG_KEY]
    locale = _locale(request)
    raw = request.match_info["code"][:40]
    async with config.session_factory() as session:
        item = await PublicPetitionRepository(session).published_by_code(raw)
    other_locale = "vi" if locale == "en" else "en"
    if item is None:
        page = _message_page(
            locale,
            texts.not_found_title(),
            texts.detail_not_found(raw),
            _url(_detail_path(raw), other_locale),
        )
        return _html(page, 404)
    title = f"{item.tracking_code} — {texts.page_title()}"
    other = _url(_detail_path(item.tracking_code), other_locale)
    return _html(_page("detail.html", locale, title, other, item=item))


def setup_publication(
    app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    i18n: I18n | None = None,
    limiter: RateLimiter | None = None,
) -> None:
    """Register ``GET /cong-khai``, ``/cong-khai/{code}`` and the page's style sheet on ``app``.

    Default limit: 60 pages at once, then 5 a second per address."""
    app[CONFIG_KEY] = _Config(
        session_factory, i18n or create_i18n(), limiter or RateLimiter(burst=60, per_second=5)
    )
    css = CSS_FILE.read_bytes()

    async def stylesheet(request: web.Request) -> web.StreamResponse:
        return file_response(
            css, "text/css", headers=SECURITY_HEADERS, cache_control="public, max-age=3600"
        )

    app.router.add_get(PATH, list_page)
    app.router.add_get(PATH + "/", list_page)
    app.router.add_get(PATH + "/{code}", detail_page)
    app.router.add_get(CSS_PATH, stylesheet)
