"""The grammar of ``python -m bot``: every subcommand and its arguments.

It imports nothing but ``argparse``: ``bot.cli.main`` builds the whole parser, then imports only
the chosen command's module (``COMMANDS``), so ``python -m bot search`` does not load the web
apps, the digest's chart or the dossier import.
"""

from __future__ import annotations

import argparse

DEFAULT_BATCH = 5_000  # import-dossiers: records per transaction
OFFICIAL_ROLES = ("admin", "officer")
DIGEST_LANGUAGES = ("vi", "en")

COMMANDS: dict[str | None, str] = {
    None: "bot.cli.run:cmd_run",
    "run": "bot.cli.run:cmd_run",
    "search": "bot.cli.search:cmd_search",
    "import-catalog": "bot.cli.catalog:cmd_import_catalog",
    "migrate": "bot.cli.migrate:cmd_migrate",
    "outbox": "bot.cli.outbox_status:cmd_outbox",
    "import-dossiers": "bot.cli.dossiers:cmd_import_dossiers",
    "api-keys": "bot.cli.dossiers:cmd_api_keys",
    "digest": "bot.cli.digest:cmd_digest",
    "agencies": "bot.cli.petition_admin:cmd_petition_admin",
    "officials": "bot.cli.petition_admin:cmd_petition_admin",
    "petitions": "bot.cli.petition_admin:cmd_petition_admin",
    "zalo": "bot.cli.zalo:cmd_zalo",
}
"""The function that runs each command, as ``module:function`` (``None``: no command given)."""

Subparsers = argparse._SubParsersAction  # type: ignore[type-arg]


def _add_assistant(sub: Subparsers) -> None:
    """``run``, ``search``, ``import-catalog``, ``migrate``, ``outbox``."""
    sub.add_parser("run", help="serve the web chat, and Telegram when BOT_TOKEN is set (default)")
    p = sub.add_parser("search", help="search the catalog from the command line")
    p.add_argument(
        "query", nargs="?", help="the question; without it, one query per line from stdin"
    )
    p.add_argument("--json", action="store_true", help="print {query, results, took_ms} as JSON")
    p.add_argument("--limit", type=int, default=5)
    p = sub.add_parser("import-catalog", help="load a province's catalog export (JSONL, XLSX, CSV)")
    p.add_argument("file")
    p.add_argument(
        "--source", help="label stored with the imported procedures (default: file name)"
    )
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("outbox", help="how many outgoing messages are pending, sent, failed, uncertain")


def _add_dossiers(sub: Subparsers) -> None:
    """``import-dossiers`` and ``api-keys``."""
    p = sub.add_parser(
        "import-dossiers", help="load dossiers from the one-door system (CSV or JSON Lines)"
    )
    p.add_argument("file")
    p.add_argument("--source", help="label stored with the dossiers (default: file:<name>)")
    p.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help="records per transaction (default 5000)"
    )
    p = sub.add_parser(
        "api-keys",
        help="manage the keys of other systems: dossier ingest and Open311 petitions",
    )
    keys = p.add_subparsers(dest="action")
    q = keys.add_parser("create", help="create a key for an agency (printed once)")
    q.add_argument("agency", help="the agency name exactly as its dossiers carry it")
    q.add_argument("--label", help="a note to recognise the key by (e.g. the system using it)")
    q.add_argument(
        "--scopes",
        default="dossiers",
        help="space-separated: dossiers (POST /api/v1/dossiers), open311 (POST "
        "/open311/v2/requests.json); default: dossiers",
    )
    keys.add_parser("list", help="list keys (prefixes only; keys are never shown)")
    q = keys.add_parser("revoke", help="revoke a key by its prefix (vnd_XXXXXXXX) or id")
    q.add_argument("prefix")


def _add_petition_admin(sub: Subparsers) -> None:
    """``agencies``, ``officials`` and ``petitions`` with their actions."""
    p = sub.add_parser("agencies", help="agencies that answer petitions")
    actions = p.add_subparsers(dest="action")
    q = actions.add_parser("add", help="create or update an agency (its lists are replaced)")
    q.add_argument("code", help="short code, e.g. so-tu-phap")
    q.add_argument("name", help="the agency's name, e.g. 'Sở Tư pháp'")
    q.add_argument("--sector", action="append", help="a sector it answers for (repeatable)")
    q.add_argument(
        "--procedure", action="append", help="a procedure code it answers for (repeatable)"
    )
    q.add_argument("--dossier-agency", help="the name its dossiers carry in the one-door system")
    q.add_argument(
        "--default", action="store_true", help="receives petitions no other agency answers for"
    )
    actions.add_parser("list", help="list agencies with their sectors, procedures, officials")

    p = sub.add_parser("officials", help="officials who handle petitions in the chat")
    actions = p.add_subparsers(dest="action")
    q = actions.add_parser("invite", help="print a one-time enrolment code")
    q.add_argument("--agency", required=True, help="the agency's code")
    q.add_argument("--role", required=True, choices=OFFICIAL_ROLES)
    q.add_argument("--days", type=int, default=7, help="days the code stays valid (default 7)")
    q = actions.add_parser("list", help="list officials (removed ones too)")
    q.add_argument("--agency", help="only this agency's")
    q = actions.add_parser("remove", help="remove an official's access")
    q.add_argument("id", type=int)

    p = sub.add_parser("petitions", help="petition administration")
    actions = p.add_subparsers(dest="action")
    q = actions.add_parser("reroute", help="send a petition to another agency")
    q.add_argument("tracking_code", help="e.g. PAKN-2026-000123")
    q.add_argument("agency", help="the new agency's code")
    q.add_argument("--reason", help="why (kept in the petition's history)")


def _add_digest(sub: Subparsers) -> None:
    """``digest``."""
    p = sub.add_parser("digest", help="the officials' daily digests: preview or send now")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--now", action="store_true", help="build, enqueue and send today's digests (Telegram)"
    )
    mode.add_argument(
        "--dry-run", action="store_true", help="print the digests without enqueueing anything"
    )
    p.add_argument("--agency", metavar="CODE", help="only this agency")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the digest of another day")
    p.add_argument("--charts", metavar="DIR", help="with --dry-run: write the charts (PNG) here")
    p.add_argument(
        "--timeout", type=float, default=120.0, help="with --now: seconds to keep sending (120)"
    )
    p.add_argument(
        "--language", choices=DIGEST_LANGUAGES, help="with --dry-run (default: DEFAULT_LANGUAGE)"
    )


def _add_zalo(sub: Subparsers) -> None:
    """``zalo set-tokens`` and ``zalo status``."""
    p = sub.add_parser("zalo", help="the Zalo Official Account's tokens")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser(
        "set-tokens",
        help="store a new access and refresh token pair (read from standard input, two lines)",
    )
    q.add_argument(
        "--expires-in",
        type=int,
        default=90_000,
        help="seconds the access token is valid (Zalo gives about 25 hours: 90000)",
    )
    actions.add_parser("status", help="whether tokens are stored and when the access one expires")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Citizen assistant for public administration"
    )
    sub = parser.add_subparsers(dest="command")
    _add_assistant(sub)
    _add_dossiers(sub)
    _add_petition_admin(sub)
    _add_digest(sub)
    _add_zalo(sub)
    return parser
