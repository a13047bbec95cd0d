"""The pure parts of the Zalo API client: which exception an error code is, when night-time
refusals end, the phone numbers ZNS takes, the buttons' JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.channels.zalo.api import (
    ZaloApiError,
    ZaloButton,
    ZaloOutsideWindow,
    ZaloQuotaExceeded,
    ZaloRateLimited,
    ZaloTokenRejected,
    ZaloUnreachable,
    classify,
    seconds_until_morning,
    zns_phone,
)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (-216, ZaloTokenRejected),
        (-220, ZaloTokenRejected),
        (-32, ZaloRateLimited),
        (-211, ZaloQuotaExceeded),
        (-218, ZaloQuotaExceeded),
        (-234, ZaloRateLimited),
        (-230, ZaloOutsideWindow),
        (-232, ZaloOutsideWindow),
        (-213, ZaloUnreachable),
        (-217, ZaloUnreachable),
        (-227, ZaloUnreachable),
        (-244, ZaloUnreachable),
        (-100, ZaloApiError),
        (-201, ZaloApiError),
        (-9999, ZaloApiError),
    ],
)
def test_each_code_is_its_exception(code: int, kind: type[ZaloApiError]) -> None:
    error = classify(code, "message")
    assert type(error) is kind and error.code == code
    assert error.retryable == isinstance(error, ZaloRateLimited)
    assert str(error) == f"Zalo error {code}: message"


def test_quota_waits_longer_than_the_rate_limit() -> None:
    quota, limit = classify(-211, ""), classify(-32, "")
    assert isinstance(quota, ZaloRateLimited) and isinstance(limit, ZaloRateLimited)
    assert quota.retry_after > limit.retry_after == 60


@pytest.mark.parametrize(
    ("utc", "seconds"),
    [
        (datetime(2026, 12, 3, 16, 0, tzinfo=UTC), 7 * 3600),  # 23:00 in Hanoi
        (datetime(2026, 12, 3, 22, 30, tzinfo=UTC), 1800),  # 05:30
        (datetime(2026, 12, 3, 23, 0, tzinfo=UTC), 24 * 3600),  # 06:00 exactly: tomorrow's
    ],
)
def test_night_refusals_wait_for_six_in_the_morning(utc: datetime, seconds: int) -> None:
    assert seconds_until_morning(utc) == seconds


@pytest.mark.parametrize(
    "phone", ["0912 345 678", "+84 912 345 678", "84912345678", "0912.345.678", "(091) 2345678"]
)
def test_zns_takes_the_84_form(phone: str) -> None:
    assert zns_phone(phone) == "84912345678"


@pytest.mark.parametrize("phone", ["", "12345", "0912abc678", "+1 415 555 0100", "0" * 20])
def test_not_a_vietnamese_phone_is_refused(phone: str) -> None:
    with pytest.raises(ValueError):
        zns_phone(phone)


def test_buttons_as_zalo_wants_them() -> None:
    assert ZaloButton.query("Hỏi", "#q").as_json() == {
        "title": "Hỏi",
        "type": "oa.query.show",
        "payload": "#q",
    }
    assert ZaloButton.url("Web", "https://x.vn").as_json()["payload"] == {"url": "https://x.vn"}
    assert ZaloButton.phone("Gọi", "19001234").as_json()["payload"] == {"phone_code": "19001234"}
    ZaloButton.query("t" * 100, "p" * 1000).check()
    with pytest.raises(ValueError):
        ZaloButton.query(" ", "p").check()
