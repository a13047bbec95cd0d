"""What the dialogs and the composition root agree on, as Protocols and plain shapes: `bot/`
implements them and injects them through the dispatcher's workflow data, so `handlers/` never
imports `bot/`.

- `DialogSettings`: the settings the dialogs read.
- The outbox: a `Renderer` turns a stored row into the one `Rendered` shape at send time, a
  `Sender` delivers a `Rendered` to a chat of its channel, and a `Waker` is what a handler
  calls after committing an enqueue (through `wake()`; the worker then looks for due rows at
  once).
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Rendered:
    """What to send for one outbox row: HTML text, optional inline keyboard, optional photo."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    photo: bytes | None = None  # e.g. a chart; the text becomes its caption (and the rest)
    photo_name: str = "chart.png"


class Renderer(Protocol):
    """Turns a row into a message at send time (in `row.language`); None means there is nothing
    to send any more. The session is for reading: it is closed without a commit."""

    async def __call__(self, session: AsyncSession, row: OutboxRow, /) -> Rendered | None: ...


class Sender(Protocol):
    """Delivers a rendered message to one chat of one channel; raises on failure."""

    async def send(self, chat_id: str, rendered: Rendered) -> None:
        """Send `rendered` to `chat_id`."""
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
