"""How one chunk of dossier rows is applied to what is stored, decided in memory before
anything is written: rows grouped by dossier, each dossier's new state, its new history and
apology letters, and which of them its followers are told about.

Pure (no I/O): ``storage.repositories.dossiers.DossierRepository.upsert_rows`` reads the stored
state, calls these, then writes what they decided in bulk. Values are in the driver's form
(``knowledge.dossier_records.parse_row``), so nothing here converts a value per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge.dossier import final_status_stays
from knowledge.dossier_records import DATA_FIELDS, ROW_FIELDS, agency_key

# Fields a record may leave blank without erasing what is stored ("blank never erases").
_MERGED_FIELDS = tuple(f for f in DATA_FIELDS if f not in ("status", "status_at"))

# Positions in a prepared row (``knowledge.dossier_records.ROW_FIELDS``, what ``parse_row``
# gives): the lookup key, the dossier columns in DATA_FIELDS order, the note.
_KEY, _STATUS, _STATUS_AT, _NEW_APPOINTMENT, _DELAY_REASON, _NOTE = 0, 10, 11, 14, 15, 17
_DATA_END = 1 + len(DATA_FIELDS)  # row[1:_DATA_END] are the DATA_FIELDS values
assert ROW_FIELDS[1:_DATA_END] == DATA_FIELDS and ROW_FIELDS[_NOTE] == "note"
assert ROW_FIELDS[_STATUS] == "status" and ROW_FIELDS[_STATUS_AT] == "status_at"
assert ROW_FIELDS[_NEW_APPOINTMENT] == "new_appointment_at"
assert ROW_FIELDS[_DELAY_REASON] == "delay_reason"
_AGENCY = DATA_FIELDS.index("agency")  # in a stored row's DATA_FIELDS values

# What ``DossierRepository._existing`` gives: (id, DATA_FIELDS values) by lookup key.
Existing = dict[str, tuple[int, tuple[Any, ...]]]


@dataclass(slots=True)
class Plan:
    """What to write for one dossier of a chunk (values in the driver's form)."""

    key: str
    state: dict[str, Any]
    events: dict[tuple[int, Any], tuple[str | None, bool]]  # (status, at) -> (note, notify)
    apologies: dict[Any, str | None]  # new appointment -> reason
    dossier_id: int | None = None


def plan_dossier(
    key: str,
    stored: dict[str, Any] | None,
    rows: list[tuple[dict[str, Any], str | None]],
    history: set[tuple[int, Any]] | None = None,
) -> Plan:
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
        return Plan(
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
            history_only = (
                at is not None
                and current_at is not None
                and (at < current_at or (at == current_at and final_status_stays(current, status)))
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
    return Plan(key, state, events, apologies)


def group_rows(rows: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
    """The chunk's rows by lookup key: one row, or the list of a dossier's rows in order."""
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
    return grouped


def foreign_keys(existing: Existing, agency: str) -> list[str]:
    """The stored dossiers among ``existing`` that belong to another agency than ``agency``."""
    own = agency_key(agency)
    return sorted(k for k, (_, row) in existing.items() if agency_key(row[_AGENCY]) != own)


@dataclass(slots=True)
class ChunkWork:
    """What one chunk writes, as it is worked out (``sort_out``, then ``merge_stored``)."""

    # In chunk order: a prepared row (one row of a new dossier, the bulk of a first import:
    # nothing to merge) or the Plan of a dossier that needed merging.
    order: list[tuple[Any, ...] | Plan] = field(default_factory=list)
    new_rows: list[tuple[Any, ...]] = field(default_factory=list)  # in _NEW_COLUMNS order
    changed_rows: list[dict[str, Any]] = field(default_factory=list)
    # Stored dossiers to merge, once the histories some of them need are fetched:
    # (position in order, key, dossier id, stored state, the rows as (values, note)).
    deferred: list[tuple[int, str, int, dict[str, Any], list[Any]]] = field(default_factory=list)
    needs_history: list[int] = field(default_factory=list)
    unchanged: int = 0


def sort_out(grouped: dict[str, Any], existing: Existing, tail: tuple[Any, ...]) -> ChunkWork:
    """First pass over a chunk: new dossiers of one row go straight to ``new_rows``, the same
    state again is ``unchanged``, new dossiers of several rows are planned now, and stored
    dossiers that changed are deferred until the histories they need are read."""
    work = ChunkWork()
    for key, entry in grouped.items():
        found = existing.get(key)
        single = type(entry) is not list
        if found is None and single:
            work.new_rows.append(entry[:_DATA_END] + tail)
            work.order.append(entry)
            continue
        if found is not None and single and entry[1:_DATA_END] == found[1]:
            work.unchanged += 1  # the same state again: no event, no apology, no write
            continue
        group = entry if not single else [entry]
        merged = [(dict(zip(DATA_FIELDS, row[1:_DATA_END])), row[_NOTE]) for row in group]
        if found is None:
            plan = plan_dossier(key, None, merged)
            state = plan.state
            work.new_rows.append((key, *(state[name] for name in DATA_FIELDS), *tail))
            work.order.append(plan)
            continue
        stored = dict(zip(DATA_FIELDS, found[1]))
        if _needs_history(stored, group):
            work.needs_history.append(found[0])
        work.deferred.append((len(work.order), key, found[0], stored, merged))
        work.order.append(entry)  # replaced by the plan in merge_stored
    return work


def _needs_history(stored: dict[str, Any], group: list[tuple[Any, ...]]) -> bool:
    """NULL times never clash in the history's unique index, and a time equal to the current
    one needs the history: such rows are compared with the stored events."""
    stored_status, stored_at = stored["status"], stored["status_at"]
    return stored_at is None or any(
        row[_STATUS_AT] is None or (row[_STATUS_AT] == stored_at and row[_STATUS] != stored_status)
        for row in group
    )


def merge_stored(
    work: ChunkWork,
    histories: dict[int, set[tuple[int, Any]]],
    source: str,
    now: Any,
) -> None:
    """Second pass: plan the deferred stored dossiers with their histories; the changed ones
    go to ``changed_rows`` (keyed ``dossier_pk`` for the UPDATE), the others count unchanged."""
    for position, key, dossier_id, stored, merged in work.deferred:
        plan = plan_dossier(key, stored, merged, histories.get(dossier_id))
        plan.dossier_id = dossier_id
        if plan.state != stored:
            values = dict(plan.state)
            values.update(dossier_pk=dossier_id, source=source, updated_at=now)
            work.changed_rows.append(values)
        else:
            work.unchanged += 1
        work.order[position] = plan


@dataclass(slots=True)
class HistoryRows:
    """The history and apology rows a chunk adds, split by whether followers are told."""

    quiet: list[tuple[Any, ...]] = field(default_factory=list)  # events nobody is told about
    loud: list[dict[str, Any]] = field(default_factory=list)  # events followers are told about
    apologies: list[dict[str, Any]] = field(default_factory=list)  # of new dossiers: no followers
    loud_apologies: list[dict[str, Any]] = field(default_factory=list)  # of stored dossiers


def history_rows(work: ChunkWork, ids: dict[str, int], now: Any) -> HistoryRows:
    """The events and apology letters of every dossier of the chunk, in chunk order (``ids``:
    the new dossiers' ids by lookup key)."""
    out = HistoryRows()
    for item in work.order:
        if type(item) is tuple:
            dossier_id = ids[item[_KEY]]
            out.quiet.append((dossier_id, item[_STATUS], item[_STATUS_AT], item[_NOTE], now))
            apology = item[_NEW_APPOINTMENT]
            if apology is not None:
                out.apologies.append(_apology_row(dossier_id, apology, item[_DELAY_REASON], now))
            continue
        assert isinstance(item, Plan)
        dossier_id = item.dossier_id if item.dossier_id is not None else ids[item.key]
        for (status, at), (note, notify) in item.events.items():
            if notify:
                out.loud.append(
                    {
                        "dossier_id": dossier_id,
                        "status": status,
                        "status_at": at,
                        "note": note,
                        "recorded_at": now,
                    }
                )
            else:
                out.quiet.append((dossier_id, status, at, note, now))
        target = out.apologies if item.dossier_id is None else out.loud_apologies
        for at, reason in item.apologies.items():
            target.append(_apology_row(dossier_id, at, reason, now))
    return out


def _apology_row(dossier_id: int, at: Any, reason: str | None, now: Any) -> dict[str, Any]:
    return {
        "dossier_id": dossier_id,
        "new_appointment_at": at,
        "reason": reason,
        "recorded_at": now,
    }
