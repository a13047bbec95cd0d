"""The aggregate queries behind the officials' daily digest (``bot.digest`` assembles them).

Dossiers are counted per local day of reception and per bucket (``knowledge.digest``): the
national early / on time / late rule (``knowledge.timeliness``) decided at scale.

- Most dossiers are decided in SQL from their own row (one range scan of the agency's dossiers
  through ``ix_dossiers_agency_received``): the end of processing is the row's ``finished_at``
  (or its status time when the current status is "processed" and earlier), compared with the
  appointment as Asia/Ho_Chi_Minh calendar dates; an open dossier is overdue once its
  appointment day is over.
- The row alone cannot decide a dossier whose history matters: one with a supplement request
  (status 5: the pause moves the appointment, two requests make it late), a refusal, withdrawal
  or stop (3, 7, 8), a status without a time, or a "processed"/"returned" status without a
  ``finished_at``. Those -- a minority, found through the small partial index
  ``ix_dossier_events_irregular`` and the row itself -- are loaded with their history and
  classified in Python by ``knowledge.timeliness.classify`` itself.

Both paths agree with ``classify`` (``tests/integration/test_digest.py`` checks every dossier of
a few hundred generated ones) on histories as the import records them. Two shapes the row path
would read differently, accepted for speed: a "processed" (9) status time earlier than the
dossier's own ``finished_at``, and a dossier re-opened after a 9 or 10 status that came
without ``finished_at`` (the row then looks open; the history says finished).

Times in SQL: SQLite stores UTC text (``UtcDateTime``), so a local day is
``date(t, '+7 hours')`` (Vietnam has kept UTC+7 without daylight saving since 1975);
PostgreSQL converts with ``AT TIME ZONE 'Asia/Ho_Chi_Minh'``. Nothing here writes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.digest import (
    DEADLINE_ANSWER,
    DEADLINE_INFO,
    DEADLINE_PUBLISH,
    DEADLINE_REFUSE,
    DossierFigures,
    PetitionItem,
    Satisfaction,
    bucket_of,
)
from knowledge.petitions import DeadlineStatus, deadline_status
from knowledge.timeliness import StatusEvent, classify
from knowledge.workdays import VN_TZ, local_date, next_working_day
from storage.models import (
    Agency,
    Dossier,
    DossierEvent,
    Official,
    Petition,
    PetitionEvent,
    ServiceRating,
)

D = Dossier.__table__.c
E = DossierEvent.__table__.c
R = ServiceRating.__table__.c
P = Petition.__table__.c

# Kept in step with migration 0005's partial index (rendered inline so that both SQLite and
# PostgreSQL can prove the index applies).
IRREGULAR_EVENT_STATUSES = (3, 5, 7, 8)
_STOP_STATUSES = (3, 7, 8)
IRREGULAR = "x"  # the bucket of rows classified in Python
IN_CHUNK = 5_000

RECEIVED, IN_PROGRESS, INFO_REQUESTED, ANSWERED = (
    "received",
    "in_progress",
    "info_requested",
    "answered",
)
OPEN_STATUSES = (RECEIVED, IN_PROGRESS, INFO_REQUESTED)


def _dialect(session: AsyncSession) -> str:
    bind = session.get_bind()
    return bind.dialect.name


def local_midnight(day: date) -> datetime:
    """The UTC moment a local (Asia/Ho_Chi_Minh) day starts."""
    return datetime.combine(day, time(0), VN_TZ).astimezone(UTC)


def local_day(dialect: str, column: Any) -> ColumnElement[Any]:
    """The Asia/Ho_Chi_Minh calendar date of a UTC time column, in SQL."""
    # Constants inline, not bound: GROUP BY repeats the expression, and PostgreSQL must see it
    # identical to the one selected.
    if dialect == "postgresql":
        return func.date(func.timezone(literal_column("'Asia/Ho_Chi_Minh'"), column))
    return func.date(column, literal_column("'+7 hours'"))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _inline(values: Sequence[int]) -> list[Any]:
    return [literal_column(str(int(v))) for v in values]


def _irregular_event() -> ColumnElement[bool]:
    """EXISTS an event the row does not account for (probes ix_dossier_events_irregular)."""
    return exists().where(
        E.dossier_id == D.id,
        or_(E.status.in_(_inline(IRREGULAR_EVENT_STATUSES)), E.status_at.is_(None)),
    )


def _irregular_row() -> ColumnElement[bool]:
    """Rows whose own columns cannot decide the end of processing."""
    return or_(
        D.status_at.is_(None),
        D.status.in_(_inline(_STOP_STATUSES)),
        and_(
            D.finished_at.is_(None),
            or_(D.status.in_(_inline((9, 10))), D.returned_at.is_not(None)),
        ),
    )


def _fast_bucket(dialect: str, today_start: datetime) -> ColumnElement[str]:
    """The bucket of a regular row (no supplement, stop or untimed status in its history)."""
    end = case(
        (and_(D.status == literal_column("9"), D.status_at < D.finished_at), D.status_at),
        else_=D.finished_at,
    )
    end_day = local_day(dialect, end)
    due_day = local_day(dialect, D.appointment_at)
    finished = D.finished_at.is_not(None)
    return case(
        (or_(_irregular_row(), _irregular_event()), literal(IRREGULAR)),
        (and_(finished, D.appointment_at.is_(None)), literal("resolved_other")),
        (and_(finished, end_day < due_day), literal("early")),
        (and_(finished, end_day == due_day), literal("on_time")),
        (finished, literal("late")),
        (D.appointment_at.is_(None), literal("pending_other")),
        (D.appointment_at < today_start, literal("overdue")),
        else_=literal("in_progress"),
    )


async def dossier_figures_by_day(
    session: AsyncSession,
    dossier_agency: str,
    start: date,
    end: date,
    now: datetime,
    *,
    stats: dict[str, int] | None = None,
) -> dict[date, DossierFigures]:
    """Dossiers of ``dossier_agency`` received on each local day ``start`` .. ``end`` (both
    included), by bucket, in their state at ``now``. Days without dossiers are left out.
    ``stats``, when given, receives how many dossiers each path decided ("sql", "history")."""
    dialect = _dialect(session)
    today_start = local_midnight(local_date(now))
    cohort = (
        D.agency == dossier_agency,
        D.received_at >= local_midnight(start),
        D.received_at < local_midnight(end + timedelta(days=1)),
    )
    day = local_day(dialect, D.received_at).label("day")
    # Grouped outside a subquery: the CASE is evaluated once a row, and PostgreSQL sees the
    # same columns in SELECT and GROUP BY whatever the bound parameters.
    rows = select(day, _fast_bucket(dialect, today_start).label("bucket")).where(*cohort)
    inner = rows.subquery()
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    result = await session.execute(
        select(inner.c.day, inner.c.bucket, func.count()).group_by(inner.c.day, inner.c.bucket)
    )
    regular = irregular = 0
    for raw_day, name, count in result.tuples():
        if name == IRREGULAR:
            irregular += int(count)
            continue
        regular += int(count)
        counts[_as_date(raw_day)][name] += int(count)
    if irregular:
        for bucket_day, name in await _irregular_buckets(session, cohort, day, now):
            counts[bucket_day][name] += 1
    if stats is not None:
        stats["sql"] = stats.get("sql", 0) + regular
        stats["history"] = stats.get("history", 0) + irregular
    return {d: DossierFigures.from_counts(c) for d, c in sorted(counts.items())}


async def _irregular_buckets(
    session: AsyncSession, cohort: Sequence[ColumnElement[bool]], day: Any, now: datetime
) -> list[tuple[date, str]]:
    """(reception day, bucket) of each irregular dossier of the cohort, by the exact rule."""
    rows = (
        await session.execute(
            select(
                D.id,
                day,
                D.status,
                D.status_at,
                D.appointment_at,
                D.finished_at,
                D.returned_at,
            ).where(*cohort, or_(_irregular_row(), _irregular_event()))
        )
    ).all()
    histories: dict[int, list[StatusEvent]] = defaultdict(list)
    ids = [row.id for row in rows]
    for i in range(0, len(ids), IN_CHUNK):
        events = await session.execute(
            select(E.dossier_id, E.status, E.status_at).where(
                E.dossier_id.in_(ids[i : i + IN_CHUNK])
            )
        )
        for dossier_id, status, at in events.tuples():
            histories[dossier_id].append(StatusEvent(int(status), at))
    found: list[tuple[date, str]] = []
    for row in rows:
        events = histories.get(row.id) or [StatusEvent(int(row.status), row.status_at)]
        verdict = classify(
            events,
            row.appointment_at,
            now,
            finished_at=row.finished_at,
            returned_at=row.returned_at,
        )
        found.append((_as_date(row.day), bucket_of(verdict, events)))
    return found


async def satisfaction_by_day(
    session: AsyncSession, dossier_agency: str, start: date, end: date
) -> dict[date, Satisfaction]:
    """Ratings of the agency's dossiers given on each local day ``start`` .. ``end``."""
    dialect = _dialect(session)
    day = local_day(dialect, R.created_at).label("day")
    result = await session.execute(
        select(day, R.level, func.count())
        .where(
            R.agency == dossier_agency,
            R.created_at >= local_midnight(start),
            R.created_at < local_midnight(end + timedelta(days=1)),
        )
        .group_by(day, R.level)
    )
    counts: dict[date, dict[int, int]] = defaultdict(dict)
    for raw_day, level, count in result.tuples():
        if 1 <= int(level) <= 5:
            counts[_as_date(raw_day)][int(level)] = int(count)
    return {d: Satisfaction.from_counts(c) for d, c in sorted(counts.items())}


