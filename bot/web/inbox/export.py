"""The CSV export of the list (the same filters): UTF-8 with BOM for Excel, cells a spreadsheet
would run as a formula prefixed with ``'``, audited "export"."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from handlers.formatting import format_number
from handlers.officials import inbox_texts as tx
from knowledge.petition_workflow import AuditAction
from knowledge.petitions import deadline_status
from knowledge.workdays import local_date, to_local
from storage.records import PetitionRecord
from storage.repositories.audit import AuditRepository
from storage.repositories.inbox import InboxRepository

from .auth import not_signed_in, signed_in
from .context import EXPORT_MAX_ROWS, PREFIX, VIA, View, route
from .filters import parse_filters
from .views import main_deadline

logger = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading = + - @ (or tab / CR) would make
    Excel or LibreOffice run it as a formula, so it gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _iso_moment(value: datetime | None) -> str:
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _iso_day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def csv_row(
    p: PetitionRecord, names: Mapping[int, str], now: datetime, fallback: Callable[[int], str]
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


@route
async def export_csv(request: web.Request, view: View) -> web.StreamResponse:
    inbox = view.inbox
    now = inbox.clock()
    filters = parse_filters(request.query, view.t)
    async with inbox.session_factory() as session:
        signed = await signed_in(request, session, view)
        if signed is None:
            return not_signed_in(request, view)
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
                back_href=PREFIX + "?" + urlencode(filters.params()),
            )
        petitions = await queries.page(signed.agency.id, where, limit=EXPORT_MAX_ROWS)
        names = await queries.official_names(p.assigned_to for p in petitions)
        await AuditRepository(session).record(
            AuditAction.EXPORT,
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
