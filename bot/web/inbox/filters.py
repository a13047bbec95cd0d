"""The list's filters (status, search, received dates, deadline), read from the query string,
and the cleaning of what an official types (a search, an answer)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from handlers.officials import inbox_texts as tx
from knowledge.petition_workflow import OPEN_STATUSES, STATUSES
from storage.repositories.inbox import DUE_FILTERS, InboxFilter

from .context import SEARCH_MAX_CHARS

# Invisible characters that must not make a text look non-empty or hide in an answer.
_INVISIBLE_RE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_input(text: str) -> str:
    """A typed text as stored: NFC, without invisible and control characters (line breaks and
    tabs kept, CRLF made LF), trimmed."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE_RE.sub("", text)
    text = _CONTROL_RE.sub(" ", text)
    return text.strip()


def parse_day(text: str) -> date | None:
    """A date typed or picked in the filter: ``2026-11-02`` (date input) or ``02/11/2026``."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 2000 <= day.year <= 2099:
            return day
    return None


@dataclass
class Filters:
    """The list's filters as asked (for the form and links) and as understood (for queries)."""

    status: str = ""  # "", "open" or a status
    query: str = ""
    date_from: date | None = None
    date_to: date | None = None
    due: str = ""
    page: int = 1
    notices: list[str] = field(default_factory=list)

    def where(self, today: date) -> InboxFilter:
        if self.status == "open":
            statuses: tuple[str, ...] = OPEN_STATUSES
        elif self.status in STATUSES:
            statuses = (self.status,)
        else:
            statuses = ()
        return InboxFilter(
            statuses=statuses,
            query=self.query,
            received_from=self.date_from,
            received_to=self.date_to,
            due=self.due or None,
            today=today,
        )

    def params(self, *, page: int | None = None) -> dict[str, str]:
        """The query string that asks for these filters (empty ones left out)."""
        params = {
            "status": self.status,
            "q": self.query,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "due": self.due,
        }
        if page is not None and page > 1:
            params["page"] = str(page)
        return {k: v for k, v in params.items() if v}

    def audit(self) -> dict[str, str]:
        return self.params()


def parse_filters(query: Mapping[str, str], t: tx.InboxTexts) -> Filters:
    filters = Filters()
    status = query.get("status", "")
    filters.status = status if status == "open" or status in STATUSES else ""
    text = clean_input(query.get("q", "")).replace("\n", " ")
    if len(text) > SEARCH_MAX_CHARS:
        text = text[:SEARCH_MAX_CHARS].strip()
        filters.notices.append(t.search_too_long.format(max=SEARCH_MAX_CHARS))
    filters.query = text
    for name in ("from", "to"):
        raw = query.get(name, "").strip()
        if not raw:
            continue
        day = parse_day(raw)
        if day is None:
            filters.notices.append(t.bad_date.format(value=raw[:40]))
        elif name == "from":
            filters.date_from = day
        else:
            filters.date_to = day
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        filters.notices.append(t.bad_range)
    due = query.get("due", "")
    filters.due = due if due in DUE_FILTERS else ""
    try:
        filters.page = max(1, min(int(query.get("page", "1")), 1_000_000))
    except ValueError:
        filters.page = 1
    return filters
