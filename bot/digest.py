"""The officials' daily digest: built per agency, kept in the outbox, sent by the outbox worker.

Every working day (``knowledge.workdays``: weekends and Vietnamese holidays skipped) at
``DIGEST_TIME`` local time, ``DigestScheduler`` builds one digest per agency that has an active
official (``build_digest``: the queries of ``storage.digest``) and enqueues it for each of the
agency's active officials, in the same transaction, under the de-duplication key
``digest:<agency id>:<local date>:<official id>``: running twice -- a restart, a catch-up, the
command line -- never sends twice, and an agency whose officials all have today's digest is
not even rebuilt. A process that was down at the scheduled time catches up once when it starts
later that day.

The outbox row holds the figures as JSON (``knowledge.digest.Digest.to_payload``, a few KB);
the renderer of kind ``digest`` turns them into the official's language at send time and draws
the 14-day chart (PNG, Pillow) again from them, so the outbox stays small. On Telegram the
chart goes as a photo with the figures as its caption and the lists of codes follow; the web
chat shows the text.

``python -m bot digest`` (``add_parsers``, ``cmd_digest``): ``--dry-run`` prints the digests
(``--charts DIR`` writes the charts), ``--now`` enqueues today's and delivers them to Telegram
(BOT_TOKEN) within ``--timeout`` seconds; web chat officials get theirs from the running
server. ``--agency CODE`` and ``--date YYYY-MM-DD`` narrow it down.

Imports of SQLAlchemy, aiogram and Pillow happen when a function needs them: ``python -m bot``
loads this module for its command list.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import io
import logging
import re
import sys
import time as monotime
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.digest import (
    LIST_LIMIT,
    Digest,
    DossierFigures,
    PetitionFigures,
    Satisfaction,
    TrendDay,
    digest_periods,
    sum_days,
    sum_satisfaction,
)
from knowledge.workdays import VN_TZ, is_working_day, local_date

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.config import Settings
    from bot.outbox import OutboxWorker, Renderer
    from storage.models import Agency, Official
    from storage.outbox import OutboxRow, OutgoingMessage

logger = logging.getLogger(__name__)

KIND_DIGEST = "digest"
CHART_SIZE = (900, 450)
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def dedup_key(agency_id: int, day: date, official_id: int) -> str:
    return f"digest:{agency_id}:{day.isoformat()}:{official_id}"


# --- building -------------------------------------------------------------------------------


async def build_digest(
    session: AsyncSession,
    agency: Agency,
    day: date,
    now: datetime,
    *,
    list_limit: int = LIST_LIMIT,
) -> Digest:
    """The digest of ``agency`` for local date ``day``, from the records as they stand at
    ``now`` (what the scheduler calls per agency; reads only)."""
    from storage.repositories import digest as queries

    periods = digest_periods(day)
    by_day = await queries.DigestRepository(session).petitions_by_day(agency.id, periods.first, periods.end)
    new_items = await queries.DigestRepository(session).new_petitions(
        agency.id, periods.start, periods.end, list_limit
    )
    overdue, due_soon, deadline_items = await queries.DigestRepository(session).petition_deadlines(
        agency.id, now, list_limit
    )
    awaiting, pub_overdue, pub_soon, pub_items = await queries.DigestRepository(session).awaiting_publication(
        agency.id, now, list_limit
    )
    petitions = PetitionFigures(
        new=sum(n for d, n in by_day.items() if periods.start <= d <= periods.end),
        new_items=tuple(new_items),
        month=sum(n for d, n in by_day.items() if periods.month_start <= d <= periods.end),
        open=await queries.DigestRepository(session).open_petitions(agency.id),
        deadline_overdue=overdue,
        deadline_due_soon=due_soon,
        deadline_items=tuple(deadline_items),
        awaiting_publication=awaiting,
        publication_overdue=pub_overdue,
        publication_due_soon=pub_soon,
        publication_items=tuple(pub_items),
    )
    dossiers: dict[date, DossierFigures] = {}
    ratings: dict[date, Satisfaction] = {}
    if agency.dossier_agency:
        # One pass over every day any figure needs (at most about 45), summed per period.
        dossiers = await queries.DigestRepository(session).dossier_figures_by_day(
            agency.dossier_agency, periods.first, periods.end, now
        )
        ratings = await queries.DigestRepository(session).satisfaction_by_day(
            agency.dossier_agency, min(periods.start, periods.month_start), periods.end
        )
    empty = DossierFigures()
    trend = tuple(
        TrendDay(
            day=d,
            dossiers_received=dossiers.get(d, empty).received,
            dossiers_resolved=dossiers.get(d, empty).resolved,
            petitions_received=by_day.get(d, 0),
            working_day=is_working_day(d),
        )
        for d in periods.trend_days()
    )
    has_dossiers = bool(agency.dossier_agency)
    return Digest(
        agency_id=agency.id,
        agency_code=agency.code,
        agency_name=agency.name,
        periods=periods,
        built_at=now,
        petitions=petitions,
        dossiers_period=sum_days(dossiers, periods.start, periods.end) if has_dossiers else None,
        dossiers_month=sum_days(dossiers, periods.month_start, periods.end) if has_dossiers else None,
        satisfaction_period=sum_satisfaction(ratings, periods.start, periods.end),
        satisfaction_month=sum_satisfaction(ratings, periods.month_start, periods.end),
        trend=trend,
    )


def digest_messages(digest: Digest, officials: Sequence[Official]) -> list[OutgoingMessage]:
    """One outbox message per official, in their language, de-duplicated per day."""
    from storage.outbox import OutgoingMessage

    payload = digest.to_payload()
    return [
        OutgoingMessage(
            channel=official.channel,
            chat_id=official.chat_id,
            kind=KIND_DIGEST,
            payload={"official_id": official.id, "digest": payload},
            language=official.language,
            dedup_key=dedup_key(digest.agency_id, digest.periods.day, official.id),
        )
        for official in officials
    ]


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


async def run_digests(
    session_factory: async_sessionmaker[AsyncSession],
    day: date,
    now: datetime,
    *,
    agency_code: str | None = None,
) -> list[AgencyRun]:
    """Build and enqueue the digests of ``day`` for every agency with an active official (or
    only ``agency_code``), one transaction per agency; an agency that fails is reported in its
    ``AgencyRun.error`` and the others go on. Does not wake the worker."""
    from storage.outbox import enqueue
    from storage.repositories.digest import DigestRepository
    from storage.repositories.officials import OfficialRepository

    async with session_factory() as session:
        agencies = await DigestRepository(session).agencies_with_officials(agency_code)
        agency_ids = [(a.id, a.code) for a in agencies]
    runs: list[AgencyRun] = []
    for agency_id, code in agency_ids:
        try:
            async with session_factory() as session:
                from storage.models import Agency

                agency = await session.get(Agency, agency_id)
                officials = await OfficialRepository(session).of_agency(agency_id)
                if agency is None or not officials:
                    continue
                keys = [dedup_key(agency_id, day, o.id) for o in officials]
                if len(await DigestRepository(session).existing_keys(keys)) == len(keys):
                    runs.append(AgencyRun(agency_id, code, len(officials), skipped=True))
                    continue
                started = monotime.perf_counter()
                digest = await build_digest(session, agency, day, now)
                took = monotime.perf_counter() - started
                added = await enqueue(session, digest_messages(digest, officials))
                await session.commit()
            runs.append(AgencyRun(agency_id, code, len(officials), added, build_seconds=took))
            logger.info(
                "Digest %s for %s: %d new message(s) for %d official(s), built in %.2f s",
                day,
                code,
                added,
                len(officials),
                took,
            )
        except Exception as error:  # one agency's failure must not stop the others
            logger.exception("Digest %s for %s failed", day, code)
            runs.append(AgencyRun(agency_id, code, 0, error=f"{type(error).__name__}: {error}"))
    return runs


# --- the chart ------------------------------------------------------------------------------------


def _font(size: int, bold: bool = False, font_dir: Path | None = FONT_DIR) -> Any:
    """DejaVu Sans (Vietnamese diacritics) when installed, else Pillow's built-in font."""
    from PIL import ImageFont

    if font_dir is not None:
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        with contextlib.suppress(OSError):
            return ImageFont.truetype(str(font_dir / name), size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # an old Pillow without sizes
        return ImageFont.load_default()


def has_font(font_dir: Path | None = FONT_DIR) -> bool:
    """Is DejaVu Sans (which has the Vietnamese letters) installed in ``font_dir``?"""
    from PIL import ImageFont

    if font_dir is None:
        return False
    try:
        ImageFont.truetype(str(font_dir / "DejaVuSans.ttf"), 12)
    except OSError:
        return False
    return True


_VIETNAMESE_LETTERS = str.maketrans({"đ": "d", "Đ": "D"})


def without_diacritics(text: str) -> str:
    """``text`` in plain ASCII ("Hồ sơ tiếp nhận" -> "Ho so tiep nhan"): Pillow's built-in
    font has no glyph for most Vietnamese letters and would draw boxes instead."""
    decomposed = unicodedata.normalize("NFD", text.translate(_VIETNAMESE_LETTERS))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.encode("ascii", "replace").decode("ascii")


def nice_ceiling(value: float) -> tuple[float, float]:
    """(top, step) of an axis showing ``value``: steps of 1, 2 or 5 times a power of ten,
    about five of them."""
    if value <= 0:
        return 5.0, 1.0
    raw = value / 5
    power = 10 ** int(f"{raw:e}".split("e")[1])
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    top = step * -(-value // step)
    return float(top), float(step)


def draw_chart(
    trend: Sequence[TrendDay],
    labels: Mapping[str, str],
    locale: str,
    *,
    show_dossiers: bool = True,
    font_dir: Path | None = FONT_DIR,
    size: tuple[int, int] = CHART_SIZE,
) -> bytes:
    """The trend as a PNG: dossiers received and, of them, resolved (bars, left axis), and
    petitions received (line, right axis), one column a day, days off shaded."""
    from babel.dates import format_date
    from PIL import Image, ImageDraw

    width, height = size
    if not has_font(font_dir):
        legible = without_diacritics
        labels = {key: legible(value) for key, value in labels.items()}
    else:
        def legible(text: str) -> str:
            return text

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    small, normal, title_font = (
        _font(12, font_dir=font_dir),
        _font(13, font_dir=font_dir),
        _font(16, bold=True, font_dir=font_dir),
    )
    left, right, top, bottom = 72, width - 72, 48, height - 92
    ink, grid, shade = (40, 40, 40), (225, 225, 225), (243, 243, 243)
    received_colour, resolved_colour, petition_colour = (
        (158, 202, 225),
        (33, 113, 181),
        (230, 85, 13),
    )

    def text_size(text: str, font: Any) -> tuple[int, int]:
        box = draw.textbbox((0, 0), text, font=font)
        return box[2] - box[0], box[3] - box[1]

    draw.text((left, 14), labels.get("title", ""), fill=ink, font=title_font)
    n = max(len(trend), 1)
    slot = (right - left) / n
    for i, day in enumerate(trend):
        if not day.working_day:
            draw.rectangle(
                (left + i * slot, top, left + (i + 1) * slot, bottom), fill=shade
            )

    def vertical_label(text: str, x: float, colour: tuple[int, int, int]) -> None:
        w, h = text_size(text, normal)
        layer = Image.new("RGBA", (w + 4, h + 8), (255, 255, 255, 0))
        ImageDraw.Draw(layer).text((2, 0), text, fill=colour, font=normal)
        rotated = layer.rotate(90, expand=True)
        image.paste(rotated, (int(x), int((top + bottom - rotated.height) / 2)), rotated)

    d_max = max((t.dossiers_received for t in trend), default=0)
    p_max = max((t.petitions_received for t in trend), default=0)
    d_top, d_step = nice_ceiling(d_max)
    p_top, p_step = nice_ceiling(p_max)

    def y_of(value: float, axis_top: float) -> float:
        return bottom - (bottom - top) * (value / axis_top)

    # left axis: dossiers
    tick = 0.0
    while tick <= d_top + 1e-9:
        y = y_of(tick, d_top)
        draw.line((left, y, right, y), fill=grid)
        label = legible(format_decimal_safe(tick, locale))
        w, h = text_size(label, small)
        if show_dossiers:
            draw.text((left - 6 - w, y - h / 2 - 2), label, fill=ink, font=small)
        tick += d_step
    # right axis: petitions
    tick = 0.0
    while tick <= p_top + 1e-9:
        y = y_of(tick, p_top)
        label = legible(format_decimal_safe(tick, locale))
        w, h = text_size(label, small)
        draw.text((right + 6, y - h / 2 - 2), label, fill=petition_colour, font=small)
        tick += p_step
    draw.line((left, top, left, bottom), fill=ink)
    draw.line((right, top, right, bottom), fill=ink)
    draw.line((left, bottom, right, bottom), fill=ink)
    if show_dossiers:
        vertical_label(labels.get("left", ""), 6, ink)
    vertical_label(labels.get("right", ""), width - 26, petition_colour)

    points: list[tuple[float, float]] = []
    day_format = labels.get("day_format", "dd/MM")
    for i, day in enumerate(trend):
        centre = left + (i + 0.5) * slot
        if show_dossiers:
            bar = slot * 0.62
            draw.rectangle(
                (centre - bar / 2, y_of(day.dossiers_received, d_top), centre + bar / 2, bottom),
                fill=received_colour,
            )
            inner = slot * 0.34
            if day.dossiers_resolved:
                draw.rectangle(
                    (
                        centre - inner / 2,
                        y_of(day.dossiers_resolved, d_top),
                        centre + inner / 2,
                        bottom,
                    ),
                    fill=resolved_colour,
                )
        points.append((centre, y_of(day.petitions_received, p_top)))
        label = legible(format_date(day.day, format=day_format, locale=locale))
        w, _h = text_size(label, small)
        draw.text((centre - w / 2, bottom + 6), label, fill=ink, font=small)
    if len(points) > 1:
        draw.line(points, fill=petition_colour, width=3)
    for x, y in points:
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=petition_colour)

    # legend
    x, y = left, height - 50
    entries = [("petitions", petition_colour)]
    if show_dossiers:
        entries = [("received", received_colour), ("resolved", resolved_colour), *entries]
    for key, colour in entries:
        text = labels.get(key, key)
        draw.rectangle((x, y + 2, x + 14, y + 16), fill=colour)
        draw.text((x + 20, y), text, fill=ink, font=normal)
        x += 20 + text_size(text, normal)[0] + 28
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def format_decimal_safe(value: float, locale: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(int(value) if float(value).is_integer() else value, locale=locale)


def chart_png(digest: Digest, labels: Mapping[str, str], locale: str, **options: Any) -> bytes | None:
    """The digest's chart, or None when Pillow is missing or drawing fails (the text still
    goes)."""
    if not digest.trend:
        return None
    try:
        return draw_chart(
            digest.trend, labels, locale, show_dossiers=digest.has_dossiers, **options
        )
    except ImportError:
        logger.warning("Pillow is not installed: digests go without their chart")
    except Exception:
        logger.exception("Digest chart failed; sending the text alone")
    return None


# --- the outbox renderer ---------------------------------------------------------------------


def create_digest_renderers(i18n: I18n) -> dict[str, Renderer]:
    """The outbox renderer of kind ``digest`` (register it with the worker's renderers)."""
    from bot.outbox import Rendered
    from handlers import digest_render
    from storage.models import Official

    async def render(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        digest = Digest.from_payload(row.payload["digest"])
        official = await session.get(Official, int(row.payload["official_id"]))
        if official is None or not official.active or official.agency_id != digest.agency_id:
            return None  # left the agency since: the agency's figures are no longer theirs
        language = official.language or row.language
        locale = language if language in i18n.available_locales else i18n.default_locale
        with i18n.context(), i18n.use_locale(locale):
            text = digest_render.render_digest(digest)
            labels = digest_render.chart_labels()
        photo = None
        if row.channel == "telegram":  # the web chat shows no photos
            photo = await asyncio.to_thread(chart_png, digest, labels, locale)
        return Rendered(
            text=text, photo=photo, photo_name=f"digest-{digest.periods.day.isoformat()}.png"
        )

    return {KIND_DIGEST: render}


# --- the scheduler ----------------------------------------------------------------------------


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
        runs = await run_digests(self.session_factory, day, now)
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


def start_scheduler(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings, worker: OutboxWorker
) -> asyncio.Task[None] | None:
    """The running app's digest task (None when DIGEST_ENABLED is false)."""
    if not settings.digest_enabled:
        logger.info("Digests: off (DIGEST_ENABLED=false)")
        return None
    scheduler = DigestScheduler(
        session_factory, digest_time=settings.digest_time, wake=worker.wake
    )
    return asyncio.create_task(scheduler.run(), name="digests")


# --- the command line ----------------------------------------------------------------------------


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``digest`` to ``python -m bot``'s subcommands."""
    p = sub.add_parser("digest", help="the officials' daily digests: preview or send now")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--now", action="store_true", help="build, enqueue and send today's digests (Telegram)"
    )
    mode.add_argument(
        "--dry-run", action="store_true", help="print the digests without enqueueing anything"
    )
    p.add_argument("--agency", metavar="CODE", help="only this agency")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the digest of another day")
    p.add_argument("--charts", metavar="DIR", help="with --dry-run: write the charts (PNG) here")
    p.add_argument(
        "--timeout", type=float, default=120.0, help="with --now: seconds to keep sending (120)"
    )
    p.add_argument("--language", choices=("vi", "en"), help="with --dry-run (default: DEFAULT_LANGUAGE)")


_TAG_RE = re.compile(r"<[^<>]+>")


def plain_text(markup: str) -> str:
    """The HTML of a message as a terminal shows it."""
    return html.unescape(_TAG_RE.sub("", markup))


async def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    from handlers import digest_render
    from handlers.i18n import create_i18n
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.models import utcnow
    from storage.repositories.agencies import AgencyRepository
    from storage.repositories.digest import DigestRepository

    now = utcnow()
    try:
        day = date.fromisoformat(args.date) if args.date else local_date(now)
    except ValueError:
        print(f"error: --date must be YYYY-MM-DD, not {args.date!r}", file=sys.stderr)
        return 2
    if args.now and day > local_date(now):
        # It would go out with today's figures under that day's de-duplication keys, and the
        # scheduler would then skip the day's real digest.
        print(
            f"error: {day.isoformat()} is in the future: --now sends today's digests "
            "(preview another day with --dry-run)",
            file=sys.stderr,
        )
        return 2
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    factory = create_session_factory(engine)
    try:
        if args.dry_run:
            language = args.language or settings.default_language
            i18n = create_i18n(language)
            async with factory() as session:
                if args.agency:
                    agency = await AgencyRepository(session).by_code(args.agency)
                    agencies = [agency] if agency is not None else []
                else:
                    agencies = await DigestRepository(session).agencies_with_officials()
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
                    digest = await build_digest(session, agency, day, now)
                    took = monotime.perf_counter() - started
                    with i18n.context(), i18n.use_locale(language):
                        text = digest_render.render_digest(digest)
                        labels = digest_render.chart_labels()
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

        runs = await run_digests(factory, day, now, agency_code=args.agency)
        if not runs:
            print(f"no agency {args.agency!r} with an official" if args.agency else "no agency has an official")
            return 1
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
        print("digests of " + day.isoformat() + ": " + (
            ", ".join(f"{state} {count}" for state, count in sorted(states.items())) or "none"
        ))
        return 1 if any(run.error for run in runs) else 0
    finally:
        await engine.dispose()


async def _deliver(settings: Settings, timeout: float) -> int:
    """Send what is due on Telegram (the digests, and anything else due: it is the same outbox)
    with the renderers of the running app, for at most ``timeout`` seconds."""
    from bot.app import create_app, create_services
    from bot.outbox import OUTBOX_KEY, OutboxWorker, TelegramSender

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


async def digest_states(
    session: AsyncSession, day: date, *, channel: str | None = None
) -> dict[str, int]:
    """Outbox states of the digests of ``day`` (of one channel, when given)."""
    from storage.repositories.digest import DigestRepository

    return await DigestRepository(session).outbox_states(KIND_DIGEST, f"digest:%:{day.isoformat()}:%", channel=channel)
