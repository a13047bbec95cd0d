from datetime import UTC, date, datetime, timedelta

import pytest

from knowledge.workdays import (
    VN_TZ,
    add_working_days,
    expected_return_date,
    first_working_day_on_or_after,
    is_holiday,
    is_working_day,
    next_working_day,
    received_day,
    working_days_between,
)


def vn(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before Tết
        (date(2026, 2, 14), False),  # Saturday
        (date(2026, 2, 15), False),  # Sunday
        (date(2026, 2, 16), False),  # Tết (Lunar New Year's Eve)
        (date(2026, 2, 17), False),
        (date(2026, 2, 18), False),
        (date(2026, 2, 19), False),
        (date(2026, 2, 20), False),  # last Tết day
        (date(2026, 2, 23), True),  # back to work
        (date(2026, 4, 27), False),  # Hùng Kings (26/4 is a Sunday), observed
        (date(2026, 4, 29), True),
        (date(2026, 4, 30), False),  # Reunification Day, Thursday
        (date(2026, 5, 1), False),  # Labour Day, Friday
        (date(2026, 5, 4), True),
        (date(2026, 8, 22), True),  # make-up Saturday for 31/8
        (date(2026, 8, 31), False),  # substituted day off
        (date(2026, 9, 1), False),
        (date(2026, 9, 2), False),  # National Day
        (date(2026, 9, 3), True),
        (date(2026, 3, 10), True),  # ordinary Tuesday
        (date(2026, 3, 14), False),  # ordinary Saturday
    ],
)
def test_is_working_day(day, working):
    assert is_working_day(day) is working


def test_holiday_vs_weekend():
    assert is_holiday(date(2026, 9, 2)) is True
    assert is_holiday(date(2026, 3, 14)) is False  # a weekend is not a holiday
    assert is_holiday(date(2025, 5, 2)) is True  # 2025 swap for 26/4


def test_aware_datetime_is_read_in_vietnam():
    # 17:30 UTC on Friday 13 Feb is 00:30 Saturday 14 Feb in Vietnam
    utc = datetime(2026, 2, 13, 17, 30, tzinfo=UTC)
    assert is_working_day(utc) is False
    assert is_working_day(datetime(2026, 2, 13, 16, 0, tzinfo=UTC)) is True


def test_next_and_first_working_day():
    assert next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)  # over Tết
    assert next_working_day(date(2026, 4, 29)) == date(2026, 5, 4)  # over 30/4-1/5
    assert first_working_day_on_or_after(date(2026, 3, 10)) == date(2026, 3, 10)
    assert first_working_day_on_or_after(date(2026, 3, 14)) == date(2026, 3, 16)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 3, 10), 0, date(2026, 3, 10)),
        (date(2026, 3, 14), 0, date(2026, 3, 16)),  # Saturday -> Monday
        (date(2026, 3, 10), 1, date(2026, 3, 11)),
        (date(2026, 3, 13), 1, date(2026, 3, 16)),  # Friday + 1 = Monday
        (date(2026, 3, 14), 1, date(2026, 3, 17)),  # counting starts Monday
        (date(2026, 3, 10), 5, date(2026, 3, 17)),
        (date(2026, 2, 12), 1, date(2026, 2, 13)),
        (date(2026, 2, 12), 2, date(2026, 2, 23)),  # skips the whole Tết week
        (date(2026, 2, 16), 0, date(2026, 2, 23)),  # starts inside Tết
        (date(2026, 2, 16), 3, date(2026, 2, 26)),
        (date(2026, 4, 29), 1, date(2026, 5, 4)),  # over 30/4 and 1/5
        (date(2026, 4, 24), 1, date(2026, 4, 28)),  # over the weekend and 27/4
        (date(2026, 8, 21), 1, date(2026, 8, 22)),  # make-up Saturday counts
        (date(2026, 8, 28), 1, date(2026, 9, 3)),  # 31/8, 1/9, 2/9 off
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # New Year, then a weekend
    ],
)
def test_add_working_days(start, n, expected):
    assert add_working_days(start, n) == expected


def test_add_working_days_rejects_negative():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 3, 10), -1)


def test_working_days_between():
    assert working_days_between(date(2026, 3, 10), date(2026, 3, 10)) == 0
    assert working_days_between(date(2026, 3, 9), date(2026, 3, 13)) == 4
    assert working_days_between(date(2026, 3, 13), date(2026, 3, 16)) == 1
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1  # Tết
    assert working_days_between(date(2026, 2, 1), date(2026, 2, 28)) == 15
    assert working_days_between(date(2026, 3, 16), date(2026, 3, 13)) == -1


