"""What several repositories share: bounded IN (...) lists, the stored hash of a secret, the
start of a local day as a bound parameter, and the dialect's INSERT ... ON CONFLICT."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.workdays import VN_TZ

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``, to keep IN (...) lists under the drivers'
    bound-parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sha256_hex(text: str) -> str:
    """The stored form of a secret (API keys, invitation codes, sign-in tokens): SHA-256, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def local_midnight(day: date) -> datetime:
    """The UTC moment a local (Asia/Ho_Chi_Minh) day starts."""
    return datetime.combine(day, time(0), VN_TZ).astimezone(UTC)


def dialect_name(session: AsyncSession) -> str:
    """The name of the database dialect the session is bound to ("sqlite", "postgresql")."""
    return session.get_bind().dialect.name


def upsert_insert(dialect: str, target: Any) -> PgInsert | SqliteInsert:
    """An INSERT that takes ``on_conflict_do_*`` on this dialect."""
    return pg_insert(target) if dialect == "postgresql" else sqlite_insert(target)


def affected_rows(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE matched (its result is a cursor result)."""
    return cast("CursorResult[Any]", result).rowcount
