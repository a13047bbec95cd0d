"""aiogram FSM storage on SQLAlchemy, so conversation state survives a restart."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FsmRecord, utcnow

_UNSET: Any = object()
_SCALARS = (str, int, float, bool, type(None))


def _check_json(value: Any, path: str) -> None:
    """Raise TypeError unless ``value`` is built only of JSON primitives, lists and str-keyed dicts."""
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(f"FSM data at {path} is {value!r}; only finite numbers are JSON-safe")
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"FSM data at {path} has a non-string key {key!r}")
            _check_json(item, f"{path}[{key!r}]")
        return
    raise TypeError(
        f"FSM data at {path} is of type {type(value).__name__}; only JSON primitives "
        "(str, int, float, bool, None), lists and dicts with string keys can be stored"
    )


def dump_fsm_data(data: Mapping[str, Any]) -> str:
    """Serialise FSM data to JSON text, refusing anything that would not round-trip."""
    plain = dict(data)
    _check_json(plain, "data")
    return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))


class SQLAlchemyStorage(BaseStorage):
    """FSM storage keeping one ``fsm_records`` row per storage key.

    Every call opens its own short session and commits it, independent of the per-event
    session of the handlers. A row whose state is None and data empty is deleted.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set (or clear with None) the state for ``key``."""
        value = state.state if isinstance(state, State) else state
        await self._write(self._key(key), state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        """Current state for ``key`` or None."""
        async with self._session_factory() as session:
            record = await session.get(FsmRecord, self._key(key))
            return record.state if record is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the data for ``key``; raises TypeError for values that are not JSON primitives."""
        await self._write(self._key(key), data=dump_fsm_data(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """A fresh copy of the data for ``key`` (empty dict when none)."""
        async with self._session_factory() as session:
            record = await session.get(FsmRecord, self._key(key))
            if record is None or not record.data:
                return {}
            loaded: dict[str, Any] = json.loads(record.data)
            return loaded

    async def close(self) -> None:
        """Nothing to release: the engine belongs to whoever created the session factory."""

    async def _write(self, key: str, *, state: Any = _UNSET, data: Any = _UNSET) -> None:
        # Select-then-insert/update is portable; if a concurrent writer inserted the same key
        # between our select and insert, the retry finds the row and updates it.
        for attempt in range(2):
            try:
                await self._write_once(key, state=state, data=data)
                return
            except IntegrityError:
                if attempt:
                    raise

    async def _write_once(self, key: str, *, state: Any, data: Any) -> None:
        async with self._session_factory() as session, session.begin():
            record = await session.get(FsmRecord, key, with_for_update=True)
            if record is None:
                record = FsmRecord(key=key, state=None, data="{}")
                new = True
            else:
                new = False
            if state is not _UNSET:
                record.state = state
            if data is not _UNSET:
                record.data = data
            empty = record.state is None and record.data in ("", "{}")
            if new:
                if not empty:
                    session.add(record)
            elif empty:
                await session.delete(record)
            else:
                record.updated_at = utcnow()
