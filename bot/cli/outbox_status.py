"""``python -m bot outbox``: how many outgoing messages are pending, sent, failed, uncertain."""

from __future__ import annotations

import argparse

from bot.config import Settings
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.outbox import stats


async def cmd_outbox(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            counts = await stats(session)
    finally:
        await engine.dispose()
    for state, count in counts.items():
        print(f"{state:<10} {count}")
    if counts.get("uncertain"):
        print(
            "uncertain: the process stopped while these were being sent; they may or may not "
            "have arrived and are not sent again"
        )
    return 0
