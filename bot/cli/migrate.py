"""``python -m bot migrate``: bring the database schema up to date."""

from __future__ import annotations

import argparse

from bot.config import Settings
from storage.migrate import upgrade


async def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade(settings.database_url)
    print("database is at the latest schema")
    return 0
