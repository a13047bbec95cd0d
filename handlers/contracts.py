"""What the dialogs need from the composition root, as Protocols: `bot/` implements them and
injects them through the dispatcher's workflow data, so `handlers/` never imports `bot/`."""

from __future__ import annotations

from typing import Protocol


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
