"""Every migration, one step at a time: upgrade to it, downgrade one step, upgrade again.

A downgrade that forgets a table, an index or a type, or an upgrade that cannot run twice on the
same database, fails here at the revision that has the fault — the round trip over the whole
chain (`test_storage.py`) would only say that something somewhere is off.
"""

from __future__ import annotations

import pytest
from alembic.script import Script, ScriptDirectory
from sqlalchemy import inspect

from storage.db import create_engine
from storage.migrate import current, downgrade, make_config, upgrade


def _revisions() -> list[Script]:
    """The migrations from the first to the head (one line of history, no branches)."""
    scripts = ScriptDirectory.from_config(make_config("sqlite://"))
    assert len(scripts.get_heads()) == 1, "migrations have branched"
    return list(reversed(list(scripts.walk_revisions("base", "heads"))))


async def _schema(url: str) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Each table's column names and index names, to compare before and after a round trip."""

    def read(sync_conn) -> dict[str, tuple[frozenset[str], frozenset[str]]]:  # type: ignore[no-untyped-def]
        inspector = inspect(sync_conn)
        return {
            table: (
                frozenset(c["name"] for c in inspector.get_columns(table)),
                frozenset(str(i["name"]) for i in inspector.get_indexes(table)),
            )
            for table in inspector.get_table_names()
        }

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def test_there_is_a_chain_to_walk() -> None:
    revisions = _revisions()
    assert len(revisions) >= 5
    assert revisions[0].down_revision is None
    for older, newer in zip(revisions, revisions[1:]):
        assert newer.down_revision == older.revision


@pytest.mark.slow
async def test_each_migration_goes_down_and_up_again(db_url: str) -> None:
    scripts = _revisions()
    assert len(scripts) >= 5
    for script in scripts:
        before = await _schema(db_url) if script.down_revision is not None else {}
        await upgrade(db_url, script.revision)
        assert await current(db_url) == script.revision
        after = await _schema(db_url)

        await downgrade(db_url, script.down_revision or "base")
        assert await current(db_url) == script.down_revision
        restored = {t: s for t, s in (await _schema(db_url)).items() if t != "alembic_version"}
        expected = {t: s for t, s in before.items() if t != "alembic_version"}
        assert restored == expected, f"downgrade of {script.revision} does not restore the schema"

        await upgrade(db_url, script.revision)
        assert await _schema(db_url) == after, f"{script.revision} differs when applied again"
