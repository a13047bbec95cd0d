"""Dossiers from the one-door system: bulk upsert with history, the chat's lookup, subscriptions,
and the ingest API's keys.

Like every repository here, nothing commits: the caller owns the transaction. ``upsert_many``
works on one chunk with SQLAlchemy Core in bulk (one SELECT, then executemany INSERT / UPDATE),
and enqueues the subscribers' notifications in the same transaction, so a status change and its
message are recorded together or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Insert,
    SmallInteger,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    table,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.dossier import FINAL_STATUSES, DossierChannel, Status
from knowledge.dossier_records import (
    DATA_FIELDS,
    ROW_FIELDS,
    DossierRecord,
    agency_key,
    record_row,
    sqlite_time,
)
from storage.models import (
    ApiKey,
    Dossier,
    DossierApology,
    DossierEvent,
    DossierSubscription,
    utcnow,
)
from storage.outbox import OutgoingMessage, enqueue

DOSSIERS = Dossier.__table__
EVENTS = DossierEvent.__table__
APOLOGIES = DossierApology.__table__
SUBSCRIPTIONS = DossierSubscription.__table__
API_KEYS = ApiKey.__table__

# Fields a record may leave blank without erasing what is stored ("blank never erases").
_MERGED_FIELDS = tuple(f for f in DATA_FIELDS if f not in ("status", "status_at"))
# Keeps IN (...) lists under SQLite's (32,766) and asyncpg's (32,767) bound-parameter limits.
IN_CHUNK = 10_000

KIND_STATUS = "dossier_status"
KIND_RATING = "dossier_rating"
KIND_APOLOGY = "dossier_apology"


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
    "dossiers", *(column(name) for name in ("id", "lookup_key", *DATA_FIELDS, "source",
                                            "created_at", "updated_at"))
)
_RAW_EVENTS = table(
    "dossier_events", *(column(n) for n in ("id", "dossier_id", "status", "status_at", "note",
                                            "recorded_at"))
)
_RAW_APOLOGIES = table(
    "dossier_apologies", *(column(n) for n in ("id", "dossier_id", "new_appointment_at",
                                               "reason", "recorded_at"))
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


# Positions in a prepared row (``knowledge.dossier_records.ROW_FIELDS``, what ``parse_row``
# gives): the lookup key, the dossier columns in DATA_FIELDS order, the note.
_KEY, _STATUS, _STATUS_AT, _NEW_APPOINTMENT, _DELAY_REASON, _NOTE = 0, 10, 11, 14, 15, 17
_DATA_END = 1 + len(DATA_FIELDS)  # row[1:_DATA_END] are the DATA_FIELDS values
assert ROW_FIELDS[1:_DATA_END] == DATA_FIELDS and ROW_FIELDS[_NOTE] == "note"
assert ROW_FIELDS[_STATUS] == "status" and ROW_FIELDS[_STATUS_AT] == "status_at"
assert ROW_FIELDS[_NEW_APPOINTMENT] == "new_appointment_at"
assert ROW_FIELDS[_DELAY_REASON] == "delay_reason"
_AGENCY = DATA_FIELDS.index("agency")  # in a stored row's DATA_FIELDS values
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


@dataclass(slots=True)
class _Plan:
    """What to write for one dossier of a chunk (values in the driver's form)."""

    key: str
    state: dict[str, Any]
    events: dict[tuple[int, Any], tuple[str | None, bool]]  # (status, at) -> (note, notify)
    apologies: dict[Any, str | None]  # new appointment -> reason
    dossier_id: int | None = None


# Statuses that end a dossier (3 Không được tiếp nhận, 7 withdrawn, 8 stopped, 10 returned): a
# non-final status of the same time never replaces one of them.
_FINAL: frozenset[int] = frozenset(int(status) for status in FINAL_STATUSES)


def _stays(current: int, status: int) -> bool:
    """Whether a new ``status`` of the same time as the ``current`` one only adds history: a
    final status is never replaced by a non-final one (so 9 never replaces 10)."""
    return current in _FINAL and status not in _FINAL


def _plan(
    key: str,
    stored: dict[str, Any] | None,
    rows: list[tuple[dict[str, Any], str | None]],
    history: set[tuple[int, Any]] | None = None,
) -> _Plan:
    """Apply the chunk's rows ``(values, note)`` of one dossier, in order, to its stored state.

    ``history`` is the dossier's stored ``(status, status_at)`` events when they were fetched
    (else only the stored current state is known). Row by row, ``at`` being its status time:

    - the current ``(status, at)`` again, or a row without time of the current status: its
      other fields are merged, no event (the status time is kept);
    - a ``(status, at)`` already in the history or earlier in the chunk -- a None time equal to
      a None time -- is a re-sent snapshot: it adds nothing, notifies nobody, changes nothing;
    - older than the current status time: history only, nobody is notified;
    - the same time as the current status but another status not in the history (date-only
      exports: "supplement requested" 5, then processing 4 again on the same day): it becomes
      current and is pushed, like a newer status -- except that a final status (3, 7, 8, 10)
      is never replaced by a non-final one of the same time (so 9 never replaces 10): then
      history only, nobody is notified. No other ranking: rows of one code apply in order;
    - otherwise a new status: recorded, made current, and pushed to the followers of a stored
      dossier (``notify``).

    A blank field never erases a value.
    """
    if stored is None and len(rows) == 1:  # the common case of a first import
        row, note = rows[0]
        apology = row["new_appointment_at"]
        return _Plan(
            key,
            row,
            {(row["status"], row["status_at"]): (note, False)},
            {apology: row["delay_reason"]} if apology is not None else {},
        )
    state: dict[str, Any] | None = dict(stored) if stored is not None else None
    events: dict[tuple[int, Any], tuple[str | None, bool]] = {}
    apologies: dict[Any, str | None] = {}
    known: set[tuple[int, Any]] = set(history) if history else set()
    if stored is not None:
        known.add((stored["status"], stored["status_at"]))
    stored_apology = stored["new_appointment_at"] if stored is not None else None
    for row, note in rows:
        apology = row["new_appointment_at"]
        if apology is not None and apology != stored_apology:
            apologies.setdefault(apology, row["delay_reason"])
        status, at = row["status"], row["status_at"]
        if state is None:
            state = dict(row)
            events[(status, at)] = (note, False)
            known.add((status, at))
            continue
        current, current_at = state["status"], state["status_at"]
        if status == current and (at is None or at == current_at):
            pass  # the current status again: merge the other fields
        elif (status, at) in known:
            continue  # a re-sent snapshot
        else:
            history_only = at is not None and current_at is not None and (
                at < current_at or (at == current_at and _stays(current, status))
            )
            # Only a status that becomes current on a dossier someone may follow is pushed.
            events[(status, at)] = (note, stored is not None and not history_only)
            known.add((status, at))
            if history_only:
                continue  # an older snapshot never overwrites the current state
            state["status"], state["status_at"] = status, at
        for name in _MERGED_FIELDS:
            value = row[name]
            if value is not None:
                state[name] = value
    assert state is not None
    return _Plan(key, state, events, apologies)


def _utc_iso(value: datetime | str) -> str:
    """A stored time (an aware datetime, or SQLite's text of a UTC time) as ISO 8601 in UTC,
    e.g. ``2026-03-25T10:00:00+00:00``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


class DossierRepository:
    """Dossiers: bulk upsert from imports and the API, lookup by code, subscriptions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        bind = session.bind
        self._dialect = bind.dialect.name if bind is not None else "sqlite"

    def _insert(self, target: Any) -> Insert:
        return pg_insert(target) if self._dialect == "postgresql" else sqlite_insert(target)

    @property
    def sqlite_times(self) -> bool:
        """Whether ``upsert_rows`` takes times as SQLite's text (else as aware datetimes)."""
        return self._dialect == "sqlite"

    async def _existing(self, keys: list[str]) -> dict[str, tuple[int, tuple[Any, ...]]]:
        """The stored dossiers of these keys: ``(id, DATA_FIELDS values)`` by lookup key."""
        found: dict[str, tuple[int, tuple[Any, ...]]] = {}
        sqlite = self._dialect == "sqlite"
        connection = await self.session.connection() if sqlite else None
        for start in range(0, len(keys), IN_CHUNK):
            part = keys[start : start + IN_CHUNK]
            if connection is not None:  # the driver's own statement: no SQL compiling per call
                result = await connection.exec_driver_sql(_sqlite_existing(len(part)), tuple(part))
            else:
                result = await self.session.execute(_SELECT_EXISTING, {"keys": part})
            for values in result.tuples():
                found[values[1]] = (values[0], tuple(values[2:]))
        return found

    async def _histories(self, dossier_ids: list[int]) -> dict[int, set[tuple[int, Any]]]:
        """The stored ``(status, status_at)`` events of these dossiers, by dossier id (times in
        the driver's form, as ``upsert_rows`` takes them)."""
        found: dict[int, set[tuple[int, Any]]] = {}
        for start in range(0, len(dossier_ids), IN_CHUNK):
            result = await self.session.execute(
                _SELECT_HISTORY, {"ids": dossier_ids[start : start + IN_CHUNK]}
            )
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
        notifies nobody (see ``_plan``). Every new status event of a followed dossier enqueues
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
        ``self.sqlite_times`` (what a file import's parser process sends). Never commits."""
        if not rows:
            return IngestResult()
        grouped: dict[str, Any] = {row[_KEY]: row for row in rows}
        if len(grouped) != len(rows):  # some dossier has several rows: keep them all, in order
            grouped = {}
            for row in rows:
                previous = grouped.setdefault(row[_KEY], row)
                if previous is not row:
                    if type(previous) is list:
                        previous.append(row)
                    else:
                        grouped[row[_KEY]] = [previous, row]
        existing = await self._existing(list(grouped))
        if agency is not None:
            own = agency_key(agency)
            foreign = [k for k, (_, row) in existing.items() if agency_key(row[_AGENCY]) != own]
            if foreign:
                raise ForeignDossierError(sorted(foreign))

        now = sqlite_time(utcnow()) if self.sqlite_times else utcnow()
        tail = (source, now, now)
        # In chunk order: a prepared row (one row of a new dossier, the bulk of a first
        # import: nothing to merge) or the _Plan of a dossier that needed merging.
        order: list[tuple[Any, ...] | _Plan] = []
        new_rows: list[tuple[Any, ...]] = []  # in _NEW_COLUMNS order
        changed_rows: list[dict[str, Any]] = []
        # Stored dossiers to merge, once the histories some of them need are fetched.
        deferred: list[tuple[int, str, int, dict[str, Any], list[Any]]] = []
        needs_history: list[int] = []
        unchanged = 0
        for key, entry in grouped.items():
            found = existing.get(key)
            single = type(entry) is not list
            if found is None and single:
                new_rows.append(entry[:_DATA_END] + tail)
                order.append(entry)
                continue
            if found is not None and single and entry[1:_DATA_END] == found[1]:
                unchanged += 1  # the same state again: no event, no apology, no write
                continue
            group = entry if not single else [entry]
            merged = [(dict(zip(DATA_FIELDS, row[1:_DATA_END])), row[_NOTE]) for row in group]
            if found is None:
                plan = _plan(key, None, merged)
                state = plan.state
                new_rows.append((key, *(state[name] for name in DATA_FIELDS), *tail))
                order.append(plan)
                continue
            stored = dict(zip(DATA_FIELDS, found[1]))
            stored_status, stored_at = stored["status"], stored["status_at"]
            if stored_at is None or any(
                row[_STATUS_AT] is None
                or (row[_STATUS_AT] == stored_at and row[_STATUS] != stored_status)
                for row in group
            ):
                # NULL times never clash in the history's unique index, and a time equal to the
                # current one needs the history: compare these rows with the stored events.
                needs_history.append(found[0])
            deferred.append((len(order), key, found[0], stored, merged))
            order.append(entry)  # replaced by the plan below

        histories = await self._histories(needs_history) if needs_history else {}
        for position, key, dossier_id, stored, merged in deferred:
            plan = _plan(key, stored, merged, histories.get(dossier_id))
            plan.dossier_id = dossier_id
            if plan.state != stored:
                values = dict(plan.state)
                values.update(dossier_pk=dossier_id, source=source, updated_at=now)
                changed_rows.append(values)
            else:
                unchanged += 1
            order[position] = plan

        ids = await self._insert_dossiers(new_rows) if new_rows else {}
        if changed_rows:
            await self.session.execute(_UPDATE_DOSSIER, changed_rows)

        quiet: list[tuple[Any, ...]] = []  # history rows nobody is told about
        loud: list[dict[str, Any]] = []  # those that notify the dossier's followers
        apologies: list[dict[str, Any]] = []  # of new dossiers: nobody follows them yet
        loud_apologies: list[dict[str, Any]] = []  # of stored dossiers: may have followers
        for item in order:
            if type(item) is tuple:
                dossier_id = ids[item[_KEY]]
                quiet.append((dossier_id, item[_STATUS], item[_STATUS_AT], item[_NOTE], now))
                apology = item[_NEW_APPOINTMENT]
                if apology is not None:
                    apologies.append(
                        {
                            "dossier_id": dossier_id,
                            "new_appointment_at": apology,
                            "reason": item[_DELAY_REASON],
                            "recorded_at": now,
                        }
                    )
                continue
            assert isinstance(item, _Plan)
            dossier_id = item.dossier_id if item.dossier_id is not None else ids[item.key]
            for (status, at), (note, notify) in item.events.items():
                if notify:
                    loud.append(
                        {
                            "dossier_id": dossier_id,
                            "status": status,
                            "status_at": at,
                            "note": note,
                            "recorded_at": now,
                        }
                    )
                else:
                    quiet.append((dossier_id, status, at, note, now))
            target = apologies if item.dossier_id is None else loud_apologies
            for at, reason in item.apologies.items():
                target.append(
                    {
                        "dossier_id": dossier_id,
                        "new_appointment_at": at,
                        "reason": reason,
                        "recorded_at": now,
                    }
                )

        events_added, notify = await self._add_events(quiet, loud)
        new_apologies = await self._add_apologies(apologies, loud_apologies)
        notified = await self._notify(notify, new_apologies) if notify or new_apologies else 0
        return IngestResult(len(new_rows), len(changed_rows), unchanged, events_added, notified)

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
            for start in range(0, len(keys), IN_CHUNK):
                result = await self.session.execute(
                    _SELECT_IDS, {"keys": keys[start : start + IN_CHUNK]}
                )
                ids.update((lookup, pk) for pk, lookup in result.tuples())
            return ids
        result = await self.session.execute(
            insert(_RAW_DOSSIERS).returning(_RAW_DOSSIERS.c.id, _RAW_DOSSIERS.c.lookup_key),
            [dict(zip(_NEW_COLUMNS, row)) for row in rows],
        )
        return {lookup: pk for pk, lookup in result.tuples()}

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
            result = await connection.exec_driver_sql(_SQLITE_INSERT_EVENTS, quiet)
            added += max(result.rowcount, 0)
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
        by_dossier: dict[int, list[tuple[int, str, str, str | None]]] = {}
        for start in range(0, len(dossier_ids), IN_CHUNK):
            result = await self.session.execute(
                select(
                    SUBSCRIPTIONS.c.dossier_id,
                    SUBSCRIPTIONS.c.id,
                    SUBSCRIPTIONS.c.channel,
                    SUBSCRIPTIONS.c.chat_id,
                    SUBSCRIPTIONS.c.language,
                ).where(SUBSCRIPTIONS.c.dossier_id.in_(dossier_ids[start : start + IN_CHUNK]))
            )
            for dossier_id, *subscription in result.tuples():
                entry = (subscription[0], subscription[1], subscription[2], subscription[3])
                by_dossier.setdefault(dossier_id, []).append(entry)
        messages: list[OutgoingMessage] = []
        for dossier_id, event_id, status in events:
            for subscription_id, channel, chat_id, language in by_dossier.get(dossier_id, ()):
                messages.append(
                    OutgoingMessage(
                        channel=channel,
                        chat_id=chat_id,
                        kind=KIND_STATUS,
                        payload={"dossier_id": dossier_id, "event_id": event_id, "status": status},
                        language=language,
                        dedup_key=f"{KIND_STATUS}:{event_id}:{subscription_id}",
                    )
                )
                if status == Status.RETURNED:
                    messages.append(
                        OutgoingMessage(
                            channel=channel,
                            chat_id=chat_id,
                            kind=KIND_RATING,
                            payload={"dossier_id": dossier_id},
                            language=language,
                            dedup_key=f"{KIND_RATING}:{dossier_id}:{subscription_id}",
                        )
                    )
        for dossier_id, at, reason in apologies:
            followers = by_dossier.get(dossier_id, ())
            if not followers:
                continue
            when = _utc_iso(at)
            for subscription_id, channel, chat_id, language in followers:
                messages.append(
                    OutgoingMessage(
                        channel=channel,
                        chat_id=chat_id,
                        kind=KIND_APOLOGY,
                        payload={
                            "dossier_id": dossier_id,
                            "new_appointment_at": when,
                            "reason": reason,
                        },
                        language=language,
                        dedup_key=f"{KIND_APOLOGY}:{dossier_id}:{when}:{subscription_id}",
                    )
                )
        return await enqueue(self.session, messages) if messages else 0

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
        if result.rowcount:
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
        return bool(result.rowcount)

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


# --- API keys ----------------------------------------------------------------------------------

KEY_PREFIX = "vnd_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # "vnd_" and the key's first 8 random characters
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key without its secret."""

    id: int
    agency: str
    label: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


def hash_key(plaintext: str) -> str:
    """The stored form of a key: SHA-256, hex."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


_KEY_COLUMNS = (
    API_KEYS.c.id,
    API_KEYS.c.agency,
    API_KEYS.c.label,
    API_KEYS.c.prefix,
    API_KEYS.c.scopes,
    API_KEYS.c.created_at,
    API_KEYS.c.last_used_at,
    API_KEYS.c.revoked_at,
)


def _key_info(row: Sequence[Any]) -> ApiKeyInfo:
    key_id, agency, label, prefix, scopes, created, used, revoked = row
    return ApiKeyInfo(key_id, agency, label, prefix, tuple(scopes.split()), created, used, revoked)


class ApiKeyRepository:
    """API keys of agencies for the ingest API; only SHA-256 hashes are stored."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, agency: str, label: str = "", scopes: str = "dossiers"
    ) -> tuple[ApiKeyInfo, str]:
        """A new key for ``agency``; returns its info and the plaintext (shown once, never
        stored)."""
        agency = " ".join(agency.split())
        if not agency:
            raise ValueError("agency is empty")
        scope_list = " ".join(scopes.split()) or "dossiers"
        while True:
            plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
            prefix = plaintext[:PREFIX_LENGTH]
            clash = await self.session.scalar(
                select(API_KEYS.c.id).where(API_KEYS.c.prefix == prefix)
            )
            if clash is None:
                break
        now = utcnow()
        result = await self.session.execute(
            insert(API_KEYS)
            .values(
                agency=agency,
                label=label.strip(),
                prefix=prefix,
                key_hash=hash_key(plaintext),
                scopes=scope_list,
                created_at=now,
            )
            .returning(*_KEY_COLUMNS)
        )
        return _key_info(result.one()), plaintext

    async def authenticate(self, plaintext: str, scope: str) -> ApiKeyInfo | None:
        """The active key ``plaintext`` stands for, if it has ``scope``; else None.

        The key is looked up by its hash (the secret itself is never compared), so timing
        tells nothing about it. ``last_used_at`` is written at most once a minute per key.
        """
        if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > MAX_KEY_LENGTH:
            return None
        digest = hash_key(plaintext)
        result = await self.session.execute(
            select(*_KEY_COLUMNS, API_KEYS.c.key_hash).where(
                API_KEYS.c.key_hash == digest, API_KEYS.c.revoked_at.is_(None)
            )
        )
        row = result.first()
        if row is None or not hmac.compare_digest(row[-1], digest):
            return None
        info = _key_info(row[:-1])
        if scope not in info.scopes:
            return None
        now = utcnow()
        if info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION:
            await self.session.execute(
                update(API_KEYS).where(API_KEYS.c.id == info.id).values(last_used_at=now)
            )
        return info

    async def list(self) -> list[ApiKeyInfo]:
        """Every key (revoked ones too), oldest first."""
        result = await self.session.execute(select(*_KEY_COLUMNS).order_by(API_KEYS.c.id))
        return [_key_info(row) for row in result.tuples()]

    async def revoke(self, prefix_or_id: str) -> ApiKeyInfo | None:
        """Revoke the key with this prefix (with or without "vnd_") or id; None when no active
        key matches; ``ValueError`` when the prefix matches more than one."""
        text = prefix_or_id.strip()
        conditions = []
        if text.isdigit():
            conditions.append(API_KEYS.c.id == int(text))
        if len(text) >= 4:
            prefix = text if text.startswith(KEY_PREFIX) else KEY_PREFIX + text
            conditions.append(API_KEYS.c.prefix.startswith(prefix, autoescape=True))
        if not conditions:
            return None
        result = await self.session.execute(
            select(*_KEY_COLUMNS).where(or_(*conditions), API_KEYS.c.revoked_at.is_(None))
        )
        rows = result.all()
        if not rows:
            return None
        if len(rows) > 1:
            raise ValueError(f"{text!r} matches {len(rows)} keys; give more of the prefix")
        info = _key_info(rows[0])
        now = utcnow()
        await self.session.execute(
            update(API_KEYS).where(API_KEYS.c.id == info.id).values(revoked_at=now)
        )
        return ApiKeyInfo(
            info.id, info.agency, info.label, info.prefix, info.scopes, info.created_at,
            info.last_used_at, now,
        )
