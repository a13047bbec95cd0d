"""The citizen's petition dialogs driven through the real dispatcher (`Dispatcher.feed_update`)
against a real migrated database: the form step by step, validation, redirects of complaints,
the per-chat limits, idempotent submission, bad input, following a petition, answering a request
for information, published answers, and the web chat adapter.

Telegram is a recording `BaseSession` that answers like the Bot API (and refuses what Telegram
refuses: over-long or unparsable HTML, callback data over 64 bytes), so a renderer that breaks a
limit fails here. The web chat runs through its real adapter (`bot.channels.webchat`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendMessage,
)
from aiogram.types import InlineKeyboardMarkup, Update
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.webchat.channel import WebChatChannel
from bot.channels.webchat.hub import WebChatHub
from bot.channels.webchat.session import WebChatBot
from bot.config import Settings
from bot.factory import create_dispatcher, default_bot_properties
from handlers.common.callbacks import MenuAction, MenuCallback
from handlers.petitions.callbacks import FormAction, FormOp
from knowledge.outbox import OutboxKind
from knowledge.search import SearchIndex
from storage.models import OutboxMessage, Petition, PetitionAttachment, PetitionEvent
from storage.repositories.agencies import AgencyRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionDraft, PetitionRepository
from tests.tools.builders import birth_registration_index, justice_with_official
from tests.tools.databases import BACKENDS, migrated_database
from tests.tools.recording import RecordingSession, WakeCounter, feed_handled
from tests.tools.telegram_server import parse_html, utf16_len
from tests.tools.webchat import assert_all_handled

CONTENT = (
    "Thủ tục đăng ký khai sinh tại phường yêu cầu nộp bản sao sổ hộ khẩu dù đã bỏ sổ hộ khẩu, "
    "đề nghị bỏ yêu cầu này để người dân đỡ mất thời gian."
)
NAME = "Nguyễn Văn An"
PHONE = "0912 345 678"
ADDRESS = "12 Lê Lợi, phường Bến Thành, Quận 1, TP Hồ Chí Minh"


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return birth_registration_index()


# --- a Telegram stand-in inside the process ------------------------------------------------------


@dataclass
class Env:
    dispatcher: Dispatcher
    bot: Bot
    session: RecordingSession
    factory: async_sessionmaker[AsyncSession]
    outbox: WakeCounter
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def feed(self, update: dict[str, Any], *, handled: bool = True) -> list[Any]:
        since = len(self.session.calls)
        await feed_handled(
            self.dispatcher,
            self.bot,
            Update.model_validate(update, context={"bot": self.bot}),
            handled=handled,
        )
        return [
            c for c in self.session.calls[since:] if isinstance(c, SendMessage | EditMessageText)
        ]

    async def count(self, model: Any) -> int:
        async with self.factory() as session:
            return int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )

    async def petitions(self) -> list[Petition]:
        async with self.factory() as session:
            return list((await session.execute(select(Petition).order_by(Petition.id))).scalars())


@dataclass
class Citizen:
    env: Env
    user_id: int = 7001
    chat_type: str = "private"
    chat_id: int | None = None
    last: list[Any] = field(default_factory=list)

    @property
    def chat(self) -> dict[str, Any]:
        chat_id = self.chat_id if self.chat_id is not None else self.user_id
        return {"id": chat_id, "type": self.chat_type, "first_name": "An"}

    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "An", "language_code": "vi"}

    def message(self, **content: Any) -> dict[str, Any]:
        return {
            "update_id": next(self.env.update_ids),
            "message": {
                "message_id": next(self.env.message_ids),
                "date": int(time.time()),
                "chat": self.chat,
                "from": self.user(),
                **content,
            },
        }

    async def send(self, **content: Any) -> list[Any]:
        self.last = await self.env.feed(self.message(**content))
        return self.last

    async def say(self, text: str) -> list[Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return await self.send(**content)

    def callback(self, data: str, message_id: int = 1) -> dict[str, Any]:
        return {
            "update_id": next(self.env.update_ids),
            "callback_query": {
                "id": str(next(self.env.update_ids)),
                "from": self.user(),
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": self.chat,
                    "from": {"id": 42, "is_bot": True, "first_name": "Bot"},
                    "text": "…",
                },
            },
        }

    def button(self, contains: str, calls: list[Any] | None = None) -> str:
        for call in reversed(calls if calls is not None else self.last):
            markup = call.reply_markup
            if isinstance(markup, InlineKeyboardMarkup):
                for row in markup.inline_keyboard:
                    for b in row:
                        if contains.casefold() in b.text.casefold() and b.callback_data:
                            return b.callback_data
        texts = [
            b.text
            for c in (calls if calls is not None else self.last)
            if isinstance(c.reply_markup, InlineKeyboardMarkup)
            for row in c.reply_markup.inline_keyboard
            for b in row
        ]
        raise AssertionError(f"no button {contains!r} in {texts}")

    async def press(self, contains: str) -> list[Any]:
        data = self.button(contains)
        self.last = await self.env.feed(self.callback(data))
        return self.last

    async def press_data(self, data: str) -> list[Any]:
        self.last = await self.env.feed(self.callback(data))
        return self.last

    def text(self) -> str:
        return "\n".join(parse_html(c.text) for c in self.last)


def texts(calls: list[Any]) -> str:
    return "\n".join(parse_html(c.text) for c in calls)


def alerts(env: Env, since: int) -> list[str]:
    return [
        c.text or ""
        for c in env.session.calls[since:]
        if isinstance(c, AnswerCallbackQuery) and c.text
    ]


async def make_env(
    factory: async_sessionmaker[AsyncSession], index: SearchIndex, **settings: Any
) -> Env:
    url = "sqlite+aiosqlite://"  # not used: the dispatcher gets the factory
    values: dict[str, Any] = {"database_url": url, "petitions_per_hour": 3, "petitions_per_day": 5}
    values.update(settings)
    config = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    dispatcher = create_dispatcher(settings=config, index=index, session_factory=factory)
    outbox = WakeCounter()
    dispatcher["outbox"] = outbox
    session = RecordingSession()
    bot = Bot(token="42:TEST-token", session=session, default=default_bot_properties())
    async with factory() as db:
        await justice_with_official(db, chat_id="900", display_name="Cán bộ")
        await db.commit()
    return Env(dispatcher, bot, session, factory, outbox)


@pytest.fixture
async def env(tmp_path: Path, index: SearchIndex) -> AsyncIterator[Env]:
    async with migrated_database("sqlite", tmp_path, "pform") as factory:
        yield await make_env(factory, index)


@pytest.fixture(params=BACKENDS)
async def env_both(
    request: pytest.FixtureRequest, tmp_path: Path, index: SearchIndex
) -> AsyncIterator[Env]:
    async with migrated_database(request.param, tmp_path, "pform") as factory:
        yield await make_env(factory, index)


async def fill_form(citizen: Citizen, *, files: bool = False) -> None:
    """/phananh → new → topic by search → content → (files) → name → phone → address → review."""
    await citizen.say("/phananh")
    await citizen.press("Gửi phản ánh mới")
    assert "Bước 1/7" in citizen.text()
    await citizen.say("đăng ký khai sinh")
    await citizen.press("khai sinh")
    assert "Bước 2/7" in citizen.text()
    await citizen.say(CONTENT)
    assert "Bước 3/7" in citizen.text()
    if files:
        await citizen.send(
            photo=[
                {
                    "file_id": "ph-small",
                    "file_unique_id": "u1s",
                    "width": 90,
                    "height": 90,
                    "file_size": 900,
                },
                {
                    "file_id": "ph-big",
                    "file_unique_id": "u1",
                    "width": 900,
                    "height": 900,
                    "file_size": 90_000,
                },
            ]
        )
        assert "1. ảnh" in citizen.text()
        await citizen.send(
            document={
                "file_id": "doc-1",
                "file_unique_id": "u2",
                "file_name": "bien-nhan.pdf",
                "mime_type": "application/pdf",
                "file_size": 120_000,
            }
        )
        await citizen.press("Xong")
    else:
        await citizen.press("Bỏ qua")
    assert "Bước 4/7" in citizen.text()
    await citizen.say(NAME)
    assert "Bước 5/7" in citizen.text()
    await citizen.say(PHONE)
    await citizen.say(ADDRESS)
    assert "Bước 7/7" in citizen.text()


# --- the form ------------------------------------------------------------------------------------


async def test_full_form_submits_once_and_routes(env_both: Env) -> None:
    env = env_both
    citizen = Citizen(env)
    await fill_form(citizen, files=True)
    review = citizen.text()
    for value in (
        NAME,
        "0912345678",
        ADDRESS,
        "bien-nhan.pdf",
        "đăng ký khai sinh (1.001193)",
        CONTENT[:40],
    ):
        assert value in review, value
    assert await env.count(Petition) == 0  # nothing is stored before "Submit"

    submit = citizen.button("Gửi phản ánh")
    thanks = await citizen.press_data(submit)
    text = texts(thanks)
    petitions = await env.petitions()
    assert len(petitions) == 1
    petition = petitions[0]
    assert petition.tracking_code in text and "Sở Tư pháp" in text
    assert "Mã số phản ánh: " + petition.tracking_code in text  # the portal's term
    assert petition.answer_by.strftime("%d/%m/%Y") in text
    assert (petition.channel, petition.chat_id) == ("telegram", "7001")
    assert petition.idempotency_key and petition.idempotency_key.startswith("telegram:7001:")
    assert petition.procedure_code == "1.001193" and petition.topic_kind == "procedure"
    assert (petition.sender_name, petition.phone, petition.address) == (NAME, "0912345678", ADDRESS)
    assert petition.content == CONTENT and petition.language == "vi"
    assert env.outbox.wakes == 1
    async with env.factory() as session:
        files = list((await session.execute(select(PetitionAttachment))).scalars())
        assert sorted(f.file_id for f in files) == ["doc-1", "ph-big"]  # the largest photo size
        outbox = list((await session.execute(select(OutboxMessage))).scalars())
        assert [(o.kind, o.chat_id) for o in outbox] == [(OutboxKind.PETITION_NEW, "900")]

    # A second tap on the same Submit button, and the same callback delivered again: the same
    # petition and code, never a second row.
    again = await citizen.press_data(submit)
    assert petition.tracking_code in texts(again)
    again = await citizen.press_data(submit)
    assert petition.tracking_code in texts(again)
    assert await env.count(Petition) == 1
    assert await env.count(OutboxMessage) == 1


async def test_the_same_submit_update_fed_twice_makes_one_petition(env: Env) -> None:
    citizen = Citizen(env)
    await fill_form(citizen)
    update = citizen.callback(citizen.button("Gửi phản ánh"))
    first = await env.feed(update)
    # Telegram re-delivers the very same update: the dedup middleware drops it (UNHANDLED).
    second = await env.feed(update, handled=False)
    assert await env.count(Petition) == 1
    code = (await env.petitions())[0].tracking_code
    assert code in texts(first)
    # Dropped as already handled, or answered with the same code: never a second petition.
    assert not second or code in texts(second)


async def test_a_crash_after_commit_resubmits_to_the_same_petition(env: Env) -> None:
    """The petition was committed but the process died before the form was cleared: the
    re-delivered Submit finds it by its idempotency key (and the limits do not count it)."""
    env.dispatcher["settings"] = env.dispatcher["settings"].model_copy(
        update={"petitions_per_hour": 1}
    )
    citizen = Citizen(env)
    await fill_form(citizen)
    submit = citizen.button("Gửi phản ánh")
    form_id = submit.split(":")[2]
    async with env.factory() as session:  # what the lost run had committed
        await PetitionRepository(session).submit(
            PetitionDraft(
                topic_kind="procedure",
                topic="Đăng ký khai sinh",
                content=CONTENT,
                sender_name=NAME,
                address=ADDRESS,
                phone="0912345678",
                channel="telegram",
                chat_id="7001",
            ),
            idempotency_key=f"telegram:7001:{form_id}",
        )
        await session.commit()
    answer = await citizen.press_data(submit)
    code = (await env.petitions())[0].tracking_code
    assert code in texts(answer) and "Chỉ có thể gửi" not in texts(answer)
    assert await env.count(Petition) == 1


async def test_thank_you_comes_after_the_commit(env: Env) -> None:
    citizen = Citizen(env)
    await fill_form(citizen)
    seen: list[int] = []

    async def count_rows(method: Any) -> None:
        if "PAKN-" in method.text:
            seen.append(await env.count(Petition))  # another connection: only committed rows

    env.session.on_send.append(count_rows)
    await citizen.press("Gửi phản ánh")
    assert seen == [1]


async def test_back_edit_and_cancel(env: Env) -> None:
    citizen = Citizen(env)
    await fill_form(citizen)
    await citizen.press("Sửa")
    await citizen.press("Họ và tên")
    assert "Bước 4/7" in citizen.text() and NAME in citizen.text()
    await citizen.say("Trần Thị Bình")
    assert "Bước 7/7" in citizen.text() and "Trần Thị Bình" in citizen.text()  # back to review

    await citizen.press("Sửa")
    await citizen.press("Địa chỉ")
    await citizen.press("Quay lại")  # Back while editing returns to the review
    assert "Bước 7/7" in citizen.text()

    await citizen.press("Hủy")
    assert "đã được hủy" in citizen.text()
    assert await env.count(Petition) == 0
    stale = len(env.session.calls)
    await citizen.press_data(FormAction(op=FormOp.SUBMIT, form="deadbeef00").pack())
    assert any("không còn mở" in a for a in alerts(env, stale))


async def test_back_walks_to_the_previous_step_and_keep_goes_on(env: Env) -> None:
    citizen = Citizen(env)
    await citizen.say("/phananh")
    await citizen.press("Gửi phản ánh mới")
    await citizen.press("Dịch vụ tại")
    assert "Bước 2/7" in citizen.text()
    await citizen.say(CONTENT)
    await citizen.press("Quay lại")
    assert "Bước 2/7" in citizen.text() and "Nội dung hiện tại" in citizen.text()
    await citizen.press("Giữ nguyên")
    assert "Bước 3/7" in citizen.text()
    await citizen.press("Quay lại")
    await citizen.press("Quay lại")
    assert "Bước 1/7" in citizen.text()
    await citizen.press("Quay lại")  # before step 1: the petitions menu, the form kept
    await citizen.press("Tiếp tục")
    assert "Bước 3/7" in citizen.text()


async def test_service_topic_is_routed_to_the_default_agency(env: Env) -> None:
    citizen = Citizen(env)
    await citizen.say("/phananh")
    await citizen.press("Gửi phản ánh mới")
    await citizen.press("Dịch vụ tại")
    await citizen.say(
        "Cán bộ bộ phận một cửa phường thu thêm phí photo không có biên lai, đề nghị kiểm tra."
    )
    await citizen.say("xong")  # typed instead of the button
    await citizen.say(NAME)
    await citizen.say("an.nguyen@example.com")
    await citizen.say(ADDRESS)
    await citizen.press("Gửi phản ánh")
    [petition] = await env.petitions()
    assert petition.topic_kind == "service" and petition.procedure_code is None
    assert petition.email == "an.nguyen@example.com" and petition.phone is None
    async with env.factory() as session:
        agency = await AgencyRepository(session).get(petition.agency_id)
        assert agency is not None and agency.is_default


# --- validation and redirects ----------------------------------------------------------------------


async def start_at_content(citizen: Citizen) -> None:
    await citizen.say("/pakn")
    await citizen.press("Gửi phản ánh mới")
    await citizen.press("Quy định hành chính khác")
    assert "Bước 2/7" in citizen.text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("   \u200b\u200b  ", "không có chữ"),
        ("😀😀😀 🎉🎉", "không đọc được"),
        ("quá lâu", "chi tiết hơn"),
        ("x" * 5000, "không đọc được"),
        ("'; DROP TABLE petitions; --", "chi tiết hơn"),
        (
            "The clerk at the ward office was rude and made me wait three hours for nothing.",
            "tiếng Việt",
        ),
        ("đề nghị " * 700, "quá dài"),
    ],
)
async def test_bad_content_gets_a_helpful_reply_and_stores_nothing(
    env: Env, text: str, expected: str | None
) -> None:
    citizen = Citizen(env)
    await start_at_content(citizen)
    if text == "":
        await citizen.send(
            sticker={
                "file_id": "st",
                "file_unique_id": "st1",
                "type": "regular",
                "width": 10,
                "height": 10,
                "is_animated": False,
                "is_video": False,
            }
        )
        assert "nhập" in citizen.text().lower()
    else:
        await citizen.say(text)
        assert expected is not None and expected in citizen.text(), citizen.text()
    assert "Bước 3/7" not in citizen.text()
    assert await env.count(Petition) == 0
    await citizen.say(CONTENT)  # the form still works after bad input
    assert "Bước 3/7" in citizen.text()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "Tôi muốn khiếu nại quyết định xử phạt của UBND phường vì không đúng quy định.",
            "Luật Khiếu nại",
        ),
        (
            "Tôi tố cáo cán bộ địa chính phường nhận tiền của dân để làm nhanh hồ sơ đất.",
            "Luật Tố cáo",
        ),
        (
            "Nhờ luật sư tư vấn giúp tôi chia thừa kế nhà đất của bố mẹ để lại thế nào?",
            "trợ giúp pháp lý",
        ),
    ],
)
async def test_complaints_denunciations_and_legal_advice_are_redirected(
    env: Env, text: str, where: str
) -> None:
    citizen = Citizen(env)
    await start_at_content(citizen)
    await citizen.say(text)
    reply = citizen.text()
    assert where in reply and "chưa được gửi" in reply
    await citizen.press("Viết lại")
    assert "Bước 2/7" in citizen.text()
    await citizen.say(CONTENT)
    assert "Bước 3/7" in citizen.text()
    assert await env.count(Petition) == 0


async def test_name_contact_and_address_validation(env: Env) -> None:
    citizen = Citizen(env)
    await start_at_content(citizen)
    await citizen.say(CONTENT)
    await citizen.press("Bỏ qua")
    for bad in ("An", "12345 6789", "<b>Nguyễn</b> An", "😀 😀"):
        await citizen.say(bad)
        assert "họ và tên" in citizen.text().lower(), bad
    await citizen.say(NAME)
    for bad in ("12345", "0123 456 789", "an@", "SELECT * FROM users"):
        await citizen.say(bad)
        assert "không hợp lệ" in citizen.text() or "không đúng" in citizen.text(), bad
    # someone else's contact is refused, the own one accepted
    await citizen.send(
        contact={"phone_number": "+84987654321", "first_name": "Bình", "user_id": 999}
    )
    assert "của chính mình" in citizen.text()
    await citizen.send(
        contact={"phone_number": "84987654321", "first_name": "An", "user_id": citizen.user_id}
    )
    assert "0987654321" in citizen.text() and "Bước 6/7" in citizen.text()
    assert any(getattr(c.reply_markup, "remove_keyboard", False) for c in citizen.last), (
        "the contact keyboard is taken away"
    )
    await citizen.say("ngắn")
    assert "ít nhất" in citizen.text()
    await citizen.say("a" * 400)
    assert "quá dài" in citizen.text()
    await citizen.say(ADDRESS)
    assert "Bước 7/7" in citizen.text() and "0987654321" in citizen.text()


async def test_photos_and_files_are_checked(env: Env) -> None:
    citizen = Citizen(env)
    await start_at_content(citizen)
    await citizen.say(CONTENT)
    await citizen.send(
        document={
            "file_id": "x",
            "file_unique_id": "ux",
            "file_name": "virus.exe",
            "mime_type": "application/pdf",
            "file_size": 1000,
        }
    )
    assert "JPG, PNG, PDF" in citizen.text()
    await citizen.send(
        document={
            "file_id": "big",
            "file_unique_id": "ubig",
            "file_name": "scan.pdf",
            "mime_type": "application/pdf",
            "file_size": 21 * 1024 * 1024,
        }
    )
    assert "20 MB" in citizen.text()
    await citizen.send(voice={"file_id": "v", "file_unique_id": "uv", "duration": 3})
    assert "JPG, PNG, PDF" in citizen.text()
    for i in range(6):
        await citizen.send(
            document={
                "file_id": f"d{i}",
                "file_unique_id": f"ud{i}",
                "file_name": f"giay-to-{i}.docx",
                "file_size": 1000,
            }
        )
    assert "đã đính kèm 5" in citizen.text().lower()
    await citizen.send(
        document={"file_id": "d0", "file_unique_id": "ud0", "file_name": "giay-to-0.docx"}
    )
    await citizen.press("Xong")
    assert "Bước 4/7" in citizen.text()


# --- limits, groups ----------------------------------------------------------------------------------


async def seed_petitions(env: Env, chat_id: str, count: int, ago: timedelta) -> None:
    async with env.factory() as session:
        for i in range(count):
            await PetitionRepository(session).submit(
                PetitionDraft(
                    topic_kind="other",
                    topic="Khác",
                    content=CONTENT,
                    sender_name=NAME,
                    address=ADDRESS,
                    phone="0912345678",
                    channel="telegram",
                    chat_id=chat_id,
                ),
                now=datetime.now(UTC) - ago - timedelta(minutes=i),
            )
        await session.commit()


async def test_limits_when_starting_and_at_submit(env: Env) -> None:
    citizen = Citizen(env)
    await fill_form(citizen)
    # Meanwhile this chat sent three more (e.g. from another device): the hour is full.
    await seed_petitions(env, "7001", 3, timedelta(minutes=5))
    await citizen.press("Gửi phản ánh")
    assert "tối đa 3 phản ánh mỗi giờ" in citizen.text() and "sau" in citizen.text()
    assert await env.count(Petition) == 3
    await citizen.say("/phananh")
    await citizen.press("Gửi phản ánh mới")
    assert "tối đa" in citizen.text() and "Bước 1/7" not in citizen.text()
    other = Citizen(env, user_id=7002)  # another citizen is not affected
    await other.say("/phananh")
    await other.press("Gửi phản ánh mới")
    assert "Bước 1/7" in other.text()


async def test_daily_limit_says_when(env: Env) -> None:
    await seed_petitions(env, "7001", 5, timedelta(hours=3))
    citizen = Citizen(env)
    await citizen.say("/phananh")
    await citizen.press("Gửi phản ánh mới")
    assert "5 phản ánh mỗi ngày" in citizen.text()


async def test_groups_are_pointed_to_the_private_chat(env: Env) -> None:
    citizen = Citizen(env, chat_type="group", chat_id=-100123)
    await citizen.say("/phananh")
    assert "trò chuyện riêng" in citizen.text()
    await citizen.say("PAKN-2026-000001")
    assert "trò chuyện riêng" in citizen.text()


# --- free text, following -----------------------------------------------------------------------------


async def test_free_text_asking_to_send_feedback_opens_the_menu(env: Env) -> None:
    citizen = Citizen(env)
    await citizen.say("tôi muốn gửi phản ánh về thủ tục")
    assert "Gửi phản ánh mới" in str(citizen.last[-1].reply_markup)
    await citizen.say("gui kien nghi")
    assert "Gửi phản ánh mới" in str(citizen.last[-1].reply_markup)
    await citizen.say("góp ý kiến đối với quy chế quản lý kiến trúc")  # a catalog procedure
    assert "Gửi phản ánh mới" not in str(citizen.last[-1].reply_markup)


async def test_status_only_in_the_senders_chat(env: Env) -> None:
    citizen = Citizen(env)
    await fill_form(citizen)
    await citizen.press("Gửi phản ánh")
    [petition] = await env.petitions()
    number = petition.tracking_code.split("-")[-1].lstrip("0")
    await citizen.say(f"cho hỏi pakn {petition.year} {number} sao rồi")
    assert "Đã tiếp nhận" in citizen.text() and CONTENT[:30] in citizen.text()

    stranger = Citizen(env, user_id=7009)
    await stranger.say(petition.tracking_code)
    not_found = stranger.text()
    assert "Không tìm thấy" in not_found and CONTENT[:30] not in not_found
    await stranger.say("PAKN-2026-999999")
    assert stranger.text() == not_found  # unknown and somebody else's look the same
    since = len(env.session.calls)
    await stranger.press_data(f"pv:{petition.id}")  # a forged button
    assert alerts(env, since) and CONTENT[:30] not in texts(env.session.calls[since:])

    await citizen.say("/phananh")
    await citizen.press("Phản ánh của tôi")
    assert petition.tracking_code in citizen.text()
    await citizen.press(petition.tracking_code)
    assert "Đã tiếp nhận" in citizen.text() and CONTENT[:30] in citizen.text()
    await citizen.say(f"/phananh {petition.year} {number}")  # after the command "PAKN" may go
    assert "Đã tiếp nhận" in citizen.text()
    await citizen.say("/pakn abc 12")
    assert "không giống mã" in citizen.text()
    await citizen.say("đăng ký khai sinh")  # after all this, a question is still a question
    assert "Đã tiếp nhận" not in citizen.text() and "khai sinh" in citizen.text().lower()


async def test_reply_to_a_request_for_information(env: Env) -> None:
    citizen = Citizen(env)
    await fill_form(citizen)
    await citizen.press("Gửi phản ánh")
    [petition] = await env.petitions()
    async with env.factory() as session:
        official = await OfficialRepository(session).by_chat("telegram", "900")
        stored = await PetitionRepository(session).get(petition.id)
        assert official is not None and stored is not None
        stored = (
            await PetitionRepository(session).request_info(
                stored, official, "Anh/chị cho biết ngày nộp hồ sơ?", via="telegram"
            )
        ).petition
        await session.commit()

    stranger = Citizen(env, user_id=7010)
    since = len(env.session.calls)
    await stranger.press_data(f"pr:{petition.id}")
    assert alerts(env, since)

    await citizen.say(petition.tracking_code)
    assert "Anh/chị cho biết ngày nộp hồ sơ?" in citizen.text()
    await citizen.press("Trả lời")
    await citizen.send(
        photo=[{"file_id": "reply-ph", "file_unique_id": "rp", "width": 9, "height": 9}]
    )
    await citizen.say("   ")
    await citizen.say("Tôi nộp hồ sơ ngày 02/11/2026 tại bộ phận một cửa phường.")
    assert "đã được gửi" in citizen.text()
    async with env.factory() as session:
        stored = await PetitionRepository(session).get(petition.id)
        assert stored is not None and stored.status == "in_progress"
        events = list(
            (
                await session.execute(
                    select(PetitionEvent).where(PetitionEvent.petition_id == petition.id)
                )
            ).scalars()
        )
        assert events[-1].action == "info_provided" and "02/11/2026" in (events[-1].note or "")
        files = await PetitionRepository(session).attachments(petition.id)
        assert "reply-ph" in [f.file_id for f in files]
    await citizen.press_data(f"pr:{petition.id}")  # not waiting any more
    assert await env.count(Petition) == 1


async def test_published_answers_show_only_public_copies(env: Env) -> None:
    async with env.factory() as session:
        official = await OfficialRepository(session).by_chat("telegram", "900")
        assert official is not None
        repo = PetitionRepository(session)
        for i in range(7):
            result = await repo.submit(
                PetitionDraft(
                    topic_kind="procedure",
                    topic="Đăng ký khai sinh",
                    procedure_code="1.001193",
                    content=f"Tôi là {NAME}, số 0912345678, phản ánh lần {i}: " + CONTENT * 10,
                    sender_name=NAME,
                    address=ADDRESS,
                    phone="0912345678",
                    channel="telegram",
                    chat_id="7100",
                )
            )
            answered = await repo.answer(
                result.petition, official, "Trả lời: " + "Sở đã bỏ yêu cầu. " * 300, via="t"
            )
            await repo.publish(answered.petition, official, via="t")
        await session.commit()
    reader = Citizen(env, user_id=7200)
    await reader.say("/phananh")
    await reader.press("Trả lời đã công khai")
    listing = reader.text()
    assert "trang 1/2" in listing and "Sở Tư pháp" in listing
    for secret in (NAME, "0912345678", "Văn An"):
        assert secret not in listing
    await reader.press("Tiếp ›")
    assert "trang 2/2" in reader.text()
    await reader.press("📄")
    full = reader.last
    assert len(full) >= 2  # a long answer is split
    assert all(utf16_len(parse_html(c.text)) <= 4096 for c in full)
    assert "0912345678" not in texts(full) and NAME not in texts(full)
    since = len(env.session.calls)
    await reader.press_data("pu:999999:0")
    assert alerts(env, since)


# --- web chat ---------------------------------------------------------------------------------------


async def test_web_chat_form_skips_attachments_and_contact_sharing(
    tmp_path: Path, index: SearchIndex
) -> None:
    async with migrated_database("sqlite", tmp_path, "pweb") as factory:
        env = await make_env(factory, index)
        hub = WebChatHub()
        web = WebChatChannel(
            env.dispatcher,
            hub=hub,
            bot=WebChatBot(hub, default=default_bot_properties()),
            strict=True,
        )
        visitor, _ = hub.visitor(None)

        async def say(text: str) -> list[dict[str, Any]]:
            return [e for e in await web.handle_text(visitor, text) if e["type"] == "message"]

        async def press(events: list[dict[str, Any]], contains: str) -> list[dict[str, Any]]:
            for event in reversed(events):
                for row in event["buttons"]:
                    for b in row:
                        if contains.casefold() in b["text"].casefold():
                            out = await web.handle_callback(
                                visitor, event["message_id"], b["callback_data"]
                            )
                            return [e for e in out if e["type"] == "message"]
            raise AssertionError(f"no button {contains!r}")

        events = await say("/phananh")
        events = await press(events, "Gửi phản ánh mới")
        assert "Bước 1/6" in events[-1]["html"]
        events = await say("khai sinh")
        events = await press(events, "khai sinh")
        events = await say(CONTENT)
        assert "Bước 3/6" in events[-1]["html"] and "Họ và tên" in events[-1]["html"]
        events = await say(NAME)
        assert "keyboard" not in events[-1]  # no contact-sharing button on the web
        events = await say("0987 654 321")
        events = await say(ADDRESS)
        assert "Bước 6/6" in events[-1]["html"] and "Tệp đính kèm" not in events[-1]["html"]
        events = await press(events, "Gửi phản ánh")
        [petition] = await env.petitions()
        assert petition.tracking_code in events[-1]["html"]
        assert petition.channel == "web" and petition.chat_id == str(visitor.chat_id)
        assert_all_handled(web)
        await web.close()


async def test_leaving_the_form_for_the_menu_keeps_it_for_later(env: Env) -> None:
    citizen = Citizen(env)
    await citizen.say("/phananh")
    await citizen.press("Gửi phản ánh mới")
    await citizen.say("😀😀")  # nothing to search for: the question again
    assert "Anh/chị phản ánh về việc gì?" in citizen.text()
    await citizen.press("Quy định hành chính khác")
    await citizen.say("/phananh")  # mid-form: the menu, with "Continue"
    assert "Tiếp tục phản ánh đang soạn dở (bước 2/7)" in str(citizen.last[-1].reply_markup)
    await citizen.say("đăng ký khai sinh")  # a question now is a question, not the content
    assert "Bước" not in citizen.text() and "khai sinh" in citizen.text().lower()
    await citizen.say("/start")
    await citizen.say("/phananh")
    await citizen.press("Tiếp tục")
    assert "Bước 2/7" in citizen.text() and "Quy định hành chính khác" in citizen.text()
    await citizen.say(CONTENT)
    assert "Bước 3/7" in citizen.text()


# --- leaving a step another way ---------------------------------------------------------------------

STICKER = {
    "file_id": "st",
    "file_unique_id": "st1",
    "type": "regular",
    "width": 10,
    "height": 10,
    "is_animated": False,
    "is_video": False,
}


async def start_at_phone(citizen: Citizen) -> None:
    await start_at_content(citizen)
    await citizen.say(CONTENT)
    await citizen.press("Bỏ qua")
    await citizen.say(NAME)
    assert "Bước 5/7" in citizen.text()


async def test_the_phone_keyboard_left_on_screen_still_works(env: Env) -> None:
    """/start (or the main menu, /hoso...) leaves the phone step but Telegram keeps its reply
    keyboard on screen: its buttons must still lead somewhere, never to "I can only read text"
    or a procedure search for "⬅️ Quay lại"."""
    citizen = Citizen(env)
    await start_at_phone(citizen)
    await citizen.say("/start")
    await citizen.send(
        contact={"phone_number": "84987654321", "first_name": "An", "user_id": citizen.user_id}
    )
    assert "0987654321" in citizen.text() and "Bước 6/7" in citizen.text(), citizen.text()
    assert any(getattr(c.reply_markup, "remove_keyboard", False) for c in citizen.last)

    other = Citizen(env, user_id=7002)
    await start_at_phone(other)
    await other.say("/start")
    await other.say("⬅️ Quay lại")
    assert "Bước 4/7" in other.text() and "thủ tục phù hợp" not in other.text(), other.text()
    assert any(getattr(c.reply_markup, "remove_keyboard", False) for c in other.last)

    third = Citizen(env, user_id=7003)
    await start_at_phone(third)
    await third.say("/start")
    await third.say("✖️ Hủy")
    assert "đã được hủy" in third.text()
    assert any(getattr(c.reply_markup, "remove_keyboard", False) for c in third.last)
    await third.say("/phananh")
    assert "Tiếp tục" not in str(third.last[-1].reply_markup)
    # without a form, a leftover button just takes the keyboard away
    await third.say("⬅️ Quay lại")
    assert "không còn mở" in third.text()
    assert any(getattr(c.reply_markup, "remove_keyboard", False) for c in third.last)


async def test_help_mid_form_leaves_the_form_for_later(env: Env) -> None:
    """/help says "ask me in your own words": the question typed next is answered, not taken
    as the petition's content (or sent to an agency as a reply); "Continue" resumes."""
    citizen = Citizen(env)
    await start_at_content(citizen)
    await citizen.say("/help")
    await citizen.say("cấp hộ chiếu phổ thông cần những giấy tờ gì")
    assert citizen.last, "the question got no answer"
    assert "Bước 3/7" not in citizen.text(), citizen.text()
    await citizen.say("/phananh")
    assert "bước 2/7" in str(citizen.last[-1].reply_markup)
    await citizen.press("Tiếp tục")
    assert "Bước 2/7" in citizen.text()
    # the same for the main menu's "Procedures" and "Help" buttons (on an older message)
    for action in (MenuAction.PROCEDURES, MenuAction.HELP):
        await citizen.say("/phananh")
        await citizen.press("Tiếp tục")
        assert "Bước 2/7" in citizen.text()
        await citizen.press_data(MenuCallback(action=action).pack())
        await citizen.say("cấp hộ chiếu phổ thông cần những giấy tờ gì")
        assert citizen.last, (action, "the question got no answer")
        assert "Bước 3/7" not in citizen.text(), (action, citizen.text())


