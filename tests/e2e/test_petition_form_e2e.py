"""A petition end to end through the stand-in Telegram server, over real HTTP.

The real bot long-polls `FakeTelegram`; the real outbox worker sends through the same bot with
the real renderers. A citizen goes /start → menu → "Phản ánh, kiến nghị" → the whole form (a
procedure found by search, a photo and a PDF, their own contact shared) → the tracking code; the
petition is in the database at the moment Telegram receives the thank-you; the agency's official
is notified by the outbox; the official asks for more information, the citizen answers from the
notification's "Reply" button.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.outbox import OutboxWorker
from handlers.dossiers.notifications import create_dossier_renderers
from handlers.petitions.notifications import create_petition_renderers
from knowledge.search import SearchIndex
from storage.models import Petition, PetitionAttachment
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository
from tests.tools.builders import justice_with_official
from tests.tools.databases import migrated
from tests.tools.polling import bot_settings, polling_with_outbox
from tests.tools.telegram_server import Call, FakeTelegram, FakeUser, button, say

TOKEN = "123456:TEST-fake-token_ABCdef"
OFFICIAL_CHAT = 900
CONTENT = (
    "Bộ phận một cửa phường yêu cầu nộp bản sao sổ hộ khẩu khi đăng ký khai sinh cho con, dù sổ "
    "hộ khẩu đã bị bãi bỏ. Đề nghị hướng dẫn cán bộ không yêu cầu giấy tờ này nữa."
)


class OrderCheckingTelegram(FakeTelegram):
    """Counts the petitions committed in the database when a message carrying a tracking code
    arrives, before answering it: the bot is still waiting on this very request."""

    factory: async_sessionmaker[AsyncSession] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.rows_when_sent: list[tuple[str, int]] = []

    async def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if "PAKN-" in text and self.factory is not None:
            async with self.factory() as session:  # its own connection: committed rows only
                count = (
                    await session.execute(select(func.count()).select_from(Petition))
                ).scalar_one()
            self.rows_when_sent.append((text, int(count)))
        return super()._m_sendmessage(params)


@dataclass
class Running:
    fake: OrderCheckingTelegram
    factory: async_sessionmaker[AsyncSession]
    worker: OutboxWorker


@pytest.fixture
async def running(tmp_path: Path, index: SearchIndex) -> AsyncIterator[Running]:
    fake = OrderCheckingTelegram(token=TOKEN)
    await fake.start()
    url = f"sqlite+aiosqlite:///{tmp_path / 'petitions.sqlite3'}"

    def renderers(i18n: Any) -> dict[str, Any]:
        return {**create_dossier_renderers(i18n, index), **create_petition_renderers(i18n)}

    try:
        async with migrated(url) as factory:
            fake.factory = factory
            async with factory() as session:
                await justice_with_official(
                    session, chat_id=str(OFFICIAL_CHAT), display_name="Cán bộ Hoa"
                )
                await session.commit()
            settings = bot_settings(fake, url)
            async with polling_with_outbox(fake, factory, settings, index, renderers) as (
                _bot,
                _dispatcher,
                worker,
            ):
                yield Running(fake, factory, worker)
    finally:
        await fake.stop()


async def press(fake: FakeTelegram, user: FakeUser, call: Call, contains: str) -> Call:
    data = button(call, contains)["callback_data"]
    return await fake.reply_to(fake.callback_update(user, fake.message_of(call), data))


async def send(fake: FakeTelegram, user: FakeUser, **content: Any) -> Call:
    return await fake.reply_to({"message": fake.make_message(user, **content)})


async def last_message(fake: FakeTelegram, since: int, contains: str, timeout: float = 5.0) -> Call:
    return await fake.wait_for(
        lambda c: c.method == "sendMessage" and c.ok and contains in c.text,
        since=since,
        timeout=timeout,
    )


async def test_menu_to_tracking_code_and_the_official_hears_of_it(running: Running) -> None:
    fake = running.fake
    citizen = FakeUser(id=5101, first_name="An")

    menu = await say(fake, citizen, "/start")
    petitions = await press(fake, citizen, menu, "Phản ánh")
    assert "Khiếu nại, tố cáo" in petitions.text
    step = await press(fake, citizen, petitions, "Gửi phản ánh mới")
    assert "Bước 1/7" in step.text
    results = await say(fake, citizen, "lam giay khai sinh cho con")
    step = await press(fake, citizen, results, "khai sinh")
    assert "Bước 2/7" in step.text and "khai sinh" in step.text.lower()

    redirected = await say(
        fake, citizen, "Tôi muốn khiếu nại quyết định xử phạt của phường vì sai."
    )
    assert "Luật Khiếu nại" in redirected.text
    step = await say(fake, citizen, CONTENT)
    assert "Bước 3/7" in step.text

    added = await send(
        fake,
        citizen,
        photo=[
            {
                "file_id": "AgAD-photo",
                "file_unique_id": "p1",
                "width": 1280,
                "height": 960,
                "file_size": 150_000,
            }
        ],
    )
    assert "Đã đính kèm (1/5)" in added.text
    refused = await send(
        fake,
        citizen,
        document={
            "file_id": "BQAD-zip",
            "file_unique_id": "z1",
            "file_name": "hoso.zip",
            "mime_type": "application/zip",
        },
    )
    assert "JPG, PNG, PDF" in refused.text
    added = await send(
        fake,
        citizen,
        document={
            "file_id": "BQAD-pdf",
            "file_unique_id": "d1",
            "file_name": "giay hen.pdf",
            "mime_type": "application/pdf",
            "file_size": 80_000,
        },
    )
    step = await press(fake, citizen, added, "Xong")
    assert "Bước 4/7" in step.text

    ask_contact = await say(fake, citizen, "Nguyễn Văn An")
    assert "Bước 5/7" in ask_contact.text
    keyboard = ask_contact.params["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True
    since = fake.mark()
    fake.push(
        {
            "message": fake.make_message(
                citizen,
                contact={"phone_number": "84912345678", "first_name": "An", "user_id": citizen.id},
            )
        }
    )
    saved = await last_message(fake, since, "0912345678")
    assert saved.params["reply_markup"] == {"remove_keyboard": True}
    await last_message(fake, since, "Bước 6/7")
    review = await say(fake, citizen, "12 Lê Lợi, phường Bến Thành, Quận 1, TP Hồ Chí Minh")
    assert (
        "Bước 7/7" in review.text and "giay hen.pdf" in review.text and "0912345678" in review.text
    )

    since = fake.mark()
    data = button(review, "Gửi phản ánh")["callback_data"]
    fake.push(fake.callback_update(citizen, fake.message_of(review), data))
    thanks = await fake.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == citizen.id and "Cảm ơn" in c.text,
        since=since,
    )
    async with running.factory() as session:
        [petition] = list((await session.execute(select(Petition))).scalars())
        files = list((await session.execute(select(PetitionAttachment))).scalars())
    assert petition.tracking_code in thanks.text and "Sở Tư pháp" in thanks.text
    assert sorted(f.file_id for f in files) == ["AgAD-photo", "BQAD-pdf"]
    # Committed before the thank-you: the row was there when Telegram received the message.
    [(sent_text, rows)] = [x for x in fake.rows_when_sent if "Cảm ơn" in x[0]]
    assert petition.tracking_code in sent_text and rows == 1

    # The outbox tells the agency's official, with the code.
    notice = await fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and c.chat_id == OFFICIAL_CHAT
            and petition.tracking_code in c.text
        ),
        since=since,
    )
    assert notice.ok

    # The official asks for more information; the citizen answers from the notification.
    async with running.factory() as session:
        official = await OfficialRepository(session).by_chat("telegram", str(OFFICIAL_CHAT))
        stored = await PetitionRepository(session).get(petition.id)
        assert official is not None and stored is not None
        stored = (
            await PetitionRepository(session).request_info(
                stored, official, "Anh/chị cho biết tên cán bộ đã tiếp nhận?", via="telegram"
            )
        ).petition
        await session.commit()
    since = fake.mark()
    running.worker.wake()
    asked = await fake.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == citizen.id and "tên cán bộ" in c.text,
        since=since,
    )
    prompt = await press(fake, citizen, asked, "Trả lời")
    assert "tên cán bộ" in prompt.text
    done = await say(fake, citizen, "Cán bộ tiếp nhận là chị Lan, quầy số 3, sáng ngày 02/11.")
    assert "đã được gửi" in done.text
    async with running.factory() as session:
        stored = await PetitionRepository(session).get(petition.id)
        assert stored is not None and stored.status == "in_progress"
    status = await say(fake, citizen, petition.tracking_code.lower().replace("-", " "))
    assert "Đang xử lý" in status.text


async def test_bad_input_in_the_form_never_breaks_it(running: Running) -> None:
    fake = running.fake
    citizen = FakeUser(id=5102, first_name="Bình")
    await say(fake, citizen, "/phananh")
    menu = [c for c in fake.calls if c.method == "sendMessage" and c.chat_id == citizen.id][-1]
    step = await press(fake, citizen, menu, "Gửi phản ánh mới")
    step = await press(fake, citizen, step, "Quy định hành chính khác")
    for text in ("\u200b\u200b", "😀" * 50, "'; DROP TABLE petitions; --", "đề nghị " * 700):
        reply = await say(fake, citizen, text)
        assert reply.ok and "Bước 3/7" not in reply.text
    sticker = await send(
        fake,
        citizen,
        sticker={
            "file_id": "s",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        },
    )
    assert "bằng chữ" in sticker.text
    step = await say(fake, citizen, CONTENT)
    assert "Bước 3/7" in step.text
    async with running.factory() as session:
        assert (await session.execute(select(func.count()).select_from(Petition))).scalar_one() == 0
    assert all(c.ok for c in fake.calls if c.method in ("sendMessage", "editMessageText"))
