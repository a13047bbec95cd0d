"""``python -m bot`` / ``python -m bot run``: serve the web chat, and Telegram when configured."""

from __future__ import annotations

import argparse

from bot.app import run
from bot.config import Settings


async def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    await run(settings)
    return 0
