"""The only place with SQL: engine factories (``storage.db``), models, migrations, FSM storage
(``storage.fsm``), the outbox, and the repositories (``storage.repositories``, one module per
aggregate).

This package imports nothing, so ``import storage.db`` does not load aiogram (which the FSM
storage needs). Nothing is created at import time; the composition root builds the engine and
session factory.
"""
