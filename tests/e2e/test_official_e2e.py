"""A petition from the citizen's form to the published answer, end to end through the stand-in
Telegram server over real HTTP, with the real outbox worker running.

The citizen fills the form in the chat; the official (enrolled in the chat with a code from the
CLI's repository) is notified by the worker, opens the petition from the notice, takes it and
answers it; the citizen hears "being handled" and then the answer, in that order, once each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.dossiers.notifications import create_dossier_renderers
from handlers.petitions.notifications import create_petition_renderers
from knowledge.petition_workflow import PetitionStatus
from knowledge.search import SearchIndex
from storage.models import AuditEntry, OutboxMessage
from storage.repositories.agencies import AgencyRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository
from tests.tools.builders import birth_registration_index
from tests.tools.databases import migrated
from tests.tools.polling import bot_settings, polling_with_outbox
from tests.tools.telegram_server import Call, FakeTelegram, FakeUser

CONTENT = (
    "Thủ tục đăng ký khai sinh tại phường yêu cầu nộp bản sao sổ hộ khẩu dù đã bỏ sổ hộ khẩu, "
    "đề nghị bỏ yêu cầu này để người dân đỡ mất thời gian."
)
NAME = "Nguyễn Văn An"
PHONE = "0912 345 678"
ADDRESS = "12 Lê Lợi, phường Bến Thành, Quận 1, TP Hồ Chí Minh"
ANSWER = (
    "Sở Tư pháp tiếp thu phản ánh. Từ ngày 01/07/2025, khi đăng ký khai sinh, cán bộ tra cứu "
    "thông tin cư trú trên Cơ sở dữ liệu quốc gia về dân cư; người dân không phải nộp bản sao "
    "sổ hộ khẩu. Sở đã chấn chỉnh UBND phường."
)
LONG_ANSWER = "\n\n".join([ANSWER] * 18)  # about 3,900 characters: two messages for the citizen


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return birth_registration_index()


@dataclass
class Running:
    fake: FakeTelegram
    factory: async_sessionmaker[AsyncSession]
    invitation: str


@pytest.fixture
async def running(fake: FakeTelegram, tmp_path: Path, index: SearchIndex) -> AsyncIterator[Running]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'officials.sqlite3'}"

    def renderers(i18n: Any) -> dict[str, Any]:
        return {**create_dossier_renderers(i18n, index), **create_petition_renderers(i18n)}

    async with migrated(url) as factory:
        async with factory() as session:
            justice = await AgencyRepository(session).save(
                "so-tu-phap", "Sở Tư pháp", sectors=["Hộ tịch"], procedure_codes=["1.001193"]
            )
            invitation, _ = await OfficialRepository(session).create_invitation(
                justice.id, "officer"
            )
            await session.commit()
        async with polling_with_outbox(fake, factory, bot_settings(fake, url), index, renderers):
            yield Running(fake, factory, invitation)


def button(call: Call, contains: str) -> str:
    for b in call.buttons:
        if contains.casefold() in b["text"].casefold() and b.get("callback_data"):
            return str(b["callback_data"])
    raise AssertionError(f"no button {contains!r} in {[b['text'] for b in call.buttons]}")


def to(user: FakeUser) -> Callable[[Call], bool]:
    return lambda c: (
        c.ok and c.method in ("sendMessage", "editMessageText") and c.chat_id == user.id
    )


async def expect(
    fake: FakeTelegram,
    user: FakeUser,
    update: dict[str, Any] | None,
    contains: str,
    *,
    since: int | None = None,
    timeout: float = 8.0,
) -> Call:
    """Push ``update`` (if any) and wait for a message to ``user`` containing ``contains``
    (sent after call number ``since``, default: from now on)."""
    since = fake.mark() if since is None else since
    if update is not None:
        fake.push(update)
    return await fake.wait_for(
        lambda c: to(user)(c) and contains in c.text, since=since, timeout=timeout
    )


async def press(fake: FakeTelegram, user: FakeUser, call: Call, label: str, contains: str) -> Call:
    data = button(call, label)
    return await expect(
        fake, user, fake.callback_update(user, fake.message_of(call), data), contains
    )


async def test_from_the_citizens_form_to_the_answer(running: Running) -> None:
    fake = running.fake
    official = FakeUser(id=9001, first_name="Hà", last_name="Trần")
    citizen = FakeUser(id=5001, first_name="An")

    enrolled = await expect(
        fake, official, fake.text_update(official, f"/canbo {running.invitation}"), "Chào mừng"
    )
    assert "Sở Tư pháp" in enrolled.text

    # the citizen's form, through the chat
    menu = await expect(fake, citizen, fake.text_update(citizen, "/phananh"), "")
    step = await press(fake, citizen, menu, "Gửi phản ánh mới", "Bước 1/7")
    results = await expect(fake, citizen, fake.text_update(citizen, "đăng ký khai sinh"), "")
    step = await press(fake, citizen, results, "khai sinh", "Bước 2/7")
    step = await expect(fake, citizen, fake.text_update(citizen, CONTENT), "Bước 3/7")
    step = await press(fake, citizen, step, "Bỏ qua", "Bước 4/7")
    await expect(fake, citizen, fake.text_update(citizen, NAME), "Bước 5/7")
    await expect(fake, citizen, fake.text_update(citizen, PHONE), "Bước 6/7")
    review = await expect(fake, citizen, fake.text_update(citizen, ADDRESS), "Bước 7/7")
    submitted = fake.mark()
    thanks = await press(fake, citizen, review, "Gửi phản ánh", "PAKN-")
    async with running.factory() as session:
        [petition] = await PetitionRepository(session).list_for_agency(1)
    code = petition.tracking_code
    assert code in thanks.text

    # the worker tells the official; the notice opens the card with the sender's data
    notice = await expect(fake, official, None, f"Phản ánh mới <b>{code}</b>", since=submitted)
    assert "0912" not in notice.text and NAME not in notice.text
    card = await press(fake, official, notice, "Mở", "Hạn trả lời")
    for item in (code, NAME, "0912", ADDRESS, "Hạn từ chối"):
        assert item in card.text, item

    # take: the citizen hears who handles it
    took = fake.mark()
    await press(fake, official, card, "Nhận xử lý", "Anh/chị đã nhận xử lý")
    taken = await expect(fake, citizen, None, "đang được", since=took)
    assert code in taken.text and "Sở Tư pháp" in taken.text

    # answer: typed, previewed, confirmed
    fresh_card = await fake.wait_for(
        lambda c: (
            to(official)(c) and "Nhận xử lý" not in str(c.buttons) and "Trả lời" in str(c.buttons)
        ),
        since=took,
    )
    prompt = await press(fake, official, fresh_card, "Trả lời", "Nhập nội dung trả lời")
    assert prompt.ok
    assert 3800 < len(LONG_ANSWER) <= 4000
    preview = await expect(fake, official, fake.text_update(official, LONG_ANSWER), "Xem trước")
    assert preview.text.count(ANSWER) == 18  # the whole text is previewed
    confirmed = fake.mark()
    await press(fake, official, preview, "Gửi", "Đã ghi nhận câu trả lời")
    first = await expect(fake, citizen, None, "đã trả lời phản ánh", since=confirmed)
    second = await expect(fake, citizen, None, "(2/2)", since=confirmed)
    assert code in first.text and "(1/2)" in first.text
    assert first.text.count(ANSWER) + second.text.count(ANSWER) >= 17  # one may be cut between

    # in order, once each
    citizen_texts = [c.text for c in fake.delivered("sendMessage") if c.chat_id == citizen.id]
    order = [
        next(i for i, t in enumerate(citizen_texts) if marker in t)
        for marker in ("đang được", "(1/2)", "(2/2)")
    ]
    assert order == sorted(order)
    for marker in ("đang được", "(1/2)", "(2/2)"):
        assert sum(marker in t for t in citizen_texts) == 1, marker
    official_notices = [
        c
        for c in fake.delivered("sendMessage")
        if c.chat_id == official.id and "Phản ánh mới" in c.text
    ]
    assert len(official_notices) == 1

    async with running.factory() as session:
        stored = await PetitionRepository(session).get(petition.id)
        assert (
            stored is not None
            and stored.status == PetitionStatus.ANSWERED
            and stored.answer == LONG_ANSWER
        )
        audit = (
            (
                await session.execute(
                    select(AuditEntry.action)
                    .where(AuditEntry.petition_id == petition.id)
                    .order_by(AuditEntry.id)
                )
            )
            .scalars()
            .all()
        )
        assert [a for a in audit if a != "view"] == ["taken", "answered"]
        assert "view" in audit
        states = (await session.execute(select(OutboxMessage.state))).scalars().all()
        assert set(states) == {"sent"}
