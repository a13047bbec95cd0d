"""Integration tests of storage/ on SQLite (always) and PostgreSQL (when reachable)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.models import Channel, Document, LegalBasis, Procedure
from storage.db import create_engine, create_session_factory
from storage.fsm import SQLAlchemyStorage
from storage.migrate import current, downgrade, make_config, upgrade
from storage.models import Base, ChatUser, FsmRecord, ImportedProcedure
from storage.repositories.procedures import ProcedureRepository
from storage.repositories.users import UserRepository
from tests.tools.databases import migrated

APP_TABLES = {
    "chat_users",
    "fsm_records",
    "imported_procedures",
    "app_secrets",
    "dossiers",
    "dossier_events",
    "dossier_apologies",
    "dossier_subscriptions",
    "service_ratings",
    "lookup_failures",
    "api_keys",
    "outbox",
    "agencies",
    "officials",
    "official_invitations",
    "petitions",
    "petition_attachments",
    "petition_events",
    "petition_counters",
    "audit_log",
    "inbox_tokens",
    "processed_updates",
}


@pytest.fixture
async def session_factory(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory over the test's database (``db_url``) migrated to head."""
    async with migrated(db_url) as factory:
        yield factory


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    return names


# --- engine and migrations -------------------------------------------------------------------


async def test_sqlite_engine_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "db.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
    finally:
        await engine.dispose()
    assert path.parent.is_dir()
    assert journal == "wal"
    assert foreign_keys == 1
    assert busy > 0


