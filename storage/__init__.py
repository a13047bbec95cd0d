"""The only place with SQL: engine factories, models, migrations, FSM storage, and the
repositories (``storage.repositories``, one module per aggregate).

Nothing is created at import time; the composition root builds the engine and session factory.
"""

from storage.db import create_engine, create_session_factory
from storage.fsm import SQLAlchemyStorage
from storage.migrate import current, downgrade, downgrade_sync, upgrade, upgrade_sync
from storage.models import AppSecret, Base, ChatUser, FsmRecord, ImportedProcedure

__all__ = [
    "AppSecret",
    "Base",
    "ChatUser",
    "FsmRecord",
    "ImportedProcedure",
    "SQLAlchemyStorage",
    "create_engine",
    "create_session_factory",
    "current",
    "downgrade",
    "downgrade_sync",
    "upgrade",
    "upgrade_sync",
]
