"""Open311 GeoReport v2 at ``/open311/v2/``: other systems file petitions and follow them.

The civic-reporting API that FixMyStreet and many city systems speak
(https://wiki.open311.org/GeoReport_v2). JSON everywhere; ``.xml`` gives the same documents in
the spec's XML shape. Texts (service names, notices, error descriptions) are Vietnamese, or
English with ``?locale=en``.

- ``GET services.json``: the petition categories. One service per sector (lĩnh vực) of the
  catalog and per sector an agency answers for (``service_code`` a stable slug of the sector,
  ``group`` its ministry or agency), plus ``dich-vu-mot-cua`` (service at a public service
  centre) and ``quy-dinh-khac`` (any other regulation). Every service has one optional
  attribute, ``procedure_code``, hence ``metadata: true`` (the spec ties ``metadata`` to
  attributes); ``type`` is ``realtime``.
- ``GET services/{code}.json``: the service definition (its attributes).
- ``POST requests.json``: file a petition. Form-encoded as the spec says, or a JSON object.
  ``api_key`` (form field, query parameter or ``Authorization: Bearer``) of scope ``open311``
  (``python -m bot api-keys create AGENCY --scopes open311``): 401 without one, 403 when it is
  unknown, revoked or of another scope. Fields ``service_code``, ``description``,
  ``first_name`` + ``last_name`` (joined in that order, as clients split a full name; or a
  non-standard ``name``), ``email``, ``phone``, ``address_string`` (the sender's address),
  ``lat``/``long``, ``media_url``, ``attribute[procedure_code]``. The petition rules of
  ``knowledge.petitions`` apply (Vietnamese content, full name, address, a phone or an e-mail);
  complaints, denunciations and legal-advice requests are refused with a description of where
  they belong. An ``Idempotency-Key`` header makes a retry return the first answer (keyed with
  the API key; reused for another petition: 409). Answer: ``[{"service_request_id":
  "PAKN-2026-000123", "service_notice": ..., "account_id": null}]``.
- ``GET requests.json``: filters ``service_request_id`` (comma list; the other filters are then
  ignored), ``service_code``, ``start_date``/``end_date`` (ISO 8601; naive times are
  Asia/Ho_Chi_Minh, a bare end date includes its day), ``status`` (open, closed or both); by
  default the last 90 days; at most 1,000 requests, newest first.
- ``GET requests/{id}.json``: one petition by its tracking code (404 when unknown).

No personal data leaves through GET: ``description`` is the published (redacted) text, and
empty for a petition not yet published (no official has reviewed it); ``status_notes`` is the published answer or the (redacted)
refusal reason; the address is left out altogether (it is the sender's home address, and no
safe way to keep only the ward was found in free text); ``lat``/``long`` are rounded to two
decimals (about 1 km); ``media_url`` is the link the filing system itself gave.

Errors are JSON lists ``[{"code": 400, "description": "..."}]`` (XML ``<errors>`` for ``.xml``)
with 400/401/403/404/409/413/415/429. GET answers carry ``Access-Control-Allow-Origin: *``.
Rate limits per address (GET and POST apart) and per API key, like the dossier API.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox import OUTBOX_KEY
from bot.web.app import SETTINGS_KEY, RateLimiter
from handlers import publication_texts as texts
from handlers.formatting import format_date
from handlers.i18n import create_i18n
from knowledge.dossier import national_phone
from knowledge.normalize import clean_text, strip_diacritics
from knowledge.petition_workflow import CLOSED_STATUSES, OPEN_STATUSES, PetitionStatus, public_names
from knowledge.petitions import (
    classify_request,
    parse_tracking_code,
    redact_personal_data,
    validate_petition,
)
from knowledge.search import SearchIndex
from knowledge.workdays import VN_TZ, to_local
from storage.models import Petition
from storage.repositories.agencies import AgencyRepository
from storage.repositories.api_keys import ApiKeyInfo, ApiKeyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.petitions import AttachmentDraft, PetitionDraft, PetitionRepository
from storage.repositories.public_petitions import PublicPetitionRepository, RequestRow, TopicFilter

logger = logging.getLogger(__name__)

PREFIX = "/open311/v2"
SCOPE = "open311"
PUBLICATION_PATH = "/cong-khai"

CENTRE_CODE = "dich-vu-mot-cua"
OTHER_CODE = "quy-dinh-khac"
PROCEDURE_ATTRIBUTE = "procedure_code"

MAX_BODY_BYTES = 64 * 1024  # a 5,000-character description percent-encoded fits easily
MAX_FIELDS = 100
MAX_REQUEST_IDS = 100
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
MAX_IDEMPOTENCY_KEY = 100
MAX_MEDIA_URL = 512
MAX_PROCEDURE_CODE = 64
MAX_SLUG = 48
COORDINATE_DECIMALS = 2

LOCALES = ("vi", "en")

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_CORS = {"Access-Control-Allow-Origin": "*"}
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATES_RE = re.compile("[\ud800-\udfff]")
_IDEMPOTENCY_RE = re.compile(rf"[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY}}}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- services ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One Open311 service: a sector's petitions, or one of the two fixed services."""

    code: str
    kind: str  # topic_kind of its petitions: "procedure" (a sector), "service" or "other"
    sector: str | None = None  # the sector's name as shown
    spellings: tuple[str, ...] = ()  # every stored spelling of the sector (case, Nam/nam ...)
    group: str | None = None  # the ministry or agency; None: a localised generic group
    keywords: tuple[str, ...] = ()

    def name(self) -> str:
        if self.kind == "service":
            return texts.centre_service_name()
        if self.kind == "other":
            return texts.other_service_name()
        return self.sector or ""

    def description(self) -> str:
        if self.kind == "service":
            return texts.centre_service_description()
        if self.kind == "other":
            return texts.other_service_description()
        return texts.sector_service_description(self.sector or "")

    def group_name(self) -> str:
        if self.group:
            return self.group
        return texts.group_public_service() if self.kind == "service" else texts.group_other()


