"""Dossiers from the one-door system: bulk upsert with history, the chat's lookup, subscriptions,
and the ingest API's keys.

Like every repository here, nothing commits: the caller owns the transaction. ``upsert_many``
works on one chunk with SQLAlchemy Core in bulk (one SELECT, then executemany INSERT / UPDATE),
and enqueues the subscribers' notifications in the same transaction, so a status change and its
message are recorded together or not at all.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Result,
    SmallInteger,
    Table,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    table,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.dossier import DossierChannel, Status
from knowledge.dossier_records import DATA_FIELDS, DossierRecord, record_row, sqlite_time
from knowledge.outbox import OutboxKind
from storage.models import (
    Dossier,
    DossierApology,
    DossierEvent,
    DossierSubscription,
    utcnow,
)
from storage.outbox import OutgoingMessage, enqueue
from storage.repositories.common import affected_rows, chunks, upsert_insert
from storage.repositories.dossier_ingest import (
    foreign_keys,
    group_rows,
    history_rows,
    merge_stored,
    sort_out,
)

DOSSIERS = typing.cast(Table, Dossier.__table__)
EVENTS = typing.cast(Table, DossierEvent.__table__)
APOLOGIES = typing.cast(Table, DossierApology.__table__)
SUBSCRIPTIONS = typing.cast(Table, DossierSubscription.__table__)

# Keeps IN (...) lists under SQLite's (32,766) and asyncpg's (32,767) bound-parameter limits.
IN_CHUNK = 10_000

# --- results and views -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ``upsert_many`` call did; dossier counts add up to the distinct codes given."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    events_added: int = 0  # new history rows
    notified: int = 0  # outbox messages enqueued

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.events_added + other.events_added,
            self.notified + other.notified,
        )


class ForeignDossierError(Exception):
    """Some records would change dossiers that belong to another agency; nothing was written."""

    def __init__(self, lookup_keys: list[str]) -> None:
        super().__init__(f"{len(lookup_keys)} dossiers belong to another agency")
        self.lookup_keys = lookup_keys


class DossierEventView(NamedTuple):
    """One status in a dossier's history."""

    status: Status
    status_at: datetime | None
    note: str | None


class DossierApologyView(NamedTuple):
    """One apology letter (form 04)."""

    new_appointment_at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class DossierView:
    """A dossier as the chat sees it, with its history (oldest first) and apology letters."""

    id: int
    receipt_code: str
    lookup_key: str
    procedure_code: str | None
    agency: str
    applicant_name: str | None
    applicant_phone: str | None
    applicant_id_number: str | None
    channel: DossierChannel | None
    received_at: datetime | None
    appointment_at: datetime | None
    status: Status
    status_at: datetime | None
    finished_at: datetime | None
    returned_at: datetime | None
    new_appointment_at: datetime | None
    delay_reason: str | None
    postal_tracking: str | None
    source: str
    created_at: datetime
    updated_at: datetime
    events: tuple[DossierEventView, ...] = ()
    apologies: tuple[DossierApologyView, ...] = ()


_VIEW_COLUMNS = (
    DOSSIERS.c.id,
    DOSSIERS.c.lookup_key,
    *(DOSSIERS.c[name] for name in DATA_FIELDS),
    DOSSIERS.c.source,
    DOSSIERS.c.created_at,
    DOSSIERS.c.updated_at,
)
# Built once: the lookup path runs the same two compiled statements every time.
_FIND_DOSSIER = select(*_VIEW_COLUMNS).where(DOSSIERS.c.lookup_key == bindparam("key"))
_FIND_DOSSIER_BY_ID = select(*_VIEW_COLUMNS).where(DOSSIERS.c.id == bindparam("id"))
_FIND_CREDENTIALS = select(
    DOSSIERS.c.id, DOSSIERS.c.applicant_phone, DOSSIERS.c.applicant_id_number
).where(DOSSIERS.c.lookup_key == bindparam("key"))


class DossierCredentials(NamedTuple):
    """The applicant's phone and ID number of one dossier, to verify a lookup (never shown)."""

    id: int
    applicant_phone: str | None
    applicant_id_number: str | None


