"""The officials' petition inbox: a small web page on the bot's aiohttp server.

Routes (all under ``/inbox``; HTML forms, no script):

- ``GET /inbox/login?token=...`` -- the one-time link the bot sends in the chat (``/inbox``
  command). It only shows a confirmation page with a "Sign in" button: link scanners and chat
  previews that fetch the URL do not use the link up. ``POST /inbox/login`` redeems it, opens a
  session (an HttpOnly, SameSite=Strict cookie; Secure when the public base URL is https),
  audits "login" and redirects to ``/inbox``. An unknown, used or expired link gets a page telling
  the official to send ``/inbox`` to the bot again.
- ``GET /inbox`` -- the agency's petitions: filters (``status``, ``q``, ``from``, ``to``,
  ``due``), ``page``; ``GET /inbox/export.csv`` with the same filters (UTF-8 with BOM for Excel;
  cells that a spreadsheet would run as a formula are prefixed with ``'``; audited "export").
- ``GET /inbox/p/{tracking code}`` -- one petition with the sender's personal data (own agency
  only: another agency's petition is a 404), attachments, history; audited "view".
  ``POST /inbox/p/{code}/{take|info|answer|refuse|publish}`` -- the actions, through
  ``PetitionRepository`` (event + audit + the citizen's message in one transaction), then the
  outbox worker is woken.
- ``POST /inbox/logout``; ``GET /inbox/static/inbox.css``.

Every request re-checks the session (an expired session or a deactivated official is signed
out). Every POST must carry the session's CSRF token (an HMAC of the session cookie, so nothing
extra is stored) and come from this origin (Origin, else Referer, else Sec-Fetch-Site). Pages
carry a strict CSP, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` (the sign-in
token is in the link's URL) and ``Cache-Control: no-store`` (personal data). Texts come from
``handlers.inbox_texts`` (Vietnamese; English with ``?lang=en``, remembered in a cookie).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import html
import io
import logging
import math
import re
import string
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.outbox import OUTBOX_KEY
from bot.web.app import RateLimiter
from handlers import inbox_texts as tx
from handlers.formatting import format_date, format_datetime, format_number
from handlers.i18n import SUPPORTED_LOCALES, create_i18n
from knowledge.petition_workflow import (
    OPEN_STATUSES,
    STATUSES,
    PetitionError,
    PetitionStatus,
    public_names,
)
from knowledge.petitions import deadline_status, redact_personal_data
from knowledge.workdays import local_date, to_local
from storage.models import Agency, Official, Petition, PetitionAttachment, PetitionEvent
from storage.repositories.agencies import AgencyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.inbox import DUE_FILTERS, OVERDUE, InboxFilter, InboxRepository
from storage.repositories.inbox_tokens import SESSION_TTL, InboxTokenRepository
from storage.repositories.petitions import PetitionRepository

logger = logging.getLogger(__name__)

PREFIX = "/inbox"
STATIC_DIR = Path(__file__).parent / "static" / "inbox"
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
_ALLOWED_FROM = {
    "take": (PetitionStatus.RECEIVED,),
    "info": (PetitionStatus.RECEIVED, PetitionStatus.IN_PROGRESS),
    "answer": OPEN_STATUSES,
    "refuse": OPEN_STATUSES,
    "publish": (PetitionStatus.ANSWERED,),
}
_CODE_RE = re.compile(r"PAKN-20\d\d-\d{6}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
# Invisible characters that must not make a text look non-empty or hide in an answer.
_INVISIBLE_RE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Inbox:
    """What the inbox's handlers share, kept on the app."""

    session_factory: async_sessionmaker[AsyncSession]
    settings: Settings
    i18n: I18n
    origin: str  # scheme://host[:port] of the public base URL
    secure_cookies: bool
    login_limiter: RateLimiter
    layout: string.Template
    css: bytes
    favicon: bytes
    clock: Clock = _utcnow


INBOX_KEY = web.AppKey("inbox", _Inbox)


@dataclass
class _Signed:
    official: Official
    agency: Agency
    token: str
    # copied when signing in: the page header must render even after a rollback expired the
    # ORM objects (and on the error page, outside the database session)
    name: str = ""
    agency_name: str = ""

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


def csrf_token(session_token: str) -> str:
    """The session's form token: an HMAC of the session cookie (which the page never shows, and
    which this cannot be reversed to)."""
    return hmac.new(session_token.encode(), b"inbox-csrf", hashlib.sha256).hexdigest()


# --- small helpers ------------------------------------------------------------------------------


def e(value: object) -> str:
    """HTML-escape anything shown on a page."""
    return html.escape("" if value is None else str(value), quote=True)