def _sector_key(sector: str) -> str:
    return clean_text(sector).casefold()


def slugify(text: str) -> str:
    """A short ASCII slug: "Đăng ký, quản lý cư trú" -> "dang-ky-quan-ly-cu-tru"."""
    ascii_text = strip_diacritics(clean_text(text)).replace("đ", "d").replace("Đ", "D").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] if "-" in slug[:MAX_SLUG] else slug[:MAX_SLUG]
    return slug or "linh-vuc"


@dataclass
class _SectorInfo:
    spellings: Counter[str]
    ministries: Counter[str]
    in_catalog: bool


def _catalog_sectors(index: SearchIndex | None) -> dict[str, _SectorInfo]:
    sectors: dict[str, _SectorInfo] = {}
    if index is None:
        return sectors
    for procedure in index.procedures:
        if not procedure.sector.strip():
            continue
        info = sectors.setdefault(
            _sector_key(procedure.sector), _SectorInfo(Counter(), Counter(), True)
        )
        info.spellings[clean_text(procedure.sector)] += 1
        if procedure.issuing_agency.strip():
            info.ministries[clean_text(procedure.issuing_agency)] += 1
    return sectors


class ServiceCatalog:
    """The services: the catalog's sectors (computed once) plus the agencies' own sectors (read
    per request, since agencies change while the process runs).

    A sector's code is the slug of its name; two sectors with the same slug (they differ only in
    diacritics) keep it for the catalog's one and the alphabetically first, the other gets a
    suffix from a hash of its name, so codes do not change between requests or restarts.
    """

    def __init__(self, index: SearchIndex | None) -> None:
        self.index = index
        self._catalog = _catalog_sectors(index)

    def build(self, agencies: Iterable[tuple[str, Sequence[str]]]) -> ServiceList:
        sectors = {
            key: _SectorInfo(Counter(info.spellings), info.ministries, True)
            for key, info in self._catalog.items()
        }
        agency_of: dict[str, str] = {}
        for agency_name, agency_sectors in agencies:
            for sector in agency_sectors:
                spelling = clean_text(sector)
                if not spelling:
                    continue
                key = _sector_key(spelling)
                info = sectors.setdefault(key, _SectorInfo(Counter(), Counter(), False))
                # an agency's spelling is known (petitions may carry it), the catalog's is shown
                info.spellings[spelling] += 0 if info.in_catalog else 1
                agency_of.setdefault(key, agency_name)
        taken = {CENTRE_CODE, OTHER_CODE}
        services: list[Service] = []
        ordered = sorted(sectors.items(), key=lambda kv: (not kv[1].in_catalog, kv[0]))
        for key, info in ordered:
            name = info.spellings.most_common(1)[0][0]
            code = slugify(name)
            if code in taken:
                code = f"{code[: MAX_SLUG - 5]}-{hashlib.sha1(key.encode()).hexdigest()[:4]}"
            taken.add(code)
            ministry = info.ministries.most_common(1)[0][0] if info.ministries else None
            services.append(
                Service(
                    code=code,
                    kind="procedure",
                    sector=name,
                    spellings=tuple(sorted(info.spellings)),
                    group=ministry or agency_of.get(key),
                    keywords=("phản ánh", "kiến nghị", name.lower()),
                )
            )
        services.sort(key=lambda s: (s.group or "", s.name()))
        fixed = [
            Service(
                code=CENTRE_CODE,
                kind="service",
                keywords=(
                    "một cửa",
                    "trung tâm phục vụ hành chính công",
                    "thái độ",
                    "thời gian chờ",
                ),
            ),
            Service(code=OTHER_CODE, kind="other", keywords=("phản ánh", "kiến nghị", "quy định")),
        ]
        return ServiceList(fixed + services)

    async def load(self, session: AsyncSession) -> ServiceList:
        agencies = await AgencyRepository(session).list()
        return self.build((a.name, a.sectors or []) for a in agencies)