@pytest.mark.parametrize("n", [0, 1, 3, 7, 15, 40])
def test_between_inverts_add(n):
    start = date(2026, 2, 10)
    assert working_days_between(start, add_working_days(start, n)) == n


def test_a_year_of_working_days_is_plausible():
    days = working_days_between(date(2025, 12, 31), date(2026, 12, 31))
    weekdays = sum(1 for i in range(365) if (date(2026, 1, 1) + timedelta(i)).weekday() < 5)
    assert weekdays == 261
    # 13 weekday holidays in 2026 (26/4 is a Sunday), one make-up Saturday
    assert days == weekdays - 13 + 1


@pytest.mark.parametrize(
    ("submitted", "day"),
    [
        (vn(2026, 3, 10, 8, 0), date(2026, 3, 10)),
        (vn(2026, 3, 10, 11, 59), date(2026, 3, 10)),
        (vn(2026, 3, 10, 12, 0), date(2026, 3, 11)),  # afternoon -> next working day
        (vn(2026, 3, 10, 22, 0), date(2026, 3, 11)),
        (vn(2026, 3, 13, 14, 0), date(2026, 3, 16)),  # Friday afternoon -> Monday
        (vn(2026, 3, 14, 9, 0), date(2026, 3, 16)),  # Saturday
        (vn(2026, 2, 17, 9, 0), date(2026, 2, 23)),  # online during Tết
        (datetime(2026, 3, 10, 2, 0, tzinfo=UTC), date(2026, 3, 10)),  # 09:00 local
        (datetime(2026, 3, 10, 5, 0, tzinfo=UTC), date(2026, 3, 11)),  # 12:00 local
        (datetime(2026, 3, 10, 9, 0), date(2026, 3, 10)),  # naive = local
    ],
)
def test_received_day(submitted, day):
    assert received_day(submitted) == day


@pytest.mark.parametrize(
    ("submitted", "value", "unit", "expected"),
    [
        (vn(2026, 3, 10), 5, "working_day", date(2026, 3, 17)),
        (vn(2026, 3, 10, 15), 5, "working_day", date(2026, 3, 18)),  # afternoon
        (vn(2026, 3, 10), 0.5, "working_day", date(2026, 3, 11)),  # rounded up to 1
        (vn(2026, 3, 10), 2.5, "working_day", date(2026, 3, 13)),  # rounded up to 3
        (vn(2026, 3, 10), 0, "working_day", date(2026, 3, 10)),
        (vn(2026, 2, 11), 3, "working_day", date(2026, 2, 23)),  # 12, 13, then after Tết
        (vn(2026, 4, 28), 3, "working_day", date(2026, 5, 5)),  # over 30/4-1/5
        (vn(2026, 8, 27), 3, "working_day", date(2026, 9, 4)),  # 28/8, then 31/8-2/9 off
        (vn(2026, 8, 21), 1, "working_day", date(2026, 8, 22)),  # make-up Saturday
        (vn(2026, 3, 10), 8, "hour", date(2026, 3, 11)),
        (vn(2026, 3, 10), 4, "hour", date(2026, 3, 11)),  # part of a day -> a day
        (vn(2026, 3, 10), 12, "hour", date(2026, 3, 12)),  # 1.5 days -> 2
        (vn(2026, 3, 10), 40, "hour", date(2026, 3, 17)),
        (vn(2026, 3, 10), 10, "day", date(2026, 3, 20)),  # calendar days
        (vn(2026, 3, 10), 4, "day", date(2026, 3, 16)),  # lands on Saturday -> Monday
        (vn(2026, 2, 6), 10, "day", date(2026, 2, 23)),  # lands in Tết -> after it
        (vn(2026, 3, 10), 1, "month", date(2026, 4, 10)),
        (vn(2026, 1, 30), 1, "month", date(2026, 3, 2)),  # 28/2 is a Saturday
        (vn(2026, 3, 31), 2, "month", date(2026, 6, 1)),  # 31/5 is a Sunday
        (vn(2026, 3, 10), 1, "year", date(2027, 3, 10)),
        (vn(2026, 3, 10), 0.5, "year", date(2026, 9, 10)),
    ],
)
def test_expected_return_date(submitted, value, unit, expected):
    assert expected_return_date(submitted, value, unit) == expected


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (None, "working_day"),
        (5, None),
        (5, "week"),
        (5, ""),
        (-1, "working_day"),
        (float("nan"), "day"),
        (float("inf"), "day"),
    ],
)
def test_expected_return_date_unknown(value, unit):
    assert expected_return_date(vn(2026, 3, 10), value, unit) is None