async def test_migrations_stairway(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgrade, downgrade to base and upgrade again, from an unrelated working directory."""
    monkeypatch.chdir(tmp_path)
    assert await current(db_url) is None

    await upgrade(db_url)
    head = ScriptDirectory.from_config(make_config(db_url)).get_current_head()
    assert head is not None and head >= "0004"
    assert await current(db_url) == head
    assert APP_TABLES <= await _table_names(db_url)

    await downgrade(db_url, "base")
    assert await current(db_url) is None
    assert not APP_TABLES & await _table_names(db_url)

    await upgrade(db_url, "head")
    assert await current(db_url) == head
    assert APP_TABLES <= await _table_names(db_url)


async def test_migrations_match_models(db_url: str) -> None:
    """Autogenerate finds nothing to do: migrations and models describe the same schema."""
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


# --- FSM storage -----------------------------------------------------------------------------


class Ask(StatesGroup):
    district = State()
    confirm = State()


KEY = StorageKey(bot_id=42, chat_id=1001, user_id=7)


async def test_fsm_state_and_data(session_factory: async_sessionmaker[AsyncSession]) -> None:
    storage = SQLAlchemyStorage(session_factory)
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}

    await storage.set_state(KEY, Ask.district)
    assert await storage.get_state(KEY) == Ask.district.state
    await storage.set_state(KEY, "Ask:confirm")
    assert await storage.get_state(KEY) == "Ask:confirm"

    data = {
        "district": "Ba Đình",
        "page": 2,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "codes": ["1.001193", {"nested": [1, 2]}],
    }
    await storage.set_data(KEY, data)
    assert await storage.get_data(KEY) == data
    assert await storage.update_data(KEY, {"page": 3}) == {**data, "page": 3}
    assert await storage.get_value(KEY, "page") == 3
    assert await storage.get_state(KEY) == "Ask:confirm"  # data writes keep the state

    other = StorageKey(bot_id=42, chat_id=1001, user_id=7, destiny="other")
    assert await storage.get_state(other) is None
    assert await storage.get_data(other) == {}

    returned = await storage.get_data(KEY)
    returned["page"] = 99  # a copy: mutating it changes nothing stored
    assert await storage.get_value(KEY, "page") == 3
    await storage.close()


async def test_fsm_survives_restart(db_url: str) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        storage = SQLAlchemyStorage(create_session_factory(engine))
        await storage.set_state(KEY, Ask.confirm)
        await storage.set_data(KEY, {"dossier": "000.00.12.H19-250101-0001"})
        await storage.close()
    finally:
        await engine.dispose()

    engine = create_engine(db_url)  # a new process would do exactly this
    try:
        storage = SQLAlchemyStorage(create_session_factory(engine))
        assert await storage.get_state(KEY) == Ask.confirm.state
        assert await storage.get_data(KEY) == {"dossier": "000.00.12.H19-250101-0001"}
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "bad",
    [
        {"when": object()},
        {"set": {1, 2}},
        {"tuple": (1, 2)},
        {"nested": {"deep": [b"bytes"]}},
        {"int_keys": {1: "a"}},
        {"nan": float("nan")},
    ],
    ids=["object", "set", "tuple", "bytes", "int-key", "nan"],
)
async def test_fsm_rejects_non_json(
    session_factory: async_sessionmaker[AsyncSession], bad: dict[str, object]
) -> None:
    storage = SQLAlchemyStorage(session_factory)
    await storage.set_data(KEY, {"kept": 1})
    with pytest.raises(TypeError, match="FSM data"):
        await storage.set_data(KEY, bad)
    assert await storage.get_data(KEY) == {"kept": 1}


async def test_fsm_clearing_removes_row(session_factory: async_sessionmaker[AsyncSession]) -> None:
    storage = SQLAlchemyStorage(session_factory)
    await storage.set_state(KEY, Ask.district)
    await storage.set_data(KEY, {"a": 1})
    await storage.set_state(KEY, None)
    assert await storage.get_data(KEY) == {"a": 1}
    await storage.set_data(KEY, {})
    async with session_factory() as session:
        assert (await session.execute(select(FsmRecord))).scalars().all() == []


# --- users -----------------------------------------------------------------------------------


async def test_user_language(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        users = UserRepository(session)
        assert await users.get_language("telegram", "7") is None
        await users.set_language("telegram", "7", "en")
        await users.set_language("zalo", "7", "vi")
        await session.commit()

    async with session_factory() as session:
        users = UserRepository(session)
        assert await users.get_language("telegram", "7") == "en"
        assert await users.get_language("zalo", "7") == "vi"
        await users.set_language("telegram", "7", "vi")
        await session.commit()

    async with session_factory() as session:
        assert await UserRepository(session).get_language("telegram", "7") == "vi"
        rows = (await session.execute(select(ChatUser).order_by(ChatUser.id))).scalars().all()
        assert [(u.channel, u.external_id) for u in rows] == [("telegram", "7"), ("zalo", "7")]
        assert all(u.created_at.tzinfo is not None for u in rows)
        assert rows[0].created_at.utcoffset() == UTC.utcoffset(None)
        assert rows[0].updated_at >= rows[0].created_at


async def test_user_language_not_committed_without_commit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await UserRepository(session).set_language("web", "abc", "en")
        await session.rollback()
    async with session_factory() as session:
        assert await UserRepository(session).get_language("web", "abc") is None


# --- procedures ------------------------------------------------------------------------------


def _procedure(code: str, name: str = "Đăng ký khai sinh") -> Procedure:
    return Procedure(
        code=code,
        name=name,
        sector="Hộ tịch",
        levels=("Cấp xã",),
        agencies=("Ủy ban nhân dân cấp xã",),
        steps=("Nộp hồ sơ", "Nhận kết quả"),
        channels=(
            Channel(
                kind="direct",
                time_limit="1 Ngày làm việc",
                time_value=1.0,
                time_unit="working_day",
                fee="Miễn phí",
            ),
            Channel(
                kind="online",
                time_limit="1 Ngày làm việc",
                time_value=1.0,
                time_unit="working_day",
                fee="Miễn phí",
            ),
        ),
        documents=(
            Document(
                name="Tờ khai đăng ký khai sinh",
                quantity="1 bản chính",
                template="Mẫu số 01.docx",
                group="Giấy tờ phải nộp",
            ),
        ),
        legal_basis=(LegalBasis(title="Luật Hộ tịch", number="60/2014/QH13"),),
        results=("Giấy khai sinh",),
        keywords=("khai sinh",),
        source="xlsx:hanoi.xlsx",
    )


async def test_procedures_upsert_and_round_trip(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    procedures = [_procedure(f"1.{i:06d}.H19") for i in range(1200)]  # > one lookup chunk

    async with session_factory() as session:
        repo = ProcedureRepository(session)
        assert await repo.upsert_many(procedures, source="xlsx:hanoi.xlsx") == (1200, 0)
        await session.commit()

    async with session_factory() as session:
        before = {
            row.code: (row.payload, row.source, row.imported_at)
            for row in (await session.execute(select(ImportedProcedure))).scalars()
        }

    async with session_factory() as session:
        repo = ProcedureRepository(session)
        assert await repo.upsert_many(iter(procedures), source="xlsx:hanoi.xlsx") == (0, 0)
        await session.commit()

    async with session_factory() as session:
        after = {
            row.code: (row.payload, row.source, row.imported_at)
            for row in (await session.execute(select(ImportedProcedure))).scalars()
        }
        assert after == before

        repo = ProcedureRepository(session)
        assert await repo.count() == 1200
        listed = await repo.list_all()
        assert listed == sorted(procedures, key=lambda p: p.code)

        changed = [_procedure("1.000000.H19", name="Đăng ký khai sinh (sửa)"), _procedure("2.0")]
        assert await repo.upsert_many(changed, source="xlsx:hanoi.xlsx") == (1, 1)
        assert await repo.upsert_many([], source="x") == (0, 0)
        await session.commit()

    async with session_factory() as session:
        repo = ProcedureRepository(session)
        assert await repo.count() == 1201
        by_code = {p.code: p for p in await repo.list_all()}
        assert by_code["1.000000.H19"].name == "Đăng ký khai sinh (sửa)"
        assert by_code["1.000000.H19"].channels == procedures[0].channels


async def test_fsm_concurrent_first_writes(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Racing first writes to one key (a double tap) neither fail nor leave two rows."""
    storage = SQLAlchemyStorage(session_factory)
    await asyncio.gather(*(storage.set_data(KEY, {"n": n}) for n in range(8)))
    assert (await storage.get_data(KEY))["n"] in range(8)
    async with session_factory() as session:
        assert len((await session.execute(select(FsmRecord))).scalars().all()) == 1


# --- secrets ----------------------------------------------------------------------------------


async def test_secret_is_created_once_and_kept(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from storage.repositories.app_secrets import SecretRepository

    async with session_factory() as session:
        first = await SecretRepository(session).get_or_create("webchat_visitor")
    assert len(first) >= 40
    async with session_factory() as session:  # a later process start
        assert await SecretRepository(session).get_or_create("webchat_visitor") == first
        other = await SecretRepository(session).get_or_create("another")
    assert other != first


async def test_idle_conversation_states_are_forgotten(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from datetime import datetime, timedelta

    from storage.repositories.fsm_records import FsmRepository

    storage = SQLAlchemyStorage(session_factory)
    old_key = StorageKey(bot_id=1, chat_id=10, user_id=10)
    new_key = StorageKey(bot_id=1, chat_id=11, user_id=11)
    await storage.set_data(old_key, {"q": "old"})
    await storage.set_data(new_key, {"q": "new"})
    async with session_factory() as session:  # age one of them
        record = (await session.execute(select(FsmRecord))).scalars().all()
        record[0].updated_at = datetime.now(UTC) - timedelta(days=40)
        aged = record[0].key
        await session.commit()
    async with session_factory() as session:
        removed = await FsmRepository(session).delete_idle(datetime.now(UTC) - timedelta(days=30))
        await session.commit()
    assert removed == 1
    remaining = {k: await storage.get_data(k) for k in (old_key, new_key)}
    assert sum(1 for v in remaining.values() if v) == 1
    async with session_factory() as session:
        keys = [r.key for r in (await session.execute(select(FsmRecord))).scalars()]
    assert aged not in keys and len(keys) == 1
