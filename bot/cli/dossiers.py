"""``python -m bot import-dossiers FILE`` and ``python -m bot api-keys create|list|revoke``.

Exit codes of ``import-dossiers``: 0 every row loaded, 1 some rows were rejected (the others
loaded), 2 the file is unreadable or not a dossier export. ``api-keys create`` prints the key
once (on stdout; what it is for on stderr); only its prefix is kept readable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.database import open_database
from bot.cli.dossier_import import import_dossiers
from bot.config import Settings
from knowledge.dossier_records import RecordFileError, read_records
from storage.repositories.api_keys import ApiKeyRepository

API_KEY_SCOPES = ("dossiers", "open311")
"""What a key may be for: pushing dossiers, filing petitions through Open311."""


async def cmd_import_dossiers(settings: Settings, args: argparse.Namespace) -> int:
    """``python -m bot import-dossiers FILE [--source LABEL] [--batch N]``."""
    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    if args.batch < 1:
        print("error: --batch must be at least 1", file=sys.stderr)
        return 2
    try:
        read_records(path).close()  # a wrong file fails before the database is touched
    except RecordFileError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    engine, session_factory = await open_database(settings)
    try:
        summary = await import_dossiers(session_factory, path, source=args.source, batch=args.batch)
    except RecordFileError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(summary.line(path.name))
    return 1 if summary.rejected else 0


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else "-"


async def _create_key(session: AsyncSession, args: argparse.Namespace) -> int:
    keys = ApiKeyRepository(session)
    unknown = sorted(set(args.scopes.split()) - set(API_KEY_SCOPES))
    if unknown:
        print(
            f"error: unknown scope {' '.join(unknown)!r}; known: " + ", ".join(API_KEY_SCOPES),
            file=sys.stderr,
        )
        return 2
    try:
        info, plaintext = await keys.create(args.agency, args.label or "", args.scopes)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    await session.commit()
    print(plaintext)
    print(
        f"created key {info.prefix}… (id {info.id}) for {info.agency!r}, scopes "
        f"{' '.join(info.scopes)}. Store it now: it is not kept and cannot be shown "
        "again.",
        file=sys.stderr,
    )
    return 0


async def _list_keys(session: AsyncSession, args: argparse.Namespace) -> int:
    keys = ApiKeyRepository(session)
    rows = await keys.list()
    if not rows:
        print("no API keys")
    for info in rows:
        state = "revoked " + _when(info.revoked_at) if info.revoked_at else "active"
        print(
            f"{info.id:>4}  {info.prefix}…  {state:<28} last used "
            f"{_when(info.last_used_at):<21} {info.agency}"
            + (f"  ({info.label})" if info.label else "")
        )
    return 0


async def _revoke_key(session: AsyncSession, args: argparse.Namespace) -> int:
    keys = ApiKeyRepository(session)
    try:
        revoked = await keys.revoke(args.prefix)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if revoked is None:
        print(f"error: no active key matches {args.prefix!r}", file=sys.stderr)
        return 1
    await session.commit()
    print(f"revoked key {revoked.prefix}… (id {revoked.id}) of {revoked.agency!r}")
    return 0


async def cmd_api_keys(settings: Settings, args: argparse.Namespace) -> int:
    """``python -m bot api-keys create AGENCY [--label L] | list | revoke PREFIX``."""
    if args.action is None:
        print("usage: python -m bot api-keys {create,list,revoke}", file=sys.stderr)
        return 2
    action = {"create": _create_key, "list": _list_keys}.get(args.action, _revoke_key)
    engine, session_factory = await open_database(settings)
    try:
        async with session_factory() as session:
            return await action(session, args)
    finally:
        await engine.dispose()