def clean_input(text: str) -> str:
    """A typed text as stored: NFC, without invisible and control characters (line breaks and
    tabs kept, CRLF made LF), trimmed."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE_RE.sub("", text)
    text = _CONTROL_RE.sub(" ", text)
    return text.strip()


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading = + - @ (or tab / CR) would make
    Excel or LibreOffice run it as a formula, so it gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def parse_day(text: str) -> date | None:
    """A date typed or picked in the filter: ``2026-11-02`` (date input) or ``02/11/2026``."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 2000 <= day.year <= 2099:
            return day
    return None


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: web.Request, origin: str) -> bool:
    """Did this POST come from a page of this site? The Origin header, else the Referer, else
    Sec-Fetch-Site (a form posted under ``Referrer-Policy: no-referrer`` may say
    ``Origin: null`` and no Referer); a request with none of them is refused."""

    def ours(candidate: str | None) -> bool:
        if candidate is None:
            return False
        # The public origin, or the host this request reached (behind a TLS-terminating proxy
        # the scheme seen here may differ); a cross-site page cannot set either to ours.
        return candidate == origin or urlsplit(candidate).netloc == request.host.lower()

    header = request.headers.get("Origin")
    if header is not None and header != "null":
        return ours(_origin_of(header))
    referer = request.headers.get("Referer")
    if referer:
        return ours(_origin_of(referer))
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def _see_other(location: str) -> web.Response:
    """303: after a POST, the browser GETs the next page (a reload does not post again)."""
    return web.Response(status=303, headers={"Location": location})


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


# --- rendering ---------------------------------------------------------------------------------


@dataclass
class _View:
    """One request's rendering context: language, texts and the signed-in official if any."""

    inbox: _Inbox
    lang: str
    t: tx.InboxTexts
    signed: _Signed | None = None
    self_path: str = PREFIX
    self_query: dict[str, str] = field(default_factory=dict)

    def page(self, title: str, main: str, *, status: int = 200) -> web.Response:
        other = "en" if self.lang == "vi" else "vi"
        lang_href = self.self_path + "?" + urlencode({**self.self_query, "lang": other})
        account = ""
        if self.signed is not None:
            account = (
                f'<span class="who">{e(self.t.signed_in_as.format(name=self.signed.name, agency=self.signed.agency_name))}</span>'
                f'<form method="post" action="{PREFIX}/logout">'
                f'<input type="hidden" name="csrf" value="{e(self.signed.csrf)}">'
                f'<button type="submit">{e(self.t.sign_out)}</button></form>'
            )
        body = self.inbox.layout.substitute(
            lang=e(self.lang),
            title=e(title) + " · " + e(self.t.app_title),
            app_title=e(self.t.app_title),
            account=account,
            lang_href=e(lang_href),
            lang_other=e(other),
            lang_name=e(tx.LANGUAGE_NAMES[other]),
            main=main,
        )
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    def message(
        self, title: str, text: str, *, status: int, extra: str = "", css: str = ""
    ) -> web.Response:
        main = (
            f'<section class="card narrow {css}"><h1>{e(title)}</h1><p>{e(text)}</p>'
            f"{extra}</section>"
        )
        return self.page(title, main, status=status)

    def date(self, value: date | None) -> str:
        return format_date(value, locale=self.lang) if value is not None else ""

    def moment(self, value: datetime | None) -> str:
        return format_datetime(to_local(value), locale=self.lang) if value is not None else ""


def official_name(view: _View, official: Official) -> str:
    return official.display_name or view.t.official_fallback.format(id=official.id)


def _name_of(view: _View, names: Mapping[int, str], official_id: int | None) -> str:
    if official_id is None:
        return ""
    return names.get(official_id) or view.t.official_fallback.format(id=official_id)


def main_deadline(petition: Petition) -> date | None:
    """The deadline that matters now: the answer's while open, the publication's once answered,
    none when closed."""
    if petition.status in OPEN_STATUSES:
        return petition.answer_by
    if petition.status == PetitionStatus.ANSWERED:
        return petition.publish_by
    return None


def _deadline_html(view: _View, petition: Petition, now: datetime) -> str:
    deadline = main_deadline(petition)
    if deadline is None:
        return '<span class="muted">—</span>'
    state = deadline_status(deadline, now).value
    label = "" if state == "ok" else f" · {e(tx.deadline_state_label(state))}"
    return f'<span class="deadline-{e(state)}">{e(view.date(deadline))}{label}</span>'


def _status_badge(status: str) -> str:
    return f'<span class="badge status-{e(status)}">{e(tx.status_label(status))}</span>'


# --- handlers plumbing -------------------------------------------------------------------------

Handler = Callable[[web.Request, _View], Awaitable[web.StreamResponse]]


def _language(request: web.Request, inbox: _Inbox) -> tuple[str, bool]:
    """The page's language and whether to remember it: ``?lang=`` wins, then the cookie."""
    asked = request.query.get("lang")
    if asked in SUPPORTED_LOCALES:
        return asked, True
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in SUPPORTED_LOCALES:
        return remembered, False
    return inbox.settings.default_language, False