async def test_other_messages_at_the_review_and_after_the_files_step(env: Env) -> None:
    citizen = Citizen(env)
    await fill_form(citizen)
    await citizen.send(sticker=STICKER)
    assert "bấm" in citizen.text() or "dùng các nút" in citizen.text(), citizen.text()
    citizen.button("Gửi phản ánh")  # the Submit button is still at hand

    other = Citizen(env, user_id=7002)
    await start_at_content(other)
    await other.say(CONTENT)
    await other.press("Bỏ qua")
    await other.send(photo=[{"file_id": "p", "file_unique_id": "pu", "width": 9, "height": 9}])
    # the attachments step is behind: do not promise "a later step"
    assert "bước sau" not in other.text() and "Tệp đính kèm" in other.text(), other.text()


async def test_a_tracking_code_at_the_dossier_lookup_prompt_shows_the_petition(env: Env) -> None:
    """A citizen asked for a dossier's receipt code types the petition's tracking code instead
    (both are "the code I was given"): the petition, not a procedure search for "PAKN-…"."""
    citizen = Citizen(env)
    await fill_form(citizen)
    await citizen.press("Gửi phản ánh")
    [petition] = await env.petitions()
    await citizen.say("/hoso")
    await citizen.say(petition.tracking_code)
    assert "Đã tiếp nhận" in citizen.text() and CONTENT[:30] in citizen.text(), citizen.text()
    await citizen.say("đăng ký khai sinh")  # the prompt is left: a question is a question
    assert "khai sinh" in citizen.text().lower() and "mã hồ sơ" not in citizen.text()