class ServiceList:
    def __init__(self, services: list[Service]) -> None:
        self.services = services
        self._by_code = {s.code: s for s in services}
        self._by_spelling = {sp: s for s in services for sp in s.spellings}
        self._by_key = {_sector_key(sp): s for s in services for sp in s.spellings}
        self.all_spellings = tuple(sorted(self._by_spelling))

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def get(self, code: str) -> Service | None:
        return self._by_code.get(code)

    def for_sector(self, sector: str | None) -> Service | None:
        if not sector:
            return None
        return self._by_spelling.get(sector) or self._by_key.get(_sector_key(sector))

    def of_petition(self, petition: Petition) -> Service:
        """The service a stored petition belongs to (see :meth:`topic_filter`)."""
        if petition.topic_kind == "service":
            return self._by_code[CENTRE_CODE]
        if petition.sector and petition.sector in self._by_spelling:
            return self._by_spelling[petition.sector]
        return self._by_code[OTHER_CODE]

    def topic_filter(self, service: Service) -> TopicFilter:
        """The petitions of ``service``, exactly as :meth:`of_petition` assigns them."""
        if service.kind == "service":
            return TopicFilter(kinds=("service",))
        if service.kind == "other":
            return TopicFilter(exclude_kinds=("service",), exclude_sectors=self.all_spellings)
        return TopicFilter(exclude_kinds=("service",), sectors=service.spellings)


# --- rendering --------------------------------------------------------------------------------

_LIST_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
}


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID_RE.sub("", str(value))


def _xml_fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _xml_fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item_tag = _LIST_ITEMS.get(element.tag, "item")
        for child in value:
            _xml_fill(ET.SubElement(element, item_tag), child)
    elif value is not None:
        element.text = _xml_text(value)


def to_xml(root: str, payload: Any) -> bytes:
    """The spec's XML: a list becomes ``<root><item>...</item></root>`` (``services`` ->
    ``service``, ``service_requests`` -> ``request``, ``errors`` -> ``error``)."""
    element = ET.Element(root)
    _xml_fill(element, payload)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _respond(
    request: web.Request, root: str, payload: Any, status: int = 200, **headers: str
) -> web.Response:
    if request.match_info.get("fmt") == "xml":
        response = web.Response(
            body=to_xml(root, payload), status=status, content_type="text/xml", charset="utf-8"
        )
    else:
        response = web.json_response(
            payload, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )
    response.headers.update(_HEADERS)
    response.headers.update(headers)
    return response


class Open311Error(Exception):
    """An error answer: the HTTP status and the spec's list of ``{code, description}``."""

    def __init__(self, status: int, *descriptions: str, headers: Mapping[str, str] | None = None):
        super().__init__(descriptions[0] if descriptions else str(status))
        self.status = status
        self.descriptions = descriptions
        self.headers = dict(headers or {})


def _error_response(request: web.Request, error: Open311Error) -> web.Response:
    body = [{"code": error.status, "description": d} for d in error.descriptions]
    return _respond(request, "errors", body, error.status, **error.headers)


# --- configuration ----------------------------------------------------------------------------


@dataclass
class _Limits:
    get_per_address: RateLimiter
    post_per_address: RateLimiter
    per_key: RateLimiter


