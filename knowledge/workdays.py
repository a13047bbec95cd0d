"""Working days in Vietnam and the return date a procedure's time limit promises.

Holidays come from the pinned ``holidays`` library (``holidays.VN``: Tết, Hùng Kings, 30/4, 1/5,
2/9 and the observed and substituted days off the government announces). A working day is Monday
to Friday and not a holiday; a Saturday the government declares a make-up working day in exchange
for a day off (``weekend_workdays`` in ``holidays``, e.g. 22/08/2026 for 31/08/2026) is a working
day too, as it is for the one-stop offices.

All times are Asia/Ho_Chi_Minh. Naive datetimes are read as local time; aware ones are converted.
"""

from __future__ import annotations

import calendar
import math
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

HOURS_PER_WORKING_DAY = 8
AFTERNOON_CUTOFF = time(12, 0)
"""A dossier received at or after this local time counts as received the next working day."""


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (called at insert/update time, never at import)."""
    return datetime.now(UTC)


TIME_UNITS = frozenset({"working_day", "day", "hour", "month", "year"})
"""The units of ``knowledge.models.Channel.time_unit``."""


@lru_cache(maxsize=64)
def _days_off(year: int) -> frozenset[date]:
    """Public holidays of one year, observed and substituted days off included."""
    return frozenset(holidays.country_holidays("VN", years=year))


@lru_cache(maxsize=64)
def _make_up_saturdays(year: int) -> frozenset[date]:
    """Weekend days declared working days of one year (worked in exchange for a day off)."""
    vn = holidays.country_holidays("VN", years=year)
    return frozenset(d for d in getattr(vn, "weekend_workdays", ()) if d.year == year)


def local_date(moment: datetime) -> date:
    """The Asia/Ho_Chi_Minh calendar date of a moment (naive = already local)."""
    return to_local(moment).date()


def to_local(moment: datetime) -> datetime:
    """The moment as an aware Asia/Ho_Chi_Minh datetime (naive = already local)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=VN_TZ)
    return moment.astimezone(VN_TZ)


def _as_date(d: date) -> date:
    return local_date(d) if isinstance(d, datetime) else d


def is_holiday(d: date) -> bool:
    """Is the day a Vietnamese public holiday (or an observed / substituted day off)?"""
    d = _as_date(d)
    return d in _days_off(d.year)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a holiday, or a declared make-up working Saturday."""
    d = _as_date(d)
    if d in _make_up_saturdays(d.year):
        return True
    return d.weekday() < 5 and d not in _days_off(d.year)


def next_working_day(d: date) -> date:
    """The first working day strictly after ``d``."""
    d = _as_date(d) + timedelta(days=1)
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


def first_working_day_on_or_after(d: date) -> date:
    """``d`` itself when it is a working day, else the next one."""
    d = _as_date(d)
    return d if is_working_day(d) else next_working_day(d)


def add_working_days(start: date, n: int) -> date:
    """The date ``n`` working days after ``start``.

    Counting starts from the first working day on or after ``start``: ``n=0`` returns that day,
    Friday + 1 is the next Monday, Saturday + 1 is the Tuesday after. ``n`` must be >= 0.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    d = first_working_day_on_or_after(start)
    for _ in range(n):
        d = next_working_day(d)
    return d


def working_days_between(start: date, end: date) -> int:
    """Working days in ``(start, end]``; negative (minus those in ``(end, start]``) if end < start.

    ``working_days_between(d, add_working_days(d, n)) == n`` when ``d`` is a working day.
    """
    start, end = _as_date(start), _as_date(end)
    if end < start:
        return -working_days_between(end, start)
    count = 0
    d = start + timedelta(days=1)
    while d <= end:
        count += is_working_day(d)
        d += timedelta(days=1)
    return count


def _add_months(d: date, months: int) -> date:
    """``d`` plus calendar months, the day clamped to the month's end (31/01 + 1 -> 28/02)."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def received_day(submitted: datetime) -> date:
    """The working day a submission counts as received on.

    The submission's local date when that is a working day and the time is before 12:00;
    otherwise (afternoon, evening, weekend, holiday) the next working day.
    """
    local = to_local(submitted)
    day = local.date()
    if is_working_day(day) and local.time() < AFTERNOON_CUTOFF:
        return day
    return next_working_day(day)


def expected_return_date(submitted: datetime, value: float | None, unit: str | None) -> date | None:
    """The date the result is due for a time limit of ``value`` ``unit`` (None when unknown).

    Counting starts on :func:`received_day` (12:00 cut-off, see above). Then:
    - ``working_day``: that many working days after it, a fraction rounded up (0.5 -> 1);
    - ``hour``: hours rounded up to working days of 8 hours (4 h -> 1 day, 12 h -> 2 days);
    - ``day``: calendar days, rounded up;
    - ``month`` / ``year``: calendar months / years (fractions rounded up to whole months);
    a calendar deadline that falls on a day off moves to the next working day (Civil Code
    art. 148). None for a missing, negative or non-finite value or an unknown unit.
    """
    if value is None or unit not in TIME_UNITS or not math.isfinite(value) or value < 0:
        return None
    start = received_day(submitted)
    if unit == "working_day":
        return add_working_days(start, math.ceil(value))
    if unit == "hour":
        return add_working_days(start, math.ceil(value / HOURS_PER_WORKING_DAY))
    if unit == "day":
        due = start + timedelta(days=math.ceil(value))
    elif unit == "month":
        due = _add_months(start, math.ceil(value))
    else:  # year
        due = _add_months(start, math.ceil(value * 12))
    return first_working_day_on_or_after(due)
