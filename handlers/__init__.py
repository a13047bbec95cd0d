"""Dialog logic, written once as aiogram routers and shared by every channel.

Routers are created by factories (`create_routers()`), never kept as module-level singletons,
so a fresh dispatcher can be built any number of times in one process.
"""

from __future__ import annotations

from aiogram import Router

from . import common, dossiers, errors, officials, procedures
from .petitions import router as petitions_router


def create_routers() -> list[Router]:
    """Fresh feature routers in the order the dispatcher must include them.

    `common` (commands, menu, language) goes first so commands are never taken for search
    queries; `officials` (enrolled officials only, everyone else falls through) comes next;
    `dossiers` takes receipt codes and its own dialog states before the search;
    `petitions` (the citizen's form, tracking codes, published answers) before the search too;
    `procedures` holds the catch-all free-text handler, so it comes last among the
    features; `errors` only listens to error events.
    """
    return [
        common.create_router(),
        officials.create_router(),
        dossiers.create_router(),
        petitions_router.create_router(),
        procedures.create_router(),
        errors.create_router(),
    ]


__all__ = ["create_routers"]