@dataclass
class _Config:
    session_factory: async_sessionmaker[AsyncSession]
    catalog: ServiceCatalog
    i18n: I18n
    limits: _Limits


CONFIG_KEY = web.AppKey("open311_config", _Config)


def _config(request: web.Request) -> _Config:
    return request.config_dict[CONFIG_KEY]


def _locale(request: web.Request) -> str:
    wanted = request.query.get("locale", "").strip().lower()[:8]
    return "en" if wanted.startswith("en") else "vi"


def _page_url(request: web.Request, code: str | None = None) -> str:
    settings = request.config_dict.get(SETTINGS_KEY)
    if settings is not None:
        base = settings.base_url.rstrip("/")
    else:
        base = f"{request.scheme}://{request.host}"
    return base + PUBLICATION_PATH + (f"/{code}" if code else "")


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Locale, CORS for reading, and every failure as the spec's JSON error list."""
    config = _config(request)
    with config.i18n.context(), config.i18n.use_locale(_locale(request)):
        if request.method == "OPTIONS":
            response: web.StreamResponse = web.Response(status=204)
            response.headers.update(
                {
                    **_CORS,
                    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
                    "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "86400",
                }
            )
            return response
        try:
            response = await handler(request)
        except Open311Error as error:
            response = _error_response(request, error)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            response = _error_response(request, Open311Error(error.status, texts.error_not_found()))
        except Exception:  # the API's boundary: a bug answers 500, never a dropped connection
            logger.exception("Open311 %s %s failed", request.method, request.path)
            response = _error_response(request, Open311Error(500, texts.error_internal()))
        if request.method in ("GET", "HEAD"):
            response.headers.update(_CORS)
        return response


def _check_rate(limiter: RateLimiter, client: str) -> None:
    if not limiter.allow(client):
        raise Open311Error(429, texts.error_too_many_requests(), headers={"Retry-After": "1"})


# --- GET services -----------------------------------------------------------------------------


def _service_json(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name(),
        "description": service.description(),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(service.keywords),
        "group": service.group_name(),
    }


def _definition_json(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "attributes": [
            {
                "variable": True,
                "code": PROCEDURE_ATTRIBUTE,
                "datatype": "string",
                "required": False,
                "datatype_description": texts.procedure_attribute_datatype(),
                "order": 1,
                "description": texts.procedure_attribute_description(),
            }
        ],
    }


async def _services(request: web.Request) -> ServiceList:
    config = _config(request)
    async with config.session_factory() as session:
        return await config.catalog.load(session)


async def get_services(request: web.Request) -> web.StreamResponse:
    _check_rate(_config(request).limits.get_per_address, _client(request))
    services = await _services(request)
    return _respond(request, "services", [_service_json(s) for s in services])


async def get_service(request: web.Request) -> web.StreamResponse:
    _check_rate(_config(request).limits.get_per_address, _client(request))
    code = request.match_info["code"]
    service = (await _services(request)).get(code)
    if service is None:
        raise Open311Error(404, texts.error_service_unknown(code[:64]))
    return _respond(request, "service_definition", _definition_json(service))


# --- GET requests -----------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return to_local(moment).replace(microsecond=0).isoformat()


def _end_of_day(day: Any) -> str:
    return datetime.combine(day, time(23, 59, 59), tzinfo=VN_TZ).isoformat()


def _coordinate(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, COORDINATE_DECIMALS)


def _personal_strings(petition: Petition) -> list[str]:
    return public_names(petition)


def _public_description(petition: Petition) -> str | None:
    """Only a published petition's text leaves through GET: that copy was redacted when an
    official published it. An unpublished one has not been reviewed by anyone, and pattern
    redaction alone misses what it cannot recognise (a lone first name, a neighbour's name, an
    address without a marker), so its description stays empty until it is published."""
    if petition.status == PetitionStatus.PUBLISHED and petition.public_content is not None:
        return petition.public_content
    return None


def _status_notes(petition: Petition) -> str | None:
    if petition.status == PetitionStatus.PUBLISHED and petition.public_answer is not None:
        return petition.public_answer
    if petition.status == PetitionStatus.REFUSED and petition.refusal_reason:
        return texts.refusal_note(
            redact_personal_data(petition.refusal_reason, names=_personal_strings(petition))
        )
    return texts.status_note(petition.status)


