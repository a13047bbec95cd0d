"""The aggregate queries behind the officials' daily digest (``handlers.digest.build`` assembles them),
as :class:`DigestRepository`.

Dossiers are counted per local day of reception and per bucket (``knowledge.digest``), the
national early / on time / late rule (``knowledge.timeliness``) decided at scale, in one pass
over the agency's dossiers of the period:

- Most dossiers are decided in SQL from the covering index ``ix_dossiers_agency_received``
  (every column read is in it) and two seeks in the history's unique index: the end of
  processing is the earlier of the first "processed" (9) status and ``finished_at``, else the
  earlier of the first "returned" (10) status and ``returned_at``, compared with the
  appointment as Asia/Ho_Chi_Minh calendar dates; an open dossier is overdue once its
  appointment day is over.
- A dossier whose history changes the rule -- a supplement request (status 5: the pause moves
  the appointment, two requests make it late), a refusal, withdrawal or stop (3, 7, 8), a
  status without a time -- is found by a probe of the small partial index
  ``ix_dossier_events_irregular`` and comes back packed in one string with its history; Python
  decides it with ``knowledge.digest.local_timeliness_bucket``, the national rule itself
  (checked against ``knowledge.timeliness.classify`` on thousands of random histories).

``tests/integration/test_digest.py`` checks the result against the chat's own verdict for every
one of a few hundred generated dossiers (ties of date-only exports, untimed statuses, re-opened
dossiers included), on SQLite and PostgreSQL.

Times in SQL: SQLite stores UTC text (``UtcDateTime``), so a local day is
``date(t, '+7 hours')`` (Vietnam has kept UTC+7 without daylight saving since 1975);
PostgreSQL converts with ``AT TIME ZONE 'Asia/Ho_Chi_Minh'``. Nothing here writes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from knowledge.digest import (
    BUCKETS,
    DEADLINE_ANSWER,
    DEADLINE_INFO,
    DEADLINE_PUBLISH,
    DEADLINE_REFUSE,
    EARLY,
    IN_PROGRESS,
    LATE,
    ON_TIME,
    OVERDUE,
    PENDING_OTHER,
    RESOLVED_OTHER,
    DossierFigures,
    PetitionItem,
    Satisfaction,
    local_timeliness_bucket,
)
from knowledge.dossier import Status
from knowledge.petition_workflow import OPEN_STATUSES, PetitionAction, PetitionStatus
from knowledge.petitions import deadline_status, due_soon_until
from knowledge.workdays import local_date, to_local
from storage.models import (
    Agency,
    Dossier,
    DossierEvent,
    Official,
    OutboxMessage,
    Petition,
    PetitionEvent,
    ServiceRating,
)
from storage.records import AgencyRecord
from storage.repositories.common import chunks, dialect_name, local_midnight

D = Dossier.__table__.c
E = DossierEvent.__table__.c
R = ServiceRating.__table__.c
P = Petition.__table__.c

# Kept in step with migration 0005's partial index (rendered inline so that both SQLite and
# PostgreSQL can prove the index applies).
IRREGULAR_EVENT_STATUSES = (
    Status.NOT_ACCEPTED,
    Status.SUPPLEMENT_REQUESTED,
    Status.WITHDRAWN,
    Status.STOPPED,
)
_STOP_STATUSES = (Status.NOT_ACCEPTED, Status.WITHDRAWN, Status.STOPPED)
# Rendered inline too (see local_day): "processed" (9) and "returned" (10).
_PROCESSED: ColumnElement[Any] = literal_column(str(int(Status.PROCESSED)))
_RETURNED: ColumnElement[Any] = literal_column(str(int(Status.RETURNED)))
IRREGULAR = "x"  # the bucket of rows classified in Python
IN_CHUNK = 5_000


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


def _fenced(stmt: Select[Any]) -> Any:
    """A subquery the planner evaluates once a row instead of merging it into the outer query
    (OFFSET 0 keeps both SQLite and PostgreSQL from flattening it): the outer layer reads its
    columns without computing them again."""
    return stmt.offset(0).subquery()


def _time_text(dialect: str, column: Any) -> ColumnElement[str]:
    """A UTC time as text, "YYYY-MM-DD HH:MM:SS[.ffffff]" (SQLite stores it so already)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS.US")
    return type_coerce(column, String)