_FIND_HISTORY = union_all(
    select(
        literal(0).label("kind"),
        EVENTS.c.status,
        EVENTS.c.status_at,
        EVENTS.c.note,
        EVENTS.c.id,
        EVENTS.c.recorded_at,
    ).where(EVENTS.c.dossier_id == bindparam("dossier_id")),
    select(
        literal(1),
        cast(null(), SmallInteger),
        APOLOGIES.c.new_appointment_at,
        APOLOGIES.c.reason,
        APOLOGIES.c.id,
        APOLOGIES.c.recorded_at,
    ).where(APOLOGIES.c.dossier_id == bindparam("dossier_id")),
)
# The write path skips SQLAlchemy's per-value type processing, which cost more than SQLite
# itself: each record comes as a tuple of what the driver takes (``parse_row``, ``record_row``:
# numbers, and times as SQLite's text or aware datetimes), written through untyped table
# clauses or, on SQLite, the driver's own statements. Reads for the chat (``find``) use the typed models.
_RAW_DOSSIERS = table(
    "dossiers",
    *(
        column(name)
        for name in ("id", "lookup_key", *DATA_FIELDS, "source", "created_at", "updated_at")
    ),
)
_RAW_EVENTS = table(
    "dossier_events",
    *(column(n) for n in ("id", "dossier_id", "status", "status_at", "note", "recorded_at")),
)
_RAW_APOLOGIES = table(
    "dossier_apologies",
    *(column(n) for n in ("id", "dossier_id", "new_appointment_at", "reason", "recorded_at")),
)
_SELECT_EXISTING = select(
    _RAW_DOSSIERS.c.id, _RAW_DOSSIERS.c.lookup_key, *(_RAW_DOSSIERS.c[n] for n in DATA_FIELDS)
).where(_RAW_DOSSIERS.c.lookup_key.in_(bindparam("keys", expanding=True)))
_UPDATE_DOSSIER = update(_RAW_DOSSIERS).where(_RAW_DOSSIERS.c.id == bindparam("dossier_pk"))
# SQLite only: plain executemany through the driver, half the cost of a Core executemany.
_NEW_COLUMNS = ("lookup_key", *DATA_FIELDS, "source", "created_at", "updated_at")
_SQLITE_INSERT_DOSSIERS = (
    f"INSERT INTO dossiers ({', '.join(_NEW_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _NEW_COLUMNS)})"
)
_EVENT_COLUMNS = ("dossier_id", "status", "status_at", "note", "recorded_at")
_SQLITE_INSERT_EVENTS = (
    f"INSERT INTO dossier_events ({', '.join(_EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (dossier_id, status, status_at) DO NOTHING"
)
_SELECT_HISTORY = select(
    _RAW_EVENTS.c.dossier_id, _RAW_EVENTS.c.status, _RAW_EVENTS.c.status_at
).where(_RAW_EVENTS.c.dossier_id.in_(bindparam("ids", expanding=True)))
_SELECT_IDS = select(_RAW_DOSSIERS.c.id, _RAW_DOSSIERS.c.lookup_key).where(
    _RAW_DOSSIERS.c.lookup_key.in_(bindparam("keys", expanding=True))
)


_SQLITE_EXISTING: dict[int, str] = {}  # the SELECT for n keys (n placeholders)


def _sqlite_existing(count: int) -> str:
    statement = _SQLITE_EXISTING.get(count)
    if statement is None:
        statement = (
            f"SELECT id, lookup_key, {', '.join(DATA_FIELDS)} FROM dossiers "
            f"WHERE lookup_key IN ({', '.join('?' * count)})"
        )
        if len(_SQLITE_EXISTING) < 64:
            _SQLITE_EXISTING[count] = statement
    return statement


