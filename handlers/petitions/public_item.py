"""A published petition as the citizen may read it (PublicItem, built by `published` from the
redacted public copies only, so the sender's data cannot reach the published answers' texts and
buttons), and the paging of the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PUBLIC_PAGE_SIZE = 5


@dataclass(frozen=True)
class PublicItem:
    """What a published petition shows: built only from its redacted public copies, so the
    sender's data cannot reach these renderers."""

    id: int
    tracking_code: str
    topic: str
    agency: str
    received_at: datetime | None
    published_at: datetime | None
    content: str
    answer: str


def page_count(total: int) -> int:
    """Pages of PUBLIC_PAGE_SIZE answers for ``total`` published ones (one when there is none)."""
    return max(1, -(-total // PUBLIC_PAGE_SIZE))
