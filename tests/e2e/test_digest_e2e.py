"""The daily digest end to end: built from a real database, enqueued for each official of the
agency, rendered at send time in their language and delivered by the outbox worker through a
real aiogram `Bot` to the stand-in Bot API server -- a chart photo whose caption holds the
figures, then the lists of codes -- with Telegram's flood control (429, retry_after) injected
in the middle: every official gets exactly one digest. And `python -m bot digest` as an
operator runs it, in a subprocess against the same stand-in server."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli.digest import cmd_digest
from bot.cli.parser import build_parser
from bot.config import load_settings
from bot.jobs.digest import run_digests
from bot.jobs.outbox import OutboxWorker
from bot.jobs.senders import TelegramSender
from handlers.digest.notifications import create_digest_renderers
from handlers.i18n import create_i18n
from knowledge.dossier_records import parse_record
from knowledge.outbox import OutboxKind
from knowledge.workdays import VN_TZ
from storage.models import OutboxMessage
from storage.repositories.agencies import AgencyRepository
from storage.repositories.dossiers import DossierRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionDraft, PetitionRepository
from tests.tools.databases import migrated
from tests.tools.telegram_server import Call, FakeTelegram, parse_html

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-fake-token_ABCdef"
DAY = date(2026, 11, 17)  # Tuesday: the report period is Monday 16 November
NOW = datetime(2026, 11, 17, 7, 30, tzinfo=VN_TZ)
AGENCY = "Sở Tư pháp"
OFFICIALS = {7001: "vi", 7002: "en", 7003: "vi", 7004: None, 7005: "en", 7006: "vi"}

Factory = async_sessionmaker[AsyncSession]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "digest.sqlite3"


@pytest.fixture
async def factory(db_path: Path) -> AsyncIterator[Factory]:
    async with migrated(f"sqlite+aiosqlite:///{db_path}") as factory:
        yield factory


def record(n: int, **fields: Any) -> Any:
    row = {
        "receipt_code": f"000.00.17.H12-261116-{n:04d}",
        "agency": AGENCY,
        "received_at": "2026-11-16 08:00",
        "appointment_at": "2026-11-19 17:00",
        "status": 2,
        "applicant_name": "Nguyễn Văn An",
        "applicant_phone": "0912345678",
    }
    row.update(fields)
    return parse_record(row)


async def populate(factory: Factory) -> None:
    """One agency with six officials (Telegram), five dossiers and twelve petitions."""
    async with factory() as session:
        agency = await AgencyRepository(session).save(
            "so-tu-phap",
            AGENCY,
            sectors=["Hộ tịch"],
            procedure_codes=["1.001193"],
            dossier_agency=AGENCY,
        )
        officials = OfficialRepository(session)
        for chat, language in OFFICIALS.items():
            code, _ = await officials.create_invitation(agency.id, "officer")
            await officials.enroll(code, channel="telegram", chat_id=str(chat), language=language)
        await DossierRepository(session).upsert_many(
            [
                record(1),
                record(1, status=9, status_at="2026-11-16 15:00", finished_at="2026-11-16 15:00"),
                record(2),
                record(2, status=9, status_at="2026-11-20 10:00", finished_at="2026-11-16 16:00"),
                record(3, status=4, status_at="2026-11-16 09:00"),
                record(
                    4, appointment_at="2026-11-16 17:00", status=4, status_at="2026-11-16 09:00"
                ),
                record(5),
            ],
            "test",
        )
        petitions = PetitionRepository(session)
        for i in range(12):
            await petitions.submit(
                PetitionDraft(
                    topic_kind="procedure",
                    topic="Đăng ký khai sinh",
                    procedure_code="1.001193",
                    content="Cán bộ hẹn trả kết quả khai sinh nhưng đã quá hạn ba ngày mà chưa nhận được.",
                    sender_name="Nguyễn Văn An",
                    phone="0912345678",
                    address="12 Lê Lợi, phường Bến Thành, TP Hồ Chí Minh",
                    channel="telegram",
                    chat_id=str(9000 + i),
                ),
                now=datetime(2026, 11, 16, 8, i, tzinfo=VN_TZ),
            )
        # The officials' notices of the new petitions are another part's business: out of
        # the way, so that the outbox holds only what this test sends.
        await session.execute(delete(OutboxMessage))
        await session.commit()


def worker_for(factory: Factory, bot: Bot) -> OutboxWorker:
    return OutboxWorker(
        factory,
        {"telegram": TelegramSender(bot, part_interval=0.05)},
        create_digest_renderers(create_i18n()),
        global_rate=1000.0,
        per_chat_interval=0.0,
        idle_poll=0.05,
        concurrency=4,
    )


def digests_only(calls: list[Call]) -> list[Call]:
    """The messages to the officials (the citizens' chats get nothing here)."""
    return [c for c in calls if c.chat_id in OFFICIALS]


async def digest_rows(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        result = await session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DIGEST)
        )
        return list(result.scalars())


