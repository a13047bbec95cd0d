"""``python -m bot import-catalog FILE``: load a province's procedure catalog export.

Exit codes: 0 procedures loaded (or an empty file), 1 every row was rejected, 2 the file is
missing or not a procedure catalog. Rejected rows are listed on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from knowledge.catalog import CatalogFormatError, read_catalog_file
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.repositories.procedures import ProcedureRepository


async def cmd_import_catalog(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    try:
        result = read_catalog_file(path)
    except CatalogFormatError as exc:
        print(f"error: {path} is not a procedure catalog: {exc}", file=sys.stderr)
        return 2
    for row, reason in result.errors:
        print(f"row {row}: skipped: {reason}", file=sys.stderr)
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            inserted, updated = await ProcedureRepository(session).upsert_many(
                result.procedures, source=args.source or path.name
            )
            await session.commit()
    finally:
        await engine.dispose()
    print(
        f"{path.name}: {len(result.procedures)} procedures read, {inserted} new, {updated} updated, "
        f"{len(result.errors)} rows skipped"
    )
    return 0 if result.procedures or not result.errors else 1