def _route(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Language, texts, security headers and a friendly page instead of a stack trace."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        inbox = request.app[INBOX_KEY]
        lang, remember = _language(request, inbox)
        with inbox.i18n.context(), inbox.i18n.use_locale(lang):
            view = _View(inbox, lang, tx.texts(), self_path=request.path)
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


async def _signed_in(request: web.Request, session: AsyncSession, view: _View) -> _Signed | None:
    """The official of the session cookie, if the session is open and they are still active."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or not _TOKEN_RE.fullmatch(token):
        return None
    official = await InboxTokenRepository(session).session_official(token, now=view.inbox.clock())
    if official is None:
        return None
    agency = await AgencyRepository(session).get(official.agency_id)
    if agency is None:
        return None
    view.signed = _Signed(
        official, agency, token, name=official_name(view, official), agency_name=agency.name
    )
    return view.signed


def _not_signed_in(request: web.Request, view: _View) -> web.Response:
    response = view.message(view.t.not_signed_in_title, view.t.not_signed_in_text, status=401)
    if SESSION_COOKIE in request.cookies:
        response.del_cookie(SESSION_COOKIE, path=PREFIX)
    return response


def _forbidden(view: _View) -> web.Response:
    return view.message(view.t.forbidden_title, view.t.forbidden_text, status=403, css="bad")


def _not_found(view: _View) -> web.Response:
    extra = f'<p><a href="{PREFIX}">{e(view.t.back_to_list)}</a></p>'
    return view.message(view.t.not_found_title, view.t.not_found_text, status=404, extra=extra)


async def _form(request: web.Request) -> dict[str, str]:
    """The posted form's text fields (file parts ignored; a repeated field: its last value)."""
    data = await request.post()
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _check_post(request: web.Request, view: _View, form: Mapping[str, str]) -> bool:
    """CSRF: the session's token in the form AND a same-origin request."""
    assert view.signed is not None
    given = form.get("csrf", "")
    return hmac.compare_digest(given.encode(), view.signed.csrf.encode()) and same_origin(
        request, view.inbox.origin
    )


# --- sign-in and sign-out ----------------------------------------------------------------------


def _too_many(view: _View) -> web.Response:
    response = view.message(view.t.too_many_title, view.t.too_many_text, status=429, css="warn")
    response.headers["Retry-After"] = "10"
    return response


def _link_invalid(view: _View) -> web.Response:
    return view.message(view.t.link_invalid_title, view.t.link_invalid_text, status=403, css="bad")


@_route
async def login_page(request: web.Request, view: _View) -> web.StreamResponse:
    """The confirmation page: nothing is used up by fetching it."""
    inbox = view.inbox
    if not inbox.login_limiter.allow(_client(request)):
        return _too_many(view)
    token = request.query.get("token", "")
    view.self_query = {"token": token} if _TOKEN_RE.fullmatch(token) else {}
    if not _TOKEN_RE.fullmatch(token):
        return _link_invalid(view)
    async with inbox.session_factory() as session:
        usable = await InboxRepository(session).link_is_usable(token, now=inbox.clock())
    if not usable:
        return _link_invalid(view)
    t = view.t
    main = (
        f'<section class="card narrow"><h1>{e(t.login_title)}</h1><p>{e(t.login_intro)}</p>'
        f'<form method="post" action="{PREFIX}/login">'
        f'<input type="hidden" name="token" value="{e(token)}">'
        f'<button type="submit">{e(t.login_button)}</button></form>'
        f'<p class="muted">{e(t.login_note)}</p></section>'
    )
    return view.page(t.login_title, main)


@_route
async def login(request: web.Request, view: _View) -> web.StreamResponse:
    """Redeem the link (once), open a session, audit "login", go to the list."""
    inbox = view.inbox
    if not inbox.login_limiter.allow(_client(request)):
        return _too_many(view)
    form = await _form(request)
    if not same_origin(request, inbox.origin):
        return _forbidden(view)
    token = form.get("token", "")
    if not _TOKEN_RE.fullmatch(token):
        return _link_invalid(view)
    now = inbox.clock()
    async with inbox.session_factory() as session:
        tokens = InboxTokenRepository(session)
        official = await tokens.redeem_link(token, now=now)
        if official is None:
            await session.rollback()
            return _link_invalid(view)
        previous = request.cookies.get(SESSION_COOKIE)
        if previous and _TOKEN_RE.fullmatch(previous):
            await tokens.end_session(previous, now=now)  # one browser, one session
        session_token = await tokens.issue(official, kind="session", ttl=SESSION_TTL, now=now)
        await AuditRepository(session).record(
            "login",
            official=official,
            via=VIA,
            at=now,
            details={
                "address": _client(request),
                "user_agent": request.headers.get("User-Agent", "")[:200],
            },
        )
        await session.commit()
    logger.info("inbox: official %d signed in", official.id)
    response = _see_other(PREFIX)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(SESSION_TTL.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="Strict",
        secure=inbox.secure_cookies,
    )
    return response


@_route
async def logout(request: web.Request, view: _View) -> web.StreamResponse:
    inbox = view.inbox
    form = await _form(request)
    async with inbox.session_factory() as session:
        signed = await _signed_in(request, session, view)
        if signed is None:
            return _not_signed_in(request, view)
        if not _check_post(request, view, form):
            return _forbidden(view)
        now = inbox.clock()
        await InboxTokenRepository(session).end_session(signed.token, now=now)
        await AuditRepository(session).record("logout", official=signed.official, via=VIA, at=now)
        await session.commit()
    view.signed = None
    response = view.message(view.t.signed_out_title, view.t.signed_out_text, status=200)
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    return response


# --- the list ----------------------------------------------------------------------------------


@dataclass
class _Filters:
    """The list's filters as asked (for the form and links) and as understood (for queries)."""

    status: str = ""  # "", "open" or a status
    query: str = ""
    date_from: date | None = None
    date_to: date | None = None
    due: str = ""
    page: int = 1
    notices: list[str] = field(default_factory=list)

    def where(self, today: date) -> InboxFilter:
        if self.status == "open":
            statuses: tuple[str, ...] = OPEN_STATUSES
        elif self.status in STATUSES:
            statuses = (self.status,)
        else:
            statuses = ()
        return InboxFilter(
            statuses=statuses,
            query=self.query,
            received_from=self.date_from,
            received_to=self.date_to,
            due=self.due or None,
            today=today,
        )

    def params(self, *, page: int | None = None) -> dict[str, str]:
        """The query string that asks for these filters (empty ones left out)."""
        params = {
            "status": self.status,
            "q": self.query,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "due": self.due,
        }
        if page is not None and page > 1:
            params["page"] = str(page)
        return {k: v for k, v in params.items() if v}

    def audit(self) -> dict[str, str]:
        return self.params()


def parse_filters(query: Mapping[str, str], t: tx.InboxTexts) -> _Filters:
    filters = _Filters()
    status = query.get("status", "")
    filters.status = status if status == "open" or status in STATUSES else ""
    text = clean_input(query.get("q", "")).replace("\n", " ")
    if len(text) > SEARCH_MAX_CHARS:
        text = text[:SEARCH_MAX_CHARS].strip()
        filters.notices.append(t.search_too_long.format(max=SEARCH_MAX_CHARS))
    filters.query = text
    for name in ("from", "to"):
        raw = query.get(name, "").strip()
        if not raw:
            continue
        day = parse_day(raw)
        if day is None:
            filters.notices.append(t.bad_date.format(value=raw[:40]))
        elif name == "from":
            filters.date_from = day
        else:
            filters.date_to = day
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        filters.notices.append(t.bad_range)
    due = query.get("due", "")
    filters.due = due if due in DUE_FILTERS else ""
    try:
        filters.page = max(1, min(int(query.get("page", "1")), 1_000_000))
    except ValueError:
        filters.page = 1
    return filters


def _options(choices: Iterable[tuple[str, str]], selected: str) -> str:
    return "".join(
        f'<option value="{e(value)}"{" selected" if value == selected else ""}>{e(label)}</option>'
        for value, label in choices
    )


def _filters_form(view: _View, filters: _Filters, counts: Mapping[str, int]) -> str:
    t = view.t
    open_count = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    statuses = [("", t.filter_all_statuses), ("open", f"{t.filter_open} ({open_count})")]
    statuses += [(s, f"{tx.status_label(s)} ({counts.get(s, 0)})") for s in STATUSES]
    dues = [
        ("", t.filter_due_any),
        ("overdue", t.filter_due_overdue),
        ("due_soon", t.filter_due_soon),
    ]
    export_href = f"{PREFIX}/export.csv"
    if filters.params():
        export_href += "?" + urlencode(filters.params())
    return (
        f'<form class="filters card" method="get" action="{PREFIX}">'
        f'<label>{e(t.filter_status)}<select name="status">{_options(statuses, filters.status)}</select></label>'
        f'<label>{e(t.filter_search)}<input type="search" name="q" value="{e(filters.query)}" '
        f'maxlength="{SEARCH_MAX_CHARS}" placeholder="{e(t.filter_search_hint)}"></label>'
        f'<label>{e(t.filter_from)}<input type="date" name="from" value="{e(filters.date_from.isoformat() if filters.date_from else "")}"></label>'
        f'<label>{e(t.filter_to)}<input type="date" name="to" value="{e(filters.date_to.isoformat() if filters.date_to else "")}"></label>'
        f'<label>{e(t.filter_due)}<select name="due">{_options(dues, filters.due)}</select></label>'
        f'<button type="submit">{e(t.filter_apply)}</button>'
        f'<a href="{PREFIX}">{e(t.filter_clear)}</a>'
        f'<a class="export" href="{e(export_href)}" download>{e(t.export_csv)}</a>'
        f"</form>"
    )


def _rows_html(
    view: _View, petitions: list[Petition], names: Mapping[int, str], now: datetime
) -> str:
    t = view.t
    head = "".join(
        f'<th scope="col">{e(h)}</th>'
        for h in (
            t.col_code,
            t.col_received,
            t.col_topic,
            t.col_status,
            t.col_deadline,
            t.col_assigned,
        )
    )
    rows = []
    for p in petitions:
        assigned = (
            e(_name_of(view, names, p.assigned_to))
            if p.assigned_to is not None
            else f'<span class="muted">{e(t.not_assigned)}</span>'
        )
        rows.append(
            "<tr>"
            f'<td class="code"><a href="{PREFIX}/p/{e(p.tracking_code)}">{e(p.tracking_code)}</a></td>'
            f"<td>{e(view.moment(p.received_at))}</td>"
            f"<td>{e(p.topic)}</td>"
            f"<td>{_status_badge(p.status)}</td>"
            f"<td>{_deadline_html(view, p, now)}</td>"
            f"<td>{assigned}</td>"
            "</tr>"
        )
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _pager(view: _View, filters: _Filters, pages: int) -> str:
    if pages <= 1:
        return ""
    parts = []
    if filters.page > 1:
        href = PREFIX + "?" + urlencode(filters.params(page=filters.page - 1))
        parts.append(f'<a rel="prev" href="{e(href)}">{e(view.t.previous_page)}</a>')
    parts.append(f"<span>{e(view.t.page_of.format(page=filters.page, pages=pages))}</span>")
    if filters.page < pages:
        href = PREFIX + "?" + urlencode(filters.params(page=filters.page + 1))
        parts.append(f'<a rel="next" href="{e(href)}">{e(view.t.next_page)}</a>')
    return f'<nav class="pager">{"".join(parts)}</nav>'


@_route
async def list_page(request: web.Request, view: _View) -> web.StreamResponse:
    inbox = view.inbox
    now = inbox.clock()
    today = local_date(now)
    filters = parse_filters(request.query, view.t)
    view.self_query = filters.params(page=filters.page)
    async with inbox.session_factory() as session:
        signed = await _signed_in(request, session, view)
        if signed is None:
            return _not_signed_in(request, view)
        agency_id = signed.agency.id
        queries = InboxRepository(session)
        where = filters.where(today)
        total = await queries.count(agency_id, where)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        filters.page = min(filters.page, pages)
        petitions = await queries.page(
            agency_id, where, limit=PAGE_SIZE, offset=(filters.page - 1) * PAGE_SIZE
        )
        names = await queries.official_names(p.assigned_to for p in petitions)
        counts = await queries.status_counts(agency_id)
        overdue = await queries.count(agency_id, InboxFilter(due=OVERDUE, today=today))
        if filters.query:
            # a search may be by a sender's name or phone: a look-up of personal data
            await AuditRepository(session).record(
                "search",
                official=signed.official,
                via=VIA,
                at=now,
                details={"filters": filters.audit(), "results": total},
            )
            await session.commit()
    t = view.t
    notices = "".join(f'<p class="notice warn">{e(n)}</p>' for n in filters.notices)
    open_count = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    summary = (
        f'<p class="summary"><span>{e(tx.count_text(total))}</span>'
        f"<span>{e(t.summary_open.format(count=format_number(open_count, locale=view.lang)))}</span>"
        f'<span class="{"deadline-overdue" if overdue else ""}">'
        f"{e(t.summary_overdue.format(count=format_number(overdue, locale=view.lang)))}</span></p>"
    )
    table = (
        _rows_html(view, petitions, names, now)
        if petitions
        else f'<p class="card muted">{e(t.no_results)}</p>'
    )
    main = (
        f"<h1>{e(t.list_heading.format(agency=signed.agency_name))}</h1>"
        f"{notices}{_filters_form(view, filters, counts)}{summary}{table}"
        f"{_pager(view, filters, pages)}"
    )
    return view.page(t.list_heading.format(agency=signed.agency_name), main)


# --- one petition ------------------------------------------------------------------------------


def _fields(rows: Iterable[tuple[str, str]]) -> str:
    """A definition list of (label, already-escaped HTML) pairs; empty values left out."""
    items = "".join(f"<dt>{e(label)}</dt><dd>{value}</dd>" for label, value in rows if value)
    return f'<dl class="fields">{items}</dl>'


def _text(value: str | None) -> str:
    return f'<div class="text">{e(value)}</div>' if value else ""


def _size(view: _View, size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{format_number(size, locale=view.lang)} B"
    if size < 1024 * 1024:
        return f"{format_number(round(size / 1024, 1), locale=view.lang)} KB"
    return f"{format_number(round(size / 1024 / 1024, 1), locale=view.lang)} MB"


def _action_forms(view: _View, petition: Petition, drafts: Mapping[str, str]) -> str:
    t = view.t
    assert view.signed is not None
    base = f"{PREFIX}/p/{e(petition.tracking_code)}"
    csrf = f'<input type="hidden" name="csrf" value="{e(view.signed.csrf)}">'
    limit = e(t.text_limit.format(max=format_number(TEXT_MAX_CHARS, locale=view.lang)))
    forms = []

    def text_form(action: str, title: str, button: str, danger: bool = False) -> str:
        field_id = f"text-{action}"
        return (
            f'<form class="action" method="post" action="{base}/{action}">{csrf}'
            f'<label for="{field_id}">{e(title)}</label>'
            f'<textarea id="{field_id}" name="text" maxlength="{TEXT_MAX_CHARS}" required>'
            f"{e(drafts.get(action, ''))}</textarea>"
            f'<div class="actions-row"><button type="submit"{" class=danger" if danger else ""}>'
            f'{e(button)}</button><span class="muted">{limit}</span></div></form>'
        )

    status = petition.status
    if status in _ALLOWED_FROM["take"]:
        forms.append(
            f'<form class="action" method="post" action="{base}/take">{csrf}'
            f"<p>{e(t.action_take_title)}</p>"
            f'<button type="submit">{e(t.action_take_button)}</button></form>'
        )
    if status in _ALLOWED_FROM["info"]:
        forms.append(text_form("info", t.action_info_title, t.action_info_button))
    if status in _ALLOWED_FROM["answer"]:
        forms.append(text_form("answer", t.action_answer_title, t.action_answer_button))
    if status in _ALLOWED_FROM["refuse"]:
        forms.append(
            text_form("refuse", t.action_refuse_title, t.action_refuse_button, danger=True)
        )
    if status in _ALLOWED_FROM["publish"]:
        preview = redact_personal_data(petition.answer or "", names=public_names(petition))
        forms.append(
            f'<form class="action" method="post" action="{base}/publish">{csrf}'
            f"<p><strong>{e(t.action_publish_title)}</strong></p>"
            f'<p class="muted">{e(t.action_publish_preview)}</p>{_text(preview)}'
            f'<div class="actions-row"><button type="submit">{e(t.action_publish_button)}'
            f"</button></div></form>"
        )
    if not forms:
        return f'<p class="muted">{e(t.no_actions)}</p>'
    return "".join(forms)


async def _detail(
    request: web.Request,
    session: AsyncSession,
    view: _View,
    petition: Petition,
    *,
    flash: str = "",
    error: str = "",
    drafts: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The petition's page (personal data included: the caller checked it is the official's
    agency), with the view audited in the session's transaction (committed here)."""
    assert view.signed is not None
    official = view.signed.official
    now = view.inbox.clock()
    repo = PetitionRepository(session)
    attachments = await repo.attachments(petition.id)
    events = await repo.events(petition.id)
    names = await InboxRepository(session).official_names(
        [petition.assigned_to, *(ev.official_id for ev in events)]
    )
    await repo.record_view(petition, official, via=VIA)
    await session.commit()
    view.self_path = f"{PREFIX}/p/{petition.tracking_code}"
    view.self_query = {}
    main = _detail_html(view, petition, attachments, events, names, now, flash, error, drafts or {})
    return view.page(
        view.t.petition_heading.format(code=petition.tracking_code), main, status=status
    )


def _detail_html(
    view: _View,
    p: Petition,
    attachments: list[PetitionAttachment],
    events: list[PetitionEvent],
    names: Mapping[int, str],
    now: datetime,
    flash: str,
    error: str,
    drafts: Mapping[str, str],
) -> str:
    t = view.t
    notices = ""
    if flash:
        notices += f'<p class="notice ok" role="status">{e(flash)}</p>'
    if error:
        notices += f'<p class="notice bad" role="alert">{e(error)}</p>'
    location = ""
    if p.latitude is not None and p.longitude is not None:
        location = e(f"{p.latitude:.6f}, {p.longitude:.6f}")
    petition_fields = _fields(
        [
            (t.field_status, _status_badge(p.status)),
            (t.field_received, e(view.moment(p.received_at))),
            (t.field_source, e(tx.source_label(p.source, p.channel))),
            (t.field_topic_kind, e(tx.topic_kind_label(p.topic_kind))),
            (t.field_topic, e(p.topic)),
            (t.field_procedure, e(p.procedure_code or "")),
            (t.field_sector, e(p.sector or "")),
            (t.field_content, _text(p.content)),
            (t.field_assigned, e(_name_of(view, names, p.assigned_to))),
            (t.field_taken, e(view.moment(p.taken_at))),
            (t.field_answer, _text(p.answer)),
            (t.field_answered, e(view.moment(p.answered_at))),
            (t.field_refusal_reason, _text(p.refusal_reason)),
            (t.field_refused, e(view.moment(p.refused_at))),
            (t.field_published, e(view.moment(p.published_at))),
            (t.field_public_content, _text(p.public_content)),
            (t.field_public_answer, _text(p.public_answer)),
        ]
    )
    sender_fields = _fields(
        [
            (t.field_name, e(p.sender_name)),
            (t.field_phone, e(p.phone or "")),
            (t.field_email, e(p.email or "")),
            (t.field_address, e(p.address)),
            (t.field_location, location),
        ]
    )
    deadline_rows = [
        (t.deadline_refuse, e(view.date(p.refuse_by))),
        (t.deadline_info, e(view.date(p.info_by))),
        (t.deadline_answer, e(view.date(p.answer_by))),
        (t.deadline_publish, e(view.date(p.publish_by))),
    ]
    current = main_deadline(p)
    if current is not None:
        deadline_rows.insert(0, (t.col_deadline, _deadline_html(view, p, now)))
    if attachments:
        rows = "".join(
            "<tr>"
            f"<td>{e(a.file_name or t.attachment_unnamed)}</td>"
            f"<td>{e(tx.attachment_kind_label(a.kind))}"
            f"{' · ' + e(a.mime_type) if a.mime_type else ''}</td>"
            f"<td>{e(_size(view, a.size))}</td>"
            "</tr>"
            for a in attachments
        )
        attachments_html = (
            f'<div class="table-wrap"><table><thead><tr><th scope="col">{e(t.attachment_name)}</th>'
            f'<th scope="col">{e(t.attachment_type)}</th><th scope="col">{e(t.attachment_size)}</th>'
            f"</tr></thead><tbody>{rows}</tbody></table></div>"
            f'<p class="muted">{e(t.attachments_note)}</p>'
        )
    else:
        attachments_html = f'<p class="muted">{e(t.no_attachments)}</p>'

    def who(event: PetitionEvent) -> str:
        if event.actor == "citizen":
            return t.actor_citizen
        if event.official_id is not None:
            return _name_of(view, names, event.official_id)
        return t.actor_system

    history = "".join(
        "<tr>"
        f"<td>{e(view.moment(ev.at))}</td>"
        f"<td>{e(tx.event_label(ev.action))}</td>"
        f"<td>{e(who(ev))}</td>"
        f"<td>{_text(ev.note)}</td>"
        "</tr>"
        for ev in events
    )
    history_html = (
        f'<div class="table-wrap"><table><thead><tr><th scope="col">{e(t.history_when)}</th>'
        f'<th scope="col">{e(t.history_what)}</th><th scope="col">{e(t.history_who)}</th>'
        f'<th scope="col">{e(t.history_note)}</th></tr></thead><tbody>{history}</tbody></table></div>'
    )
    return (
        f'<p><a href="{PREFIX}">{e(t.back_to_list)}</a></p>'
        f"<h1>{e(t.petition_heading.format(code=p.tracking_code))}</h1>{notices}"
        f'<section class="card" id="actions"><h2>{e(t.section_actions)}</h2>'
        f"{_action_forms(view, p, drafts)}</section>"
        f'<section class="card"><h2>{e(t.section_petition)}</h2>{petition_fields}</section>'
        f'<section class="card private"><h2>{e(t.section_sender)}</h2>'
        f'<p class="muted">{e(t.personal_data_note)}</p>{sender_fields}</section>'
        f'<section class="card"><h2>{e(t.section_deadlines)}</h2>{_fields(deadline_rows)}</section>'
        f'<section class="card"><h2>{e(t.section_attachments)}</h2>{attachments_html}</section>'
        f'<section class="card"><h2>{e(t.section_history)}</h2>{history_html}</section>'
    )


def _done_text(t: tx.InboxTexts, action: str) -> str:
    return {
        "take": t.done_take,
        "info": t.done_info,
        "answer": t.done_answer,
        "refuse": t.done_refuse,
        "publish": t.done_publish,
    }.get(action, "")


@_route
async def petition_page(request: web.Request, view: _View) -> web.StreamResponse:
    inbox = view.inbox
    code = request.match_info["code"]
    async with inbox.session_factory() as session:
        signed = await _signed_in(request, session, view)
        if signed is None:
            return _not_signed_in(request, view)
        if not _CODE_RE.fullmatch(code):
            return _not_found(view)
        queries = InboxRepository(session)
        petition = await queries.of_agency(signed.agency.id, code)
        if petition is None:
            await _audit_denied(session, view, code)
            return _not_found(view)
        flash = _done_text(view.t, request.query.get("done", ""))
        return await _detail(request, session, view, petition, flash=flash)


async def _audit_denied(session: AsyncSession, view: _View, code: str) -> None:
    """Another agency's petition asked for: recorded (the page says only "not found")."""
    assert view.signed is not None
    other = await InboxRepository(session).by_tracking_code(code)
    if other is None:
        return
    await AuditRepository(session).record(
        "view_denied",
        official=view.signed.official,
        petition_id=other.id,
        via=VIA,
        at=view.inbox.clock(),
        details={"agency_id": view.signed.agency.id},
    )
    await session.commit()


_ERROR_STATUS = {"empty_text": 400, "too_long": 400, "wrong_status": 409, "not_allowed": 403}


@_route
async def petition_action(request: web.Request, view: _View) -> web.StreamResponse:
    inbox = view.inbox
    code = request.match_info["code"]
    action = request.match_info["action"]
    form = await _form(request)
    async with inbox.session_factory() as session:
        signed = await _signed_in(request, session, view)
        if signed is None:
            return _not_signed_in(request, view)
        if not _check_post(request, view, form):
            return _forbidden(view)
        if action not in ACTIONS or not _CODE_RE.fullmatch(code):
            return _not_found(view)
        queries = InboxRepository(session)
        petition = await queries.for_change(signed.agency.id, code)
        if petition is None:
            await _audit_denied(session, view, code)
            return _not_found(view)
        text = clean_input(form.get("text", ""))
        error_code = ""
        if action in ("info", "answer", "refuse"):
            if not text:
                error_code = "empty_text"
            elif len(text) > TEXT_MAX_CHARS:
                error_code = "too_long"
        if not error_code:
            try:
                await _apply(session, petition, signed.official, action, text, inbox.clock())
                await session.commit()
            except PetitionError as error:
                error_code = error.code
                await session.rollback()
        if error_code:
            await session.rollback()  # expires every loaded object: load them again
            signed = await _signed_in(request, session, view)
            if signed is None:
                return _not_signed_in(request, view)
            petition = await queries.of_agency(signed.agency.id, code)
            if petition is None:  # moved to another agency meanwhile
                return _not_found(view)
            drafts = {action: form.get("text", "")[: TEXT_MAX_CHARS * 2]}
            return await _detail(
                request,
                session,
                view,
                petition,
                error=_error_text(view.t, error_code, petition.status),
                drafts=drafts,
                status=_ERROR_STATUS.get(error_code, 400),
            )
    worker = request.app.get(OUTBOX_KEY)
    if worker is not None:
        worker.wake()  # the citizen's message is committed: send it now
    logger.info("inbox: official %d did %s on petition %d", signed.official.id, action, petition.id)
    return _see_other(f"{PREFIX}/p/{code}?" + urlencode({"done": action}))


async def _apply(
    session: AsyncSession,
    petition: Petition,
    official: Official,
    action: str,
    text: str,
    now: datetime,
) -> None:
    repo = PetitionRepository(session)
    if action == "take":
        await repo.take(petition, official, via=VIA, now=now)
    elif action == "info":
        await repo.request_info(petition, official, text, via=VIA, now=now)
    elif action == "answer":
        await repo.answer(petition, official, text, via=VIA, now=now)
    elif action == "refuse":
        await repo.refuse(petition, official, text, via=VIA, now=now)
    elif action == "publish":
        await repo.publish(petition, official, via=VIA, now=now)
    else:  # pragma: no cover - routes allow only ACTIONS
        raise PetitionError("not_allowed")


def _error_text(t: tx.InboxTexts, code: str, status: str) -> str:
    if code == "empty_text":
        return t.error_empty_text
    if code == "too_long":
        return t.error_too_long.format(max=TEXT_MAX_CHARS)
    if code == "wrong_status":
        return t.error_wrong_status.format(status=tx.status_label(status))
    return t.error_not_allowed


# --- CSV export --------------------------------------------------------------------------------


def _iso_moment(value: datetime | None) -> str:
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _iso_day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def csv_row(
    p: Petition, names: Mapping[int, str], now: datetime, fallback: Callable[[int], str]
) -> list[str]:
    deadline = main_deadline(p)
    state = tx.deadline_state_label(deadline_status(deadline, now).value) if deadline else ""
    assigned = (names.get(p.assigned_to) or fallback(p.assigned_to)) if p.assigned_to else ""
    values: list[Any] = [
        p.tracking_code,
        _iso_moment(p.received_at),
        tx.status_label(p.status),
        tx.topic_kind_label(p.topic_kind),
        p.topic,
        p.procedure_code,
        p.sector,
        _iso_day(p.refuse_by),
        _iso_day(p.info_by),
        _iso_day(p.answer_by),
        _iso_day(p.publish_by),
        state,
        assigned,
        _iso_moment(p.taken_at),
        _iso_moment(p.answered_at),
        _iso_moment(p.published_at),
        _iso_moment(p.refused_at),
        p.sender_name,
        p.phone,
        p.email,
        p.address,
        p.content,
        p.answer,
        p.refusal_reason,
    ]
    return [csv_cell(v) for v in values]


@_route
async def export_csv(request: web.Request, view: _View) -> web.StreamResponse:
    inbox = view.inbox
    now = inbox.clock()
    filters = parse_filters(request.query, view.t)
    async with inbox.session_factory() as session:
        signed = await _signed_in(request, session, view)
        if signed is None:
            return _not_signed_in(request, view)
        queries = InboxRepository(session)
        where = filters.where(local_date(now))
        total = await queries.count(signed.agency.id, where)
        if total > EXPORT_MAX_ROWS:
            view.self_path = PREFIX
            view.self_query = filters.params()
            return view.message(
                view.t.export_csv,
                view.t.export_too_many.format(
                    count=format_number(total, locale=view.lang),
                    max=format_number(EXPORT_MAX_ROWS, locale=view.lang),
                ),
                status=413,
                css="warn",
                extra=f'<p><a href="{e(PREFIX + "?" + urlencode(filters.params()))}">{e(view.t.back_to_list)}</a></p>',
            )
        petitions = await queries.page(signed.agency.id, where, limit=EXPORT_MAX_ROWS)
        names = await queries.official_names(p.assigned_to for p in petitions)
        await AuditRepository(session).record(
            "export",
            official=signed.official,
            via=VIA,
            at=now,
            details={"rows": len(petitions), "filters": filters.audit(), "format": "csv"},
        )
        await session.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in tx.csv_headers()])

    def fallback(official_id: int) -> str:
        return view.t.official_fallback.format(id=official_id)

    for p in petitions:
        writer.writerow(csv_row(p, names, now, fallback))
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    filename = f"pakn-{_ascii_slug(signed.agency.code)}-{local_date(now).isoformat()}.csv"
    logger.info("inbox: official %d exported %d petitions", signed.official.id, len(petitions))
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _ascii_slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[:40] or "agency"


