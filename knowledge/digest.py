"""The officials' daily digest as figures: periods, dossier buckets, shares, satisfaction.

Pure code, no I/O: ``storage.repositories.digest`` counts, ``handlers.digest.build`` assembles a ``Digest``,
the outbox keeps it as JSON (``to_payload`` / ``from_payload``), and ``handlers.digest.render``
turns it into text at send time, in the official's language.

Periods (local dates, Asia/Ho_Chi_Minh), for a digest of day D:
- the report period runs from the previous working day before D to the day before D, both
  included: Tuesday's digest covers Monday, Monday's covers Friday to Sunday, the first digest
  after Tết covers the whole holiday. Consecutive digests cover every day exactly once.
- the month runs from the 1st of the month of the report period's last WORKING day (its
  first day: only days off follow it) to the period's last day (the centres' "lũy kế từ đầu
  tháng"; a month rather than the year keeps the digest of even the largest agency within its
  time budget: see the README's benchmark). So the month always holds the report period, and
  the digest of 2 January (period 31 December - 1 January) reports December to its end rather
  than a holiday alone, leaving 31 December out of every month's figures.
- the trend covers the ``TREND_DAYS`` calendar days before D (non-working days shaded).

Dossier figures are those of the dossiers RECEIVED in a period (a cohort, the way the centres
report them: "tiếp nhận 30.407 hồ sơ; đã giải quyết 28.375, chiếm 93,3%, trong đó trả sớm hạn
27.448 (96,7%) ..."), in their state when the digest is built: resolved (early / on time /
late by ``knowledge.timeliness``, or finished without an appointment date to score against),
still open (in progress / overdue / without an appointment date), or withdrawn by the citizen
(not the office's result). Shares of "resolved" and "open" are of the dossiers received;
early / on time / late are shares of the resolved ones. Satisfaction counts the ratings given
in the period (level 1 "Rất hài lòng" ... 5 "Rất không hài lòng"); satisfied = levels 1-2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from knowledge.dossier import Status
from knowledge.timeliness import StatusEvent, Timeliness
from knowledge.workdays import add_working_days, is_working_day, to_local, working_days_between

PAYLOAD_VERSION = 1
TREND_DAYS = 14
LIST_LIMIT = 10  # tracking codes listed per section ("+ 25 more" for the rest)
MISSES_LIMIT = 5  # citizens' unanswered questions listed (the most asked)
MISSES_DAYS = 7  # ... among those asked in the last week

# Dossier buckets, each dossier in exactly one.
EARLY = "early"
ON_TIME = "on_time"
LATE = "late"
RESOLVED_OTHER = "resolved_other"  # finished, but no appointment date (or end time) to score
IN_PROGRESS = "in_progress"
OVERDUE = "overdue"
PENDING_OTHER = "pending_other"  # open, without an appointment date
WITHDRAWN = "withdrawn"  # withdrawn by the citizen: not the office's result
BUCKETS = (EARLY, ON_TIME, LATE, RESOLVED_OTHER, IN_PROGRESS, OVERDUE, PENDING_OTHER, WITHDRAWN)

_END_STATUSES = frozenset(
    {Status.PROCESSED, Status.RETURNED, Status.NOT_ACCEPTED, Status.WITHDRAWN, Status.STOPPED}
)

# Petition deadline kinds (which deadline an item is listed for).
DEADLINE_REFUSE = "refuse"  # status received: accept (take) or refuse within 2 working days
DEADLINE_INFO = "info"  # in progress, nothing asked yet: last day to ask for more information
DEADLINE_ANSWER = "answer"  # open: the answer is due within 15 working days
DEADLINE_PUBLISH = "publish"  # answered: to be published within 2 more working days


def bucket_of(timeliness: Timeliness, events: Iterable[StatusEvent] = ()) -> str:
    """The digest bucket of a dossier classified by ``knowledge.timeliness.classify``.

    ``events`` (the same ones given to ``classify``) tell a dossier whose end of processing has
    no time (kind "unknown", resolved) from an open one without an appointment date."""
    kind = timeliness.kind
    if kind in (EARLY, ON_TIME, LATE, IN_PROGRESS, OVERDUE):
        return kind
    if kind == "not_scored":
        return WITHDRAWN
    if timeliness.end_at is not None or any(
        e.status in _END_STATUSES for e in events if e.at is None
    ):
        return RESOLVED_OTHER
    return PENDING_OTHER


# --- the national rule, bucket only -------------------------------------------------------------
#
# ``knowledge.timeliness.classify`` also counts how many working days early or late a dossier
# is, walking the calendar day by day: about 100 µs a dossier, too slow for the hundred thousand
# dossiers a large agency's month can hold that need their history read. ``timeliness_bucket`` is
# the same rule reduced to the bucket, with working days counted from per-year prefix sums;
# tests/unit/test_digest_render.py checks it against ``bucket_of(classify(...))`` on thousands
# of random histories, and tests/integration/test_digest.py against the chat's verdict.

_EPOCH_YEAR = 2000
_STOPS = frozenset({Status.NOT_ACCEPTED, Status.WITHDRAWN, Status.STOPPED})


@lru_cache(maxsize=256)
def _year_prefix(year: int) -> tuple[int, ...]:
    """Working days of ``year`` up to and including each of its days (index: day of year - 1)."""
    counts: list[int] = []
    total = 0
    d = date(year, 1, 1)
    while d.year == year:
        total += is_working_day(d)
        counts.append(total)
        d += timedelta(days=1)
    return tuple(counts)


@lru_cache(maxsize=256)
def _year_base(year: int) -> int:
    """Working days from 1 January ``_EPOCH_YEAR`` to the end of the year before ``year``."""
    if year <= _EPOCH_YEAR:
        return 0
    return _year_base(year - 1) + _year_prefix(year - 1)[-1]


def count_working_days(start: date, end: date) -> int:
    """``knowledge.workdays.working_days_between`` (working days in ``(start, end]``, negative
    when ``end < start``) in constant time once the years' tables are built."""
    if start.year < _EPOCH_YEAR or end.year < _EPOCH_YEAR:
        return working_days_between(start, end)

    def cumulative(d: date) -> int:
        return _year_base(d.year) + _year_prefix(d.year)[d.timetuple().tm_yday - 1]

    return cumulative(end) - cumulative(start)


