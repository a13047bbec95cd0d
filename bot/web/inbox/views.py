"""The inbox's two pages: the agency's petitions (filters, counts, a page of the list) and one
petition with the sender's personal data, its deadlines, attachments, history and the action
forms its status allows; each look-up of personal data is audited."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.officials import inbox_texts as tx
from knowledge.petition_workflow import (
    OPEN_STATUSES,
    STATUSES,
    AuditAction,
    PetitionStatus,
    public_names,
)
from knowledge.petitions import deadline_status, redact_personal_data
from knowledge.workdays import local_date
from storage.records import EventRecord, PetitionRecord
from storage.repositories.audit import AuditRepository
from storage.repositories.inbox import OVERDUE, InboxFilter, InboxRepository
from storage.repositories.petitions import PetitionRepository

from .auth import not_signed_in, signed_in
from .context import (
    ACTIONS,
    ALLOWED_FROM,
    CODE_RE,
    PAGE_SIZE,
    PREFIX,
    SEARCH_MAX_CHARS,
    TEXT_MAX_CHARS,
    VIA,
    View,
    name_of,
    not_found,
    route,
)
from .filters import Filters, parse_filters


def main_deadline(petition: PetitionRecord) -> date | None:
    """The deadline that matters now: the answer's while open, the publication's once answered,
    none when closed."""
    if petition.status in OPEN_STATUSES:
        return petition.answer_by
    if petition.status == PetitionStatus.ANSWERED:
        return petition.publish_by
    return None


@dataclass(frozen=True)
class Deadline:
    """The deadline as the page shows it: its day and its state (ok, due_soon, overdue)."""

    day: str
    state: str


def deadline_of(view: View, petition: PetitionRecord, now: datetime) -> Deadline | None:
    deadline = main_deadline(petition)
    if deadline is None:
        return None
    return Deadline(view.date(deadline), deadline_status(deadline, now).value)


@dataclass(frozen=True)
class ListRow:
    code: str
    received: str
    topic: str
    status: str
    deadline: Deadline | None
    assigned: str | None  # None: nobody took it yet


# --- the list ----------------------------------------------------------------------------------


def _list_choices(
    view: View, counts: Mapping[str, int]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The options of the status filter (with their counts) and of the deadline filter."""
    t = view.t
    open_count = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    statuses = [("", t.filter_all_statuses), ("open", f"{t.filter_open} ({open_count})")]
    statuses += [(s, f"{tx.status_label(s)} ({counts.get(s, 0)})") for s in STATUSES]
    dues = [
        ("", t.filter_due_any),
        ("overdue", t.filter_due_overdue),
        ("due_soon", t.filter_due_soon),
    ]
    return statuses, dues


def _list_href(filters: Filters, page: int) -> str:
    return PREFIX + "?" + urlencode(filters.params(page=page))


def _list_page(
    view: View,
    filters: Filters,
    petitions: list[PetitionRecord],
    names: Mapping[int, str],
    counts: Mapping[str, int],
    total: int,
    overdue: int,
    pages: int,
    now: datetime,
) -> web.Response:
    statuses, dues = _list_choices(view, counts)
    export_href = f"{PREFIX}/export.csv"
    if filters.params():
        export_href += "?" + urlencode(filters.params())
    rows = [
        ListRow(
            code=p.tracking_code,
            received=view.moment(p.received_at),
            topic=p.topic,
            status=p.status,
            deadline=deadline_of(view, p, now),
            assigned=name_of(view, names, p.assigned_to) if p.assigned_to is not None else None,
        )
        for p in petitions
    ]
    assert view.signed is not None
    heading = view.t.list_heading.format(agency=view.signed.agency_name)
    return view.page(
        "list.html",
        heading,
        heading=heading,
        filters=filters,
        status_choices=statuses,
        due_choices=dues,
        search_max_chars=SEARCH_MAX_CHARS,
        export_href=export_href,
        total=total,
        open_count=sum(counts.get(s, 0) for s in OPEN_STATUSES),
        overdue=overdue,
        rows=rows,
        pages=pages,
        prev_href=_list_href(filters, filters.page - 1),
        next_href=_list_href(filters, filters.page + 1),
    )