# --- petitions ------------------------------------------------------------------------------


async def petitions_by_day(
    session: AsyncSession, agency_id: int, start: date, end: date
) -> dict[date, int]:
    """Petitions the agency holds that were received on each local day ``start`` .. ``end``
    (an index-only count over ``ix_petitions_agency_received``)."""
    dialect = _dialect(session)
    day = local_day(dialect, P.received_at).label("day")
    result = await session.execute(
        select(day, func.count())
        .where(
            P.agency_id == agency_id,
            P.received_at >= local_midnight(start),
            P.received_at < local_midnight(end + timedelta(days=1)),
        )
        .group_by(day)
    )
    return {_as_date(d): int(n) for d, n in result.tuples()}


async def new_petitions(
    session: AsyncSession, agency_id: int, start: date, end: date, limit: int
) -> list[PetitionItem]:
    """The first ``limit`` petitions received ``start`` .. ``end``, in order of reception."""
    result = await session.execute(
        select(P.tracking_code)
        .where(
            P.agency_id == agency_id,
            P.received_at >= local_midnight(start),
            P.received_at < local_midnight(end + timedelta(days=1)),
        )
        .order_by(P.received_at, P.id)
        .limit(limit)
    )
    return [PetitionItem(code, "new") for code in result.scalars()]


