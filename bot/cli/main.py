"""The entry point of ``python -m bot``: parse, load the settings, set up logging, run the command.

Only the chosen command's module is imported (``importlib``, from ``bot.cli.parser.COMMANDS``):
a command pays for what it uses, not for the web apps and the jobs of the others.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import ValidationError

from bot.cli.parser import COMMANDS, build_parser
from bot.config import Settings, load_settings
from bot.logs import setup_logging

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


def load_command(name: str | None) -> Command:
    """The function that runs command ``name``, its module imported now."""
    module_name, function = COMMANDS[name].split(":")
    command: Command = getattr(importlib.import_module(module_name), function)
    return command


def _settings() -> Settings | None:
    """The settings, or None after saying what is wrong without echoing the values (secrets)."""
    try:
        return load_settings()
    except ValidationError as error:
        for item in error.errors(include_input=False, include_url=False):
            field = ".".join(str(x) for x in item["loc"]).upper()
            print(f"configuration error: {field}: {item['msg']}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings()
    if settings is None:
        return 2
    secrets = [
        s.get_secret_value()
        for s in (
            settings.bot_token,
            settings.webhook_secret,
            settings.web_secret,
            settings.zalo_oa_secret_key,
            settings.zalo_app_secret,
            settings.zalo_access_token,
            settings.zalo_refresh_token,
        )
        if s is not None
    ]
    setup_logging(settings.log_level, secrets)
    if args.command not in (None, "run"):
        # keep the command's own output clean
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    command = load_command(args.command)
    try:
        return asyncio.run(command(settings, args))
    except KeyboardInterrupt:
        return 130
