"""The ingest API: one-door systems push dossiers to ``POST /api/v1/dossiers``.

Contract (JSON in and out, ``Cache-Control: no-store``):

- ``Authorization: Bearer vnd_...`` -- a key of one agency with scope ``dossiers``
  (``python -m bot api-keys create AGENCY``). Missing, unknown, revoked or out-of-scope key:
  ``401 {"error": "unauthorized", "detail": ...}`` with ``WWW-Authenticate: Bearer``.
- ``Content-Type: application/json``, else ``415``. Body at most ``MAX_BODY_BYTES`` (8 MiB),
  else ``413 {"error": "payload_too_large"}``.
- Body: a JSON list of at most ``MAX_ITEMS`` (5,000) dossier objects with the same fields as a
  file import (``receipt_code``, ``status``, ``received_at``... or the iGate names); otherwise
  ``400 {"error": "invalid_json"}`` / ``413 {"error": "too_many_items"}``. An item may omit
  ``agency``: it is the key's agency.
- All or nothing: if any item is invalid -- including an item naming another agency than the
  key's -- the answer is ``400 {"error": "invalid_items", "items": [{"index": i, "errors":
  [...]}]}`` and nothing is written.
- ``403 {"error": "forbidden_items", "items": [{"index": i, "errors": [...]}]}`` when an item's
  receipt code is already stored for another agency; nothing is written.
- Otherwise the items are upserted in one transaction (a later status adds to the history,
  re-sending changes nothing) and the answer is ``200 {"inserted": n, "updated": n,
  "unchanged": n, "events_added": n, "warnings": [{"index": i, "message": ...}]}``. A warning
  names an item stored although its receipt code, as written, cannot be found by a citizen typing
  it into the chat (``knowledge.dossier_records.chat_findable``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.outbox import OUTBOX_KEY
from bot.web.plumbing import (
    BodyTooLarge,
    RateLimiter,
    client_key,
    json_error,
    json_response,
    read_body,
)
from knowledge.dossier_records import (
    DossierRecord,
    RecordError,
    agency_key,
    chat_findable,
    parse_record,
)
from storage.repositories.api_keys import ApiKeyInfo, ApiKeyRepository
from storage.repositories.dossiers import DossierRepository, ForeignDossierError, IngestResult

logger = logging.getLogger(__name__)

ROUTE = "/api/v1/dossiers"
SCOPE = "dossiers"
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_ITEMS = 5_000
MAX_ERRORS_PER_ITEM = 20

SESSION_FACTORY_KEY = web.AppKey("dossier_api_sessions", async_sessionmaker[AsyncSession])


class _Limits:
    """Request rate limits: per calling address (before the key is checked, so guessing keys or
    flooding the key lookup is slow) and per API key (one agency cannot starve the others)."""

    def __init__(self, per_address: RateLimiter, per_key: RateLimiter) -> None:
        self.per_address = per_address
        self.per_key = per_key


LIMITS_KEY = web.AppKey("dossier_api_limits", _Limits)

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _json(payload: dict[str, Any], status: int = 200) -> web.Response:
    return json_response(payload, status=status, headers=_HEADERS)


def _error(status: int, code: str, detail: str, **headers: str) -> web.Response:
    return json_error(status, code, detail, headers={**_HEADERS, **headers})


def _unauthorized(detail: str, token_given: bool) -> web.Response:
    challenge = 'Bearer realm="dossiers"'
    if token_given:
        challenge += ', error="invalid_token"'
    return _error(401, "unauthorized", detail, **{"WWW-Authenticate": challenge})


async def _authenticate(request: web.Request) -> ApiKeyInfo | web.Response:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("send 'Authorization: Bearer <API key>'", token_given=False)
    async with request.app[SESSION_FACTORY_KEY]() as session:
        info = await ApiKeyRepository(session).authenticate(token.strip(), SCOPE)
        await session.commit()  # last_used_at
    if info is None:
        return _unauthorized("the API key is unknown, revoked or not for dossiers", True)
    return info


async def _read_body(request: web.Request) -> bytes | web.Response:
    try:
        return await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        return _error(
            413,
            "payload_too_large",
            f"the body exceeds {MAX_BODY_BYTES} bytes; send smaller batches",
        )


UNFINDABLE_MESSAGE = (
    "stored, but this receipt code cannot be typed into the chat as it is: citizens will not "
    "find the dossier by it"
)


def _warnings(records: list[DossierRecord]) -> list[dict[str, Any]]:
    """The ``{"index", "message"}`` of the records whose code the chat cannot find (the items
    are all valid here, so a record's index is its item's)."""
    return [
        {"index": index, "message": UNFINDABLE_MESSAGE}
        for index, record in enumerate(records)
        if not chat_findable(record.receipt_code)
    ]


def _validate(
    items: list[Any], key: ApiKeyInfo
) -> tuple[list[DossierRecord], list[dict[str, Any]]]:
    """Records of the items, and the ``{"index", "errors"}`` of the invalid ones."""
    own = agency_key(key.agency)
    records: list[DossierRecord] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append({"index": index, "errors": ["item must be a JSON object"]})
            continue
        try:
            record = parse_record(item, default_agency=key.agency)
        except RecordError as error:
            problems.append({"index": index, "errors": error.reasons[:MAX_ERRORS_PER_ITEM]})
            continue
        if agency_key(record.agency) != own:
            problems.append(
                {
                    "index": index,
                    "errors": [
                        f"agency {record.agency[:80]!r} is not this API key's agency "
                        f"({key.agency!r}); omit agency or use that agency's key"
                    ],
                }
            )
            continue
        records.append(record)
    return records, problems


async def _upsert(
    request: web.Request, records: list[DossierRecord], key: ApiKeyInfo
) -> IngestResult:
    factory = request.app[SESSION_FACTORY_KEY]
    for attempt in (1, 2):
        try:
            async with factory() as session:
                result = await DossierRepository(session).upsert_many(
                    records, f"api:{key.agency}"[:255], agency=key.agency
                )
                await session.commit()
                return result
        except IntegrityError:
            # A concurrent request inserted one of these codes first: the second pass sees it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _too_many(detail: str) -> web.Response:
    return _error(429, "too_many_requests", detail, **{"Retry-After": "1"})


async def _read_items(request: web.Request) -> list[Any] | web.Response:
    """The posted JSON list of dossier objects, or the answer refusing the body."""
    if request.content_type != "application/json":
        return _error(415, "unsupported_media_type", "send Content-Type: application/json")
    body = await _read_body(request)
    if isinstance(body, web.Response):
        return body
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return _error(400, "invalid_json", f"the body is not valid JSON: {error}")
    if not isinstance(items, list):
        return _error(400, "invalid_json", "the body must be a JSON list of dossiers")
    if len(items) > MAX_ITEMS:
        return _error(
            413, "too_many_items", f"{len(items)} items; send at most {MAX_ITEMS} per request"
        )
    return items


def _forbidden_items(records: list[DossierRecord], error: ForeignDossierError) -> web.Response:
    """403 naming the items whose receipt code is another agency's dossier."""
    foreign = set(error.lookup_keys)
    return _json(
        {
            "error": "forbidden_items",
            "detail": "some dossiers belong to another agency; nothing was stored",
            "items": [
                {
                    "index": index,
                    "errors": ["this receipt code belongs to another agency's dossier"],
                }
                for index, record in enumerate(records)
                if record.lookup_key in foreign
            ],
        },
        403,
    )