def _naive_local(moment: datetime | None) -> datetime | None:
    return None if moment is None else to_local(moment).replace(tzinfo=None)


def timeliness_bucket(
    events: Sequence[StatusEvent],
    appointment_at: datetime | None,
    now: datetime,
    *,
    finished_at: datetime | None = None,
    returned_at: datetime | None = None,
) -> str:
    """``bucket_of(classify(events, appointment_at, now, ...), events)``, faster."""
    return local_timeliness_bucket(
        [(int(e.status), _naive_local(e.at)) for e in events],
        _naive_local(appointment_at),
        _naive_local(now),  # type: ignore[arg-type]
        finished_at=_naive_local(finished_at),
        returned_at=_naive_local(returned_at),
    )


_SUPPLEMENT = int(Status.SUPPLEMENT_REQUESTED)
_PROCESSED = int(Status.PROCESSED)
_RETURNED = int(Status.RETURNED)
_WITHDRAWN = int(Status.WITHDRAWN)
_STOP_CODES = frozenset(int(s) for s in _STOPS)
_END_CODES = frozenset(int(s) for s in _END_STATUSES)


def local_timeliness_bucket(
    events: Sequence[tuple[int, datetime | None]],
    appointment_at: datetime | None,
    now: datetime,
    *,
    finished_at: datetime | None = None,
    returned_at: datetime | None = None,
) -> str:
    """``timeliness_bucket`` on naive Asia/Ho_Chi_Minh times: ``events`` are (status, time or
    None) in the order the dossier's history lists them (by time, then as recorded)."""
    timed = sorted(((at, s) for s, at in events if at is not None), key=lambda item: item[0])
    untimed = [s for s, at in events if at is None]
    requests = 0
    previous: int | None = None
    for status in [*(s for _at, s in timed), *untimed]:
        if status == _SUPPLEMENT and previous != status:
            requests += 1
        previous = status

    end_at: datetime | None = None
    end_status: int | None = None
    first9 = next((at for at, s in timed if s == _PROCESSED), None)
    if first9 is not None or finished_at is not None:
        end_at = min(m for m in (first9, finished_at) if m is not None)
        end_status = _PROCESSED
    else:
        first10 = next((at for at, s in timed if s == _RETURNED), None)
        if first10 is not None or returned_at is not None:
            end_at = min(m for m in (first10, returned_at) if m is not None)
            end_status = _RETURNED
        else:
            stopped = next(((at, s) for at, s in timed if s in _STOP_CODES), None)
            if stopped is not None:
                end_at, end_status = stopped
    finished_untimed = end_at is None and any(s in _END_CODES for s in untimed)
    withdrawn = end_status == _WITHDRAWN or (
        finished_untimed
        and _PROCESSED not in untimed
        and _RETURNED not in untimed
        and _WITHDRAWN in untimed
    )
    until = end_at if end_at is not None else now
    paused = 0
    if requests:
        for i, (start, status) in enumerate(timed):
            if status != _SUPPLEMENT:
                continue
            if i > 0 and timed[i - 1][1] == _SUPPLEMENT:
                continue  # the same request, counted from its first event
            if start >= until:
                continue
            resumed = next((at for at, s in timed[i + 1 :] if s != _SUPPLEMENT), None)
            stop = min(resumed, until) if resumed is not None else until
            paused += max(0, count_working_days(start.date(), stop.date()))

    due_day: date | None = None
    if appointment_at is not None:
        due_day = appointment_at.date()
        if paused:
            due_day = add_working_days(due_day, paused)
    if withdrawn:
        return WITHDRAWN
    if finished_untimed:
        return RESOLVED_OTHER
    if end_at is not None:
        if due_day is None:
            return LATE if requests > 1 else RESOLVED_OTHER
        end_day = end_at.date()
        if end_day > due_day or requests > 1:
            return LATE
        return EARLY if end_day < due_day else ON_TIME
    if due_day is None:
        return PENDING_OTHER
    return OVERDUE if now.date() > due_day else IN_PROGRESS


