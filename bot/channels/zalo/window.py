"""Zalo's reply window: an OA may send consultation messages for free only within 48 hours of
the user's last message, and a limited number of them per window (8). Outside it, a push is
held until the user writes again (or goes out as a ZNS template message, when configured).
"""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW = timedelta(hours=48)
WINDOW_CLOSED = "outside the Zalo reply window"  # why a push waits (the outbox's note)
FREE_REPLIES = 8  # messages per window


def window_open(
    last_inbound_at: datetime | None, replies: int, now: datetime, *, needed: int = 1
) -> bool:
    """May ``needed`` more messages go to this user now?"""
    if last_inbound_at is None or now - last_inbound_at >= WINDOW:
        return False
    return replies + needed <= FREE_REPLIES


def window_closes_at(last_inbound_at: datetime | None) -> datetime | None:
    return last_inbound_at + WINDOW if last_inbound_at is not None else None
