"""``python -m bot zalo``: store a new token pair for the Official Account (after the OA
authorised the app again, or on first set-up instead of ``ZALO_ACCESS_TOKEN`` and
``ZALO_REFRESH_TOKEN``), and show what is stored — never the tokens themselves.

The tokens are read from standard input (two lines: the access token, then the refresh token),
so they appear neither in the shell's history nor in the process list.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import aiohttp

from bot.channels.zalo.tokens import ZaloTokens
from bot.config import Settings
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.repositories.zalo_tokens import ZaloTokenRepository


def _read_pair() -> tuple[str, str]:
    lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    if len(lines) != 2 or any(len(line) < 20 or " " in line for line in lines):
        raise ValueError(
            "give two lines on standard input: the access token, then the refresh token"
        )
    return lines[0], lines[1]


async def cmd_zalo(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.zalo_app_id or settings.zalo_app_secret is None:
        print("configuration error: set ZALO_APP_ID and ZALO_APP_SECRET", file=sys.stderr)
        return 2
    try:
        pair = _read_pair() if args.action == "set-tokens" else None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        factory = create_session_factory(engine)
        if pair is not None:
            async with aiohttp.ClientSession() as http:
                tokens = ZaloTokens(
                    factory,
                    http,
                    app_id=settings.zalo_app_id,
                    app_secret=settings.zalo_app_secret.get_secret_value(),
                    oauth_base=settings.zalo_oauth_base,
                )
                await tokens.seed(pair[0], pair[1], args.expires_in, replace=True)
            # a running process keeps its token until Zalo refuses it, then reads the stored one
            print("Zalo tokens stored; running processes take them when Zalo refuses the old ones")
            return 0
        async with factory() as session:
            record = await ZaloTokenRepository(session).get(settings.zalo_app_id)
    finally:
        await engine.dispose()
    if record is None:
        print(
            "no Zalo tokens stored (set ZALO_ACCESS_TOKEN/ZALO_REFRESH_TOKEN, or: zalo set-tokens)"
        )
        return 1
    left = record.access_expires_at - datetime.now(UTC)
    state = "valid" if left.total_seconds() > 0 else "expired (refreshed at the next use)"
    print(
        f"app {record.app_id}: access token {state}, expires {record.access_expires_at:%Y-%m-%d %H:%M} UTC"
    )
    print(f"refreshed {record.version} times, last stored {record.updated_at:%Y-%m-%d %H:%M} UTC")
    return 0