async def open_petitions(session: AsyncSession, agency_id: int) -> int:
    result = await session.execute(
        select(func.count()).where(P.agency_id == agency_id, P.status.in_(OPEN_STATUSES))
    )
    return int(result.scalar_one())


def warning_horizon(today: date) -> date:
    """The last day a deadline is "due soon" on ``today``: at most one working day left
    (``knowledge.petitions.deadline_status`` with ``warn_days=1``)."""
    return next_working_day(next_working_day(today)) - timedelta(days=1)


def _state(deadline: date | None, now: datetime) -> str:
    return deadline_status(deadline, now).value if deadline is not None else ""


async def petition_deadlines(
    session: AsyncSession, agency_id: int, now: datetime, limit: int
) -> tuple[int, int, list[PetitionItem]]:
    """Open petitions whose deadline is past or at most a working day away: (overdue, due
    soon, the first ``limit`` items, most urgent first).

    The deadline that applies: ``refuse_by`` while the petition is still "received" (nobody
    has taken or refused it), ``answer_by`` once it is being handled or waits for the
    citizen. ``info_by`` -- the last day to ask the citizen for more information -- is listed
    as due soon for a petition being handled that has asked nothing yet; asking is a choice,
    so a passed ``info_by`` is not overdue."""
    today = local_date(now)
    horizon = warning_horizon(today)
    deadline = case((P.status == RECEIVED, P.refuse_by), else_=P.answer_by)
    flagged = or_(
        and_(P.status == RECEIVED, P.refuse_by <= horizon),
        and_(P.status.in_((IN_PROGRESS, INFO_REQUESTED)), P.answer_by <= horizon),
    )
    asked = exists().where(
        PetitionEvent.petition_id == P.id, PetitionEvent.action == "info_requested"
    )
    info_soon = and_(
        P.status == IN_PROGRESS,
        P.info_by >= today,
        P.info_by <= horizon,
        P.answer_by > horizon,
        not_(asked),
    )
    counted = await session.execute(
        select(func.count(), func.coalesce(func.sum(case((deadline < today, 1), else_=0)), 0))
        .where(P.agency_id == agency_id, flagged)
    )
    total, overdue = counted.one()
    info_count = int(
        (
            await session.execute(
                select(func.count()).where(P.agency_id == agency_id, info_soon)
            )
        ).scalar_one()
    )
    due_soon = int(total) - int(overdue) + info_count
    rows = await session.execute(
        select(P.tracking_code, P.status, deadline.label("deadline"))
        .where(P.agency_id == agency_id, flagged)
        .order_by(deadline, P.id)
        .limit(limit)
    )
    items = [
        PetitionItem(
            code,
            DEADLINE_REFUSE if status == RECEIVED else DEADLINE_ANSWER,
            _as_date(due),
            _state(_as_date(due), now),
        )
        for code, status, due in rows.tuples()
    ]
    if info_count:
        info_rows = await session.execute(
            select(P.tracking_code, P.info_by)
            .where(P.agency_id == agency_id, info_soon)
            .order_by(P.info_by, P.id)
            .limit(limit)
        )
        items += [
            PetitionItem(code, DEADLINE_INFO, _as_date(due), _state(_as_date(due), now))
            for code, due in info_rows.tuples()
        ]
        items.sort(key=lambda item: item.deadline or date.max)  # stable: SQL order kept
    return int(overdue), due_soon, items[:limit]


