"""Dossier lookup end to end through the stand-in Telegram server, over real HTTP.

The real bot and dispatcher long-poll `FakeTelegram`; the real outbox worker sends through the
same bot. Dossiers get in the way a province's import does (`DossierRepository.upsert_many` on
parsed records, committed), so a status change pushed to a follower crosses the whole path:
ingest -> outbox row in the same transaction -> worker -> Bot API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.outbox import OutboxWorker
from handlers.dossiers.notifications import create_dossier_renderers
from knowledge.dossier_records import parse_record
from knowledge.search import SearchIndex
from storage.repositories.dossiers import DossierRepository
from storage.repositories.ratings import RatingRepository
from tests.tools.databases import migrated
from tests.tools.polling import bot_settings, polling_with_outbox
from tests.tools.telegram_server import Call, FakeTelegram, FakeUser, button, say

CODE = "000.00.17.H12-260302-0042"
AGENCY = "UBND phường Bến Nghé"
PHONE = "0912345678"
ID_NUMBER = "079123456789"


# One clock for the whole module: the same row imported twice must be the same row.
NOW = datetime.now(UTC).replace(microsecond=0)


def record(**fields: Any) -> dict[str, Any]:
    now = NOW
    base: dict[str, Any] = {
        "receipt_code": CODE,
        "procedure_code": "1.001193",
        "agency": AGENCY,
        "applicant_name": "Nguyễn Văn An",
        "applicant_phone": PHONE,
        "applicant_id_number": ID_NUMBER,
        "channel": "1",
        "received_at": (now - timedelta(days=1)).isoformat(),
        "appointment_at": (now + timedelta(days=10)).isoformat(),
        "status": "4",
        "status_at": (now - timedelta(hours=20)).isoformat(),
    }
    base.update(fields)
    return base


@dataclass
class Running:
    fake: FakeTelegram
    factory: async_sessionmaker[AsyncSession]
    worker: OutboxWorker

    async def ingest(self, *rows: dict[str, Any]) -> None:
        async with self.factory() as session:
            await DossierRepository(session).upsert_many(
                [parse_record(row) for row in rows], source="test"
            )
            await session.commit()
        self.worker.wake()


@pytest.fixture
async def running(fake: FakeTelegram, tmp_path: Path, index: SearchIndex) -> AsyncIterator[Running]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dossiers.sqlite3'}"
    holder: list[Running] = []

    def renderers(i18n: Any) -> dict[str, Any]:
        return create_dossier_renderers(i18n, index)

    async with migrated(url) as factory:

        async def ingest_first(worker: OutboxWorker) -> None:
            holder.append(Running(fake, factory, worker))
            await holder[0].ingest(record())

        async with polling_with_outbox(
            fake, factory, bot_settings(fake, url), index, renderers, before_start=ingest_first
        ):
            yield holder[0]


async def messages_after(fake: FakeTelegram, since: int, count: int) -> list[Call]:
    """The next `count` messages the bot sends (waits for them)."""
    await fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and len([x for x in fake.calls[since:] if x.method == "sendMessage"]) >= count
        ),
        since=since,
    )
    return [c for c in fake.calls[since:] if c.method == "sendMessage"][:count]


def assert_no_personal_data(call: Call) -> None:
    for secret in (PHONE, PHONE[-6:], ID_NUMBER, ID_NUMBER[-6:], "Văn An"):
        assert secret not in call.text, f"{secret!r} leaked in {call.text!r}"


@contextlib.contextmanager
def captured_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="handlers.dossiers"):
        yield caplog


async def test_lookup_follow_push_and_rating(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = running.fake
    citizen = FakeUser(id=5001, first_name="An")

    # A code typed the way citizens type it, inside a sentence: the bot asks for the 4 digits
    # and shows nothing about the dossier yet.
    ask = await say(fake, citizen, "cho hỏi hồ sơ 000.00.17.h12 260302 0042 đến đâu rồi ạ")
    assert "4 số cuối" in ask.text and CODE in ask.text
    assert "Trạng thái" not in ask.text and "Đăng ký khai sinh" not in ask.text
    keyboard = ask.params["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True

    wrong = await say(fake, citizen, "1234")
    assert "không khớp" in wrong.text and "Số lần thử còn lại: 4" in wrong.text

    since = fake.mark()
    fake.push(fake.text_update(citizen, "5678"))
    verified, card = await messages_after(fake, since, 2)
    assert "Đã xác minh" in verified.text
    assert verified.params["reply_markup"] == {"remove_keyboard": True}
    assert "Trạng thái: Đang xử lý" in card.text
    assert "Thủ tục đăng ký khai sinh (1.001193)" in card.text
    assert "Nguyễn V. A." in card.text and AGENCY in card.text
    assert "Trong hạn" in card.text
    assert_no_personal_data(card)

    followed = await fake.reply_to(
        fake.callback_update(
            citizen, fake.message_of(card), button(card, "Báo cho tôi")["callback_data"]
        )
    )
    assert "Đã đăng ký" in followed.text

    # The agency issues an apology letter with a new date: the follower hears it once.
    since = fake.mark()
    new_date = datetime.now(UTC) + timedelta(days=20)
    apology_row = record(new_appointment_at=new_date.isoformat(), delay_reason="Chờ xác minh")
    await running.ingest(apology_row)
    (apology,) = await messages_after(fake, since, 1)
    assert "hẹn lại ngày trả kết quả" in apology.text and "Chờ xác minh" in apology.text
    await running.ingest(apology_row)  # the same letter again: nothing more

    # The one-door system reports the result returned: one push and one rating request.
    since = fake.mark()
    returned = datetime.now(UTC)
    await running.ingest(
        record(
            status="Đã trả kết quả",
            status_at=returned.isoformat(),
            returned_at=returned.isoformat(),
        )
    )
    push, rating = await messages_after(fake, since, 2)
    assert push.params["chat_id"] == citizen.id
    assert f"Hồ sơ {CODE} có cập nhật mới" in push.text
    assert "Trạng thái mới: Đã trả kết quả" in push.text
    assert_no_personal_data(push)
    assert "đánh giá" in rating.text
    assert [b["text"].split(" ", 1)[1] for b in rating.buttons] == [
        "Rất hài lòng",
        "Hài lòng",
        "Bình thường",
        "Không hài lòng",
        "Rất không hài lòng",
    ]

    # Re-importing the same row changes nothing and pushes nothing.
    await running.ingest(
        record(
            status="Đã trả kết quả",
            status_at=returned.isoformat(),
            returned_at=returned.isoformat(),
        )
    )
    await asyncio.sleep(0.5)
    pushes = [c for c in fake.calls if c.method == "sendMessage" and "cập nhật mới" in c.text]
    assert len(pushes) == 2  # the apology and the status change, each once

    # Stopping to follow after the result, with the lookup long expired, still lets the
    # citizen answer the rating request that was sent to them.
    stopped = await fake.reply_to(
        fake.callback_update(
            citizen, fake.message_of(push), button(push, "Ngừng theo dõi")["callback_data"]
        )
    )
    assert "ngừng theo dõi" in stopped.text
    import handlers.dossiers.verification as verification

    monkeypatch.setattr(verification, "VERIFIED_FOR", timedelta(0))
    thanks = await fake.reply_to(
        fake.callback_update(citizen, fake.message_of(rating), rating.buttons[1]["callback_data"])
    )
    assert thanks.method == "editMessageText" and "Cảm ơn" in thanks.text
    assert thanks.text.endswith("🙂 Hài lòng")
    async with running.factory() as session:
        assert await RatingRepository(session).summary(AGENCY) == {2: 1}


async def test_unknown_code_and_wrong_digits_look_the_same_and_are_rate_limited(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    fake = running.fake
    prober = FakeUser(id=5002, first_name="X")
    with captured_warnings(caplog):
        await say(fake, prober, CODE)
        wrong_digits = await say(fake, prober, "0000")
        await say(fake, prober, "000.00.17.H12-260302-9999")  # a code that does not exist
        unknown_code = await say(fake, prober, "5678")
    assert "không khớp" in wrong_digits.text
    # Same words, only the attempts counter differs.
    assert wrong_digits.text.replace("4.", "N.") == unknown_code.text.replace("3.", "N.")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "Dossier lookup failed" in logged
    assert "0042" not in logged and "9999" not in logged  # codes are masked in logs

    for digits in ("1111", "2222"):
        await say(fake, prober, digits)
    locked = await say(fake, prober, "3333")
    assert "thử sai quá nhiều lần" in locked.text
    # Locked out: even the right code with the right digits now reveals nothing.
    again = await say(fake, prober, CODE)
    assert "thử sai quá nhiều lần" in again.text
    assert "Trạng thái" not in again.text

    # Another citizen is not affected by the prober's lock.
    owner = FakeUser(id=5003, first_name="An")
    await say(fake, owner, CODE.lower().replace("-", " "))
    since = fake.mark()
    fake.push(fake.text_update(owner, "6789"))  # last 4 of the ID number work too
    _verified, card = await messages_after(fake, since, 2)
    assert "Trạng thái: Đang xử lý" in card.text


async def test_contact_share_must_be_the_users_own_and_match(running: Running) -> None:
    fake = running.fake
    citizen = FakeUser(id=5004, first_name="An")
    await say(fake, citizen, CODE)
    someone_else = fake.make_message(
        citizen, contact={"phone_number": "+84" + PHONE[1:], "first_name": "B", "user_id": 999}
    )
    refused = await fake.reply_to({"message": someone_else})
    assert "của chính mình" in refused.text

    own = fake.make_message(
        citizen,
        contact={"phone_number": "+84" + PHONE[1:], "first_name": "An", "user_id": citizen.id},
    )
    since = fake.mark()
    fake.push({"message": own})
    _verified, card = await messages_after(fake, since, 2)
    assert "Trạng thái: Đang xử lý" in card.text


async def test_forged_buttons_open_nothing(running: Running) -> None:
    fake = running.fake
    stranger = FakeUser(id=5005, first_name="Y")
    menu = await say(fake, stranger, "/start")
    since = fake.mark()
    for data in ("d:v:1", "d:f:1", "r:1:1"):
        fake.push(fake.callback_update(stranger, fake.message_of(menu), data))
    await fake.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery"
            and len([x for x in fake.calls[since:] if x.method == "answerCallbackQuery"]) >= 3
        ),
        since=since,
    )
    answers = [c for c in fake.calls[since:] if c.method == "answerCallbackQuery"]
    assert all("tra cứu lại" in str(c.params.get("text")) for c in answers)
    assert not [c for c in fake.calls[since:] if c.method == "sendMessage"]
    async with running.factory() as session:
        assert not await DossierRepository(session).is_subscribed(1, "telegram", str(stranger.id))


async def test_incomplete_code_gets_a_clear_answer(running: Running) -> None:
    reply = await say(running.fake, FakeUser(id=5006), "hồ sơ 000.00.17.H12-2603 của tôi")
    assert "thiếu một phần" in reply.text


async def test_codes_in_a_group_are_not_looked_up_there(running: Running) -> None:
    fake = running.fake
    member = FakeUser(id=5007, first_name="Z")
    message = fake.make_message(
        member, text=f"hồ sơ {CODE}", chat={"id": -100500, "type": "group", "title": "Tổ dân phố"}
    )
    reply = await fake.reply_to({"message": message})
    assert reply.params["chat_id"] == -100500
    assert "trò chuyện riêng" in reply.text
    assert "4 số cuối" not in reply.text and "Trạng thái" not in reply.text


async def test_a_code_is_locked_for_everyone_after_ten_failures(running: Running) -> None:
    """New accounts do not buy new guesses: digits are refused for the code itself after 10
    failures, whoever made them; the owner can still prove it with a contact share."""
    fake = running.fake
    for n in range(5):
        prober = FakeUser(id=6000 + n, first_name="P")
        await say(fake, prober, CODE)
        replies = [await say(fake, prober, digits) for digits in ("1111", "2222")]
    assert "không khớp" in replies[0].text
    assert "tạm không nhận 4 số cuối" in replies[-1].text

    owner = FakeUser(id=6100, first_name="An")
    locked = await say(fake, owner, CODE)
    assert "tạm không nhận 4 số cuối" in locked.text and "Chia sẻ số điện thoại" in locked.text
    assert locked.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    refused = await say(fake, owner, "5678")  # the right digits: still refused for this code
    assert "tạm không nhận 4 số cuối" in refused.text
    assert "Trạng thái" not in refused.text

    own = fake.make_message(
        owner,
        contact={"phone_number": "+84" + PHONE[1:], "first_name": "An", "user_id": owner.id},
    )
    since = fake.mark()
    fake.push({"message": own})
    _verified, card = await messages_after(fake, since, 2)
    assert "Trạng thái: Đang xử lý" in card.text

    # Other dossiers' codes are not affected.
    other = await say(fake, owner, "000.00.17.H12-260302-0043")
    assert "4 số cuối" in other.text and "tạm không nhận" not in other.text


async def test_verification_expires_for_buttons(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = running.fake
    citizen = FakeUser(id=6200, first_name="An")
    await say(fake, citizen, CODE)
    since = fake.mark()
    fake.push(fake.text_update(citizen, "5678"))
    _verified, card = await messages_after(fake, since, 2)
    refresh = button(card, "Cập nhật")["callback_data"]
    again = await fake.reply_to(fake.callback_update(citizen, fake.message_of(card), refresh))
    assert "Trạng thái: Đang xử lý" in again.text

    # Later (someone else at a shared screen): the card's buttons no longer open the dossier.
    import handlers.dossiers.verification as verification

    monkeypatch.setattr(verification, "VERIFIED_FOR", timedelta(0))
    since = fake.mark()
    fake.push(fake.callback_update(citizen, fake.message_of(card), refresh))
    answer = await fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert "tra cứu lại" in str(answer.params.get("text"))
    assert not [c for c in fake.calls[since:] if c.method == "sendMessage"]
