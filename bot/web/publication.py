"""The public page of published answers to petitions: ``GET /cong-khai`` (and ``/cong-khai/{code}``).

Vietnamese by default, English with ``?lang=en`` (the texts are in
``handlers/publication_texts.py``, translated through the gettext catalogs). The list is newest
first, 20 a page (``?page=N``), with a search box (``?q=``: a tracking code however typed, or
words that must all appear in the petition, the answer, the topic or the agency). Each petition
has its own page with the whole texts.

Only what publishing made public is shown: the tracking code, dates, agency, topic (masked
like the texts) and the ``public_content`` / ``public_answer`` copies from which
``PetitionRepository.publish`` removed the sender's personal data; the query module
(``storage/public_petitions.py``) loads nothing else. Every value is HTML-escaped; the page has no
script, and ships the web chat's Content-Security-Policy with one same-origin style sheet.
"""

from __future__ import annotations

import html
import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.app import SECURITY_HEADERS, RateLimiter
from handlers import publication_texts as texts
from handlers.formatting import format_date, format_number
from handlers.i18n import create_i18n
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


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


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


def _layout(locale: str, title: str, body: str, *, other_language_url: str) -> str:
    return f"""<!doctype html>
<html lang="{locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="stylesheet" href="{CSS_PATH}">
</head>
<body>
<header>
<p class="lang"><a href="{esc(other_language_url)}" hreflang="{"vi" if locale == "en" else "en"}">{esc(texts.other_language_link())}</a></p>
<h1><a href="{esc(_url(PATH, locale))}">{esc(texts.page_title())}</a></h1>
<p>{esc(texts.page_intro())}</p>
</header>
<main>
{body}
</main>
<footer><p>{esc(texts.privacy_note())}</p></footer>
</body>
</html>
"""


def _facts(item: PublishedPetition, locale: str) -> str:
    rows = [
        (texts.label_code(), item.tracking_code),
        (texts.label_received(), _local_date(item.received_at, locale)),
        (texts.label_published(), _local_date(item.published_at, locale)),
        (texts.label_agency(), item.agency),
        (texts.label_topic(), item.topic),
    ]
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in rows)
        + "</dl>"
    )


def _card(item: PublishedPetition, locale: str) -> str:
    content, cut_content = excerpt(item.content)
    answer, cut_answer = excerpt(item.answer)
    link = esc(_url(_detail_path(item.tracking_code), locale))
    more = (
        f'<p class="more"><a href="{link}">{esc(texts.read_more())}</a></p>'
        if cut_content or cut_answer
        else ""
    )
    return f"""<article class="petition">
<h2><a href="{link}">{esc(item.tracking_code)}</a></h2>
{_facts(item, locale)}
<h3>{esc(texts.label_petition())}</h3>
<div class="text">{esc(content)}</div>
<h3>{esc(texts.label_answer())}</h3>
<div class="text answer">{esc(answer)}</div>
{more}
</article>"""


def _search_form(query: str, locale: str) -> str:
    hidden = '<input type="hidden" name="lang" value="en">' if locale == "en" else ""
    return f"""<form class="search" method="get" action="{PATH}" role="search">
<label for="q">{esc(texts.search_label())}</label>
<div class="row"><input id="q" name="q" type="search" value="{esc(query)}" maxlength="{MAX_QUERY_CHARS}" placeholder="{esc(texts.search_placeholder())}">{hidden}
<button type="submit">{esc(texts.search_button())}</button></div>
</form>"""


def _pager(query: str, page: int, pages: int, locale: str) -> str:
    if pages <= 1:
        return ""
    parts = []
    if page > 1:
        url = _url(PATH, locale, q=query, page=page - 1)
        parts.append(f'<a rel="prev" href="{esc(url)}">{esc(texts.previous_page())}</a>')
    position = texts.page_of(format_number(page, locale), format_number(pages, locale))
    parts.append(f"<span>{esc(position)}</span>")
    if page < pages:
        url = _url(PATH, locale, q=query, page=page + 1)
        parts.append(f'<a rel="next" href="{esc(url)}">{esc(texts.next_page())}</a>')
    return '<nav class="pages">' + " ".join(parts) + "</nav>"


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
    body = f'<p class="notice">{esc(message)}</p>' + (
        f'<p><a href="{esc(_url(PATH, locale))}">{esc(texts.back_to_list())}</a></p>'
    )
    return _layout(locale, title, body, other_language_url=other_language_url)


def _guarded(handler: Handler) -> Handler:
    """Rate limit per address, and the locale of ``?lang`` around the handler."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        config = request.app[CONFIG_KEY]
        locale = _locale(request)
        with config.i18n.context(), config.i18n.use_locale(locale):
            if not config.limiter.allow(request.remote or "unknown"):
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
        items, total = await PublicPetitionRepository(session).search_published(
            query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if page > pages:  # past the end (a stale link): show the last page
            page = pages
            items, total = await PublicPetitionRepository(session).search_published(
                query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
    formatted = format_number(total, locale)
    if query:
        count = texts.count_found(total, formatted, query) if total else texts.nothing_found(query)
    else:
        count = texts.count_all(total, formatted) if total else texts.nothing_published()
    body = "\n".join(
        [
            _search_form(query, locale),
            f'<p class="count">{esc(count)}</p>',
            *(_card(item, locale) for item in items),
            _pager(query, page, pages, locale),
        ]
    )
    other = _url(PATH, "vi" if locale == "en" else "en", q=query, page=page)
    return _html(_layout(locale, texts.page_title(), body, other_language_url=other))


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
    body = f"""<article class="petition detail">
<h2>{esc(item.tracking_code)}</h2>
{_facts(item, locale)}
<h3>{esc(texts.label_petition())}</h3>
<div class="text">{esc(item.content)}</div>
<h3>{esc(texts.label_answer())}</h3>
<div class="text answer">{esc(item.answer)}</div>
</article>
<p><a href="{esc(_url(PATH, locale))}">{esc(texts.back_to_list())}</a></p>"""
    title = f"{item.tracking_code} — {texts.page_title()}"
    other = _url(_detail_path(item.tracking_code), other_locale)
    return _html(_layout(locale, title, body, other_language_url=other))


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
        response = web.Response(body=css, content_type="text/css", charset="utf-8")
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    app.router.add_get(PATH, list_page)
    app.router.add_get(PATH + "/", list_page)
    app.router.add_get(PATH + "/{code}", detail_page)
    app.router.add_get(CSS_PATH, stylesheet)
