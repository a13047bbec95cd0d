"""What the dialogs and the composition root agree on, as Protocols and plain shapes: `bot/`
implements them and injects them through the dispatcher's workflow data, so `handlers/` never
imports `bot/`.

- `DialogSettings`: the settings the dialogs read.
- The outbox: a `Renderer` turns a stored row into the one `Rendered` shape at send time, a
  `Sender` delivers a `Rendered` to a chat of its channel (told which row it is, a `Delivery`),
  and a `Waker` is what a handler calls after committing an enqueue (through `wake()`; the
  worker then looks for due rows at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aiogram.types import InlineKeyboardMarkup
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.outbox import OutboxRow


class DialogSettings(Protocol):
    """The settings the dialogs read (`bot.config.Settings` has them)."""

    @property
    def petitions_per_hour(self) -> int: ...

    @property
    def petitions_per_day(self) -> int: ...

    @property
    def base_url(self) -> str:
        """Where the web server is reached from outside (links sent in messages)."""
        ...

    @property
    def zalo_zns_templates(self) -> Mapping[str, str]:
        """ZNS template id by outbox kind: which Zalo pushes may go as a ZNS template message
        outside the reply window (empty: none)."""
        ...


TEMPLATE_VALUE_LIMIT = 30
"""Characters of one template parameter (ZNS: 30 for codes, statuses and labels)."""


def template_values(values: Mapping[str, str | None]) -> dict[str, str]:
    """Template parameters as a message template takes them: blanks left out, white space
    collapsed, each value cut to `TEMPLATE_VALUE_LIMIT` characters (at a word when it can,
    with "…")."""
    params: dict[str, str] = {}
    for name, value in values.items():
        text = " ".join((value or "").split())
        if not text:
            continue
        if len(text) > TEMPLATE_VALUE_LIMIT:
            head = text[: TEMPLATE_VALUE_LIMIT - 1]
            cut = head.rfind(" ")
            text = (head[:cut] if cut >= TEMPLATE_VALUE_LIMIT // 2 else head).rstrip(" ,;:-") + "…"
        params[name] = text
    return params


@dataclass(frozen=True, slots=True)
class Rendered:
    """What to send for one outbox row: HTML text, optional inline keyboard, optional photo,
    and, for the kinds that have one, the parameters of its message template (what a channel
    sends when it may not send the text, e.g. a ZNS message outside Zalo's reply window)."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    photo: bytes | None = None  # e.g. a chart; the text becomes its caption (and the rest)
    photo_name: str = "chart.png"
    # short plain values (codes, a status in words, a date; see `template_values`), nothing
    # personal beyond what the recipient's own messages hold; None: no template form
    template_data: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Which outbox row a send is for: its id (a key the channel may echo back, e.g. ZNS's
    ``tracking_id``, the same on every attempt) and its kind (which template applies)."""

    row_id: int
    kind: str


class Renderer(Protocol):
    """Turns a row into a message at send time (in `row.language`); None means there is nothing
    to send any more. The session is for reading: it is closed without a commit."""

    async def __call__(self, session: AsyncSession, row: OutboxRow, /) -> Rendered | None: ...


class Sender(Protocol):
    """Delivers a rendered message to one chat of one channel; raises on failure."""

    async def send(
        self, chat_id: str, rendered: Rendered, delivery: Delivery | None = None
    ) -> str | None:
        """Send `rendered` to `chat_id` (the outbox row `delivery`, when there is one). Returns
        None, or a note the outbox records with the sent row (how it went, e.g. "zns")."""
        ...


class Waker(Protocol):
    """The outbox worker as producers see it: after committing an enqueue, `wake()` makes it
    look for due rows now (otherwise it notices them within its idle poll)."""

    def wake(self) -> None: ...


def wake(outbox: Waker | None) -> None:
    """Wake the outbox worker after an enqueue was committed; `None` (no worker in the
    workflow data) does nothing."""
    if outbox is not None:
        outbox.wake()
