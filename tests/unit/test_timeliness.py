from datetime import UTC, datetime

import pytest

from knowledge.timeliness import StatusEvent, Timeliness, classify
from knowledge.workdays import VN_TZ


def vn(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def ev(status: int, at: datetime | None) -> StatusEvent:
    return StatusEvent(status, at)


RECEIVED = ev(2, vn(3, 9))  # Monday 9 March 2026
PROCESSING = ev(4, vn(3, 9, 10))
APPOINTMENT = vn(3, 13, 16)  # Friday 13 March 2026, 16:00
LATER = vn(4, 1)


def test_early():
    result = classify([RECEIVED, PROCESSING, ev(9, vn(3, 11, 15))], APPOINTMENT, LATER)
    assert result == Timeliness("early", vn(3, 11, 15), APPOINTMENT, 2, 0, 0, 9)


def test_on_time_same_day_even_after_the_appointment_hour():
    result = classify([RECEIVED, ev(9, vn(3, 13, 17, 30))], APPOINTMENT, LATER)
    assert result.kind == "on_time"
    assert result.days_early_or_late == 0


def test_late():
    result = classify([RECEIVED, ev(9, vn(3, 17, 8))], APPOINTMENT, LATER)
    assert result.kind == "late"
    assert result.days_early_or_late == 2  # Monday 16 and Tuesday 17


def test_late_on_a_saturday_counts_one_day():
    result = classify([RECEIVED, ev(9, vn(3, 14, 9))], APPOINTMENT, LATER)
    assert result.kind == "late"
    assert result.days_early_or_late == 1


def test_end_is_the_first_processed_not_the_return():
    events = [RECEIVED, ev(9, vn(3, 12)), ev(10, vn(3, 18)), ev(9, vn(3, 19))]
    result = classify(events, APPOINTMENT, LATER)
    assert result.kind == "early"
    assert result.end_at == vn(3, 12)
    assert result.end_status == 9


def test_returned_when_never_marked_processed():
    result = classify([RECEIVED, ev(10, vn(3, 16, 10))], APPOINTMENT, LATER)
    assert result.kind == "late"
    assert result.end_status == 10
    assert result.end_at == vn(3, 16, 10)


def test_events_in_any_order():
    events = [ev(10, vn(3, 18)), ev(9, vn(3, 13, 8)), RECEIVED, PROCESSING]
    assert classify(events, APPOINTMENT, LATER).kind == "on_time"


def test_dossier_dates_stand_in_for_missing_events():
    assert classify([RECEIVED], APPOINTMENT, LATER, finished_at=vn(3, 12)).kind == "early"
    returned = classify([RECEIVED], APPOINTMENT, LATER, returned_at=vn(3, 16))
    assert (returned.kind, returned.end_status) == ("late", 10)
    # the earlier of the event and the dossier's own date wins
    both = classify([RECEIVED, ev(9, vn(3, 16))], APPOINTMENT, LATER, finished_at=vn(3, 13))
    assert both.kind == "on_time"
    assert both.end_at == vn(3, 13)


def test_processed_without_time_falls_back_to_return():
    result = classify([RECEIVED, ev(9, None), ev(10, vn(3, 12))], APPOINTMENT, LATER)
    assert result.kind == "early"
    assert result.end_status == 10


def test_finished_without_any_time_is_unknown():
    result = classify([RECEIVED, ev(9, None)], APPOINTMENT, LATER)
    assert result.kind == "unknown"
    assert result.end_at is None


@pytest.mark.parametrize(("status", "kind"), [(3, "early"), (8, "late")])
def test_refusal_and_stop_end_processing(status, kind):
    at = vn(3, 10) if kind == "early" else vn(3, 20)
    result = classify([RECEIVED, ev(status, at)], APPOINTMENT, LATER)
    assert result.kind == kind
    assert result.end_status == status


def test_withdrawn_is_not_scored():
    result = classify([RECEIVED, PROCESSING, ev(7, vn(3, 20))], APPOINTMENT, LATER)
    assert result.kind == "not_scored"
    assert result.end_status == 7
    assert result.days_early_or_late is None
    assert classify([RECEIVED, ev(7, None)], APPOINTMENT, LATER).kind == "not_scored"


def test_processed_then_withdrawn_is_still_scored():
    result = classify([RECEIVED, ev(9, vn(3, 12)), ev(7, vn(3, 20))], APPOINTMENT, LATER)
    assert result.kind == "early"


def test_supplement_wait_moves_the_appointment():
    # asked Tuesday 10/3, the citizen supplemented Monday 16/3: 4 working days paused
    events = [RECEIVED, ev(5, vn(3, 10, 10)), ev(4, vn(3, 16, 9)), ev(9, vn(3, 18, 15))]
    result = classify(events, APPOINTMENT, LATER)
    assert result.paused_working_days == 4
    assert result.appointment_at == vn(3, 19, 16)
    assert result.kind == "early"
    assert result.days_early_or_late == 1
    assert result.supplement_requests == 1
    # without the pause it would have been late
    assert classify([RECEIVED, ev(9, vn(3, 18, 15))], APPOINTMENT, LATER).kind == "late"


def test_same_day_supplement_costs_nothing():
    events = [RECEIVED, ev(5, vn(3, 10, 9)), ev(4, vn(3, 10, 15)), ev(9, vn(3, 16))]
    result = classify(events, APPOINTMENT, LATER)
    assert result.paused_working_days == 0
    assert result.appointment_at == APPOINTMENT
    assert result.kind == "late"


def test_supplement_over_tet():
    appointment = vn(2, 13, 16)  # Friday before Tết 2026
    events = [ev(2, vn(2, 9)), ev(5, vn(2, 12)), ev(4, vn(2, 24, 8)), ev(9, vn(2, 25, 10))]
    result = classify(events, appointment, LATER)
    assert result.paused_working_days == 3  # 13/2, 23/2, 24/2; Tết does not count
    assert result.appointment_at == vn(2, 25, 16)
    assert result.kind == "on_time"


def test_tet_makes_a_finish_after_it_one_day_late():
    result = classify([ev(2, vn(2, 9)), ev(9, vn(2, 23, 8))], vn(2, 13, 16), LATER)
    assert result.kind == "late"
    assert result.days_early_or_late == 1


def test_repeated_supplement_events_are_one_request():
    events = [RECEIVED, ev(5, vn(3, 10)), ev(5, vn(3, 11)), ev(4, vn(3, 12)), ev(9, vn(3, 13))]
    result = classify(events, APPOINTMENT, LATER)
    assert result.supplement_requests == 1
    assert result.paused_working_days == 2
    assert result.kind == "early"


def test_two_supplement_requests_are_late():
    events = [
        RECEIVED,
        ev(5, vn(3, 10)),
        ev(4, vn(3, 10, 14)),
        ev(5, vn(3, 11)),
        ev(4, vn(3, 11, 14)),
        ev(9, vn(3, 12)),
    ]
    result = classify(events, APPOINTMENT, LATER)
    assert result.supplement_requests == 2
    assert result.kind == "late"
    assert result.days_early_or_late == 0  # finished in time, late by the rule


def test_two_supplement_requests_without_appointment_are_late():
    events = [RECEIVED, ev(5, vn(3, 10)), ev(4, vn(3, 10)), ev(5, None), ev(9, vn(3, 12))]
    result = classify(events, None, LATER)
    assert result.kind == "late"
    assert result.days_early_or_late is None


def test_supplement_after_the_end_does_not_pause():
    events = [RECEIVED, ev(9, vn(3, 16)), ev(5, vn(3, 17)), ev(10, vn(3, 20))]
    result = classify(events, APPOINTMENT, LATER)
    assert result.paused_working_days == 0
    assert result.kind == "late"


def test_in_progress():
    result = classify([RECEIVED, PROCESSING], APPOINTMENT, vn(3, 12))
    assert result == Timeliness("in_progress", None, APPOINTMENT, None, 0, 0, None)


def test_due_today_is_still_in_progress_after_the_hour():
    assert classify([RECEIVED], APPOINTMENT, vn(3, 13, 20)).kind == "in_progress"


def test_overdue():
    result = classify([RECEIVED, PROCESSING], APPOINTMENT, vn(3, 17, 10))
    assert result.kind == "overdue"
    assert result.days_early_or_late == 2


def test_waiting_for_the_citizen_is_not_overdue():
    events = [RECEIVED, ev(5, vn(3, 10))]
    result = classify(events, APPOINTMENT, vn(3, 20))
    assert result.paused_working_days == 8  # 11/3 .. 20/3
    assert result.appointment_at == vn(3, 25, 16)
    assert result.kind == "in_progress"


def test_overdue_after_the_supplement_pause():
    events = [RECEIVED, ev(5, vn(3, 10)), ev(4, vn(3, 11))]
    result = classify(events, APPOINTMENT, vn(3, 17))
    assert result.appointment_at == vn(3, 16, 16)
    assert result.kind == "overdue"
    assert result.days_early_or_late == 1


def test_no_appointment_is_unknown():
    finished = classify([RECEIVED, ev(9, vn(3, 12))], None, LATER)
    assert finished.kind == "unknown"
    assert finished.end_at == vn(3, 12)
    assert classify([RECEIVED], None, LATER).kind == "unknown"


def test_dates_compare_in_vietnam_time():
    # 18:00 UTC on 13/3 is 01:00 on Saturday 14/3 in Hà Nội: late
    end = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)
    result = classify([RECEIVED, ev(9, end)], APPOINTMENT, LATER)
    assert result.kind == "late"
    assert result.end_at == vn(3, 14, 1)
    # 16:00 UTC is 23:00 local the same Friday: on time
    on_time = classify(
        [RECEIVED, ev(9, datetime(2026, 3, 13, 16, 0, tzinfo=UTC))], APPOINTMENT, LATER
    )
    assert on_time.kind == "on_time"


def test_naive_datetimes_are_local():
    events = [StatusEvent(2, datetime(2026, 3, 9, 9)), StatusEvent(9, datetime(2026, 3, 13, 23))]
    result = classify(events, datetime(2026, 3, 13, 16), datetime(2026, 4, 1))
    assert result.kind == "on_time"
    assert result.end_at == vn(3, 13, 23)


def test_event_is_frozen():
    event = StatusEvent(4, vn(3, 9))
    with pytest.raises(AttributeError):
        event.status = 9  # type: ignore[misc]