def _request_json(request: web.Request, row: RequestRow, services: ServiceList) -> dict[str, Any]:
    petition = row.petition
    service = services.of_petition(petition)
    is_open = petition.status in OPEN_STATUSES
    if petition.status == PetitionStatus.PUBLISHED:
        notice: str | None = texts.published_notice(_page_url(request, petition.tracking_code))
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


def _parse_moment(field: str, value: str, *, end: bool) -> datetime:
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


def _statuses(value: str | None) -> tuple[str, ...] | None:
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


def _request_ids(value: str) -> list[tuple[int, int]]:
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


async def get_requests(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    _check_rate(config.limits.get_per_address, _client(request))
    query = request.query
    async with config.session_factory() as session:
        services = await config.catalog.load(session)
        ids = query.get("service_request_id")
        if ids is not None and ids.strip():
            rows = await PublicPetitionRepository(session).find_requests(codes=_request_ids(ids), limit=MAX_RESULTS)
        else:
            topic = None
            code = query.get("service_code", "").strip()
            if code:
                service = services.get(code)
                if service is None:
                    raise Open311Error(400, texts.error_service_unknown(code[:64]))
                topic = services.topic_filter(service)
            start = query.get("start_date")
            end = query.get("end_date")
            received_from = _parse_moment("start_date", start, end=False) if start else None
            received_to = _parse_moment("end_date", end, end=True) if end else None
            if received_from and received_to and received_to <= received_from:
                raise Open311Error(400, texts.error_date_order())
            if received_from is None:
                anchor = received_to or datetime.now(UTC)
                received_from = anchor - timedelta(days=DEFAULT_DAYS)
            rows = await PublicPetitionRepository(session).find_requests(
                topic=topic,
                received_from=received_from,
                received_to=received_to,
                statuses=_statuses(query.get("status")),
                limit=MAX_RESULTS,
            )
    # about 1 ms a request uncached: off the event loop, so that chats go on meanwhile (the
    # thread gets the i18n context: to_thread copies context variables)
    body = await asyncio.to_thread(lambda: [_request_json(request, row, services) for row in rows])
    return _respond(request, "service_requests", body)


async def get_request(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    _check_rate(config.limits.get_per_address, _client(request))
    raw = request.match_info["id"]
    parsed = parse_tracking_code(raw) if len(raw) <= 32 else None
    if parsed is None:
        raise Open311Error(404, texts.error_request_not_found(raw[:40]))
    async with config.session_factory() as session:
        services = await config.catalog.load(session)
        rows = await PublicPetitionRepository(session).find_requests(codes=[parsed], limit=1)
        if not rows:
            raise Open311Error(404, texts.error_request_not_found(raw[:40]))
        body = [_request_json(request, rows[0], services)]
    return _respond(request, "service_requests", body)


# --- POST requests ----------------------------------------------------------------------------


async def _read_body(request: web.Request) -> bytes:
    too_large = Open311Error(413, texts.error_body_too_large(MAX_BODY_BYTES))
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(body)):
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


_TEXT_FIELDS = (
    "api_key", "service_code", "description", "first_name", "last_name", "name", "email",
    "phone", "address_string", "media_url", "lat", "long", "jurisdiction_id", "device_id",
    "account_id", "address_id",
)  # fmt: skip
_ATTRIBUTE_FIELD = f"attribute[{PROCEDURE_ATTRIBUTE}]"


def _parse_fields(request: web.Request, body: bytes) -> dict[str, str]:
    """The submitted fields as text (form-encoded or JSON; first value of a repeated field)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Open311Error(400, texts.error_bad_body()) from exc
    fields: dict[str, str] = {}
    if request.content_type == "application/json":
        try:
            payload = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise Open311Error(400, texts.error_bad_body()) from exc
        if not isinstance(payload, dict):
            raise Open311Error(400, texts.error_bad_body())
        attributes = payload.get("attribute")
        if isinstance(attributes, dict) and PROCEDURE_ATTRIBUTE in attributes:
            payload = {**payload, _ATTRIBUTE_FIELD: attributes[PROCEDURE_ATTRIBUTE]}
        for name in (*_TEXT_FIELDS, _ATTRIBUTE_FIELD):
            value = payload.get(name)
            if value is None:
                continue
            if (
                name in ("lat", "long")
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            ):
                value = repr(float(value))
            if not isinstance(value, str):
                raise Open311Error(400, texts.error_field_type(name))
            fields[name] = value
    else:
        try:
            pairs = parse_qsl(
                text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise Open311Error(400, texts.error_bad_body()) from exc
        for name, value in pairs:
            fields.setdefault(name, value)
    # lone surrogates (JSON "\ud800") cannot be stored: drop them with the other invisibles
    return {k: _SURROGATES_RE.sub("", v) for k, v in fields.items()}


def _api_key(request: web.Request, fields: Mapping[str, str]) -> str:
    key = fields.get("api_key") or request.query.get("api_key", "")
    if not key.strip():
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            key = token
    key = key.strip()
    if not key:
        raise Open311Error(401, texts.error_api_key_missing())
    return key


def _idempotency_key(request: web.Request, key: ApiKeyInfo) -> str | None:
    header = request.headers.get("Idempotency-Key")
    if header is None:
        return None
    header = header.strip()
    if not _IDEMPOTENCY_RE.fullmatch(header):
        raise Open311Error(400, texts.error_idempotency_key())
    return f"open311:{key.id}:{header}"


def _multiline(text: str) -> str:
    """Cleaned like ``clean_text`` line by line, keeping the paragraphs."""
    lines = [clean_text(line) for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _location(fields: Mapping[str, str]) -> tuple[float | None, float | None]:
    lat_text, long_text = fields.get("lat", "").strip(), fields.get("long", "").strip()
    if not lat_text and not long_text:
        return None, None
    try:
        lat, lon = float(lat_text), float(long_text)
    except ValueError as exc:
        raise Open311Error(400, texts.error_location()) from exc
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise Open311Error(400, texts.error_location())
    return lat, lon


def _media(fields: Mapping[str, str]) -> AttachmentDraft | None:
    url = clean_text(fields.get("media_url", ""))
    if not url:
        return None
    if (
        len(url) > MAX_MEDIA_URL
        or not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", url, re.IGNORECASE)
        or not url.isascii()
    ):
        raise Open311Error(400, texts.error_media_url())
    return AttachmentDraft(kind="url", file_id=url)


def _national_code(code: str) -> str:
    """A procedure code without its province suffix: 1.012753.H19 -> 1.012753."""
    parts = code.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 and parts[0].isdigit() else code


def _draft(
    fields: Mapping[str, str], services: ServiceList, index: SearchIndex | None, locale: str
) -> PetitionDraft:
    """The petition the fields describe, or an Open311Error listing every problem."""
    code = fields.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, texts.error_service_code_missing())
    service = services.get(code)
    if service is None:
        raise Open311Error(400, texts.error_service_unknown(code[:64]))
    content = _multiline(fields.get("description", ""))
    name = clean_text(fields.get("name", "")) or clean_text(
        f"{fields.get('first_name', '')} {fields.get('last_name', '')}"
    )
    phone = clean_text(fields.get("phone", "")) or None
    email = clean_text(fields.get("email", "")) or None
    address = clean_text(fields.get("address_string", ""))
    problems = [
        texts.problem_description(problem)
        for problem in validate_petition(content, name, phone, address, email)
    ]
    try:
        latitude, longitude = _location(fields)
    except Open311Error as error:
        problems += error.descriptions
        latitude = longitude = None
    try:
        media = _media(fields)
    except Open311Error as error:
        problems += error.descriptions
        media = None
    procedure_code = clean_text(fields.get(_ATTRIBUTE_FIELD, "")) or None
    procedure = None
    if procedure_code is not None:
        if len(procedure_code) > MAX_PROCEDURE_CODE:
            problems.append(texts.error_procedure_unknown(procedure_code[:MAX_PROCEDURE_CODE]))
        elif index is not None:
            procedure = index.get(procedure_code) or index.get(_national_code(procedure_code))
            if procedure is None:
                problems.append(texts.error_procedure_unknown(procedure_code))
            elif service.kind == "procedure":
                own = services.for_sector(procedure.sector)
                if own is not None and own.code != service.code:
                    problems.append(
                        texts.error_procedure_sector(procedure.code, procedure.sector, own.code)
                    )
    if problems:
        raise Open311Error(400, *problems)
    kind = classify_request(content)
    if kind.out_of_scope:
        raise Open311Error(400, texts.out_of_scope_description(kind.kind, kind.matched))
    if procedure is not None:
        procedure_code = procedure.code
    if service.kind == "procedure":
        topic = procedure.name if procedure is not None else service.sector or ""
        sector = service.sector
    else:
        with _vietnamese():
            topic = service.name()
        sector = procedure.sector if procedure is not None and service.kind == "service" else None
    return PetitionDraft(
        topic_kind=service.kind,
        topic=topic,
        content=content,
        sender_name=name,
        address=address,
        phone=("0" + national_phone(phone)) if phone else None,
        email=email,
        procedure_code=procedure_code,
        sector=sector,
        source="open311",
        language=locale,
        latitude=latitude,
        longitude=longitude,
        attachments=(media,) if media is not None else (),
    )


@contextlib.contextmanager
def _vietnamese() -> Iterator[None]:
    """Stored topics are Vietnamese whatever the caller's locale (officials read them)."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        yield
        return
    with i18n.use_locale("vi"):
        yield


def _same_petition(stored: Petition, draft: PetitionDraft) -> bool:
    return (
        stored.content == draft.content
        and stored.sender_name == draft.sender_name
        and stored.source == "open311"
    )


async def post_request(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    _check_rate(config.limits.post_per_address, _client(request))
    if request.content_type not in ("application/x-www-form-urlencoded", "application/json"):
        raise Open311Error(415, texts.error_media_type())
    fields = _parse_fields(request, await _read_body(request))
    plaintext = _api_key(request, fields)
    async with config.session_factory() as session:
        key = await ApiKeyRepository(session).authenticate(plaintext, SCOPE)
        if key is None:
            raise Open311Error(403, texts.error_api_key_invalid())
        await session.commit()  # last_used_at, whatever happens next
        _check_rate(config.limits.per_key, str(key.id))
        idempotency_key = _idempotency_key(request, key)
        services = await config.catalog.load(session)
        draft = _draft(fields, services, config.catalog.index, _locale(request))
        result = await PetitionRepository(session).submit(draft, idempotency_key=idempotency_key)
        petition = result.petition
        if not result.created:
            if not _same_petition(petition, draft):
                raise Open311Error(409, texts.error_idempotency_conflict())
        else:
            await AuditRepository(session).record(
                "submit",
                actor=f"api:{key.prefix}"[:64],
                petition_id=petition.id,
                via="api",
                details={"api_key_id": key.id, "agency": key.agency[:255]},
            )
        code = petition.tracking_code
        notice = texts.submitted_notice(format_date(petition.answer_by), _page_url(request))
        await session.commit()
    if result.created:
        worker = request.config_dict.get(OUTBOX_KEY)
        if worker is not None:
            worker.wake()  # the officials' notifications are committed: send them now
        logger.info("Open311 petition %s filed with key %s", code, key.prefix)
    return _respond(
        request,
        "service_requests",
        [{"service_request_id": code, "service_notice": notice, "account_id": None}],
    )


async def not_found(request: web.Request) -> web.StreamResponse:
    raise Open311Error(404, texts.error_not_found())


def setup_open311(
    app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex | None = None,
    *,
    i18n: I18n | None = None,
    get_per_address: RateLimiter | None = None,
    post_per_address: RateLimiter | None = None,
    per_key: RateLimiter | None = None,
) -> web.Application:
    """Mount the API on ``app`` under ``/open311/v2/``; returns the sub-application.

    ``index`` gives the catalog's sectors (services) and checks procedure codes; without it the
    services are the agencies' sectors and the two fixed ones, and procedure codes are taken as
    given. Default limits: GET 120 at once then 20/s per address; POST 20 then 1/s per address;
    60 then 5/s per API key."""
    api = web.Application(middlewares=[_middleware])
    api[CONFIG_KEY] = _Config(
        session_factory=session_factory,
        catalog=ServiceCatalog(index),
        i18n=i18n or create_i18n(),
        limits=_Limits(
            get_per_address or RateLimiter(burst=120, per_second=20),
            post_per_address or RateLimiter(burst=20, per_second=1),
            per_key or RateLimiter(burst=60, per_second=5),
        ),
    )
    fmt = "{fmt:json|xml}"
    api.router.add_get(f"/services.{fmt}", get_services)
    api.router.add_get(f"/services/{{code}}.{fmt}", get_service)
    api.router.add_get(f"/requests.{fmt}", get_requests)
    api.router.add_post(f"/requests.{fmt}", post_request)
    api.router.add_get(f"/requests/{{id}}.{fmt}", get_request)
    api.router.add_route("*", "/{tail:.*}", not_found)  # OPTIONS: answered by the middleware
    app.add_subapp(PREFIX, api)
    return api