@pytest.mark.parametrize("flooded", ["sendPhoto", "sendMessage"])
async def test_every_official_gets_one_digest_despite_flood_control(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot, flooded: str
) -> None:
    await populate(factory)
    runs = await run_digests(factory, DAY, NOW.astimezone(UTC))
    assert [(r.officials, r.enqueued) for r in runs] == [(6, 6)]
    # A 429 in the middle of the digests: on a photo (the whole row waits retry_after and the
    # bot pauses), or on the text after a photo (the sender waits it out and sends the rest).
    fake.fail_next(flooded, status=429, retry_after=1, chat_id=7003)
    worker = worker_for(factory, telegram_bot)

    await worker.drain(timeout=20)

    photos = Counter(c.chat_id for c in digests_only(fake.delivered("sendPhoto")))
    texts = Counter(c.chat_id for c in digests_only(fake.delivered("sendMessage")))
    assert photos == Counter(OFFICIALS.keys()) and texts == Counter(
        OFFICIALS.keys()
    )  # each exactly once
    refused = [c for c in fake.calls if c.status == 429]
    assert len(refused) == 1 and refused[0].chat_id == 7003
    retry = next(c for c in fake.delivered(flooded) if c.chat_id == 7003 and c.at > refused[0].at)
    assert retry.at - refused[0].at >= 1.0  # retry_after honoured
    rows = await digest_rows(factory)
    assert sorted(r.state for r in rows) == ["sent"] * 6

    by_chat = {c.chat_id: c for c in digests_only(fake.delivered("sendPhoto"))}
    # Vietnamese for "vi" and for an official without a language (the default), English else.
    vi, en = parse_html(by_chat[7001].caption), parse_html(by_chat[7002].caption)
    assert parse_html(by_chat[7004].caption).startswith("📊 Báo cáo ngày 17/11/2026")
    assert vi.startswith("📊 Báo cáo ngày 17/11/2026") and "Sở Tư pháp" in vi
    # Monday 16th: five dossiers; 1 early, 2 on time (finished the 16th, appointment the 19th:
    # early too -- its later status time does not matter), 3 in progress, 4 overdue, 5 open.
    assert "Hồ sơ tiếp nhận ngày 16/11/2026" in vi
    assert "Tiếp nhận: 5" in vi and "Đã giải quyết: 2 (40%)" in vi
    assert "trước hạn 2 (100%)" in vi and "Đang giải quyết: 3 (60%), trong đó quá hạn 1" in vi
    assert "Mới tiếp nhận ngày 16/11/2026: 12" in vi
    assert en.startswith("📊 Daily digest, Nov 17, 2026") and "Received: 5" in en
    # The chart is a real PNG; the lists of codes follow the photo.
    photo = fake.delivered("sendPhoto")[0].params["photo"]
    assert photo.data.startswith(b"\x89PNG") and photo.filename == "digest-2026-11-17.png"
    rest = next(c for c in fake.delivered("sendMessage") if c.chat_id == 7001)
    assert "Phản ánh, kiến nghị mới" in rest.text and "PAKN-2026-000001" in rest.text
    assert "+ 2 mục khác" in rest.text  # twelve new, ten listed

    # Enqueued again (a restart, the command line) and drained again: nothing more arrives.
    again = await run_digests(factory, DAY, NOW.astimezone(UTC))
    assert [r.skipped for r in again] == [True]
    before = len(fake.delivered())
    await worker_for(factory, telegram_bot).drain(timeout=2)
    assert len(fake.delivered()) == before


