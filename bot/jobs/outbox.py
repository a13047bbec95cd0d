"""The outbox worker: delivers `storage.outbox` messages exactly once, within Telegram's limits.

Producers write `OutgoingMessage`s in the same transaction as the change that causes them
(`storage.outbox.enqueue`) and may call `OutboxWorker.wake()` after committing; otherwise the
worker notices new rows within `idle_poll` seconds.

For each row the worker:
1. claims it (pending -> sending, COMMITTED before anything is sent; a chat's rows go out one
   at a time in enqueue order, a later row waiting while an earlier one is in backoff or in
   flight; chats not ready under the per-chat interval are passed over, not waited for);
2. renders it with the renderer registered for its `kind` (None: nothing to send any more);
3. waits for a token of its channel's bucket (`global_rate` messages/s), then sends it through
   the channel's `Sender` (`bot.jobs.senders`);
4. records the outcome right away, in its own transaction:
   - delivered -> "sent" (with the sender's note, if it returned one: e.g. "zns", a Zalo
     push that went as a ZNS template message);
   - Telegram's flood control (429, `TelegramRetryAfter`) -> pending again at now + retry_after,
     and the whole channel pauses for retry_after (the limit is per bot); no attempt counted;
   - network errors and 5xx -> pending again after an exponential backoff with jitter
     (`backoff_base` * 2**(n-1), capped at `backoff_cap`), "failed" after `max_attempts`;
   - blocked by the user (403), bad request (400), chat not found... -> "failed", not retried;
   - a web visitor who is not connected (`Deferred`) -> pending again in `defer_seconds`, no
     attempt counted, "failed" once the message is `defer_max_age` old;
   - anything unexpected once the request may have gone out -> "uncertain" (never re-sent).

Exactly once: only "pending" rows are claimed, a row is sent only after its claim is committed
and marked right after the send; rows a crash leaves in "sending" become "uncertain" when their
lease runs out (`recover()`, at start and every `recover_every` seconds) and are never re-sent,
since Telegram has no idempotency key. On shutdown, rows whose send request had not started yet
(rendering, waiting for a token or the per-chat interval) are given back as pending instead. One caveat remains: a network error after Telegram got
the request (a timeout, a dropped answer) is retried like any network error, as the issue asks,
and the citizen may then see the message twice; a refused connection never duplicates.

Rate limits are kept in this process: run one worker per bot token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.contracts import Delivery, Rendered, Renderer, Sender
from knowledge.outbox import OutboxKind
from knowledge.workdays import utcnow
from storage.outbox import (
    OutboxRow,
    claim_due,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_uncertain,
    next_due_at,
    recover_stale,
)

logger = logging.getLogger(__name__)

SKIPPED_NOTE = "skipped: nothing to send any more"


class Deferred(Exception):
    """The recipient cannot receive anything now (a web visitor who is not connected, a Zalo
    user outside the reply window): try again later without counting an attempt, in
    ``retry_after`` seconds when given (else the worker's ``defer_seconds``)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PartiallyDelivered(Exception):
    """The photo of a message went out but the rest of its text did not. Not retried: a retry
    would send the photo twice."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"photo sent, text not: {describe(cause)}")
        self.cause = cause


# --- helpers ---------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


def describe(error: BaseException, limit: int = 300) -> str:
    """`Type: message` for logs and `last_error`, with bot tokens masked and the length capped.

    Exceptions of aiogram carry Telegram's description, never the message text."""
    text = _TOKEN_RE.sub("<token>", f"{type(error).__name__}: {error}")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _buttons(spec: Any) -> InlineKeyboardMarkup | None:
    """Payload buttons -> keyboard: a list of rows (lists of button dicts) or of button dicts
    (one per row); each dict holds Telegram's fields, e.g. {"text", "callback_data"|"url"}."""
    if not spec:
        return None
    rows = [row if isinstance(row, list) else [row] for row in spec]
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(**button) for button in row] for row in rows]
    )


