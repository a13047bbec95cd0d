"""`python -m bot agencies|officials|petitions ...` through `bot.cli.main.main(argv)` on a
throw-away SQLite database (DATABASE_URL): what it prints, its exit codes, what it writes and
audits, and that a refused command writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.main import main
from knowledge.outbox import OutboxKind
from knowledge.petition_workflow import PetitionStatus
from storage.db import create_engine, create_session_factory
from storage.models import Agency, AuditEntry, Dossier, OutboxMessage, Petition
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionDraft, PetitionRepository

T = TypeVar("T")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOT_TOKEN", "")
    yield url


def run(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in a session of the test database (commits)."""

    async def go() -> T:
        engine = create_engine(url)
        try:
            async with create_session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _all(session: AsyncSession, model: Any) -> list[Any]:
    return list((await session.execute(select(model).order_by(model.id))).scalars())


def _agencies(url: str) -> list[Agency]:
    return run(url, lambda s: _all(s, Agency))


def _audit(url: str, action: str) -> list[AuditEntry]:
    async def work(session: AsyncSession) -> list[AuditEntry]:
        return [a for a in await _all(session, AuditEntry) if a.action == action]

    return run(url, work)


def test_agencies_add_update_and_list(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(
        capsys,
        "agencies",
        "add",
        "so-tu-phap",
        "Sở Tư pháp",
        "--sector",
        "Hộ tịch",
        "--procedure",
        "1.001193",
        "--procedure",
        "1.012753.H19",
        "--dossier-agency",
        "Sở Tư pháp",
    )
    assert code == 0 and "created agency so-tu-phap" in out
    code, out, _ = cli(capsys, "agencies", "add", "SO-TU-PHAP", "Sở Tư pháp tỉnh", "--default")
    assert code == 0 and "updated agency so-tu-phap" in out
    [agency] = _agencies(db)
    assert (agency.name, agency.is_default, agency.procedure_codes) == ("Sở Tư pháp tỉnh", True, [])
    saves = _audit(db, "agency_save")
    assert [(a.via, a.actor, a.details["created"]) for a in saves] == [
        ("cli", "cli", True),
        ("cli", "cli", False),
    ]
    code, out, _ = cli(capsys, "agencies", "list")
    assert code == 0 and "so-tu-phap" in out and "[default]" in out and "officials: 0" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("agencies", "add", "sở tư pháp", "X"), "agency code"),
        (("agencies", "add", "a" * 65, "X"), "agency code"),
        (("agencies", "add", "so-x", "   "), "name"),
        (
            ("agencies", "add", "so-x", "X", "--procedure", "1.0011; DROP TABLE agencies"),
            "procedure",
        ),
        (("agencies", "add", "so-x", "X", "--sector", "\u200b"), "sector"),
    ],
)
def test_agencies_add_refuses_bad_input_and_writes_nothing(
    db: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = cli(capsys, *argv)
    assert code == 2 and err.startswith("error:") and message in err and out == ""
    assert _agencies(db) == []


def test_invite_enrol_list_and_remove(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "agencies", "add", "so-tu-phap", "Sở Tư pháp")[0] == 0
    code, out, err = cli(capsys, "officials", "invite", "--agency", "so-tu-phap", "--role", "admin")
    assert code == 0
    invitation = out.strip()
    assert invitation.startswith("MOI-") and "/official" in err
    [created] = _audit(db, "invite_create")
    assert created.via == "cli" and created.details["role"] == "admin"

    async def enrol(session: AsyncSession) -> int:
        official = await OfficialRepository(session).enroll(
            invitation, channel="telegram", chat_id="777", display_name="Trần Hà"
        )
        return official.id

    official_id = run(db, enrol)
    code, out, _ = cli(capsys, "officials", "list", "--agency", "so-tu-phap")
    assert (
        code == 0 and f"{official_id:>5}  so-tu-phap" in out and "admin" in out and "Trần Hà" in out
    )
    assert "officials: 1" in cli(capsys, "agencies", "list")[1]

    code, out, _ = cli(capsys, "officials", "remove", str(official_id))
    assert code == 0 and "removed official" in out
    [removed] = _audit(db, "deactivate")
    assert removed.via == "cli" and removed.details == {"official_id": official_id}
    assert "removed" in cli(capsys, "officials", "list")[1]
    code, out, _ = cli(capsys, "officials", "remove", str(official_id))
    assert code == 0 and "already" in out
    assert len(_audit(db, "deactivate")) == 1

    async def still_there(session: AsyncSession) -> object:
        return await OfficialRepository(session).by_chat("telegram", "777")

    assert run(db, still_there) is None


def test_officials_errors(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "agencies", "add", "so-tu-phap", "Sở Tư pháp")[0] == 0
    code, _, err = cli(capsys, "officials", "invite", "--agency", "nope", "--role", "officer")
    assert code == 2 and "unknown agency 'nope'" in err
    code, _, err = cli(
        capsys, "officials", "invite", "--agency", "so-tu-phap", "--role", "officer", "--days", "0"
    )
    assert code == 2 and "--days" in err
    with pytest.raises(SystemExit) as exit_info:  # argparse: a role that does not exist
        main(["officials", "invite", "--agency", "so-tu-phap", "--role", "boss"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err
    assert _audit(db, "invite_create") == []
    code, _, err = cli(capsys, "officials", "remove", "999")
    assert code == 2 and "no official with id 999" in err
    code, _, err = cli(capsys, "officials", "list", "--agency", "nope")
    assert code == 2 and "unknown agency" in err
    code, _, err = cli(capsys, "officials")
    assert code == 2 and "invite" in err


def _petition(db: str) -> Petition:
    async def work(session: AsyncSession) -> Petition:
        result = await PetitionRepository(session).submit(
            PetitionDraft(
                topic_kind="procedure",
                topic="Đăng ký khai sinh",
                procedure_code="1.001193",
                content="Cán bộ hẹn trả kết quả khai sinh nhưng đã quá hạn ba ngày mà chưa nhận.",
                sender_name="Nguyễn Văn An",
                phone="0912345678",
                address="12 Lê Lợi, phường Bến Thành",
                channel="telegram",
                chat_id="5001",
            )
        )
        return result.petition

    return run(db, work)


def test_reroute(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli(capsys, "agencies", "add", "so-tu-phap", "Sở Tư pháp", "--procedure", "1.001193")[0]
        == 0
    )
    assert cli(capsys, "agencies", "add", "so-nnmt", "Sở Nông nghiệp và Môi trường")[0] == 0
    invitation = cli(capsys, "officials", "invite", "--agency", "so-nnmt", "--role", "officer")[
        1
    ].strip()

    async def enrol(session: AsyncSession) -> int:
        official = await OfficialRepository(session).enroll(
            invitation, channel="telegram", chat_id="9"
        )
        return official.id

    land_official = run(db, enrol)
    petition = _petition(db)
    justice, land = _agencies(db)
    assert petition.agency_id == justice.id

    code, _, err = cli(capsys, "petitions", "reroute", "PAKN-2026-999999", "so-nnmt")
    assert code == 2 and "no petition" in err
    code, _, err = cli(capsys, "petitions", "reroute", petition.tracking_code, "so-x")
    assert code == 2 and "unknown agency" in err
    code, _, err = cli(capsys, "petitions", "reroute", petition.tracking_code, "so-tu-phap")
    assert code == 2 and "already with so-tu-phap" in err

    code, out, _ = cli(
        capsys,
        "petitions",
        "reroute",
        petition.tracking_code.lower().replace("-", " "),
        "so-nnmt",
        "--reason",
        "Thuộc lĩnh vực đất đai",
    )
    assert code == 0 and "re-routed to so-nnmt" in out

    async def after(session: AsyncSession) -> tuple[Petition, list[OutboxMessage]]:
        stored = await PetitionRepository(session).get(petition.id)
        assert stored is not None
        notices = [
            m for m in await _all(session, OutboxMessage) if m.kind == OutboxKind.PETITION_NEW
        ]
        return stored, notices

    stored, notices = run(db, after)
    assert (stored.agency_id, stored.status) == (land.id, PetitionStatus.RECEIVED)
    assert [n.payload["official_id"] for n in notices if n.payload["reason"] == "rerouted"] == [
        land_official
    ]
    [entry] = _audit(db, "reroute")
    assert (entry.actor, entry.via, entry.official_id) == ("cli", "cli", None)

    async def close(session: AsyncSession) -> None:
        row = await session.get(Petition, petition.id)
        assert row is not None
        row.status = "published"

    run(db, close)
    code, _, err = cli(capsys, "petitions", "reroute", petition.tracking_code, "so-tu-phap")
    assert code == 2 and "only open petitions" in err
    assert len(_audit(db, "reroute")) == 1


def test_agencies_add_says_how_many_dossiers_carry_the_name(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def add_dossiers(session: AsyncSession) -> None:
        for n, agency in enumerate(["Sở Tư pháp", "Sở Tư pháp", "UBND xã Tân Lập"]):
            session.add(
                Dossier(
                    receipt_code=f"000.00.17.H12-260101-000{n}",
                    lookup_key=f"0000017H122601010000{n}",
                    agency=agency,
                    status=4,
                    source="file:test",
                )
            )
        await session.commit()

    assert cli(capsys, "migrate")[0] == 0
    run(db, add_dossiers)
    code, out, err = cli(
        capsys, "agencies", "add", "so-tu-phap", "Sở Tư pháp", "--dossier-agency", "Sở Tư pháp"
    )
    assert code == 0 and "dossiers recorded under 'Sở Tư pháp': 2" in out and not err
    code, out, err = cli(
        capsys, "agencies", "add", "so-tu-phap", "Sở Tư pháp", "--dossier-agency", "sở tư  pháp"
    )
    assert code == 0 and ": 0" in out
    assert "warning" in err and "'Sở Tư pháp'" in err  # the likely intended name