async def test_an_official_who_left_gets_nothing(
    fake: FakeTelegram, factory: Factory, telegram_bot: Bot
) -> None:
    await populate(factory)
    await run_digests(factory, DAY, NOW.astimezone(UTC))
    async with factory() as session:
        official = await OfficialRepository(session).by_chat("telegram", "7002")
        assert official is not None
        await OfficialRepository(session).deactivate(official.id)
        await session.commit()
    await worker_for(factory, telegram_bot).drain(timeout=10)
    assert 7002 not in {c.chat_id for c in fake.delivered()}
    assert len(digests_only(fake.delivered("sendPhoto"))) == 5
    states = Counter(r.state for r in await digest_rows(factory))
    assert states == Counter({"sent": 6})  # the skipped one is done with, not pending


async def run_cli(db_path: Path, fake: FakeTelegram, *args: str) -> tuple[int, str, str]:
    """``python -m bot digest ...`` in a fresh interpreter, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{db_path}",
        PYTHONPATH=str(ROOT),
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_SERVER=fake.base_url,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "digest",
        *args,
        cwd=db_path.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    return proc.returncode or 0, out.decode(), err.decode()


async def run_here(
    db_path: Path, fake: FakeTelegram, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """The same command in this process (the interpreter start costs seconds): the parser of
    ``python -m bot`` and the function it runs, with the settings the environment would give."""
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{db_path}",
        bot_token=TOKEN,
        telegram_api_server=fake.base_url,
    )
    capsys.readouterr()
    code = await cmd_digest(settings, build_parser().parse_args(["digest", *args]))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_the_command_line_previews_then_sends_once(
    fake: FakeTelegram,
    factory: Factory,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await populate(factory)
    charts = tmp_path / "charts"

    code, out, err = await run_cli(
        db_path, fake, "--dry-run", "--date", "2026-11-17", "--charts", str(charts)
    )
    assert code == 0, err
    assert "===== so-tu-phap" in out and "Báo cáo ngày 17/11/2026" in out
    assert "<b>" not in out  # printed as plain text
    assert (charts / "digest-so-tu-phap-2026-11-17.png").read_bytes().startswith(b"\x89PNG")
    assert not fake.delivered() and not await digest_rows(factory)  # nothing enqueued

    code, out, err = await run_here(
        db_path, fake, capsys, "--now", "--date", "2026-11-17", "--timeout", "30"
    )
    assert code == 0, err
    assert "so-tu-phap: 6 digest(s) enqueued for 6 official(s)" in out
    assert "digests of 2026-11-17: sent 6" in out
    photos = digests_only(fake.delivered("sendPhoto"))
    assert Counter(c.chat_id for c in photos) == Counter(OFFICIALS.keys())

    code, out, err = await run_here(
        db_path, fake, capsys, "--now", "--date", "2026-11-17", "--timeout", "5"
    )
    assert code == 0, err
    assert "already enqueued for its 6 official(s)" in out
    assert len(digests_only(fake.delivered("sendPhoto"))) == 6  # still once each

    code, out, err = await run_here(db_path, fake, capsys, "--dry-run", "--agency", "nope")
    assert code == 1 and "no agency 'nope'" in err
    code, out, err = await run_here(db_path, fake, capsys, "--now", "--date", "17/11/2026")
    assert code == 2 and "YYYY-MM-DD" in err


async def test_the_command_line_does_not_send_a_future_days_digest_now(
    fake: FakeTelegram,
    factory: Factory,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--now --date`` of a day to come would send today's figures under that day's
    de-duplication keys, and the scheduler would then skip that day's real digest."""
    from datetime import timedelta

    from knowledge.workdays import local_date

    await populate(factory)
    tomorrow = local_date(datetime.now(UTC)) + timedelta(days=1)
    code, out, err = await run_here(
        db_path, fake, capsys, "--now", "--date", tomorrow.isoformat(), "--timeout", "5"
    )
    assert code == 2 and "future" in err, (out, err)
    assert not await digest_rows(factory) and not fake.delivered()
    # A preview of that day is harmless.
    code, out, err = await run_here(
        db_path, fake, capsys, "--dry-run", "--date", tomorrow.isoformat()
    )
    assert code == 0 and "===== so-tu-phap" in out, err
