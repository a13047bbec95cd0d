"""The feature routers in dispatcher order (`create_routers()`).

Routers are created by factories, never kept as module-level singletons, so a fresh dispatcher
can be built any number of times in one process. Only the composition root imports this module,
so importing any other `handlers.*` module does not load every dialog.
"""

from __future__ import annotations

from aiogram import Router

from handlers.common.errors import create_router as create_errors_router
from handlers.common.router import create_router as create_common_router
from handlers.dossiers.router import create_router as create_dossiers_router
from handlers.officials.router import create_router as create_officials_router
from handlers.petitions.router import create_router as create_petitions_router
from handlers.procedures.router import create_router as create_procedures_router


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
        create_common_router(),
        create_officials_router(),
        create_dossiers_router(),
        create_petitions_router(),
        create_procedures_router(),
        create_errors_router(),
    ]


__all__ = ["create_routers"]