# --- static and set-up -------------------------------------------------------------------------


def _static(
    body: Callable[[_Inbox], bytes], content_type: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.Response(
            body=body(request.app[INBOX_KEY]), content_type=content_type, charset="utf-8"
        )
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-cache"
        return response

    return handler


def setup_inbox(
    app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    login_limiter: RateLimiter | None = None,
    i18n: I18n | None = None,
    clock: Clock | None = None,
) -> None:
    """Mount the officials' inbox under ``/inbox`` on ``app``.

    Default sign-in limit per address: 10 attempts at once, then one every 6 seconds (a link
    holds 256 random bits: the limit only keeps the database calm).
    """
    base = settings.base_url
    origin = _origin_of(base) or base.lower()
    app[INBOX_KEY] = _Inbox(
        session_factory=session_factory,
        settings=settings,
        i18n=i18n or create_i18n(settings.default_language),
        origin=origin,
        secure_cookies=origin.startswith("https://"),
        login_limiter=login_limiter or RateLimiter(burst=10, per_second=1 / 6),
        layout=string.Template((STATIC_DIR / "page.html").read_text(encoding="utf-8")),
        css=(STATIC_DIR / "inbox.css").read_bytes(),
        favicon=(STATIC_DIR.parent / "favicon.svg").read_bytes(),  # the web chat's icon
        clock=clock or _utcnow,
    )
    app.router.add_get(PREFIX + "/login", login_page)
    app.router.add_post(PREFIX + "/login", login)
    app.router.add_post(PREFIX + "/logout", logout)
    app.router.add_get(PREFIX, list_page)
    app.router.add_get(PREFIX + "/", list_page)
    app.router.add_get(PREFIX + "/export.csv", export_csv)
    app.router.add_get(PREFIX + "/p/{code}", petition_page)
    app.router.add_post(PREFIX + "/p/{code}/{action}", petition_action)
    app.router.add_get(PREFIX + "/static/inbox.css", _static(lambda i: i.css, "text/css"))
    app.router.add_get(
        PREFIX + "/static/favicon.svg", _static(lambda i: i.favicon, "image/svg+xml")
    )


__all__ = [
    "INBOX_KEY",
    "csrf_token",
    "csv_cell",
    "same_origin",
    "setup_inbox",
]
