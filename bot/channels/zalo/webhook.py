"""The HTTP endpoint Zalo posts the OA's events to.

Zalo wants a 200 within 2 seconds; without one it re-sends the same body for up to 12 hours,
then disables the webhook. So the endpoint only checks and records an event, answers at once,
and leaves the dialogs to background work. Per request, in this order:

1. the body, read no further than ``max_body`` bytes (413), must be a JSON object (400);
2. ``X-ZEvent-Signature: mac=<64 hex>`` must be there (401) and sign this body with the body's
   ``app_id`` and ``timestamp`` (401);
3. the ``app_id`` must be ours (403), the timestamp neither more than 5 minutes ahead nor older
   than Zalo's 12 hours of retries (400) -- a retry is the same body, so it is still accepted;
4. the event's key (:func:`~bot.channels.zalo.events.event_key`) is claimed in its own short
   transaction: a key already there is a retry of an event taken, answered 200 and nothing
   more (the keys are kept 2 days, longer than Zalo retries);
5. the event is queued for ``handle`` and 200 ``{"ok": true}`` goes back.

Events of one citizen are handled one at a time in the order their requests arrived (a
dialog's steps depend on it), different citizens' concurrently. At most ``max_pending`` events
wait: beyond that an event is not claimed and gets 503, so Zalo sends it again later. Events the
assistant does not act on (receipts, reactions, the OA's own messages) are claimed, logged with
their name and acknowledged. Errors are ``{"error": code, "detail": message}``. Nothing secret
is logged: not the OA secret key, not the signature, not the body, not a message's text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.plumbing import BodyTooLarge, json_error, json_response, read_body
from knowledge.workdays import utcnow
from storage.repositories.zalo_events import ZaloEventRepository

from .events import EventKind, ZaloEvent, event_key, parse_event
from .signature import HEADER, mac_of, verify

logger = logging.getLogger(__name__)

HandleEvent = Callable[[ZaloEvent], Awaitable[None]]

MAX_BODY_BYTES = 64 * 1024
MAX_PENDING = 1000  # events claimed (or being claimed) and not yet handled, all citizens
MAX_PER_CITIZEN = 20  # of those, one citizen's
FUTURE_SKEW = timedelta(minutes=5)  # how far ahead of our clock an event's time may be
RETRY_HORIZON = timedelta(hours=12)  # Zalo re-sends an unacknowledged event this long
KEYS_KEPT = timedelta(days=2)  # claimed keys outlive Zalo's retries; housekeeping purges them
CLOSE_TIMEOUT = 10.0  # seconds close() waits for queued events before dropping them

_Slot: TypeAlias = "asyncio.Future[ZaloEvent | None]"  # an event's place in its line


def _signed_text(value: object) -> str:
    """A body field as it went into the signature (ids and times are sent as strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _refuse(status: int, code: str, detail: str) -> web.Response:
    log = logger.warning if status in (401, 403) else logger.info
    log("Zalo webhook: refused with %d %s", status, code)
    return json_error(status, code, detail)


class ZaloWebhook:
    """The endpoint (:meth:`handler`) and the background work behind it (:meth:`close` waits
    for it on shutdown). Build it with :func:`create_zalo_webhook`."""

    def __init__(
        self,
        *,
        app_id: str,
        oa_secret_key: SecretStr,
        session_factory: async_sessionmaker[AsyncSession],
        handle: HandleEvent,
        clock: Callable[[], datetime],
        max_body: int,
        max_pending: int,
        max_concurrent: int = 4,
        max_per_citizen: int = MAX_PER_CITIZEN,
    ) -> None:
        self.app_id = app_id
        self._oa_secret_key = oa_secret_key
        self._session_factory = session_factory
        self._handle = handle
        self._clock = clock
        self.max_body = max_body
        self.max_pending = max_pending
        self.max_per_citizen = max_per_citizen
        self._lines: dict[str, deque[_Slot]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._pending = 0
        self._closing = False
        # Citizens handled at once: each handling holds a database connection (and the Zalo
        # session takes another for a moment), so this stays well under the pool's size —
        # more would only wait for connections (SQLite has one writer anyway).
        self._running = asyncio.Semaphore(max_concurrent)

    @property
    def pending(self) -> int:
        """Events waiting for ``handle`` or being handled."""
        return self._pending

    async def handler(self, request: web.Request) -> web.Response:
        """``POST`` of one event by Zalo."""
        body = await self._verified_body(request)
        if isinstance(body, web.Response):
            return body
        event = parse_event(body)
        refusal = self._refusal(event)
        if refusal is not None:
            return refusal
        return await self._take(event)

    async def _verified_body(self, request: web.Request) -> Mapping[str, Any] | web.Response:
        try:
            raw = await read_body(request, self.max_body)
        except BodyTooLarge:
            return _refuse(413, "body_too_large", f"The body is over {self.max_body} bytes.")
        try:
            body = json.loads(raw)
        except ValueError:  # not UTF-8, or not JSON
            return _refuse(400, "malformed_json", "The body is not valid JSON.")
        if not isinstance(body, dict):
            return _refuse(400, "not_an_object", "The body must be a JSON object.")
        mac = mac_of(request.headers.get(HEADER))
        if mac is None:
            return _refuse(401, "missing_signature", f"{HEADER}: mac=<hex> is required.")
        app_id, timestamp = _signed_text(body.get("app_id")), _signed_text(body.get("timestamp"))
        secret = self._oa_secret_key.get_secret_value()
        if not verify(app_id, raw, timestamp, secret, mac):
            return _refuse(401, "bad_signature", "The signature does not match the body.")
        return body

    def _refusal(self, event: ZaloEvent) -> web.Response | None:
        """A signed event that is not for us, or not of now."""
        if event.app_id != self.app_id:
            return _refuse(403, "wrong_app", "The event is for another app.")
        if event.timestamp is None:
            return _refuse(400, "bad_timestamp", "The event has no timestamp.")
        now_ms = int(self._clock().timestamp() * 1000)
        if event.timestamp > now_ms + FUTURE_SKEW // timedelta(milliseconds=1):
            return _refuse(400, "timestamp_in_future", "The event's time is in the future.")
        horizon = RETRY_HORIZON + FUTURE_SKEW  # the retries' span, and our clocks' difference
        if event.timestamp < now_ms - horizon // timedelta(milliseconds=1):
            return _refuse(400, "timestamp_too_old", "The event is older than Zalo's retries.")
        return None

    async def _take(self, event: ZaloEvent) -> web.Response:
        """Claim the event and queue it (or, for an event we do not act on, just claim it)."""
        if self._closing:
            return _refuse(503, "closing", "The assistant is shutting down; retry later.")
        acted_on = event.kind is not EventKind.UNKNOWN and event.user_id is not None
        slot = None
        if acted_on:
            if self._pending >= self.max_pending:
                logger.warning("Zalo webhook: %d events wait; asking Zalo to retry", self._pending)
                return json_error(503, "busy", "Too many events are waiting; retry later.")
            if len(self._lines.get(event.user_id or "", ())) >= self.max_per_citizen:
                # one citizen (or a script behind one account) must not fill everyone's queue
                logger.warning(
                    "Zalo webhook: one citizen has %d events waiting", self.max_per_citizen
                )
                return json_error(503, "busy", "Too many events of this user wait; retry later.")
            slot = self._reserve(event.user_id or "")
        outcome: ZaloEvent | None = None
        try:
            try:
                claimed = await self._claim(event_key(event))
            except SQLAlchemyError:
                logger.warning(
                    "Zalo webhook: could not record a %s event", event.name, exc_info=True
                )
                return json_error(503, "storage_unavailable", "The event could not be recorded.")
            if not claimed:
                logger.debug("Zalo webhook: a %s event already taken; acknowledged", event.name)
            elif slot is None:
                logger.info("Zalo webhook: a %s event, not acted on; acknowledged", event.name)
            else:
                outcome = event
            return json_response({"ok": True})
        finally:
            if slot is not None and not slot.done():
                slot.set_result(outcome)  # the event, or None: its line moves on

    async def _claim(self, key: str) -> bool:
        async with self._session_factory() as session:
            claimed = await ZaloEventRepository(session).claim(key, self._clock())
            await session.commit()
        return claimed

    def _reserve(self, user_id: str) -> _Slot:
        """A place at the end of the citizen's line, taken when the request arrives (before
        the claim), so the line keeps the order of arrival."""
        slot: _Slot = asyncio.get_running_loop().create_future()
        line = self._lines.get(user_id)
        if line is None:
            line = self._lines[user_id] = deque()
            worker = asyncio.create_task(self._drain(user_id, line), name="zalo-events")
            self._workers[user_id] = worker
        line.append(slot)
        self._pending += 1
        return slot

    async def _drain(self, user_id: str, line: deque[_Slot]) -> None:
        """Handle a citizen's events one after the other; ends when their line is empty."""
        try:
            while line:
                try:
                    event = await line[0]
                    if event is not None:
                        await self._run(event)
                finally:
                    line.popleft()
                    self._pending -= 1
        finally:
            del self._lines[user_id], self._workers[user_id]
            if line:  # cancelled by close(): what was still waiting is dropped
                logger.warning("Zalo webhook: %d queued events dropped at shutdown", len(line))
                self._pending -= len(line)
                for slot in line:
                    slot.cancel()

    async def _run(self, event: ZaloEvent) -> None:
        try:
            async with self._running:
                await self._handle(event)
        except Exception:  # one event's failure must not stop the citizen's line
            logger.exception("Zalo webhook: handling a %s event failed", event.name)

    async def close(self, timeout: float | None = CLOSE_TIMEOUT) -> None:
        """Take no more events and wait for the queued ones (at most ``timeout`` seconds,
        then cancel what is left)."""
        self._closing = True
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._workers:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            await asyncio.wait(list(self._workers.values()), timeout=remaining)
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


def create_zalo_webhook(
    *,
    app_id: str,
    oa_secret_key: SecretStr | str,
    session_factory: async_sessionmaker[AsyncSession],
    handle: HandleEvent,
    clock: Callable[[], datetime] = utcnow,
    max_body: int = MAX_BODY_BYTES,
    max_pending: int = MAX_PENDING,
    max_per_citizen: int = MAX_PER_CITIZEN,
) -> ZaloWebhook:
    """The webhook of the OA ``app_id``: route ``app.router.add_post(path, webhook.handler)``
    and ``await webhook.close()`` on shutdown. ``clock`` gives the aware UTC time."""
    if not app_id:
        raise ValueError("the Zalo app id is required")
    key = oa_secret_key if isinstance(oa_secret_key, SecretStr) else SecretStr(oa_secret_key)
    if not key.get_secret_value():
        raise ValueError("the Zalo OA secret key is required")
    return ZaloWebhook(
        app_id=app_id,
        oa_secret_key=key,
        session_factory=session_factory,
        handle=handle,
        clock=clock,
        max_body=max_body,
        max_pending=max_pending,
        max_per_citizen=max_per_citizen,
    )


__all__ = [
    "KEYS_KEPT",
    "MAX_BODY_BYTES",
    "MAX_PENDING",
    "HandleEvent",
    "ZaloWebhook",
    "create_zalo_webhook",
]
