"""``python -m bot digest``: preview the officials' daily digests, or send today's now.

``--dry-run`` prints the digests (``--charts DIR`` writes the charts) without enqueueing
anything; ``--now`` enqueues today's (``bot.jobs.digest.run_digests``, de-duplicated like the
scheduler's) and delivers them to Telegram (BOT_TOKEN) within ``--timeout`` seconds; web chat
officials get theirs from the running server. ``--agency CODE`` and ``--date YYYY-MM-DD``
narrow it down. Exit codes: 0 done, 1 no agency to digest (or one failed), 2 a wrong date.
"""

from __future__ import annotations

import argparse
import sys
import time as monotime
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.cli.database import open_database
from bot.config import Settings
from bot.jobs.digest import AgencyRun, misses_url, run_digests
from bot.jobs.outbox import OUTBOX_KEY, OutboxWorker
from bot.jobs.senders import TelegramSender
from bot.services import create_services
from handlers.digest.build import build_digest
from handlers.digest.chart import chart_png
from handlers.digest.notifications import digest_states
from handlers.digest.render import chart_labels, plain_text, render_digest
from handlers.i18n import create_i18n
from knowledge.workdays import local_date, utcnow
from storage.records import AgencyRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.digest import DigestRepository


def _day(args: argparse.Namespace, now: datetime) -> date | None:
    """The digest's day, or None after saying why the arguments do not give one."""
    try:
        day = date.fromisoformat(args.date) if args.date else local_date(now)
    except ValueError:
        print(f"error: --date must be YYYY-MM-DD, not {args.date!r}", file=sys.stderr)
        return None
    if args.now and day > local_date(now):
        # It would go out with today's figures under that day's de-duplication keys, and the
        # scheduler would then skip the day's real digest.
        print(
            f"error: {day.isoformat()} is in the future: --now sends today's digests "
            "(preview another day with --dry-run)",
            file=sys.stderr,
        )
        return None
    return day


async def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    now = utcnow()
    day = _day(args, now)
    if day is None:
        return 2
    engine, factory = await open_database(settings)
    try:
        if args.dry_run:
            return await _dry_run(settings, args, factory, day, now)
        return await _send_now(settings, args, factory, day, now)
    finally:
        await engine.dispose()


# --- --dry-run ----------------------------------------------------------------------------------


async def _agencies(session: AsyncSession, code: str | None) -> list[AgencyRecord]:
    """The agency ``code`` (none when unknown), else every agency with an official."""
    if code:
        agency = await AgencyRepository(session).by_code(code)
        return [agency] if agency is not None else []
    return await DigestRepository(session).agencies_with_officials()


async def _dry_run(
    settings: Settings,
    args: argparse.Namespace,
    factory: async_sessionmaker[AsyncSession],
    day: date,
    now: datetime,
) -> int:
    """Print each agency's digest as a terminal shows it; write the charts to ``--charts``."""
    language = args.language or settings.default_language
    i18n = create_i18n(language)
    async with factory() as session:
        agencies = await _agencies(session, args.agency)
        if not agencies:
            print(
                f"no agency {args.agency!r}" if args.agency else "no agency has an official",
                file=sys.stderr,
            )
            return 1
        charts = Path(args.charts) if args.charts else None
        if charts is not None:
            charts.mkdir(parents=True, exist_ok=True)
        for agency in agencies:
            started = monotime.perf_counter()
            digest = await build_digest(session, agency, day, now, misses_url=misses_url(settings))
            took = monotime.perf_counter() - started
            with i18n.context(), i18n.use_locale(language):
                text = render_digest(digest)
                labels = chart_labels()
            print(f"===== {agency.code} ({took:.2f} s) =====")
            print(plain_text(text))
            print()
            if charts is not None:
                png = chart_png(digest, labels, language)
                if png is not None:
                    path = charts / f"digest-{agency.code}-{day.isoformat()}.png"
                    path.write_bytes(png)
                    print(f"chart: {path}")
    return 0


# --- --now ----------------------------------------------------------------------------------------


def _report_runs(runs: list[AgencyRun]) -> None:
    for run in runs:
        if run.error:
            print(f"{run.agency_code}: failed: {run.error}")
        elif run.skipped:
            print(f"{run.agency_code}: already enqueued for its {run.officials} official(s)")
        else:
            print(
                f"{run.agency_code}: {run.enqueued} digest(s) enqueued for "
                f"{run.officials} official(s), built in {run.build_seconds:.2f} s"
            )


async def _send_now(
    settings: Settings,
    args: argparse.Namespace,
    factory: async_sessionmaker[AsyncSession],
    day: date,
    now: datetime,
) -> int:
    """Enqueue the day's digests, deliver the Telegram ones, say where each stands."""
    runs = await run_digests(
        factory, day, now, agency_code=args.agency, misses_url=misses_url(settings)
    )
    if not runs:
        print(
            f"no agency {args.agency!r} with an official"
            if args.agency
            else "no agency has an official"
        )
        return 1
    _report_runs(runs)
    async with factory() as session:
        states = await digest_states(session, day, channel="telegram")
    if settings.bot_token is None:
        print(
            "BOT_TOKEN is not set: Telegram digests stay pending until the assistant runs "
            "with a token; web chat officials get theirs from the running server"
        )
    elif states.get("pending"):
        delivered = await _deliver(settings, args.timeout)
        print(f"delivered {delivered} Telegram message(s)")
    async with factory() as session:
        states = await digest_states(session, day)
    print(
        "digests of "
        + day.isoformat()
        + ": "
        + (", ".join(f"{state} {count}" for state, count in sorted(states.items())) or "none")
    )
    return 1 if any(run.error for run in runs) else 0


async def _deliver(settings: Settings, timeout: float) -> int:
    """Send what is due on Telegram (the digests, and anything else due: it is the same outbox)
    with the renderers of the running app, for at most ``timeout`` seconds."""
    services = await create_services(settings)
    app, telegram_bot, _dispatcher = create_app(services)
    try:
        assert telegram_bot is not None
        worker = OutboxWorker(
            services.session_factory,
            {"telegram": TelegramSender(telegram_bot)},
            app[OUTBOX_KEY].renderers,
        )
        return await worker.drain(timeout=timeout)
    finally:
        if telegram_bot is not None:
            await telegram_bot.session.close()
        await services.close()