def _text(dialect: str, value: Any) -> ColumnElement[str]:
    """``value`` as text, "" for NULL, ready for ``||``."""
    value = cast(value, String) if dialect == "postgresql" else type_coerce(value, String)
    return func.coalesce(value, literal("", String))


def _join(dialect: str, separator: str, *parts: Any) -> ColumnElement[str]:
    result: Any = _text(dialect, parts[0])
    for part in parts[1:]:
        result = result.concat(literal(separator, String)).concat(_text(dialect, part))
    return result


def _string_agg(dialect: str, value: Any, separator: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.string_agg(value, separator)
    return func.group_concat(value, separator)


def _earlier(a: Any, b: Any) -> ColumnElement[Any]:
    """The earlier of two times, either of which may be NULL (SQLite's min() would be NULL)."""
    return case((a.is_(None), b), (b.is_(None), a), (a < b, a), else_=b)


# Bucket numbers in SQL; IRREGULAR_CODE marks a dossier decided in Python from its history.
_CODES = {name: i for i, name in enumerate(BUCKETS)}
IRREGULAR_CODE = len(BUCKETS)


def _cohort_statement(
    dialect: str,
    dossier_agency: str,
    start: date,
    end: date,
    today_start: datetime,
) -> Select[Any]:
    """One pass over the agency's dossiers received ``start`` .. ``end`` (both included): per
    local day of reception, the bucket counts, and the dossiers that need their history, each
    packed in one string with it (see ``_unpack``).

    Layers, each evaluated once a row: (1) the row, whether its history matters (a cheap
    row test, then a probe of the partial index ix_dossier_events_irregular), its first
    "processed" time and, without ``finished_at``, its first "returned" one (seeks in the
    history's unique index); (2) the
    end of processing and its local day, the appointment's local day; (3) the bucket, or for
    an irregular dossier its packed row and history; (4) the sums."""
    layer1 = _rows_layer(dialect, dossier_agency, start, end)
    layer2 = _days_layer(dialect, layer1.c)
    layer3 = _bucket_layer(dialect, layer2.c, today_start)
    c = layer3.c
    sums = [
        func.coalesce(func.sum(case((c.bucket == literal(i), 1), else_=0)), 0)
        for i in range(len(BUCKETS))
    ]
    return select(c.day, *sums, _string_agg(dialect, c.packed, ";")).group_by(c.day)


def _rows_layer(dialect: str, dossier_agency: str, start: date, end: date) -> Any:
    """Layer 1: the agency's dossiers of the period, whether their history matters, and their
    first "processed" / "returned" times."""
    e9 = aliased(DossierEvent, name="e9")
    e10 = aliased(DossierEvent, name="e10")
    x = aliased(DossierEvent, name="x")
    irregular = or_(
        D.status_at.is_(None),
        D.status.in_(_inline(_STOP_STATUSES)),
        exists().where(
            x.dossier_id == D.id,
            or_(x.status.in_(_inline(IRREGULAR_EVENT_STATUSES)), x.status_at.is_(None)),
        ),
    )
    first9 = (
        select(func.min(e9.status_at))
        .where(e9.dossier_id == D.id, e9.status == _PROCESSED)
        .scalar_subquery()
    )
    first10 = (
        select(func.min(e10.status_at))
        .where(e10.dossier_id == D.id, e10.status == _RETURNED)
        .scalar_subquery()
    )
    return _fenced(
        select(
            D.id,
            local_day(dialect, D.received_at).label("day"),
            D.status,
            D.status_at,
            D.finished_at,
            D.returned_at,
            D.appointment_at,
            D.received_at,
            case((irregular, 1), else_=0).label("irr"),
            # The first "processed" / "returned" time of the history (the row's own status
            # when it has no history, as the chat's verdict takes it then).
            func.coalesce(first9, case((D.status == _PROCESSED, D.status_at))).label("first9"),
            case(
                (
                    D.finished_at.is_(None),
                    func.coalesce(first10, case((D.status == _RETURNED, D.status_at))),
                )
            ).label("first10"),
        ).where(
            D.agency == dossier_agency,
            D.received_at >= local_midnight(start),
            D.received_at < local_midnight(end + timedelta(days=1)),
        )
    )


def _days_layer(dialect: str, a: Any) -> Any:
    """Layer 2: the local day processing ended and the appointment's local day."""
    # knowledge.timeliness: the earlier of the first "processed" and finished_at, else the
    # earlier of the first "returned" and returned_at (stops are irregular: decided in Python).
    end_at = case(
        (and_(a.first9.is_(None), a.finished_at.is_(None)), _earlier(a.first10, a.returned_at)),
        else_=_earlier(a.first9, a.finished_at),
    )
    return _fenced(
        select(
            a.id,
            a.day,
            a.irr,
            a.status,
            a.status_at,
            a.finished_at,
            a.returned_at,
            a.appointment_at,
            a.received_at,
            local_day(dialect, end_at).label("end_day"),
            local_day(dialect, a.appointment_at).label("due_day"),
        )
    )


def _bucket_layer(dialect: str, b: Any, today_start: datetime) -> Any:
    """Layer 3: each dossier's bucket, or for an irregular one its packed row and history."""
    bucket = case(
        (b.irr == 1, literal(IRREGULAR_CODE)),
        (and_(b.end_day.is_not(None), b.due_day.is_(None)), literal(_CODES[RESOLVED_OTHER])),
        (b.end_day < b.due_day, literal(_CODES[EARLY])),
        (b.end_day == b.due_day, literal(_CODES[ON_TIME])),
        (b.end_day.is_not(None), literal(_CODES[LATE])),
        (b.due_day.is_(None), literal(_CODES[PENDING_OTHER])),
        (b.appointment_at < today_start, literal(_CODES[OVERDUE])),
        else_=literal(_CODES[IN_PROGRESS]),
    )
    packed = case(
        (
            b.irr == 1,
            _join(
                dialect,
                "|",
                b.id,
                _time_text(dialect, b.received_at),
                _time_text(dialect, b.appointment_at),
                _time_text(dialect, b.finished_at),
                _time_text(dialect, b.returned_at),
                b.status,
                _time_text(dialect, b.status_at),
                _packed_history(dialect, b.id),
            ),
        )
    )
    return _fenced(select(b.day, bucket.label("bucket"), packed.label("packed")))


def _packed_history(dialect: str, dossier_id: Any) -> Any:
    """A dossier's history in one string: ``id@status@time@recorded time`` items, joined by
    "," (the recording time only for a status without a time)."""
    return (
        select(
            _string_agg(
                dialect,
                _join(
                    dialect,
                    "@",
                    E.id,
                    E.status,
                    _time_text(dialect, E.status_at),
                    case((E.status_at.is_(None), _time_text(dialect, E.recorded_at))),
                ),
                ",",
            )
        )
        .where(E.dossier_id == dossier_id)
        .scalar_subquery()
    )


def _parse_time(text: str) -> datetime | None:
    """A packed UTC time as a naive Asia/Ho_Chi_Minh time (UTC+7, as in SQL)."""
    if not text:
        return None
    return datetime.fromisoformat(text[:26]) + _UTC_OFFSET


_UTC_OFFSET = timedelta(hours=7)


def _unpack(packed: str, now: datetime) -> tuple[date, str]:
    """(local day of reception, bucket) of one irregular dossier packed by the SQL."""
    fields = packed.split("|")
    received, appointment, finished, returned, status, status_at = (
        _parse_time(fields[1]),
        _parse_time(fields[2]),
        _parse_time(fields[3]),
        _parse_time(fields[4]),
        int(fields[5]),
        _parse_time(fields[6]),
    )
    keyed: list[tuple[datetime, int, int, datetime | None]] = []
    for token in fields[7].split(",") if fields[7] else ():
        event_id, event_status, at_text, recorded_text = token.split("@")
        at = _parse_time(at_text)
        # The history's order: by time (the recording time of a status without one), then id.
        key = at if at is not None else _parse_time(recorded_text)
        keyed.append((key or datetime.min, int(event_id), int(event_status), at))
    keyed.sort(key=lambda item: (item[0], item[1]))
    events = [(s, at) for _key, _id, s, at in keyed] or [(status, status_at)]
    assert received is not None
    return received.date(), local_timeliness_bucket(
        events, appointment, now, finished_at=finished, returned_at=returned
    )


def _state(deadline: date | None, now: datetime) -> str:
    return deadline_status(deadline, now).value if deadline is not None else ""


class DigestRepository:
    """The digest's figures for one agency and period; nothing here writes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def dossier_figures_by_day(
        self,
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
        local_now = to_local(now).replace(tzinfo=None)
        today_start = local_midnight(local_now.date())
        result = await self.session.execute(
            _cohort_statement(dialect_name(self.session), dossier_agency, start, end, today_start)
        )
        counts: dict[date, Counter[str]] = defaultdict(Counter)
        sql = history = 0
        for row in result.tuples():
            day = _as_date(row[0])
            for name, count in zip(BUCKETS, row[1 : 1 + len(BUCKETS)]):
                if count:
                    counts[day][name] += int(count)
                    sql += int(count)
            packed = row[1 + len(BUCKETS)]
            if packed:
                for item in packed.split(";"):
                    received_day, name = _unpack(item, local_now)
                    counts[received_day][name] += 1
                    history += 1
        if stats is not None:
            stats["sql"] = stats.get("sql", 0) + sql
            stats["history"] = stats.get("history", 0) + history
        return {d: DossierFigures.from_counts(c) for d, c in sorted(counts.items())}

    async def satisfaction_by_day(
        self, dossier_agency: str, start: date, end: date
    ) -> dict[date, Satisfaction]:
        """Ratings of the agency's dossiers given on each local day ``start`` .. ``end``."""
        dialect = dialect_name(self.session)
        day = local_day(dialect, R.created_at).label("day")
        result = await self.session.execute(
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

    # -- petitions ------------------------------------------------------------------------

    async def petitions_by_day(self, agency_id: int, start: date, end: date) -> dict[date, int]:
        """Petitions the agency holds that were received on each local day ``start`` .. ``end``
        (an index-only count over ``ix_petitions_agency_received``)."""
        dialect = dialect_name(self.session)
        day = local_day(dialect, P.received_at).label("day")
        result = await self.session.execute(
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
        self, agency_id: int, start: date, end: date, limit: int
    ) -> list[PetitionItem]:
        """The first ``limit`` petitions received ``start`` .. ``end``, in order of reception."""
        result = await self.session.execute(
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

    async def open_petitions(self, agency_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).where(P.agency_id == agency_id, P.status.in_(OPEN_STATUSES))
        )
        return int(result.scalar_one())

    async def petition_deadlines(
        self, agency_id: int, now: datetime, limit: int
    ) -> tuple[int, int, list[PetitionItem]]:
        """Open petitions whose deadline is past or at most a working day away: (overdue, due
        soon, the first ``limit`` items, most urgent first).

        The deadline that applies: ``refuse_by`` while the petition is still "received" (nobody
        has taken or refused it), ``answer_by`` once it is being handled or waits for the
        citizen. ``info_by`` -- the last day to ask the citizen for more information -- is listed
        as due soon for a petition being handled that has asked nothing yet; asking is a choice,
        so a passed ``info_by`` is not overdue."""
        today = local_date(now)
        horizon = due_soon_until(today)
        total, overdue, candidates = await self._near_deadlines(agency_id, today, horizon, limit)
        info_count, info_items = await self._info_due_soon(agency_id, today, horizon, now, limit)
        due_soon = total - overdue + info_count
        rows = [(code, status, due) for code, status, due, _id in candidates[:limit]]
        items = [
            PetitionItem(
                code,
                DEADLINE_REFUSE if status == PetitionStatus.RECEIVED else DEADLINE_ANSWER,
                _as_date(due),
                _state(_as_date(due), now),
            )
            for code, status, due in rows
        ]
        if info_count:
            items += info_items
            items.sort(key=lambda item: item.deadline or date.max)  # stable: SQL order kept
        return int(overdue), due_soon, items[:limit]

    async def _near_deadlines(
        self, agency_id: int, today: date, horizon: date, limit: int
    ) -> tuple[int, int, list[tuple[Any, ...]]]:
        """Open petitions whose refusal or answer deadline is at most ``horizon``: how many,
        how many of them overdue, and the first ``limit`` of each deadline, most urgent first
        (``tracking_code, status, deadline, id``)."""
        # Two groups, each a range of ix_petitions_agency_status (agency, status, deadlines): an
        # OR of both in one query would make SQLite walk every petition the agency ever had.
        handled = (PetitionStatus.IN_PROGRESS, PetitionStatus.INFO_REQUESTED)
        groups = (
            (and_(P.status == PetitionStatus.RECEIVED, P.refuse_by <= horizon), P.refuse_by),
            (and_(P.status.in_(handled), P.answer_by <= horizon), P.answer_by),
        )
        total = overdue = 0
        candidates: list[tuple[Any, ...]] = []
        for condition, due in groups:
            counted = await self.session.execute(
                select(
                    func.count(), func.coalesce(func.sum(case((due < today, 1), else_=0)), 0)
                ).where(P.agency_id == agency_id, condition)
            )
            count, late = counted.one()
            total += int(count)
            overdue += int(late)
            found = await self.session.execute(
                select(P.tracking_code, P.status, due.label("deadline"), P.id)
                .where(P.agency_id == agency_id, condition)
                .order_by(due, P.id)
                .limit(limit)
            )
            candidates.extend(found.tuples())
        candidates.sort(key=lambda row: (_as_date(row[2]), row[3]))  # most urgent first
        return total, overdue, candidates

    async def _info_due_soon(
        self, agency_id: int, today: date, horizon: date, now: datetime, limit: int
    ) -> tuple[int, list[PetitionItem]]:
        """Petitions being handled that have asked the citizen nothing yet and whose last day
        to ask is at most ``horizon`` (before their answer is due soon): how many, and the
        first ``limit`` (none read when there are none)."""
        asked = exists().where(
            PetitionEvent.petition_id == P.id, PetitionEvent.action == PetitionAction.INFO_REQUEST
        )
        info_soon = and_(
            P.status == PetitionStatus.IN_PROGRESS,
            P.info_by >= today,
            P.info_by <= horizon,
            P.answer_by > horizon,
            not_(asked),
        )
        counted = await self.session.execute(
            select(func.count()).where(P.agency_id == agency_id, info_soon)
        )
        info_count = int(counted.scalar_one())
        if not info_count:
            return 0, []
        info_rows = await self.session.execute(
            select(P.tracking_code, P.info_by)
            .where(P.agency_id == agency_id, info_soon)
            .order_by(P.info_by, P.id)
            .limit(limit)
        )
        return info_count, [
            PetitionItem(code, DEADLINE_INFO, _as_date(due), _state(_as_date(due), now))
            for code, due in info_rows.tuples()
        ]

    async def awaiting_publication(
        self, agency_id: int, now: datetime, limit: int
    ) -> tuple[int, int, int, list[PetitionItem]]:
        """Answered petitions not yet published: (all, overdue, due soon, the first ``limit``,
        the earliest ``publish_by`` first)."""
        today = local_date(now)
        horizon = due_soon_until(today)
        mine = (P.agency_id == agency_id, P.status == PetitionStatus.ANSWERED)
        counted = await self.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((P.publish_by < today, 1), else_=0)), 0),
                func.coalesce(
                    func.sum(
                        case((and_(P.publish_by >= today, P.publish_by <= horizon), 1), else_=0)
                    ),
                    0,
                ),
            ).where(*mine)
        )
        total, overdue, due_soon = counted.one()
        rows = await self.session.execute(
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

    # -- recipients and the outbox ------------------------------------------------------

    async def agencies_with_officials(self, code: str | None = None) -> list[AgencyRecord]:
        """Agencies with at least one active official (optionally only the one with ``code``)."""
        has_official = exists().where(Official.agency_id == Agency.id, Official.active.is_(True))
        stmt = select(Agency).where(has_official).order_by(Agency.id)
        if code is not None:
            stmt = stmt.where(Agency.code == code)
        return [AgencyRecord.of(row) for row in (await self.session.execute(stmt)).scalars()]

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are already outbox de-duplication keys."""
        found: set[str] = set()
        for part in chunks(keys, IN_CHUNK):
            result = await self.session.execute(
                select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.in_(list(part)))
            )
            found.update(k for k in result.scalars() if k is not None)
        return found

    async def outbox_states(
        self, kind: str, key_pattern: str, *, channel: str | None = None
    ) -> dict[str, int]:
        """How many outbox rows of ``kind`` whose de-duplication key is LIKE ``key_pattern`` are in
        each state (of one channel, when given)."""
        stmt = select(OutboxMessage.state, func.count()).where(
            OutboxMessage.kind == kind, OutboxMessage.dedup_key.like(key_pattern)
        )
        if channel is not None:
            stmt = stmt.where(OutboxMessage.channel == channel)
        result = await self.session.execute(stmt.group_by(OutboxMessage.state))
        return {state: int(count) for state, count in result.tuples()}