@route
async def list_page(request: web.Request, view: View) -> web.StreamResponse:
    inbox = view.inbox
    now = inbox.clock()
    today = local_date(now)
    filters = parse_filters(request.query, view.t)
    view.self_query = filters.params(page=filters.page)
    async with inbox.session_factory() as session:
        signed = await signed_in(request, session, view)
        if signed is None:
            return not_signed_in(request, view)
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
                AuditAction.SEARCH,
                official=signed.official,
                via=VIA,
                at=now,
                details={"filters": filters.audit(), "results": total},
            )
            await session.commit()
    return _list_page(view, filters, petitions, names, counts, total, overdue, pages, now)


# --- one petition ------------------------------------------------------------------------------


def size_text(view: View, size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{view.number(size)} B"
    if size < 1024 * 1024:
        return f"{view.number(round(size / 1024, 1))} KB"
    return f"{view.number(round(size / 1024 / 1024, 1))} MB"


async def detail(
    request: web.Request,
    session: AsyncSession,
    view: View,
    petition: PetitionRecord,
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
    p = petition

    def actor(event: EventRecord) -> str:
        if event.actor == "citizen":
            return view.t.actor_citizen
        if event.official_id is not None:
            return name_of(view, names, event.official_id)
        return view.t.actor_system

    location = ""
    if p.latitude is not None and p.longitude is not None:
        location = f"{p.latitude:.6f}, {p.longitude:.6f}"
    return view.page(
        "petition.html",
        view.t.petition_heading.format(code=p.tracking_code),
        status=status,
        petition=p,
        flash=flash,
        error=error,
        drafts=drafts or {},
        location=location,
        current_deadline=deadline_of(view, p, now),
        attachments=attachments,
        events=events,
        official=lambda official_id: name_of(view, names, official_id),
        actor=actor,
        size=lambda size: size_text(view, size),
        allowed_actions=[a for a in ACTIONS if p.status in ALLOWED_FROM[a]],
        publish_preview=redact_personal_data(p.answer or "", names=public_names(p)),
        text_max_chars=TEXT_MAX_CHARS,
    )


def _done_text(t: tx.InboxTexts, action: str) -> str:
    return {
        "take": t.done_take,
        "info": t.done_info,
        "answer": t.done_answer,
        "refuse": t.done_refuse,
        "publish": t.done_publish,
    }.get(action, "")


@route
async def petition_page(request: web.Request, view: View) -> web.StreamResponse:
    inbox = view.inbox
    code = request.match_info["code"]
    async with inbox.session_factory() as session:
        signed = await signed_in(request, session, view)
        if signed is None:
            return not_signed_in(request, view)
        if not CODE_RE.fullmatch(code):
            return not_found(view)
        petition = await agency_petition(session, view, code)
        if petition is None:
            return not_found(view)
        flash = _done_text(view.t, request.query.get("done", ""))
        return await detail(request, session, view, petition, flash=flash)


async def agency_petition(
    session: AsyncSession, view: View, code: str, *, for_change: bool = False
) -> PetitionRecord | None:
    """The petition ``code`` of the signed-in official's agency (locked for a change with
    ``for_change``); None when there is none, and another agency's asked for is audited."""
    assert view.signed is not None
    queries = InboxRepository(session)
    load = queries.for_change if for_change else queries.of_agency
    petition = await load(view.signed.agency.id, code)
    if petition is None:
        await audit_denied(session, view, code)
    return petition


async def audit_denied(session: AsyncSession, view: View, code: str) -> None:
    """Another agency's petition asked for: recorded (the page says only "not found")."""
    assert view.signed is not None
    other = await InboxRepository(session).by_tracking_code(code)
    if other is None:
        return
    await AuditRepository(session).record(
        AuditAction.VIEW_DENIED,
        official=view.signed.official,
        petition_id=other.id,
        via=VIA,
        at=view.inbox.clock(),
        details={"agency_id": view.signed.agency.id},
    )
    await session.commit()
