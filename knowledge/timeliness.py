"""Was a dossier handled early, on time or late? The national scoring rule (DOMAIN.md).

- End of processing: the first "Đã xử lý xong" (9); else the first "Đã trả kết quả" (10); else
  the first stop or refusal (3 Không được tiếp nhận, 7 rút hồ sơ, 8 Dừng xử lý). The dossier row's
  own ``finished_at`` / ``returned_at`` count like a 9 / 10 event (the earlier of the two wins).
  A 9 or 10 event without a time falls back to the next rule that has one.
- Waiting for the citizen's supplement is not the office's time: every status-5 event opens a
  pause that lasts until the next event with another status (or until the end of processing, or
  ``now`` while still waiting). Consecutive 5 events are one request. The pauses are measured in
  working days (``working_days_between`` of their local dates, so a same-day supplement costs
  nothing) and the appointment is moved that many working days later.
- More than one supplement request makes a finished dossier late whatever the dates.
- Dates are compared as Asia/Ho_Chi_Minh calendar dates: "early" = finished on a day before the
  appointment day, "on_time" = on the appointment day, "late" = after it.
- Unfinished dossiers are "overdue" once today is after the (adjusted) appointment day, else
  "in_progress". Extra supplement requests do not make an unfinished dossier overdue.
- A withdrawn dossier (end of processing is a 7) is not the office's result: kind "not_scored".
- No appointment date: "unknown" (except a finished dossier with several supplement requests,
  which is "late"). A finished dossier whose end has no time at all is "unknown" too.

``days_early_or_late`` is a non-negative count of working days: how early, how late (at least 1
when the day is later, even if only a weekend lies between), or how far past due an overdue
dossier is; 0 for on time; None when not applicable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from knowledge.dossier import Status
from knowledge.workdays import add_working_days, to_local, working_days_between

TimelinessKind = Literal[
    "early", "on_time", "late", "in_progress", "overdue", "unknown", "not_scored"
]

_STOP_STATUSES = frozenset({Status.NOT_ACCEPTED, Status.WITHDRAWN, Status.STOPPED})
_END_STATUSES = _STOP_STATUSES | {Status.PROCESSED, Status.RETURNED}


@dataclass(frozen=True)
class StatusEvent:
    """One status change of a dossier (status number 1..10, when it happened)."""

    status: int
    at: datetime | None


@dataclass(frozen=True)
class Timeliness:
    """The verdict on one dossier."""

    kind: TimelinessKind
    end_at: datetime | None  # end of processing, local time; None if not finished or unknown
    appointment_at: datetime | None  # the appointment moved by the supplement pauses
    days_early_or_late: int | None  # working days, see the module docstring
    supplement_requests: int
    paused_working_days: int = 0
    end_status: int | None = None  # the status that ended processing (9, 10, 3, 7 or 8)


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [to_local(m) for m in moments if m is not None]
    return min(present) if present else None


def _sort_key(event: StatusEvent) -> datetime:
    assert event.at is not None
    return to_local(event.at)


def _first_at(events: Sequence[StatusEvent], statuses: frozenset[int]) -> StatusEvent | None:
    """The earliest timed event with one of ``statuses`` (events are sorted by time)."""
    return next((e for e in events if e.at is not None and e.status in statuses), None)


def _count_requests(ordered: Sequence[StatusEvent]) -> int:
    count = 0
    previous: int | None = None
    for event in ordered:
        if event.status == Status.SUPPLEMENT_REQUESTED and previous != event.status:
            count += 1
        previous = event.status
    return count


def _paused_working_days(timed: Sequence[StatusEvent], until: datetime) -> int:
    """Working days spent waiting for supplements, up to ``until`` (end of processing or now)."""
    total = 0
    for i, event in enumerate(timed):
        if event.at is None or event.status != Status.SUPPLEMENT_REQUESTED:
            continue
        if i > 0 and timed[i - 1].status == Status.SUPPLEMENT_REQUESTED:
            continue  # same request, already counted from its first event
        start = to_local(event.at)
        if start >= until:
            continue
        resumed = next(
            (e.at for e in timed[i + 1 :] if e.status != Status.SUPPLEMENT_REQUESTED), None
        )
        stop = min(to_local(resumed), until) if resumed is not None else until
        total += max(0, working_days_between(start.date(), stop.date()))
    return total


def classify(
    events: Sequence[StatusEvent],
    appointment_at: datetime | None,
    now: datetime,
    *,
    finished_at: datetime | None = None,
    returned_at: datetime | None = None,
) -> Timeliness:
    """Early / on time / late for a finished dossier, in progress / overdue otherwise.

    ``events`` may come in any order and may lack times; naive datetimes are local time.
    """
    timed = sorted((e for e in events if e.at is not None), key=_sort_key)
    untimed = [e for e in events if e.at is None]
    requests = _count_requests([*timed, *untimed])

    end_at: datetime | None = None
    end_status: int | None = None
    processed = _first_at(timed, frozenset({Status.PROCESSED}))
    returned = _first_at(timed, frozenset({Status.RETURNED}))
    stopped = _first_at(timed, _STOP_STATUSES)
    if (end_at := _earliest(processed.at if processed else None, finished_at)) is not None:
        end_status = Status.PROCESSED
    elif (end_at := _earliest(returned.at if returned else None, returned_at)) is not None:
        end_status = Status.RETURNED
    elif stopped is not None:
        end_at, end_status = _earliest(stopped.at), stopped.status
    finished_untimed = end_at is None and any(e.status in _END_STATUSES for e in untimed)

    withdrawn = end_status == Status.WITHDRAWN or (
        finished_untimed
        and not any(e.status in (Status.PROCESSED, Status.RETURNED) for e in untimed)
        and any(e.status == Status.WITHDRAWN for e in untimed)
    )
    local_now = to_local(now)
    paused = _paused_working_days(timed, end_at if end_at is not None else local_now)

    appointment: datetime | None = None
    if appointment_at is not None:
        appointment = to_local(appointment_at)
        if paused:
            moved = add_working_days(appointment.date(), paused)
            appointment = datetime.combine(moved, appointment.timetz())

    def verdict(kind: TimelinessKind, days: int | None) -> Timeliness:
        return Timeliness(kind, end_at, appointment, days, requests, paused, end_status)

    if withdrawn:
        return verdict("not_scored", None)
    if finished_untimed:
        return verdict("unknown", None)
    if end_at is not None:
        end_day = end_at.date()
        if appointment is None:
            return verdict("late" if requests > 1 else "unknown", None)
        due_day = appointment.date()
        if end_day > due_day:
            return verdict("late", max(1, working_days_between(due_day, end_day)))
        if requests > 1:
            return verdict("late", 0)
        if end_day < due_day:
            return verdict("early", max(1, working_days_between(end_day, due_day)))
        return verdict("on_time", 0)
    if appointment is None:
        return verdict("unknown", None)
    today, due_day = local_now.date(), appointment.date()
    if today > due_day:
        return verdict("overdue", max(1, working_days_between(due_day, today)))
    return verdict("in_progress", None)