def share(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide by."""
    return part / whole if whole > 0 else None


# --- periods -----------------------------------------------------------------------------------


def previous_working_day(day: date) -> date:
    """The last working day strictly before ``day``."""
    d = day - timedelta(days=1)
    while not is_working_day(d):
        d -= timedelta(days=1)
    return d


@dataclass(frozen=True)
class Periods:
    """The local-date ranges of one digest (both ends included)."""

    day: date  # the digest's own date (D)
    start: date  # report period: previous working day before D ...
    end: date  # ... to D - 1
    month_start: date  # the 1st of ``start``'s month (the last working day reported)
    trend_start: date  # D - TREND_DAYS

    @property
    def first(self) -> date:
        """The earliest day any figure of the digest needs."""
        return min(self.start, self.month_start, self.trend_start)

    def trend_days(self) -> list[date]:
        return [
            self.trend_start + timedelta(days=i) for i in range((self.day - self.trend_start).days)
        ]


def digest_periods(day: date, trend_days: int = TREND_DAYS) -> Periods:
    """The periods of the digest of ``day`` (see the module docstring)."""
    start = previous_working_day(day)
    return Periods(
        day=day,
        start=start,
        end=day - timedelta(days=1),
        month_start=start.replace(day=1),
        trend_start=day - timedelta(days=trend_days),
    )


# --- dossier figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierFigures:
    """Counts of one cohort of dossiers (those received in a period) by bucket."""

    early: int = 0
    on_time: int = 0
    late: int = 0
    resolved_other: int = 0
    in_progress: int = 0
    overdue: int = 0
    pending_other: int = 0
    withdrawn: int = 0

    @classmethod
    def from_counts(cls, counts: Mapping[str, int]) -> DossierFigures:
        unknown = set(counts) - set(BUCKETS)
        if unknown:
            raise ValueError(f"unknown dossier buckets: {sorted(unknown)}")
        return cls(**{name: int(counts.get(name, 0)) for name in BUCKETS})

    @classmethod
    def total_of(cls, parts: Iterable[DossierFigures]) -> DossierFigures:
        result = cls()
        for part in parts:
            result = result + part
        return result

    def __add__(self, other: DossierFigures) -> DossierFigures:
        return DossierFigures(**{n: getattr(self, n) + getattr(other, n) for n in BUCKETS})

    @property
    def received(self) -> int:
        return sum(getattr(self, n) for n in BUCKETS)

    @property
    def scored(self) -> int:
        """Resolved and scored: early + on time + late."""
        return self.early + self.on_time + self.late

    @property
    def resolved(self) -> int:
        return self.scored + self.resolved_other

    @property
    def open(self) -> int:
        return self.in_progress + self.overdue + self.pending_other

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in BUCKETS}


@dataclass(frozen=True)
class Satisfaction:
    """Ratings given in a period, by level (index 0 = level 1 "Rất hài lòng")."""

    levels: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    @classmethod
    def from_counts(cls, counts: Mapping[int, int]) -> Satisfaction:
        return cls(tuple(int(counts.get(level, 0)) for level in range(1, 6)))  # type: ignore[arg-type]

    def __add__(self, other: Satisfaction) -> Satisfaction:
        return Satisfaction(tuple(a + b for a, b in zip(self.levels, other.levels)))  # type: ignore[arg-type]

    @property
    def total(self) -> int:
        return sum(self.levels)

    @property
    def satisfied(self) -> int:
        """Levels 1 and 2: "Rất hài lòng" and "Hài lòng"."""
        return self.levels[0] + self.levels[1]


# --- petitions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PetitionItem:
    """One petition listed in the digest: its code, which deadline and when, and whether that
    deadline is past ("overdue") or close ("due_soon")."""

    code: str
    kind: str  # DEADLINE_*
    deadline: date | None = None
    state: str = ""  # knowledge.petitions.DeadlineStatus value, "" for the new ones


@dataclass(frozen=True)
class PetitionFigures:
    new: int = 0  # received in the report period
    new_items: tuple[PetitionItem, ...] = ()
    month: int = 0  # received since the 1st of the month
    open: int = 0  # open now (received, in progress, waiting for the citizen)
    deadline_overdue: int = 0
    deadline_due_soon: int = 0
    deadline_items: tuple[PetitionItem, ...] = ()  # most urgent first
    awaiting_publication: int = 0
    publication_overdue: int = 0
    publication_due_soon: int = 0
    publication_items: tuple[PetitionItem, ...] = ()

    @property
    def deadline_total(self) -> int:
        return self.deadline_overdue + self.deadline_due_soon


# --- the citizens' unanswered questions ---------------------------------------------------------


@dataclass(frozen=True)
class MissItem:
    """A question the search did not answer well (already without personal data), and how
    many times it was asked."""

    text: str
    count: int


# --- the digest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendDay:
    day: date
    dossiers_received: int = 0
    dossiers_resolved: int = 0  # of those received that day, resolved by now
    petitions_received: int = 0
    working_day: bool = True


@dataclass(frozen=True)
class Digest:
    """Everything one agency's digest of one day says (the same for all its officials)."""

    agency_id: int
    agency_code: str
    agency_name: str
    periods: Periods
    built_at: datetime
    petitions: PetitionFigures
    dossiers_period: DossierFigures | None = None  # None: the agency has no dossiers
    dossiers_month: DossierFigures | None = None
    satisfaction_period: Satisfaction = field(default_factory=Satisfaction)
    satisfaction_month: Satisfaction = field(default_factory=Satisfaction)
    trend: tuple[TrendDay, ...] = ()
    misses: tuple[MissItem, ...] = ()  # the most asked unanswered questions of the week
    misses_url: str = ""  # the inbox page where officials map them

    @property
    def has_dossiers(self) -> bool:
        return self.dossiers_period is not None

    def to_payload(self) -> dict[str, Any]:
        """JSON primitives only (the outbox stores it), a few KB."""
        p = self.periods
        pet = self.petitions
        return {
            "v": PAYLOAD_VERSION,
            "agency": {"id": self.agency_id, "code": self.agency_code, "name": self.agency_name},
            "periods": {
                "day": p.day.isoformat(),
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "month_start": p.month_start.isoformat(),
                "trend_start": p.trend_start.isoformat(),
            },
            "built_at": self.built_at.isoformat(),
            "petitions": {
                **{
                    f.name: getattr(pet, f.name)
                    for f in fields(pet)
                    if not f.name.endswith("_items")
                },
                "new_items": [_item_json(i) for i in pet.new_items],
                "deadline_items": [_item_json(i) for i in pet.deadline_items],
                "publication_items": [_item_json(i) for i in pet.publication_items],
            },
            "dossiers": None
            if self.dossiers_period is None or self.dossiers_month is None
            else {"period": self.dossiers_period.as_dict(), "month": self.dossiers_month.as_dict()},
            "satisfaction": {
                "period": list(self.satisfaction_period.levels),
                "month": list(self.satisfaction_month.levels),
            },
            # one row a day: [received, resolved, petitions, working day 0/1], from trend_start
            "trend": [
                [t.dossiers_received, t.dossiers_resolved, t.petitions_received, int(t.working_day)]
                for t in self.trend
            ],
            "misses": [[m.text, m.count] for m in self.misses],
            "misses_url": self.misses_url,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Digest:
        """The digest kept by ``to_payload``; ValueError (or KeyError/TypeError) if malformed."""
        if payload.get("v") != PAYLOAD_VERSION:
            raise ValueError(f"unsupported digest payload version: {payload.get('v')!r}")
        agency = payload["agency"]
        raw = payload["periods"]
        periods = Periods(
            day=date.fromisoformat(raw["day"]),
            start=date.fromisoformat(raw["start"]),
            end=date.fromisoformat(raw["end"]),
            month_start=date.fromisoformat(raw["month_start"]),
            trend_start=date.fromisoformat(raw["trend_start"]),
        )
        pet = payload["petitions"]
        scalars = {
            f.name: int(pet.get(f.name, 0))
            for f in fields(PetitionFigures)
            if not f.name.endswith("_items")
        }
        petitions = PetitionFigures(
            **scalars,
            new_items=tuple(_item_of(i) for i in pet.get("new_items", ())),
            deadline_items=tuple(_item_of(i) for i in pet.get("deadline_items", ())),
            publication_items=tuple(_item_of(i) for i in pet.get("publication_items", ())),
        )
        dossiers = payload.get("dossiers")
        satisfaction = payload.get("satisfaction") or {}
        trend = tuple(
            TrendDay(
                day=periods.trend_start + timedelta(days=i),
                dossiers_received=int(row[0]),
                dossiers_resolved=int(row[1]),
                petitions_received=int(row[2]),
                working_day=bool(row[3]),
            )
            for i, row in enumerate(payload.get("trend", ()))
        )
        return cls(
            agency_id=int(agency["id"]),
            agency_code=str(agency["code"]),
            agency_name=str(agency["name"]),
            periods=periods,
            built_at=datetime.fromisoformat(payload["built_at"]),
            petitions=petitions,
            dossiers_period=None
            if dossiers is None
            else DossierFigures.from_counts(dossiers["period"]),
            dossiers_month=None
            if dossiers is None
            else DossierFigures.from_counts(dossiers["month"]),
            satisfaction_period=_satisfaction(satisfaction.get("period")),
            satisfaction_month=_satisfaction(satisfaction.get("month")),
            trend=trend,
            misses=tuple(MissItem(str(t), int(c)) for t, c in payload.get("misses", ())),
            misses_url=str(payload.get("misses_url") or ""),
        )

    def with_lists_cut(self, limit: int) -> Digest:
        """The same digest listing at most ``limit`` codes per section (the counts unchanged)."""
        pet = self.petitions
        return replace(
            self,
            petitions=replace(
                pet,
                new_items=pet.new_items[:limit],
                deadline_items=pet.deadline_items[:limit],
                publication_items=pet.publication_items[:limit],
            ),
            misses=self.misses[:limit],
        )


def _item_json(item: PetitionItem) -> list[Any]:
    return [item.code, item.kind, item.deadline.isoformat() if item.deadline else None, item.state]


def _item_of(raw: Sequence[Any]) -> PetitionItem:
    code, kind, deadline, state = raw
    return PetitionItem(
        str(code), str(kind), date.fromisoformat(deadline) if deadline else None, str(state)
    )


def _satisfaction(raw: Sequence[int] | None) -> Satisfaction:
    if not raw:
        return Satisfaction()
    values = tuple(int(v) for v in raw)
    if len(values) != 5:
        raise ValueError("satisfaction needs five levels")
    return Satisfaction(values)  # type: ignore[arg-type]


def sum_days(by_day: Mapping[date, DossierFigures], start: date, end: date) -> DossierFigures:
    """The figures of the days ``start`` .. ``end`` (both included)."""
    return DossierFigures.total_of(v for d, v in by_day.items() if start <= d <= end)


def sum_satisfaction(by_day: Mapping[date, Satisfaction], start: date, end: date) -> Satisfaction:
    total = Satisfaction()
    for d, v in by_day.items():
        if start <= d <= end:
            total = total + v
    return total
