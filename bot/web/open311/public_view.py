"""What ``GET requests`` shows of a petition: no personal data (the published, redacted texts
only; coordinates rounded; no address), and the query filters it understands."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiohttp import web

from bot.web.plumbing import SETTINGS_KEY
from handlers.formatting import format_date
from handlers.petitions import publication_texts as texts
from knowledge.petition_workflow import CLOSED_STATUSES, OPEN_STATUSES, PetitionStatus, public_names
from knowledge.petitions import parse_tracking_code, redact_personal_data
from knowledge.workdays import VN_TZ, to_local
from storage.records import PetitionRecord
from storage.repositories.public_petitions import RequestRow

from .responses import Open311Error
from .services import ServiceList

PUBLICATION_PATH = "/cong-khai"


MAX_REQUEST_IDS = 100


COORDINATE_DECIMALS = 2


def page_url(request: web.Request, code: str | None = None) -> str:
    settings = request.config_dict.get(SETTINGS_KEY)
    if settings is not None:
        base = settings.base_url.rstrip("/")
    else:
        base = f"{request.scheme}://{request.host}"
    return base + PUBLICATION_PATH + (f"/{code}" if code else "")


def _iso(moment: datetime) -> str:
    return to_local(moment).replace(microsecond=0).isoformat()


def _end_of_day(day: Any) -> str:
    return datetime.combine(day, time(23, 59, 59), tzinfo=VN_TZ).isoformat()


def _coordinate(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, COORDINATE_DECIMALS)


def _personal_strings(petition: PetitionRecord) -> list[str]:
    return public_names(petition)


def _public_description(petition: PetitionRecord) -> str | None:
    """Only a published petition's text leaves through GET: that copy was redacted when an
    official published it. An unpublished one has not been reviewed by anyone, and pattern
    redaction alone misses what it cannot recognise (a lone first name, a neighbour's name, an
    address without a marker), so its description stays empty until it is published."""
    if petition.status == PetitionStatus.PUBLISHED and petition.public_content is not None:
        return petition.public_content
    return None


def _status_notes(petition: PetitionRecord) -> str | None:
    if petition.status == PetitionStatus.PUBLISHED and petition.public_answer is not None:
        return petition.public_answer
    if petition.status == PetitionStatus.REFUSED and petition.refusal_reason:
        return texts.refusal_note(
            redact_personal_data(petition.refusal_reason, names=_personal_strings(petition))
        )
    return texts.status_note(petition.status)


def request_json(request: web.Request, row: RequestRow, services: ServiceList) -> dict[str, Any]:
    petition = row.petition
    service = services.of_petition(petition)
    is_open = petition.status in OPEN_STATUSES
    if petition.status == PetitionStatus.PUBLISHED:
        notice: str | None = texts.published_notice(page_url(request, petition.tracking_code))
    elif is_open:
        notice = texts.open_notice(format_date(petition.answer_by))
    else:
        notice = None
    return {
        "service_request_id": petition.tracking_code,
        "status": "open" if is_open else "closed",
        "status_notes": _status_notes(petition),
        "service_name": service.name(),
        "service_code": service.code,
        "description": _public_description(petition),
        "agency_responsible": row.agency_name,
        "service_notice": notice,
        "requested_datetime": _iso(petition.received_at),
        "updated_datetime": _iso(petition.updated_at),
        "expected_datetime": _end_of_day(petition.answer_by),
        "lat": _coordinate(petition.latitude),
        "long": _coordinate(petition.longitude),
        "media_url": row.media_url,
    }


def parse_moment(field: str, value: str, *, end: bool) -> datetime:
    """An ISO 8601 date or date-time; naive ones are local time; a bare end date includes its
    whole day (the result is then the next midnight, used as an exclusive bound)."""
    text = value.strip()
    if not text or len(text) > 40:
        raise Open311Error(400, texts.error_date(field))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Open311Error(400, texts.error_date(field)) from exc
    date_only = "T" not in text.upper() and " " not in text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VN_TZ)
    if end:
        moment += timedelta(days=1) if date_only else timedelta(microseconds=1)
    return moment.astimezone(UTC)


def statuses_of(value: str | None) -> tuple[str, ...] | None:
    if value is None or not value.strip():
        return None
    wanted = {v.strip().lower() for v in value.split(",") if v.strip()}
    if not wanted or not wanted <= {"open", "closed"}:
        raise Open311Error(400, texts.error_status())
    statuses: tuple[str, ...] = ()
    if "open" in wanted:
        statuses += OPEN_STATUSES
    if "closed" in wanted:
        statuses += CLOSED_STATUSES
    return statuses


def request_ids(value: str) -> list[tuple[int, int]]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if len(parts) > MAX_REQUEST_IDS:
        raise Open311Error(400, texts.error_too_many_ids(MAX_REQUEST_IDS))
    codes = []
    for part in parts:
        parsed = parse_tracking_code(part) if len(part) <= 32 else None
        if parsed is None:
            raise Open311Error(400, texts.error_request_id(part[:40]))
        codes.append(parsed)
    return codes