async def awaiting_publication(
    session: AsyncSession, agency_id: int, now: datetime, limit: int
) -> tuple[int, int, int, list[PetitionItem]]:
    """Answered petitions not yet published: (all, overdue, due soon, the first ``limit``,
    the earliest ``publish_by`` first)."""
    today = local_date(now)
    horizon = warning_horizon(today)
    mine = (P.agency_id == agency_id, P.status == ANSWERED)
    counted = await session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((P.publish_by < today, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((and_(P.publish_by >= today, P.publish_by <= horizon), 1), else_=0)),
                0,
            ),
        ).where(*mine)
    )
    total, overdue, due_soon = counted.one()
    rows = await session.execute(
        select(P.tracking_code, P.publish_by)
        .where(*mine)
        .order_by(P.publish_by.is_(None), P.publish_by, P.id)
        .limit(limit)
    )
    items = [
        PetitionItem(
            code,
            DEADLINE_PUBLISH,
            _as_date(due) if due is not None else None,
            _state(_as_date(due), now) if due is not None else "",
        )
        for code, due in rows.tuples()
    ]
    return int(total), int(overdue), int(due_soon), items


def is_urgent(item: PetitionItem) -> bool:
    return item.state in (DeadlineStatus.OVERDUE.value, DeadlineStatus.DUE_SOON.value)


# --- recipients -------------------------------------------------------------------------------


async def agencies_with_officials(
    session: AsyncSession, code: str | None = None
) -> list[Agency]:
    """Agencies with at least one active official (optionally only the one with ``code``)."""
    has_official = exists().where(Official.agency_id == Agency.id, Official.active.is_(True))
    stmt = select(Agency).where(has_official).order_by(Agency.id)
    if code is not None:
        stmt = stmt.where(Agency.code == code)
    return list((await session.execute(stmt)).scalars())


async def existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are already outbox de-duplication keys."""
    from storage.models import OutboxMessage

    found: set[str] = set()
    for i in range(0, len(keys), IN_CHUNK):
        result = await session.execute(
            select(OutboxMessage.dedup_key).where(
                OutboxMessage.dedup_key.in_(list(keys[i : i + IN_CHUNK]))
            )
        )
        found.update(k for k in result.scalars() if k is not None)
    return found