async def post_dossiers(request: web.Request) -> web.StreamResponse:
    """``POST /api/v1/dossiers``: see the module docstring for the contract."""
    limits = request.app[LIMITS_KEY]
    if not limits.per_address.allow(client_key(request)):
        return _too_many("too many requests from this address; slow down")
    key = await _authenticate(request)
    if isinstance(key, web.Response):
        return key
    if not limits.per_key.allow(str(key.id)):
        return _too_many("too many requests with this API key; slow down")
    items = await _read_items(request)
    if isinstance(items, web.Response):
        return items
    records, problems = _validate(items, key)
    if problems:
        return _json(
            {
                "error": "invalid_items",
                "detail": f"{len(problems)} of {len(items)} items are invalid; nothing was stored",
                "items": problems,
            },
            400,
        )
    try:
        result = await _upsert(request, records, key)
    except ForeignDossierError as error:
        return _forbidden_items(records, error)
    except IntegrityError:
        logger.warning("dossier ingest of %s conflicted twice with other writers", key.prefix)
        return _error(409, "conflict", "other requests wrote the same dossiers; retry")
    worker = request.app.get(OUTBOX_KEY)
    if result.notified and worker is not None:
        worker.wake()  # the followers' messages are committed: send them now
    logger.info(
        "dossier ingest by key %s (%s): %d inserted, %d updated, %d unchanged",
        key.prefix,
        key.agency,
        result.inserted,
        result.updated,
        result.unchanged,
    )
    return _json(
        {
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "events_added": result.events_added,
            "warnings": _warnings(records),
        }
    )


def setup_dossier_api(
    app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    per_address: RateLimiter | None = None,
    per_key: RateLimiter | None = None,
) -> None:
    """Register ``POST /api/v1/dossiers`` on ``app``, writing through ``session_factory``.

    Default limits: 60 requests at once then 20/s per address; 40 then 10/s per key (each
    request carries up to 5,000 dossiers, so that is still 50,000 dossiers/s per agency)."""
    app[SESSION_FACTORY_KEY] = session_factory
    app[LIMITS_KEY] = _Limits(
        per_address or RateLimiter(burst=60, per_second=20),
        per_key or RateLimiter(burst=40, per_second=10),
    )
    app.router.add_post(ROUTE, post_dossiers)
