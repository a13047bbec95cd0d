"""The Open311 sub-application: its middleware (locale, CORS, errors), rate limits and the
handlers of the five routes under ``/open311/v2/``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.outbox import OUTBOX_KEY
from bot.web.plumbing import BodyTooLarge, RateLimiter, client_key, read_body
from handlers.formatting import format_date
from handlers.i18n import create_i18n
from handlers.petitions import publication_texts as texts
from knowledge.petition_workflow import AuditAction
from knowledge.petitions import parse_tracking_code
from knowledge.search import SearchIndex
from storage.repositories.api_keys import ApiKeyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.petitions import PetitionRepository
from storage.repositories.public_petitions import PublicPetitionRepository

from .filing import api_key_of, draft_of, idempotency_key_of, parse_fields, same_petition
from .public_view import page_url, parse_moment, request_ids, request_json, statuses_of
from .responses import Open311Error, error_response, respond
from .services import ServiceCatalog, ServiceList, definition_json, service_json

logger = logging.getLogger(__name__)


PREFIX = "/open311/v2"


SCOPE = "open311"


MAX_BODY_BYTES = 64 * 1024  # a 5,000-character description percent-encoded fits easily


MAX_RESULTS = 1000


DEFAULT_DAYS = 90


_CORS = {"Access-Control-Allow-Origin": "*"}


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
            response = error_response(request, error)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            response = error_response(request, Open311Error(error.status, texts.error_not_found()))
        except Exception:  # the API's boundary: a bug answers 500, never a dropped connection
            logger.exception("Open311 %s %s failed", request.method, request.path)
            response = error_response(request, Open311Error(500, texts.error_internal()))
        if request.method in ("GET", "HEAD"):
            response.headers.update(_CORS)
        return response


def _check_rate(limiter: RateLimiter, client: str) -> None:
    if not limiter.allow(client):
        raise Open311Error(429, texts.error_too_many_requests(), headers={"Retry-After": "1"})


async def _services(request: web.Request) -> ServiceList:
    config = _config(request)
    async with config.session_factory() as session:
        return await config.catalog.load(session)


async def get_services(request: web.Request) -> web.StreamResponse:
    _check_rate(_config(request).limits.get_per_address, client_key(request))
    services = await _services(request)
    return respond(request, "services", [service_json(s) for s in services])


async def get_service(request: web.Request) -> web.StreamResponse:
    _check_rate(_config(request).limits.get_per_address, client_key(request))
    code = request.match_info["code"]
    service = (await _services(request)).get(code)
    if service is None:
        raise Open311Error(404, texts.error_service_unknown(code[:64]))
    return respond(request, "service_definition", definition_json(service))


async def get_requests(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    _check_rate(config.limits.get_per_address, client_key(request))
    query = request.query
    async with config.session_factory() as session:
        services = await config.catalog.load(session)
        published = PublicPetitionRepository(session)
        ids = query.get("service_request_id")
        if ids is not None and ids.strip():
            rows = await published.find_requests(codes=request_ids(ids), limit=MAX_RESULTS)
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
            received_from = parse_moment("start_date", start, end=False) if start else None
            received_to = parse_moment("end_date", end, end=True) if end else None
            if received_from and received_to and received_to <= received_from:
                raise Open311Error(400, texts.error_date_order())
            if received_from is None:
                anchor = received_to or datetime.now(UTC)
                received_from = anchor - timedelta(days=DEFAULT_DAYS)
            rows = await published.find_requests(
                topic=topic,
                received_from=received_from,
                received_to=received_to,
                statuses=statuses_of(query.get("status")),
                limit=MAX_RESULTS,
            )
    # about 1 ms a request uncached: off the event loop, so that chats go on meanwhile (the
    # thread gets the i18n context: to_thread copies context variables)
    body = await asyncio.to_thread(lambda: [request_json(request, row, services) for row in rows])
    return respond(request, "service_requests", body)


async def get_request(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    _check_rate(config.limits.get_per_address, client_key(request))
    raw = request.match_info["id"]
    parsed = parse_tracking_code(raw) if len(raw) <= 32 else None
    if parsed is None:
        raise Open311Error(404, texts.error_request_not_found(raw[:40]))
    async with config.session_factory() as session:
        services = await config.catalog.load(session)
        rows = await PublicPetitionRepository(session).find_requests(codes=[parsed], limit=1)
        if not rows:
            raise Open311Error(404, texts.error_request_not_found(raw[:40]))
        body = [request_json(request, rows[0], services)]
    return respond(request, "service_requests", body)


async def _read_body(request: web.Request) -> bytes:
    try:
        return await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        raise Open311Error(413, texts.error_body_too_large(MAX_BODY_BYTES)) from None


async def post_request(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    _check_rate(config.limits.post_per_address, client_key(request))
    if request.content_type not in ("application/x-www-form-urlencoded", "application/json"):
        raise Open311Error(415, texts.error_media_type())
    fields = parse_fields(request, await _read_body(request))
    plaintext = api_key_of(request, fields)
    async with config.session_factory() as session:
        key = await ApiKeyRepository(session).authenticate(plaintext, SCOPE)
        if key is None:
            raise Open311Error(403, texts.error_api_key_invalid())
        await session.commit()  # last_used_at, whatever happens next
        _check_rate(config.limits.per_key, str(key.id))
        idempotency_key = idempotency_key_of(request, key)
        services = await config.catalog.load(session)
        draft = draft_of(fields, services, config.catalog.index, _locale(request))
        result = await PetitionRepository(session).submit(draft, idempotency_key=idempotency_key)
        petition = result.petition
        if not result.created:
            if not same_petition(petition, draft):
                raise Open311Error(409, texts.error_idempotency_conflict())
        else:
            await AuditRepository(session).record(
                AuditAction.SUBMIT,
                actor=f"api:{key.prefix}"[:64],
                petition_id=petition.id,
                via="api",
                details={"api_key_id": key.id, "agency": key.agency[:255]},
            )
        code = petition.tracking_code
        notice = texts.submitted_notice(format_date(petition.answer_by), page_url(request))
        await session.commit()
    if result.created:
        worker = request.config_dict.get(OUTBOX_KEY)
        if worker is not None:
            worker.wake()  # the officials' notifications are committed: send them now
        logger.info("Open311 petition %s filed with key %s", code, key.prefix)
    return respond(
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
