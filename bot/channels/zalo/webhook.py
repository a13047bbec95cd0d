"""The HTTP endpoint Zalo posts the OA's events to.

Zalo wants a 200 within 2 seconds; without one it re-sends the same body for up to 12 hours,
then disables the webhook. So the endpoint only checks and stores an event, answers at once,
and leaves the dialogs to background work. Per request, in this order:

1. the body, read no further than ``max_body`` bytes (413), must be a JSON object (400);
2. ``X-ZEvent-Signature: mac=<64 hex>`` must be there (401) and sign this body with the body's
   ``app_id`` and ``timestamp`` (401);
3. the ``app_id`` must be ours (403), the timestamp neither more than 5 minutes ahead nor older
   than Zalo's 12 hours of retries (400) -- a retry is the same body, so it is still accepted;
4. the event's key (:func:`~bot.channels.zalo.events.event_key`) is claimed, with the body of
   an event to act on, in the database: a key already there is a retry of an event taken,
   answered 200 and nothing more (the keys are kept 2 days, longer than Zalo retries);
5. 200 ``{"ok": true}`` goes back, and the event waits in its citizen's line.

Claims are written by one task, all the claims that arrived meanwhile in one transaction (a
group commit): under a burst a request waits for one short commit, not for a queue of them.
An event's handling starts by clearing its stored body in the same way, so after a crash or a
shutdown the events acknowledged and never started are taken up again at start-up
(:meth:`ZaloWebhook.recover`), and an event whose handling had started is not repeated.

Events of one citizen are handled one at a time in the order their requests arrived (a
dialog's steps depend on it), different citizens' concurrently, at most ``max_concurrent`` at
once. At most ``max_pending`` events wait (``max_per_citizen`` of one citizen): beyond that an
event is not claimed and gets 503, so Zalo sends it again later. Events the assistant does not
act on (receipts, reactions, the OA's own messages) are claimed without a body, logged with
their name and acknowledged. Errors are ``{"error": code, "detail": message}``. Nothing secret
is logged: not the OA secret key, not the signature, not the body, not a message's text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.plumbing import BodyTooLarge, json_error, json_response, read_body
from knowledge.workdays import utcnow
from storage.repositories.zalo_events import Claim, ZaloEventStore, open_event_store

from .events import EventKind, ZaloEvent, event_key, parse_event
from .signature import HEADER, mac_of, verify

logger = logging.getLogger(__name__)

HandleEvent = Callable[[ZaloEvent], Awaitable[None]]

MAX_BODY_BYTES = 64 * 1024
MAX_PENDING = 5000  # events claimed (or being claimed) and not yet handled, all citizens
MAX_PER_CITIZEN = 20  # of those, one citizen's
FUTURE_SKEW = timedelta(minutes=5)  # how far ahead of our clock an event's time may be
RETRY_HORIZON = timedelta(hours=12)  # Zalo re-sends an unacknowledged event this long
KEYS_KEPT = timedelta(days=2)  # claimed keys outlive Zalo's retries, then are purged
PURGE_EVERY = timedelta(hours=1)
CLOSE_TIMEOUT = 5.0  # seconds close() waits for the events being handled
START_RETRIES = (0.5, 2.0, 8.0)  # seconds between tries to mark a handling as started

_Slot: TypeAlias = "asyncio.Future[_Taken | None]"  # an event's place in its line


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


@dataclass(frozen=True, slots=True)
class _Taken:
    """An event claimed to be acted on: the event and its row in ``zalo_events``."""

    event: ZaloEvent
    row_id: int


class _Journal:
    """Writes claims and starts of handlings to the event store: one task, everything that
    arrived while the previous batch was written in the next one (a group commit). Every
    ``PURGE_EVERY`` it also forgets the keys older than ``KEYS_KEPT``."""

    def __init__(self, store: ZaloEventStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._clock = clock
        self._claims: list[tuple[Claim, asyncio.Future[int | None]]] = []
        self._starts: list[tuple[int, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None
        self._purged_at: datetime | None = None
        self.commits = 0  # batches written (a benchmark's and a test's figure)

    async def claim(self, claim: Claim) -> int | None:
        """The event's row id, or None when its key was claimed before (a retry). Raises when
        the database (or the store's file) failed."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._claims.append((claim, future))
        self._kick()
        return await future

    async def start(self, row_id: int) -> bool:
        """Mark the handling of the event as started (its body dropped); False when it was
        started already — by another process that took it up — so it is not handled here."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._starts.append((row_id, future))
        self._kick()
        return await future

    def _kick(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="zalo-journal")

    async def _run(self) -> None:
        while self._claims or self._starts:
            claims, self._claims = self._claims, []
            starts, self._starts = self._starts, []
            now = self._clock()
            try:
                ids, started_ids = await self.store.write(
                    [c for c, _ in claims], [r for r, _ in starts], now
                )
                self.commits += 1
            except Exception as error:  # the database failed: every waiter hears it
                futures: list[asyncio.Future[Any]] = [f for _, f in claims] + [f for _, f in starts]
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
                continue
            for claim, claimed in claims:
                if not claimed.done():
                    claimed.set_result(ids.pop(claim.key, None))  # a repeated key: its first
            for row_id, started in starts:
                if not started.done():
                    started.set_result(row_id in started_ids)
            if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
                self._purged_at = now
                await self._purge(now)

    async def _purge(self, now: datetime) -> None:
        try:
            purged = await self.store.purge(now - KEYS_KEPT)
        except Exception:  # the next batch's hour tries again
            logger.warning("Zalo webhook: could not purge old event keys", exc_info=True)
            return
        if purged:
            logger.info("Zalo webhook: forgot %d event keys older than %s", purged, KEYS_KEPT)

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.store.close()


class ZaloWebhook:
    """The endpoint (:meth:`handler`), the events taken up again at start-up (:meth:`recover`)
    and the background work behind them (:meth:`close` waits for it on shutdown). Build it
    with :func:`create_zalo_webhook`."""

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
        self._handle = handle
        self._clock = clock
        self.max_body = max_body
        self.max_pending = max_pending
        self.max_per_citizen = max_per_citizen
        self.journal = _Journal(open_event_store(session_factory), clock)
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
        raw, parsed = body
        event = parse_event(parsed)
        refusal = self._refusal(event)
        if refusal is not None:
            return refusal
        return await self._take(event, raw)

    async def _verified_body(
        self, request: web.Request
    ) -> tuple[str, Mapping[str, Any]] | web.Response:
        try:
            raw = await read_body(request, self.max_body)
        except BodyTooLarge:
            return _refuse(413, "body_too_large", f"The body is over {self.max_body} bytes.")
        try:
            text = raw.decode("utf-8")
            body = json.loads(text)
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
        return text, body

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

    @staticmethod
    def _acted_on(event: ZaloEvent) -> bool:
        return event.kind is not EventKind.UNKNOWN and event.user_id is not None

    async def _take(self, event: ZaloEvent, raw: str) -> web.Response:
        """Claim the event with its body and queue it (or, for an event we do not act on,
        claim its key only)."""
        if self._closing:
            return _refuse(503, "closing", "The assistant is shutting down; retry later.")
        acted_on = self._acted_on(event)
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
        outcome: _Taken | None = None
        try:
            try:
                row_id = await self.journal.claim(
                    Claim(event_key(event), raw if acted_on else None)
                )
            except Exception:  # the database, its file or its thread failed: Zalo retries
                logger.warning(
                    "Zalo webhook: could not record a %s event", event.name, exc_info=True
                )
                return json_error(503, "storage_unavailable", "The event could not be recorded.")
            if row_id is None:
                logger.debug("Zalo webhook: a %s event already taken; acknowledged", event.name)
            elif slot is None:
                logger.info("Zalo webhook: a %s event, not acted on; acknowledged", event.name)
            else:
                outcome = _Taken(event, row_id)
            return json_response({"ok": True})
        finally:
            if slot is not None and not slot.done():
                slot.set_result(outcome)  # the event, or None: its line moves on

    async def recover(self) -> int:
        """Queue again the events acknowledged before the last stop and never started, in
        the order they came; how many. Call it before the endpoint takes requests."""
        since = self._clock() - RETRY_HORIZON - FUTURE_SKEW
        waiting = await self.journal.store.waiting(since)
        queued = 0
        for row in waiting:
            try:
                body = json.loads(row.body)
            except ValueError:  # not written by us, then: leave it
                logger.warning("Zalo webhook: a stored event is not JSON; left")
                continue
            event = parse_event(body) if isinstance(body, dict) else None
            if event is None or not self._acted_on(event):
                continue
            self._reserve(event.user_id or "").set_result(_Taken(event, row.id))
            queued += 1
        if queued:
            logger.info("Zalo webhook: %d events taken up again from before the restart", queued)
        return queued

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
                    taken = await line[0]
                    if taken is not None:
                        await self._run(taken)
                finally:
                    line.popleft()
                    self._pending -= 1
        finally:
            del self._lines[user_id], self._workers[user_id]
            if line:  # cancelled by close(): what was still waiting stays stored for recover()
                logger.info("Zalo webhook: %d queued events left for the next start", len(line))
                self._pending -= len(line)
                for slot in line:
                    slot.cancel()

    async def _run(self, taken: _Taken) -> None:
        event = taken.event
        try:
            async with self._running:
                if self._closing:  # not started: it stays stored for the next start
                    return
                if not await self._started(taken):
                    return
                await self._handle(event)
        except Exception:  # one event's failure must not stop the citizen's line
            logger.exception("Zalo webhook: handling a %s event failed", event.name)

    async def _started(self, taken: _Taken) -> bool:
        """Record that the event's handling starts; False when the database would not (the
        event stays stored, and is taken up again at the next start)."""
        for delay in (*START_RETRIES, None):
            try:
                if await self.journal.start(taken.row_id):
                    return True
                logger.info("Zalo webhook: a %s event was taken up elsewhere", taken.event.name)
                return False
            except Exception:
                if delay is None or self._closing:
                    break
                await asyncio.sleep(delay)
        logger.error(
            "Zalo webhook: could not start a %s event; left for the next start", taken.event.name
        )
        return False

    async def close(self, timeout: float | None = CLOSE_TIMEOUT) -> None:
        """Take no more events, let the handlings under way end (at most ``timeout``
        seconds, then cancel them); the events not started stay stored for :meth:`recover`."""
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
        await self.journal.close()


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
    max_concurrent: int = 4,
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
        max_concurrent=max_concurrent,
    )


__all__ = [
    "KEYS_KEPT",
    "MAX_BODY_BYTES",
    "MAX_PENDING",
    "HandleEvent",
    "ZaloWebhook",
    "create_zalo_webhook",
]
