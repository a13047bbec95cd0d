"""The inbox's "Unanswered questions" page: the search's misses (``knowledge.misses``), most
asked first, filtered by kind and paged; each with a one-step form that maps the question to a
procedure (a typed code, or one of the search's own results for it).

``GET /inbox/misses?kind=&page=`` for any signed-in official (the texts hold no personal data:
they were redacted before being stored). ``POST /inbox/misses/map`` (CSRF like every inbox
form; an agency administrator only, since the mapping changes the search for every citizen)
keeps the phrasing (``learned_phrasings``), marks the question's misses resolved, and teaches
the live index (``knowledge.phrasings.apply_learned``); an unknown code is refused and said so.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from handlers.officials import miss_texts as mx
from knowledge.misses import MISS_KINDS
from knowledge.phrasings import apply_learned
from knowledge.search import SearchIndex
from storage.records import MissGroup
from storage.repositories.search_misses import (
    LearnedPhrasingRepository,
    MissFilter,
    SearchMissRepository,
)

from .auth import not_signed_in, signed_in, signed_post
from .context import PAGE_SIZE, PREFIX, View, read_form, route, see_other
from .filters import clean_input

logger = logging.getLogger(__name__)

MISSES_PATH = PREFIX + "/misses"
MAP_PATH = MISSES_PATH + "/map"
MAPPING_ROLE = "admin"  # who may map: it changes the search for every citizen
SUGGESTED_HITS = 3
KEY_RE = re.compile(r"[0-9a-f]{64}")
CODE_MAX_CHARS = 64


@dataclass(frozen=True)
class Hit:
    code: str
    name: str


@dataclass(frozen=True)
class MissRow:
    key: str
    text: str
    count: int
    kinds: str
    last_seen: str
    hits: tuple[Hit, ...]


@dataclass
class MissQuery:
    kind: str = ""
    page: int = 1

    def params(self, *, page: int | None = None) -> dict[str, str]:
        params = {"kind": self.kind}
        if page is not None and page > 1:
            params["page"] = str(page)
        return {k: v for k, v in params.items() if v}

    def href(self, page: int | None = None, **extra: str) -> str:
        params = {**self.params(page=page), **extra}
        return MISSES_PATH + ("?" + urlencode(params) if params else "")


def parse_query(source: Mapping[str, str]) -> MissQuery:
    kind = source.get("kind", "")
    try:
        page = max(1, min(int(source.get("page", "1")), 1_000_000))
    except ValueError:
        page = 1
    return MissQuery(kind if kind in MISS_KINDS else "", page)


def _hits(index: SearchIndex | None, text: str) -> tuple[Hit, ...]:
    if index is None:
        return ()
    try:
        found = index.search(text, limit=SUGGESTED_HITS)
    except Exception:  # a suggestion is a convenience: the typed code still works
        logger.warning("inbox: search for a miss failed", exc_info=True)
        return ()
    return tuple(Hit(h.procedure.code, h.procedure.name) for h in found)


def _row(view: View, group: MissGroup, index: SearchIndex | None) -> MissRow:
    return MissRow(
        key=group.text_key,
        text=group.text,
        count=group.count,
        kinds=", ".join(mx.kind_label(k) for k in group.kinds),
        last_seen=view.moment(group.last_seen),
        hits=_hits(index, group.text),
    )


async def _page(
    request: web.Request,
    view: View,
    query: MissQuery,
    *,
    flash: str = "",
    error: str = "",
    error_key: str = "",
    typed: str = "",
    status: int = 200,
) -> web.Response:
    inbox = view.inbox
    view.self_path = MISSES_PATH
    view.self_query = query.params(page=query.page)
    async with inbox.session_factory() as session:
        signed = await signed_in(request, session, view)
        if signed is None:
            return not_signed_in(request, view)
        repo = SearchMissRepository(session)
        where = MissFilter(kind=query.kind)
        total = await repo.count_groups(where)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        query.page = min(query.page, pages)
        groups = await repo.groups(where, limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE)
    m = mx.miss_texts()
    kinds = [("", m.filter_all_kinds)] + [(k, mx.kind_label(k)) for k in MISS_KINDS]
    return view.page(
        "misses.html",
        m.heading,
        status=status,
        m=m,
        query=query,
        kind_choices=kinds,
        rows=[_row(view, g, inbox.index) for g in groups],
        total=total,
        pages=pages,
        prev_href=query.href(query.page - 1),
        next_href=query.href(query.page + 1),
        can_map=signed.official.role == MAPPING_ROLE,
        map_action=MAP_PATH,
        flash=flash,
        error=error,
        error_key=error_key,
        typed=typed,
        code_max_chars=CODE_MAX_CHARS,
        times=mx.times_text,
        questions=mx.questions_text,
    )


@route
async def misses_page(request: web.Request, view: View) -> web.StreamResponse:
    m = mx.miss_texts()
    done = request.query.get("done", "")
    flash = ""
    if done:
        code = done[:CODE_MAX_CHARS]
        later = request.query.get("live") == "0"
        flash = (
            m.done_mapped.format(code=code) + " " + (m.learned_later if later else m.learned_now)
        )
    return await _page(request, view, parse_query(request.query), flash=flash)


@route
async def map_miss(request: web.Request, view: View) -> web.StreamResponse:
    inbox = view.inbox
    form = await read_form(request)
    query = parse_query({"kind": form.get("kind", ""), "page": form.get("page", "1")})
    m = mx.miss_texts()
    key = form.get("key", "")
    typed = clean_input(form.get("code", "")).replace("\n", " ")[:CODE_MAX_CHARS]
    code = clean_input(form.get("pick", ""))[:CODE_MAX_CHARS] or typed
    learned = ""
    async with inbox.session_factory() as session:
        signed = await signed_post(request, session, view, form)
        if isinstance(signed, web.Response):
            return signed
        official_id = signed.official.id
        if signed.official.role != MAPPING_ROLE:
            error, status = m.error_not_admin, 403
        elif (
            not KEY_RE.fullmatch(key)
            or (group := await SearchMissRepository(session).get_group(key)) is None
        ):
            error, status = m.error_gone, 404
        elif not code:
            error, status = m.error_no_code, 400
        elif inbox.index is None or (procedure := inbox.index.get(code)) is None:
            error, status = m.error_unknown_code.format(code=code), 400
        elif not inbox.index.learnable(group.text):
            error, status = m.error_too_general, 400  # nothing stored: it could never be learned
        else:
            code, learned = procedure.code, group.text
            await LearnedPhrasingRepository(session).add(
                group.text, code, official_id=official_id, at=inbox.clock()
            )
            await SearchMissRepository(session).resolve(key, at=inbox.clock())
            await session.commit()
            error, status = "", 303
    if error:
        return await _page(
            request, view, query, error=error, error_key=key, typed=typed, status=status
        )
    live = _teach(inbox.index, code, learned)
    logger.info("inbox: official %d mapped a question to %s (live: %s)", official_id, code, live)
    return see_other(query.href(query.page, done=code, live="1" if live else "0"))


def _teach(index: SearchIndex | None, code: str, text: str) -> bool:
    """The live search learns the phrasing (kept already: a failure here only waits for the
    next start, which applies every stored phrasing)."""
    if index is None:
        return False
    try:
        return apply_learned(index, code, text)
    except Exception:
        logger.exception("inbox: the search could not learn a mapped phrasing")
        return False
