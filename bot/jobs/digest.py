"""The officials' daily digest on schedule: built per agency, kept in the outbox.

Every working day (``knowledge.workdays``: weekends and Vietnamese holidays skipped) at
``DIGEST_TIME`` local time, ``DigestScheduler`` builds one digest per agency that has an active
official (``handlers.digest.build.build_digest``) and enqueues it for each of the agency's
active officials, in the same transaction, under the de-duplication key
``digest:<agency id>:<local date>:<official id>``: running twice -- a restart, a catch-up, the
command line -- never sends twice, and an agency whose officials all have today's digest is
not even rebuilt. A process that was down at the scheduled time catches up once when it starts
later that day. The outbox worker sends them (``handlers.digest.notifications`` renders them).
"""

from __future__ import annotations

import asyncio
import logging
import time as monotime
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.digest.build import build_digest
from handlers.digest.notifications import dedup_key, digest_messages
from knowledge.workdays import VN_TZ, is_working_day, local_date
from storage.outbox import enqueue
from storage.repositories.agencies import AgencyRepository
from storage.repositories.digest import DigestRepository
from storage.repositories.officials import OfficialRepository

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.jobs.outbox import OutboxWorker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgencyRun:
    """What one run did for one agency."""

    agency_id: int
    agency_code: str
    officials: int
    enqueued: int = 0
    skipped: bool = False  # every official already had this day's digest: not rebuilt
    build_seconds: float = 0.0
    error: str | None = None


async def _run_agency(
    session_factory: async_sessionmaker[AsyncSession],
    agency_id: int,
    code: str,
    day: date,
    now: datetime,
    misses_url: str = "",
) -> AgencyRun | None:
    """Build and enqueue one agency's digests in one transaction (None: nobody to send to)."""
    async with session_factory() as session:
        agency = await AgencyRepository(session).get(agency_id)
        officials = await OfficialRepository(session).of_agency(agency_id)
        if agency is None or not officials:
            return None
        keys = [dedup_key(agency_id, day, o.id) for o in officials]
        if len(await DigestRepository(session).existing_keys(keys)) == len(keys):
            return AgencyRun(agency_id, code, len(officials), skipped=True)
        started = monotime.perf_counter()
        digest = await build_digest(session, agency, day, now, misses_url=misses_url)
        took = monotime.perf_counter() - started
        added = await enqueue(session, digest_messages(digest, officials))
        await session.commit()
    logger.info(
        "Digest %s for %s: %d new message(s) for %d official(s), built in %.2f s",
        day,
        code,
        added,
        len(officials),
        took,
    )
    return AgencyRun(agency_id, code, len(officials), added, build_seconds=took)


async def run_digests(
    session_factory: async_sessionmaker[AsyncSession],
    day: date,
    now: datetime,
    *,
    agency_code: str | None = None,
    misses_url: str = "",
) -> list[AgencyRun]:
    """Build and enqueue the digests of ``day`` for every agency with an active official (or
    only ``agency_code``), one transaction per agency; an agency that fails is reported in its
    ``AgencyRun.error`` and the others go on. Does not wake the worker. ``misses_url``: the
    inbox page of the unanswered questions the digests link to."""
    async with session_factory() as session:
        agencies = await DigestRepository(session).agencies_with_officials(agency_code)
        agency_ids = [(a.id, a.code) for a in agencies]
    runs: list[AgencyRun] = []
    for agency_id, code in agency_ids:
        try:
            run = await _run_agency(session_factory, agency_id, code, day, now, misses_url)
        except Exception as error:  # one agency's failure must not stop the others
            logger.exception("Digest %s for %s failed", day, code)
            run = AgencyRun(agency_id, code, 0, error=f"{type(error).__name__}: {error}")
        if run is not None:
            runs.append(run)
    return runs


def parse_digest_time(value: str) -> time:
    hour, minute = (int(part) for part in value.split(":"))
    return time(hour, minute)