def _utc_iso(value: datetime | str) -> str:
    """A stored time (an aware datetime, or SQLite's text of a UTC time) as ISO 8601 in UTC,
    e.g. ``2026-03-25T10:00:00+00:00``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


# A dossier's follower: (subscription id, channel, chat id, language).
_Follower = tuple[int, str, str, str | None]


def _message(
    follower: _Follower, kind: str, payload: dict[str, Any], dedup_key: str
) -> OutgoingMessage:
    """A message of ``kind`` to one follower (``dedup_key`` ends with their subscription)."""
    subscription_id, channel, chat_id, language = follower
    return OutgoingMessage(
        channel=channel,
        chat_id=chat_id,
        kind=kind,
        payload=payload,
        language=language,
        dedup_key=f"{dedup_key}:{subscription_id}",
    )


def _status_messages(
    follower: _Follower, dossier_id: int, event_id: int, status: int
) -> list[OutgoingMessage]:
    """A new status for one follower; with the result returned, the rating request too."""
    payload = {"dossier_id": dossier_id, "event_id": event_id, "status": status}
    messages = [
        _message(
            follower, OutboxKind.DOSSIER_STATUS, payload, f"{OutboxKind.DOSSIER_STATUS}:{event_id}"
        )
    ]
    if status == Status.RETURNED:
        rating = {"dossier_id": dossier_id}
        messages.append(
            _message(
                follower,
                OutboxKind.DOSSIER_RATING,
                rating,
                f"{OutboxKind.DOSSIER_RATING}:{dossier_id}",
            )
        )
    return messages


def _apology_message(
    follower: _Follower, dossier_id: int, when: str, reason: str | None
) -> OutgoingMessage:
    """A new apology letter (a new appointment, ``when`` in UTC ISO) for one follower."""
    payload = {"dossier_id": dossier_id, "new_appointment_at": when, "reason": reason}
    return _message(
        follower,
        OutboxKind.DOSSIER_APOLOGY,
        payload,
        f"{OutboxKind.DOSSIER_APOLOGY}:{dossier_id}:{when}",
    )


class DossierRepository:
    """Dossiers: bulk upsert from imports and the API, lookup by code, subscriptions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        bind = session.bind
        self._dialect = bind.dialect.name if bind is not None else "sqlite"

    def _insert(self, target: Any) -> PgInsert | SqliteInsert:
        return upsert_insert(self._dialect, target)

    @property
    def sqlite_times(self) -> bool:
        """Whether ``upsert_rows`` takes times as SQLite's text (else as aware datetimes)."""
        return self._dialect == "sqlite"

    async def _existing(self, keys: list[str]) -> dict[str, tuple[int, tuple[Any, ...]]]:
        """The stored dossiers of these keys: ``(id, DATA_FIELDS values)`` by lookup key."""
        found: dict[str, tuple[int, tuple[Any, ...]]] = {}
        sqlite = self._dialect == "sqlite"
        connection = await self.session.connection() if sqlite else None
        for part in chunks(keys, IN_CHUNK):
            result: Result[Any]
            if connection is not None:  # the driver's own statement: no SQL compiling per call
                result = await connection.exec_driver_sql(_sqlite_existing(len(part)), tuple(part))
            else:
                result = await self.session.execute(_SELECT_EXISTING, {"keys": list(part)})
            for values in result.tuples():
                found[values[1]] = (values[0], tuple(values[2:]))
        return found

    async def _histories(self, dossier_ids: list[int]) -> dict[int, set[tuple[int, Any]]]:
        """The stored ``(status, status_at)`` events of these dossiers, by dossier id (times in
        the driver's form, as ``upsert_rows`` takes them)."""
        found: dict[int, set[tuple[int, Any]]] = {}
        for part in chunks(dossier_ids, IN_CHUNK):
            result = await self.session.execute(_SELECT_HISTORY, {"ids": part})
            for dossier_id, status, at in result.tuples():
                found.setdefault(dossier_id, set()).add((status, at))
        return found

    async def upsert_many(
        self, records: Sequence[DossierRecord], source: str, *, agency: str | None = None
    ) -> IngestResult:
        """Insert new dossiers, update changed ones, add history, apologies and notifications.

        Records of the same code are applied in order. A blank field never erases a stored
        value. A record whose ``status_at`` is older than the stored one only adds to the
        history. One of the same time but another status becomes current (date-only exports:
        5, then 4 again on one day), except that a final status (3, 7, 8, 10) is never replaced
        by a non-final one of the same time (history only); there is no other ranking. A
        status already in the history (a None time equal to a None time) adds nothing and
        notifies nobody (see ``dossier_ingest.plan_dossier``). Every new status event of a followed dossier enqueues
        a ``dossier_status`` message per subscription (and ``dossier_rating`` when it is
        RETURNED), de-duplicated by event and subscription; every new apology letter (a
        ``new_appointment_at`` not yet stored for the dossier) a ``dossier_apology`` one,
        de-duplicated by dossier, new appointment and subscription. With ``agency``, records
        touching a stored dossier of another agency raise ``ForeignDossierError`` before
        anything is written. Never commits.
        """
        if not records:
            return IngestResult()
        sqlite_times = self.sqlite_times
        rows = [record_row(record, sqlite_times=sqlite_times) for record in records]
        return await self.upsert_rows(rows, source, agency=agency)

    async def upsert_rows(
        self, rows: Sequence[tuple[Any, ...]], source: str, *, agency: str | None = None
    ) -> IngestResult:
        """``upsert_many`` for records already in the driver's form: tuples in ``ROW_FIELDS``
        order as ``knowledge.dossier_records.parse_row`` gives them, with times as text when
        ``self.sqlite_times`` (what a file import's parser process sends). Never commits.

        Read what is stored, decide in memory (``storage.repositories.dossier_ingest``), then
        write in bulk: new dossiers, changed ones, history, apology letters, notifications."""
        if not rows:
            return IngestResult()
        grouped = group_rows(rows)
        existing = await self._existing(list(grouped))
        if agency is not None:
            foreign = foreign_keys(existing, agency)
            if foreign:
                raise ForeignDossierError(foreign)

        now = sqlite_time(utcnow()) if self.sqlite_times else utcnow()
        work = sort_out(grouped, existing, (source, now, now))
        histories = await self._histories(work.needs_history) if work.needs_history else {}
        merge_stored(work, histories, source, now)

        ids = await self._insert_dossiers(work.new_rows) if work.new_rows else {}
        if work.changed_rows:
            await self.session.execute(_UPDATE_DOSSIER, work.changed_rows)
        history = history_rows(work, ids, now)
        events_added, notify = await self._add_events(history.quiet, history.loud)
        new_apologies = await self._add_apologies(history.apologies, history.loud_apologies)
        notified = await self._notify(notify, new_apologies) if notify or new_apologies else 0
        return IngestResult(
            len(work.new_rows), len(work.changed_rows), work.unchanged, events_added, notified
        )

    async def _insert_dossiers(self, rows: list[tuple[Any, ...]]) -> dict[str, int]:
        """Insert new dossiers (tuples in ``_NEW_COLUMNS`` order); their ids by lookup key."""
        keys = [row[0] for row in rows]
        if self._dialect == "sqlite":
            connection = await self.session.connection()
            result = await connection.exec_driver_sql("SELECT max(id) FROM dossiers")
            before = result.scalar() or 0
            await connection.exec_driver_sql(_SQLITE_INSERT_DOSSIERS, rows)
            # SQLite numbers new rows max(id) + 1, one after another: when exactly these rows
            # came after the old maximum, their ids follow in order (else ask for them).
            result = await connection.exec_driver_sql(
                "SELECT max(id), count(*) FROM dossiers WHERE id > ?", (before,)
            )
            top, count = result.one()
            if count == len(rows) and top == before + len(rows):
                return dict(zip(keys, range(before + 1, top + 1)))
            ids: dict[str, int] = {}
            for part in chunks(keys, IN_CHUNK):
                found = await self.session.execute(_SELECT_IDS, {"keys": part})
                ids.update((lookup, pk) for pk, lookup in found.tuples())
            return ids
        inserted = await self.session.execute(
            insert(_RAW_DOSSIERS).returning(_RAW_DOSSIERS.c.id, _RAW_DOSSIERS.c.lookup_key),
            [dict(zip(_NEW_COLUMNS, row)) for row in rows],
        )
        return {lookup: pk for pk, lookup in inserted.tuples()}

    async def _add_events(
        self, quiet: list[tuple[Any, ...]], loud: list[dict[str, Any]]
    ) -> tuple[int, list[tuple[int, int, int]]]:
        """Insert the history rows that are not there yet (``quiet``: tuples in
        ``_EVENT_COLUMNS`` order; ``loud``: to notify about); returns how many were added and
        the ``(dossier_id, event_id, status)`` of the loud ones added."""
        wanted = {(row["dossier_id"], row["status"], row["status_at"]) for row in loud}
        added = 0
        if quiet and self._dialect == "sqlite":
            connection = await self.session.connection()
            written = await connection.exec_driver_sql(_SQLITE_INSERT_EVENTS, quiet)
            added += max(written.rowcount, 0)
        elif quiet:
            loud.extend(dict(zip(_EVENT_COLUMNS, row)) for row in quiet)
        if not loud:
            return added, []
        statement = (
            self._insert(_RAW_EVENTS)
            .on_conflict_do_nothing(index_elements=["dossier_id", "status", "status_at"])
            .returning(
                _RAW_EVENTS.c.id,
                _RAW_EVENTS.c.dossier_id,
                _RAW_EVENTS.c.status,
                _RAW_EVENTS.c.status_at,
            )
        )
        result = await self.session.execute(statement, loud)
        notify: list[tuple[int, int, int]] = []
        for event_id, dossier_id, status, at in result.tuples():
            added += 1
            if (dossier_id, status, at) in wanted:
                notify.append((dossier_id, event_id, status))
        return added, notify

    async def _add_apologies(
        self, quiet: list[dict[str, Any]], loud: list[dict[str, Any]]
    ) -> list[tuple[int, Any, str | None]]:
        """Insert the apology letters that are not there yet (``quiet``: of new dossiers;
        ``loud``: of stored ones, to notify about); returns the ``(dossier_id,
        new_appointment_at, reason)`` of the loud ones added."""
        statement = self._insert(_RAW_APOLOGIES).on_conflict_do_nothing(
            index_elements=["dossier_id", "new_appointment_at"]
        )
        if quiet:
            await self.session.execute(statement, quiet)
        if not loud:
            return []
        result = await self.session.execute(
            statement.returning(
                _RAW_APOLOGIES.c.dossier_id,
                _RAW_APOLOGIES.c.new_appointment_at,
                _RAW_APOLOGIES.c.reason,
            ),
            loud,
        )
        return [(dossier_id, at, reason) for dossier_id, at, reason in result.tuples()]

    async def _notify(
        self,
        events: list[tuple[int, int, int]],
        apologies: Sequence[tuple[int, Any, str | None]] = (),
    ) -> int:
        """Enqueue the messages for new events and new apology letters of followed dossiers;
        how many were new."""
        dossier_ids = sorted(
            {dossier_id for dossier_id, _, _ in events}
            | {dossier_id for dossier_id, _, _ in apologies}
        )
        by_dossier = await self._followers(dossier_ids)
        messages: list[OutgoingMessage] = []
        for dossier_id, event_id, status in events:
            for follower in by_dossier.get(dossier_id, ()):
                messages += _status_messages(follower, dossier_id, event_id, status)
        for dossier_id, at, reason in apologies:
            followers = by_dossier.get(dossier_id, ())
            if not followers:
                continue
            when = _utc_iso(at)
            messages += [_apology_message(f, dossier_id, when, reason) for f in followers]
        return await enqueue(self.session, messages) if messages else 0

    async def _followers(self, dossier_ids: list[int]) -> dict[int, list[_Follower]]:
        """The subscriptions of these dossiers, by dossier id."""
        by_dossier: dict[int, list[_Follower]] = {}
        for part in chunks(dossier_ids, IN_CHUNK):
            result = await self.session.execute(
                select(
                    SUBSCRIPTIONS.c.dossier_id,
                    SUBSCRIPTIONS.c.id,
                    SUBSCRIPTIONS.c.channel,
                    SUBSCRIPTIONS.c.chat_id,
                    SUBSCRIPTIONS.c.language,
                ).where(SUBSCRIPTIONS.c.dossier_id.in_(part))
            )
            for dossier_id, *subscription in result.tuples():
                entry = (subscription[0], subscription[1], subscription[2], subscription[3])
                by_dossier.setdefault(dossier_id, []).append(entry)
        return by_dossier

    async def count_for_agency(self, agency: str) -> int:
        """How many dossiers carry exactly this agency name."""
        result = await self.session.execute(
            select(func.count()).select_from(DOSSIERS).where(DOSSIERS.c.agency == agency)
        )
        return int(result.scalar_one())

    async def agency_names(self, limit: int = 10_000) -> list[str]:
        """The distinct agency names dossiers carry (at most ``limit``)."""
        result = await self.session.execute(select(DOSSIERS.c.agency).distinct().limit(limit))
        return [str(name) for name in result.scalars()]

    async def find(self, lookup_key: str) -> DossierView | None:
        """The dossier stored under ``lookup_key`` with its history, or None (two indexed
        queries: the row by its unique key, then events and apologies by dossier id)."""
        result = await self.session.execute(_FIND_DOSSIER, {"key": lookup_key})
        return await self._view(result.first())

    async def credentials(self, lookup_key: str) -> DossierCredentials | None:
        """What a lookup's second factor is checked against: one indexed query, the same
        whether the code exists or not, so the answer time does not tell which codes exist."""
        result = await self.session.execute(_FIND_CREDENTIALS, {"key": lookup_key})
        row = result.first()
        return DossierCredentials(*row) if row is not None else None

    async def find_by_id(self, dossier_id: int) -> DossierView | None:
        """The dossier with this database id (what buttons and outbox payloads carry), or None.
        Callers check the chat's entitlement first: an id is not a secret."""
        result = await self.session.execute(_FIND_DOSSIER_BY_ID, {"id": dossier_id})
        return await self._view(result.first())

    async def _view(self, row: Any) -> DossierView | None:
        if row is None:
            return None
        values = row._asdict()
        history = await self.session.execute(_FIND_HISTORY, {"dossier_id": values["id"]})
        events: list[tuple[datetime, int, DossierEventView]] = []
        apologies: list[tuple[datetime, int, DossierApologyView]] = []
        for kind, status, at, text, item_id, recorded_at in history.tuples():
            if kind == 0:
                view = DossierEventView(Status(status), at, text)
                # Statuses of the same time (date-only exports) in the order they were stored.
                events.append((at or recorded_at, item_id, view))
            else:
                apologies.append((at, item_id, DossierApologyView(at, text)))
        events.sort(key=lambda item: (item[0], item[1]))
        apologies.sort(key=lambda item: (item[0], item[1]))
        channel = values["channel"]
        values.update(
            status=Status(values["status"]),
            channel=DossierChannel(channel) if channel is not None else None,
            events=tuple(item[2] for item in events),
            apologies=tuple(item[2] for item in apologies),
        )
        return DossierView(**values)

    async def subscribe(
        self, dossier_id: int, channel: str, chat_id: str, language: str | None = None
    ) -> bool:
        """Follow the dossier from this chat; True when the subscription is new. Subscribing
        again changes nothing but the language."""
        statement = (
            self._insert(SUBSCRIPTIONS)
            .values(
                dossier_id=dossier_id,
                channel=channel,
                chat_id=str(chat_id),
                language=language,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["dossier_id", "channel", "chat_id"])
        )
        result = await self.session.execute(statement)
        if affected_rows(result):
            return True
        await self.session.execute(
            update(SUBSCRIPTIONS)
            .where(
                SUBSCRIPTIONS.c.dossier_id == dossier_id,
                SUBSCRIPTIONS.c.channel == channel,
                SUBSCRIPTIONS.c.chat_id == str(chat_id),
            )
            .values(language=language)
        )
        return False

    async def unsubscribe(self, dossier_id: int, channel: str, chat_id: str) -> bool:
        """Stop following; True when there was a subscription."""
        result = await self.session.execute(
            delete(SUBSCRIPTIONS).where(
                SUBSCRIPTIONS.c.dossier_id == dossier_id,
                SUBSCRIPTIONS.c.channel == channel,
                SUBSCRIPTIONS.c.chat_id == str(chat_id),
            )
        )
        return bool(affected_rows(result))

    async def is_subscribed(self, dossier_id: int, channel: str, chat_id: str) -> bool:
        """Whether this chat follows the dossier."""
        found = await self.session.scalar(
            select(SUBSCRIPTIONS.c.id).where(
                SUBSCRIPTIONS.c.dossier_id == dossier_id,
                SUBSCRIPTIONS.c.channel == channel,
                SUBSCRIPTIONS.c.chat_id == str(chat_id),
            )
        )
        return found is not None