async def render_text(session: AsyncSession, row: OutboxRow) -> Rendered | None:
    """The built-in `OutboxKind.TEXT` renderer: payload {"text": html, "buttons"?: [...]} sent
    verbatim."""
    text = row.payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a 'text' outbox payload needs a non-empty 'text'")
    return Rendered(text=text, reply_markup=_buttons(row.payload.get("buttons")))


# --- rate limiting ---------------------------------------------------------------------------


class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; `acquire` waits for one."""

    def __init__(self, rate: float, capacity: float = 1.0) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Take one token, waiting (first come, first served) until one is available."""
        if self.rate <= 0 or self.rate == float("inf"):
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


# --- the worker ------------------------------------------------------------------------------


class OutboxWorker:
    """Delivers due outbox rows through `senders` (by channel) after rendering them with
    `renderers` (by kind; `OutboxKind.TEXT` is built in). See the module docstring for the rules.

    `run()` serves until cancelled; `drain(timeout)` delivers what is due (and what becomes due
    before the timeout) and returns, for tests and command-line use. Do not use both at once.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        renderers: Mapping[str, Renderer],
        *,
        global_rate: float = 30.0,
        per_chat_interval: float = 1.0,
        max_attempts: int = 8,
        batch: int = 50,
        idle_poll: float = 1.0,
        concurrency: int = 8,
        lease_seconds: float = 300.0,
        send_timeout: float = 120.0,
        backoff_base: float = 2.0,
        backoff_cap: float = 300.0,
        defer_seconds: float = 60.0,
        defer_max_age: timedelta = timedelta(days=7),
        recover_every: float = 60.0,
        shutdown_grace: float = 10.0,
    ) -> None:
        if send_timeout >= lease_seconds:
            raise ValueError("send_timeout must be shorter than lease_seconds")
        self.session_factory = session_factory
        self.senders = dict(senders)
        self.renderers: dict[str, Renderer] = {OutboxKind.TEXT: render_text, **renderers}
        self.global_rate = global_rate
        self.per_chat_interval = per_chat_interval
        self.max_attempts = max(1, max_attempts)
        self.batch = max(1, batch)
        self.idle_poll = idle_poll
        self.concurrency = max(1, concurrency)
        self.lease_seconds = lease_seconds
        self.send_timeout = send_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.defer_seconds = defer_seconds
        self.defer_max_age = defer_max_age
        self.recover_every = recover_every
        self.shutdown_grace = shutdown_grace
        # Outcome counters since start (for logs, status pages and tests).
        self.delivered = 0
        self.failed = 0
        self.retried = 0
        self._buckets = {channel: TokenBucket(global_rate) for channel in self.senders}
        self._paused_until: dict[str, float] = {}  # channel -> monotonic time
        self._busy: set[tuple[str, str]] = set()  # (channel, chat_id) with a send in flight
        self._ready_at: dict[tuple[str, str], float] = {}  # per-chat interval, monotonic
        self._tasks: set[asyncio.Task[None]] = set()
        self._requested: set[int] = set()  # claimed rows whose send request has started
        self._unsent: list[OutboxRow] = []  # cancelled before their request started
        self._signal = asyncio.Event()
        self._active = False

    # -- public API

    def wake(self) -> None:
        """Look for due rows now (call after committing an enqueue in this process)."""
        self._signal.set()

    async def recover(self) -> int:
        """Rows whose claim expired in "sending" -> "uncertain" (see `recover_stale`)."""
        async with self.session_factory() as session:
            count = await recover_stale(session, utcnow())
            await session.commit()
        return count

    async def run(self) -> None:
        """Deliver until cancelled; in-flight sends get `shutdown_grace` seconds to finish, then
        are cancelled (rows whose request had not started go back to pending)."""
        self._enter()
        loop = asyncio.get_running_loop()
        try:
            next_recovery = loop.time()
            while True:
                self._signal.clear()
                try:
                    if loop.time() >= next_recovery:
                        await self.recover()
                        next_recovery = loop.time() + self.recover_every
                    if await self._dispatch():
                        continue
                    delay, _ = await self._idle_delay()
                except Exception:  # the database may be briefly unavailable: try again
                    logger.exception("Outbox worker: cycle failed; retrying")
                    delay = self.idle_poll
                await self._wait(delay)
        finally:
            await self._settle(self.shutdown_grace)
            self._active = False

    async def drain(self, timeout: float = 30.0) -> int:
        """Deliver everything due now or before `timeout` seconds pass; returns how many
        messages were delivered. Sends in flight at the deadline are waited for."""
        self._enter()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        before = self.delivered
        try:
            await self.recover()
            while True:
                self._signal.clear()
                if await self._dispatch():
                    continue
                # Looked at before the query: a send finishing during it may have just given
                # its row back as pending, which the query may not have seen.
                idle = not self._tasks
                delay, due_in = await self._idle_delay()
                now = loop.time()
                if idle and (due_in is None or now + max(due_in, 0.0) > deadline):
                    break
                if now >= deadline:
                    break
                await self._wait(min(delay, deadline - now))
        finally:
            await self._settle(None)
            self._active = False
        return self.delivered - before

    # -- the loop

    def _enter(self) -> None:
        if self._active:
            raise RuntimeError("the outbox worker is already running")
        self._active = True

    async def _wait(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._signal.wait(), max(delay, 0.0))

    async def _settle(self, grace: float | None) -> None:
        """Let in-flight sends finish (cancelling them after `grace` seconds, if given).

        A cancelled row whose request had started stays "sending" and becomes "uncertain"
        (never re-sent: it may have reached Telegram); one whose request never started (still
        rendering, waiting for a token...) is given back as pending, uncounted."""
        if self._tasks:
            tasks = set(self._tasks)
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._give_back_unsent()

    async def _give_back_unsent(self) -> None:
        """Rows cancelled before their send request started -> pending again, due now."""
        rows, self._unsent = self._unsent, []
        if not rows:
            return
        try:
            async with self.session_factory() as session:
                for row in rows:
                    await mark_retry(
                        session, row.id, available_at=utcnow(), error=None, count_attempt=False
                    )
                await session.commit()
        except Exception:
            logger.exception(
                "Outbox: could not give back %d unsent message(s); they will be 'uncertain'",
                len(rows),
            )
            return
        logger.info("Outbox: gave back %d message(s) not yet sent at shutdown", len(rows))

    def _blocked_chats(self, now: float) -> set[tuple[str, str]]:
        for key in [key for key, ready in self._ready_at.items() if ready <= now]:
            del self._ready_at[key]
        return self._busy | set(self._ready_at)

    async def _dispatch(self) -> int:
        """Claim what can be sent right now and start sending it; returns how many rows."""
        now = time.monotonic()
        channels = [c for c in self.senders if self._paused_until.get(c, 0.0) <= now]
        free = self.concurrency - len(self._tasks)
        if not channels or free <= 0:
            return 0
        async with self.session_factory() as session:
            rows = await claim_due(
                session,
                limit=min(self.batch, free),
                now=utcnow(),
                lease_seconds=self.lease_seconds,
                channels=channels,
                exclude_chats=self._blocked_chats(now),
            )
        for row in rows:
            self._busy.add((row.channel, row.chat_id))
            task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def _idle_delay(self) -> tuple[float, float | None]:
        """How long to sleep when nothing could be claimed, and in how many seconds the next
        pending row is due (None: no pending row for any channel with a sender)."""
        now = time.monotonic()
        delay = self.idle_poll
        for moment in [*self._ready_at.values(), *self._paused_until.values()]:
            if moment > now:
                delay = min(delay, moment - now)
        async with self.session_factory() as session:
            due = await next_due_at(session, channels=list(self.senders))
        due_in = None if due is None else (due - utcnow()).total_seconds()
        if due_in is not None and due_in > 0:
            delay = min(delay, due_in)
        return max(delay, 0.001), due_in

    # -- one row

    async def _deliver(self, row: OutboxRow) -> None:
        key = (row.channel, row.chat_id)
        attempted = False
        try:
            attempted = await self._process(row)
        except asyncio.CancelledError:  # shutdown: `_settle` gives back rows never requested
            if row.id not in self._requested:
                self._unsent.append(row)
            raise
        except Exception:  # e.g. the database failed while recording: the lease expires
            logger.exception("Outbox #%d: could not record the outcome", row.id)
        finally:
            self._requested.discard(row.id)
            self._busy.discard(key)
            if attempted:
                self._ready_at[key] = time.monotonic() + self.per_chat_interval
            self._signal.set()

    async def _record(
        self, mark: Callable[..., Awaitable[bool]], row_id: int, **kwargs: Any
    ) -> None:
        async with self.session_factory() as session:
            if not await mark(session, row_id, **kwargs):
                logger.warning("Outbox #%d: was no longer being sent when its outcome came", row_id)
            await session.commit()

    async def _fail(self, row: OutboxRow, error: str, *, count_attempt: bool = True) -> None:
        self.failed += 1
        logger.warning("Outbox #%d (%s, %s): failed: %s", row.id, row.kind, row.channel, error)
        await self._record(mark_failed, row.id, error=error, count_attempt=count_attempt)

    async def _process(self, row: OutboxRow) -> bool:
        """Render, send and record one claimed row; True when a request went out."""
        sender = self.senders.get(row.channel)
        renderer = self.renderers.get(row.kind)
        if sender is None or renderer is None:
            missing = (
                f"no sender for channel {row.channel!r}"
                if sender is None
                else (f"no renderer for kind {row.kind!r}")
            )
            await self._fail(row, missing, count_attempt=False)
            return False
        try:
            async with self.session_factory() as session:
                rendered = await renderer(session, row)
        except Exception as error:
            logger.exception("Outbox #%d (%s): rendering failed", row.id, row.kind)
            await self._fail(row, f"render error: {describe(error)}", count_attempt=False)
            return False
        if rendered is None:
            await self._record(mark_sent, row.id, note=SKIPPED_NOTE)
            return False
        if await self._held_back(row):
            return False
        await self._buckets[row.channel].acquire()
        if await self._held_back(row):  # a flood-control answer came while waiting
            return False
        # From here on the request may reach Telegram: a cancelled row is no longer given back.
        self._requested.add(row.id)
        delivery = Delivery(row_id=row.id, kind=row.kind)
        try:
            note = await asyncio.wait_for(
                sender.send(row.chat_id, rendered, delivery), self.send_timeout
            )
        except Exception as error:
            await self._handle_error(row, error)
            return not isinstance(error, Deferred)
        self.delivered += 1
        await self._record(mark_sent, row.id, note=note)
        logger.debug("Outbox #%d (%s, %s): sent %s", row.id, row.kind, row.channel, note or "")
        return True

    async def _held_back(self, row: OutboxRow) -> bool:
        """Give the row back, uncounted, when its channel is paused by flood control."""
        remaining = self._paused_until.get(row.channel, 0.0) - time.monotonic()
        if remaining <= 0:
            return False
        await self._record(
            mark_retry,
            row.id,
            available_at=utcnow() + timedelta(seconds=remaining),
            error=None,
            count_attempt=False,
        )
        return True

    def _pause(self, channel: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._paused_until[channel] = max(self._paused_until.get(channel, 0.0), until)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.0)

    async def _handle_error(self, row: OutboxRow, error: BaseException) -> None:
        """Record the outcome of a send that raised `error` (the checks go in this order:
        aiogram's flood control and unauthorized errors are `TelegramAPIError`s too)."""
        now = utcnow()
        if isinstance(error, Deferred):
            await self._deferred(row, error, now)
        elif isinstance(error, TelegramRetryAfter):
            await self._flood_controlled(row, error, now)
        elif isinstance(error, TelegramUnauthorizedError):
            await self._unauthorized(row, error, now)
        elif isinstance(error, TimeoutError):
            await self._timed_out(row)
        elif _transient(error):
            await self._transient_failure(row, error, now)
        elif isinstance(error, TelegramAPIError | TelegramBadRequest | PartiallyDelivered):
            # 400 bad request, 403 blocked, 404, 409, 413, migrated group...: permanent
            await self._fail(row, describe(error))
        else:
            await self._unexpected(row, error)

    async def _deferred(self, row: OutboxRow, error: Deferred, now: datetime) -> None:
        """The recipient cannot receive now: again in `defer_seconds`, uncounted, until the
        message is `defer_max_age` old."""
        if now - row.created_at >= self.defer_max_age:
            await self._fail(row, f"undeliverable: {error}", count_attempt=False)
            return
        await self._record(
            mark_retry,
            row.id,
            available_at=now + timedelta(seconds=error.retry_after or self.defer_seconds),
            error=f"deferred: {error}",
            count_attempt=False,
        )

    async def _flood_controlled(
        self, row: OutboxRow, error: TelegramRetryAfter, now: datetime
    ) -> None:
        """429: the row and its whole channel wait `retry_after` seconds; no attempt counted."""
        seconds = float(max(error.retry_after, 1))
        self._pause(row.channel, seconds)
        self.retried += 1
        logger.warning(
            "Outbox #%d: flood control on %s, pausing it for %.0f s",
            row.id,
            row.channel,
            seconds,
        )
        await self._record(
            mark_retry,
            row.id,
            available_at=now + timedelta(seconds=seconds),
            error=describe(error),
            count_attempt=False,
        )

    async def _unauthorized(
        self, row: OutboxRow, error: TelegramUnauthorizedError, now: datetime
    ) -> None:
        """The token was revoked or mistyped: nothing this row did; hold the whole channel."""
        self._pause(row.channel, self.backoff_cap)
        logger.error("Outbox: %s refuses the bot token; pausing it", row.channel)
        await self._record(
            mark_retry,
            row.id,
            available_at=now + timedelta(seconds=self.backoff_cap),
            error=describe(error),
            count_attempt=False,
        )

    async def _timed_out(self, row: OutboxRow) -> None:
        """`send_timeout` cancelled a send in progress (aiogram's own request timeout is a
        TelegramNetworkError): part of it may have gone out, so it is not sent again."""
        logger.error("Outbox #%d (%s): send timed out; marked uncertain", row.id, row.kind)
        await self._record(
            mark_uncertain,
            row.id,
            error=f"send timed out after {self.send_timeout:g} s; not retried",
        )

    async def _transient_failure(self, row: OutboxRow, error: BaseException, now: datetime) -> None:
        """Network error or 5xx: again after a backoff, "failed" after `max_attempts`."""
        attempt = row.attempts + 1
        if attempt >= self.max_attempts:
            await self._fail(row, f"gave up after {attempt} attempts: {describe(error)}")
            return
        delay = self._backoff(attempt)
        self.retried += 1
        logger.info(
            "Outbox #%d: attempt %d failed (%s); retrying in %.1f s",
            row.id,
            attempt,
            describe(error),
            delay,
        )
        await self._record(
            mark_retry,
            row.id,
            available_at=now + timedelta(seconds=delay),
            error=describe(error),
        )

    async def _unexpected(self, row: OutboxRow, error: BaseException) -> None:
        """E.g. an answer that could not be decoded: the message may have gone out."""
        logger.error(
            "Outbox #%d (%s): unexpected error; marked uncertain: %s",
            row.id,
            row.kind,
            describe(error),
        )
        await self._record(mark_uncertain, row.id, error=describe(error))


def _transient(error: BaseException) -> bool:
    """Worth retrying after a backoff: network errors and 5xx (not "request too large")."""
    return isinstance(error, TelegramNetworkError | TelegramServerError) and not isinstance(
        error, TelegramEntityTooLarge
    )


OUTBOX_KEY = web.AppKey("outbox", OutboxWorker)
"""Where the web app keeps the worker, so request handlers can `wake()` it after a commit."""