class DigestScheduler:
    """Runs ``run_digests`` once every working day at ``digest_time`` (Asia/Ho_Chi_Minh).

    ``clock`` and ``sleep`` are injectable for tests. A run that fails (some agency's digest
    could not be built) is retried every ``retry_delay`` seconds, at most ``max_attempts``
    times a day; agencies already done are skipped by their de-duplication keys."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        digest_time: str | time = "07:30",
        enabled: bool = True,
        wake: Callable[[], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_sleep: float = 300.0,
        retry_delay: float = 300.0,
        max_attempts: int = 3,
        misses_url: str = "",
    ) -> None:
        self.session_factory = session_factory
        self.at = digest_time if isinstance(digest_time, time) else parse_digest_time(digest_time)
        self.enabled = enabled
        self.wake = wake
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.max_sleep = max_sleep
        self.retry_delay = retry_delay
        self.max_attempts = max(1, max_attempts)
        self.misses_url = misses_url
        self.done: date | None = None  # the last day handled (or given up)
        self.attempts: dict[date, int] = {}

    def due_moment(self, day: date) -> datetime:
        return datetime.combine(day, self.at, VN_TZ)

    def pending_day(self, now: datetime) -> date | None:
        """Today, when today's digests are due and not yet handled by this process."""
        today = local_date(now)
        if not self.enabled or self.done == today or not is_working_day(today):
            return None
        return today if now >= self.due_moment(today) else None

    def next_due(self, now: datetime) -> datetime:
        """The next scheduled moment after ``now`` (working days only)."""
        day = local_date(now)
        for _ in range(366):
            if is_working_day(day) and day != self.done and self.due_moment(day) > now:
                return self.due_moment(day)
            day += timedelta(days=1)
        raise RuntimeError("no working day within a year")  # pragma: no cover

    async def run_once(self, now: datetime | None = None) -> list[AgencyRun] | None:
        """Build and enqueue today's digests if they are due; None when nothing was due."""
        now = now or self.clock()
        day = self.pending_day(now)
        if day is None:
            return None
        runs = await run_digests(self.session_factory, day, now, misses_url=self.misses_url)
        if any(run.enqueued for run in runs) and self.wake is not None:
            self.wake()
        if any(run.error for run in runs):
            self.attempts[day] = self.attempts.get(day, 0) + 1
            if self.attempts[day] >= self.max_attempts:
                logger.error("Digests of %s: giving up after %d attempts", day, self.attempts[day])
                self.done = day
        else:
            self.done = day
        return runs

    async def run(self) -> None:
        """Serve until cancelled."""
        if not self.enabled:
            logger.info("Digests: off (DIGEST_ENABLED=false)")
            return
        logger.info("Digests: every working day at %s", self.at.strftime("%H:%M"))
        while True:
            try:
                await self.run_once()
            except Exception:  # e.g. the database is briefly unavailable: try again later
                logger.exception("Digests: run failed")
            now = self.clock()
            if self.pending_day(now) is not None:
                delay = self.retry_delay
            else:
                delay = (self.next_due(now) - now).total_seconds()
            await self.sleep(min(max(delay, 0.5), self.max_sleep))


def misses_url(settings: Settings) -> str:
    """The inbox page of the citizens' unanswered questions, as the digests link to it."""
    return settings.base_url.rstrip("/") + "/inbox/misses"


def start_scheduler(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings, worker: OutboxWorker
) -> asyncio.Task[None] | None:
    """The running app's digest task (None when DIGEST_ENABLED is false)."""
    if not settings.digest_enabled:
        logger.info("Digests: off (DIGEST_ENABLED=false)")
        return None
    scheduler = DigestScheduler(
        session_factory,
        digest_time=settings.digest_time,
        wake=worker.wake,
        misses_url=misses_url(settings),
    )
    return asyncio.create_task(scheduler.run(), name="digests")
