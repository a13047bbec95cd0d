"""``python -m bot search [QUERY]``: search the catalog from the command line.

With a query it prints the best matches (``--json``: ``{query, results, took_ms}``); without
one it reads one query per line from standard input and prints one JSON line each. It builds the
index as the running assistant does (``bot.services``) and loads nothing of the web apps.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bot.config import Settings
from bot.services import create_services
from knowledge.search import SearchIndex


def _print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _search_payload(index: SearchIndex, query: str, limit: int) -> dict[str, object]:
    t0 = time.perf_counter()
    hits = index.search(query, limit)
    took = (time.perf_counter() - t0) * 1000
    return {
        "query": query,
        "results": [
            {"code": h.procedure.code, "name": h.procedure.name, "score": h.score} for h in hits
        ],
        "took_ms": round(took, 3),
    }


def _print_results(index: SearchIndex, query: str, payload: dict[str, object]) -> None:
    if not payload["results"]:
        print("No procedure matches. Suggestions:", ", ".join(index.suggestions(query)) or "-")
        return
    for r in payload["results"]:  # type: ignore[attr-defined]
        print(f"{r['score']:5.1f}  {r['code']:<22} {r['name']}")
    print(f"({payload['took_ms']} ms)")


async def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
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
        else:
            _print_results(index, args.query, payload)
        return 0
    finally:
        await services.close()
