"""`python -m bot` runs the assistant; subcommands for the rest (`python -m bot --help`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from bot.config import Settings, load_settings
from bot.digest import add_parsers as add_digest_parsers
from bot.digest import cmd_digest
from bot.dossier_import import add_parsers as add_dossier_parsers
from bot.dossier_import import cmd_api_keys, cmd_import_dossiers
from bot.logs import setup_logging
from bot.petition_cli import COMMAND_NAMES as PETITION_COMMANDS
from bot.petition_cli import add_parsers as add_petition_parsers
from bot.petition_cli import cmd_petition_admin


def _print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _search_payload(index, query: str, limit: int) -> dict[str, object]:
    t0 = time.perf_counter()
    hits = index.search(query, limit)
    took = (time.perf_counter() - t0) * 1000
    return {
        "query": query,
        "results": [{"code": h.procedure.code, "name": h.procedure.name, "score": h.score} for h in hits],
        "took_ms": round(took, 3),
    }


async def _cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import create_services

    services = await create_services(settings)
    try:
        index = services.index
        if args.query is None:  # one query per line from standard input, one JSON line each
            for line in sys.stdin:
                query = line.rstrip("\r\n")
                if query.strip():
                    _print_json(_search_payload(index, query, args.limit))
            return 0
        payload = _search_payload(index, args.query, args.limit)
        if args.json:
            _print_json(payload)
        elif not payload["results"]:
            print("No procedure matches. Suggestions:", ", ".join(index.suggestions(args.query)) or "-")
        else:
            for r in payload["results"]:  # type: ignore[union-attr]
                print(f"{r['score']:5.1f}  {r['code']:<22} {r['name']}")
            print(f"({payload['took_ms']} ms)")
        return 0
    finally:
        await services.close()


async def _cmd_import_catalog(settings: Settings, args: argparse.Namespace) -> int:
    from knowledge.catalog import CatalogFormatError, read_catalog_file
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.repositories.procedures import ProcedureRepository

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


async def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    await upgrade(settings.database_url)
    print("database is at the latest schema")
    return 0


async def _cmd_outbox(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.outbox import stats

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


async def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import run

    await run(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Citizen assistant for public administration")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve the web chat, and Telegram when BOT_TOKEN is set (default)")
    p = sub.add_parser("search", help="search the catalog from the command line")
    p.add_argument("query", nargs="?", help="the question; without it, one query per line from stdin")
    p.add_argument("--json", action="store_true", help="print {query, results, took_ms} as JSON")
    p.add_argument("--limit", type=int, default=5)
    p = sub.add_parser("import-catalog", help="load a province's catalog export (JSONL, XLSX, CSV)")
    p.add_argument("file")
    p.add_argument("--source", help="label stored with the imported procedures (default: file name)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("outbox", help="how many outgoing messages are pending, sent, failed, uncertain")
    add_dossier_parsers(sub)
    add_petition_parsers(sub)
    add_digest_parsers(sub)
    return parser


COMMANDS = {
    None: _cmd_run,
    "run": _cmd_run,
    "search": _cmd_search,
    "import-catalog": _cmd_import_catalog,
    "migrate": _cmd_migrate,
    "outbox": _cmd_outbox,
    "import-dossiers": cmd_import_dossiers,
    "api-keys": cmd_api_keys,
    "digest": cmd_digest,
    **{name: cmd_petition_admin for name in PETITION_COMMANDS},
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as error:  # say what is wrong without echoing the values (secrets)
        for item in error.errors(include_input=False, include_url=False):
            field = ".".join(str(x) for x in item["loc"]).upper()
            print(f"configuration error: {field}: {item['msg']}", file=sys.stderr)
        return 2
    secrets = [
        s.get_secret_value()
        for s in (settings.bot_token, settings.webhook_secret, settings.web_secret)
        if s is not None
    ]
    setup_logging(settings.log_level, secrets)
    if args.command in (
        "search", "import-catalog", "migrate", "import-dossiers", "api-keys", "outbox",
        "digest", *PETITION_COMMANDS,
    ):
        # keep the command's own output clean
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        return asyncio.run(COMMANDS[args.command](settings, args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
