"""The only place with SQL: engine factories, models, migrations, FSM storage, repositories.

Nothing is created at import time; the composition root builds the engine and session factory.
"""

from storage.db import create_engine, create_session_factory
from storage.fsm import SQLAlchemyStorage
from storage.migrate import current, downgrade, downgrade_sync, upgrade, upgrade_sync
from storage.models import Base, ChatUser, FsmRecord, ImportedProcedure
from storage.repositories import ProcedureRepository, UserRepository

__all__ = [
    "Base",
    "ChatUser",
    "FsmRecord",
    "ImportedProcedure",
    "ProcedureRepository",
    "SQLAlchemyStorage",
    "UserRepository",
    "create_engine",
    "create_session_factory",
    "current",
    "downgrade",
    "downgrade_sync",
    "upgrade",
    "upgrade_sync",
]
