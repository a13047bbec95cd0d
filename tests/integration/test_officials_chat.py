"""The officials' side of the chat through the real dispatcher (``Dispatcher.feed_update``) on
SQLite and PostgreSQL: enrolment and its guess limit, who may see and do what, each action's
audit entry and citizen message in the outbox, re-routing, sign-in links, and the outbox
renderers read back from what the actions wrote.

The bot's session only records the Bot API calls (no network); every text it sends is checked
against Telegram's HTML parser and 4096-character limit of the stand-in server."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import Update
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.factory import create_dispatcher, default_bot_properties
from handlers.officials.callbacks import (
    ConfirmOp,
    OfficialConfirm,
    OfficialPetition,
    OfficialReroute,
    PetitionOp,
)
from handlers.officials.render_prompts import TEXT_MAX_CHARS
from handlers.petitions.notifications import create_petition_renderers
from handlers.procedures import texts
from knowledge.models import Procedure
from knowledge.outbox import OutboxKind
from knowledge.petition_workflow import PetitionStatus
from knowledge.search import SearchIndex
from storage.models import AuditEntry, Official, OutboxMessage, Petition, PetitionEvent
from storage.outbox import OutboxRow
from storage.repositories.agencies import AgencyRepository
from storage.repositories.inbox_tokens import InboxTokenRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import (
    AttachmentDraft,
    PetitionDraft,
    PetitionRepository,
)
from tests.tools.databases import BACKENDS, migrated_database
from tests.tools.recording import RecordingSession, WakeCounter, feed_handled
from tests.tools.telegram_server import TEXT_LIMIT, parse_html, utf16_len

TOKEN = "42:TEST-officials-chat-token"
BASE_URL = "https://pakn.example.gov.vn"
PHONE = "0912345678"
CITIZEN = 5001


# --- a bot that only records ----------------------------------------------------------------


@dataclass
class Chat_:
    id: int
    type: str = "private"
    first_name: str = "Hà"
    last_name: str = "Trần"
    language_code: str = "vi"


@dataclass
class Harness:
    dispatcher: Dispatcher
    bot: Bot
    recorder: RecordingSession
    factory: async_sessionmaker[AsyncSession]
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _user(self, chat: Chat_) -> dict[str, Any]:
        return {
            "id": chat.id,
            "is_bot": False,
            "first_name": chat.first_name,
            "last_name": chat.last_name,
            "language_code": chat.language_code,
        }

    def _chat(self, chat: Chat_) -> dict[str, Any]:
        if chat.type == "private":
            return {"id": chat.id, "type": "private", "first_name": chat.first_name}
        return {"id": -chat.id, "type": "group", "title": "Nhóm"}

    async def _feed(
        self, data: dict[str, Any], *, handled: bool = True
    ) -> list[TelegramMethod[Any]]:
        since = len(self.recorder.calls)
        update = Update.model_validate(
            {"update_id": next(self.update_ids), **data}, context={"bot": self.bot}
        )
        await feed_handled(self.dispatcher, self.bot, update, handled=handled)
        return self.recorder.calls[since:]

    async def say(self, chat: Chat_, text: str) -> list[str]:
        """Send ``text``; the texts of the messages sent or edited in answer."""
        message: dict[str, Any] = {
            "message_id": next(self.update_ids),
            "date": int(time.time()),
            "chat": self._chat(chat),
            "from": self._user(chat),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        calls = await self._feed({"message": message})
        return [c.text for c in calls if isinstance(c, SendMessage | EditMessageText)]

    async def send_photo(self, chat: Chat_) -> list[str]:
        message = {
            "message_id": next(self.update_ids),
            "date": int(time.time()),
            "chat": self._chat(chat),
            "from": self._user(chat),
            "photo": [{"file_id": "ph1", "file_unique_id": "u1", "width": 10, "height": 10}],
        }
        calls = await self._feed({"message": message})
        return [c.text for c in calls if isinstance(c, SendMessage | EditMessageText)]

    async def press(self, chat: Chat_, data: str) -> list[TelegramMethod[Any]]:
        """Press a button with callback ``data`` on a bot message in ``chat``."""
        assert len(data.encode()) <= 64
        callback = {
            "id": str(next(self.update_ids)),
            "from": self._user(chat),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": self._chat(chat),
                "from": {"id": 42, "is_bot": True, "first_name": "Bot"},
                "text": "card",
            },
        }
        return await self._feed({"callback_query": callback})


def texts_of(calls: list[TelegramMethod[Any]]) -> list[str]:
    return [c.text for c in calls if isinstance(c, SendMessage | EditMessageText)]


def alerts_of(calls: list[TelegramMethod[Any]]) -> list[str]:
    return [c.text or "" for c in calls if isinstance(c, AnswerCallbackQuery)]


def buttons_of(calls: list[TelegramMethod[Any]]) -> list[tuple[str, str]]:
    out = []
    for call in calls:
        markup = getattr(call, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or []:
            for button in row:
                out.append((button.text, button.callback_data or button.url or ""))
    return out


def unknown_command(h: Harness) -> str:
    """What a citizen gets for a command the assistant does not have (Vietnamese)."""
    i18n = h.dispatcher["i18n"]
    with i18n.context(), i18n.use_locale("vi"):
        return texts.unknown_command()


def op(kind: PetitionOp, petition_id: int) -> str:
    return OfficialPetition(op=kind, id=petition_id).pack()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async with migrated_database(request.param, tmp_path, "officials") as factory:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url="sqlite+aiosqlite:///unused",
            public_base_url=BASE_URL,
        )
        index = SearchIndex.build(
            [Procedure(code="1.001193", name="Thủ tục đăng ký khai sinh", sector="Hộ tịch")]
        )
        dispatcher = create_dispatcher(settings=settings, index=index, session_factory=factory)
        dispatcher["outbox"] = WakeCounter()
        recorder = RecordingSession(strict=True, first_message_id=100)
        bot = Bot(TOKEN, session=recorder, default=default_bot_properties())
        yield Harness(dispatcher, bot, recorder, factory)


@dataclass
class World:
    justice: int  # agency ids
    land: int
    petition: Petition  # of the justice agency, from the citizen's Telegram chat


async def _world(h: Harness) -> World:
    async with h.factory() as session:
        agencies = AgencyRepository(session)
        justice = await agencies.save(
            "so-tu-phap", "Sở Tư pháp", sectors=["Hộ tịch"], procedure_codes=["1.001193"]
        )
        land = await agencies.save("so-nnmt", "Sở Nông nghiệp và Môi trường", sectors=["Đất đai"])
        result = await PetitionRepository(session).submit(
            PetitionDraft(
                topic_kind="procedure",
                topic="Đăng ký khai sinh",
                procedure_code="1.001193",
                sector="Hộ tịch",
                content="Cán bộ hẹn trả kết quả khai sinh nhưng đã quá hạn ba ngày mà chưa nhận.",
                sender_name="Nguyễn Văn An",
                phone=PHONE,
                email="an.nguyen@example.vn",
                address="Số 12 ngõ 34 Lê Lợi, phường Bến Thành",
                channel="telegram",
                chat_id=str(CITIZEN),
                language="vi",
                attachments=(
                    AttachmentDraft(kind="photo", file_id="AgACphoto1"),
                    AttachmentDraft(kind="document", file_id="BQACdoc1", file_name="giay.pdf"),
                ),
            )
        )
        await session.commit()
        return World(justice.id, land.id, result.petition)


async def _new_petition(h: Harness) -> Petition:
    """A petition of the justice agency from another citizen, who reads English."""
    async with h.factory() as session:
        result = await PetitionRepository(session).submit(
            PetitionDraft(
                topic_kind="other",
                topic="Thời gian chờ tại bộ phận một cửa",
                content="Thời gian chờ tại bộ phận một cửa quá lâu, đề nghị bố trí thêm quầy.",
                sender_name="Lê Thị Hoa",
                phone="0987654321",
                address="Phường Bến Nghé, TP Hồ Chí Minh",
                sector="Hộ tịch",
                channel="telegram",
                chat_id="5002",
                language="en",
            )
        )
        await session.commit()
        return result.petition


async def _invite(h: Harness, agency_id: int, role: str, **kwargs: Any) -> str:
    async with h.factory() as session:
        code, _ = await OfficialRepository(session).create_invitation(agency_id, role, **kwargs)
        await session.commit()
    return code


async def _enrolled(h: Harness, chat: Chat_, agency_id: int, role: str) -> Official:
    code = await _invite(h, agency_id, role)
    replies = await h.say(chat, f"/official {code}")
    assert "Chào mừng" in replies[-1], replies
    async with h.factory() as session:
        official = await OfficialRepository(session).by_chat("telegram", str(chat.id))
        assert official is not None
        return official


async def _audit(h: Harness, action: str) -> list[AuditEntry]:
    async with h.factory() as session:
        result = await session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(result.scalars())


async def _outbox(h: Harness, kind: str) -> list[OutboxMessage]:
    async with h.factory() as session:
        result = await session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
        return list(result.scalars())


async def _petition(h: Harness, petition_id: int) -> Petition:
    async with h.factory() as session:
        petition = await PetitionRepository(session).get(petition_id)
        assert petition is not None
        return petition


def _row(row: OutboxMessage, **changes: Any) -> OutboxRow:
    """The stored message as the worker hands it to a renderer (with ``changes``)."""
    fields: dict[str, Any] = {
        "id": row.id,
        "channel": row.channel,
        "chat_id": row.chat_id,
        "kind": row.kind,
        "payload": dict(row.payload or {}),
        "language": row.language,
        "dedup_key": row.dedup_key,
        "attempts": row.attempts,
        "created_at": row.created_at,
        "lease_until": row.available_at,
    }
    return OutboxRow(**{**fields, **changes})


async def _render(h: Harness, row: OutboxMessage) -> tuple[str, Any] | None:
    renderers = create_petition_renderers(h.dispatcher["i18n"])
    async with h.factory() as session:
        rendered = await renderers[row.kind](session, _row(row))
    return None if rendered is None else (rendered.text, rendered.reply_markup)


# --- enrolment -------------------------------------------------------------------------------


async def test_enrolment_good_reused_expired_wrong_and_the_limit(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    officer = Chat_(id=7001)
    code = await _invite(h, world.justice, "officer")

    replies = await h.say(officer, f"/official {code.lower().replace('-', ' ')}")
    assert "Chào mừng" in replies[-1] and "Sở Tư pháp" in replies[-1]
    assert len(await _audit(h, "enroll")) == 1

    other = Chat_(id=7002)
    expired = await _invite(h, world.justice, "officer", now=datetime.now(UTC) - timedelta(days=8))
    generic = None
    for attempt in (code, expired, "MOI-AAAA-BBBB-CCCC", "xin chào"):
        replies = await h.say(other, f"/canbo {attempt}")
        generic = generic or replies[-1]
        assert replies[-1] == generic, "used, expired and wrong codes must answer alike"
    assert "không hợp lệ" in generic
    # the fifth failure locks the chat: even a good code is refused until the hour is over
    fresh = await _invite(h, world.justice, "admin")
    replies = await h.say(other, "/official MOI-ZZZZ-ZZZZ-ZZZZ")
    assert "Quá nhiều" in replies[-1]
    replies = await h.say(other, f"/official {fresh}")
    assert "Quá nhiều" in replies[-1]
    async with h.factory() as session:
        assert await OfficialRepository(session).by_chat("telegram", str(other.id)) is None
    failures = await _audit(h, "enroll_failed")
    assert len(failures) == 5 and all(f.actor == f"chat:telegram:{other.id}" for f in failures)
    assert all(fresh not in str(f.details) for f in failures)  # codes are not logged

    # another chat is not affected, and the unused code still works there
    third = Chat_(id=7003)
    replies = await h.say(third, f"/official {fresh}")
    assert "Chào mừng" in replies[-1] and "quản trị" in replies[-1]


async def test_enrolment_in_two_steps_and_never_in_a_group(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    code = await _invite(h, world.justice, "officer")
    group = Chat_(id=7100, type="group")
    replies = await h.say(group, f"/official {code}")
    assert "trò chuyện riêng" in replies[-1]
    async with h.factory() as session:
        assert await OfficialRepository(session).by_chat("telegram", str(-group.id)) is None

    chat = Chat_(id=7101)
    assert "mã cán bộ" in (await h.say(chat, "/official"))[-1]
    assert "mã cán bộ" in (await h.send_photo(chat))[-1]  # not a code: asked again
    # a question instead of a code: answered as usual, not counted as a wrong code
    replies = await h.say(chat, "cho hỏi thủ tục đăng ký khai sinh")
    assert replies and not any("không hợp lệ" in r or "mã cán bộ" in r for r in replies)
    assert await _audit(h, "enroll_failed") == []
    assert "mã cán bộ" in (await h.say(chat, "/canbo"))[-1]
    replies = await h.say(chat, f"  {code}  ")
    assert "Chào mừng" in replies[-1]
    assert "Sở Tư pháp" in (await h.say(chat, "/official"))[-1]  # already enrolled: status


async def test_admin_invites_in_the_chat_officers_cannot(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    admin = Chat_(id=7200)
    officer = Chat_(id=7201)
    await _enrolled(h, admin, world.justice, "admin")
    await _enrolled(h, officer, world.justice, "officer")
    assert "quản trị" in (await h.say(officer, "/invite officer"))[-1]
    assert "/invite officer" in (await h.say(admin, "/moi"))[-1]  # usage
    assert "/invite officer" in (await h.say(admin, "/invite boss"))[-1]
    replies = await h.say(admin, "/moi cán bộ")
    code = next(part for part in replies[-1].split("<code>") if part.startswith("MOI-"))
    code = code.split("</code>")[0]
    newcomer = Chat_(id=7202)
    assert "Chào mừng" in (await h.say(newcomer, f"/official {code}"))[-1]
    created = await _audit(h, "invite_create")
    assert created[-1].via == "telegram" and created[-1].official_id is not None


# --- who sees what ---------------------------------------------------------------------------


async def test_citizens_do_not_have_the_officials_commands(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    citizen = Chat_(id=CITIZEN)
    for command in ("/petitions", "/dspakn", "/inbox", "/invite officer"):
        replies = await h.say(citizen, command)
        assert replies == [unknown_command(h)], command
    calls = await h.press(citizen, op(PetitionOp.OPEN, world.petition.id))
    assert not texts_of(calls)
    assert "không còn hiệu lực" in alerts_of(calls)[-1]
    calls = await h.press(citizen, op(PetitionOp.TAKE, world.petition.id))
    assert not texts_of(calls)
    assert (await _petition(h, world.petition.id)).status == PetitionStatus.RECEIVED
    replies = await h.say(citizen, world.petition.tracking_code)
    assert replies, "the tracking code got no answer"
    assert not any(PHONE in r or "Nguyễn Văn An" in r for r in replies)
    assert await _audit(h, "view") == []


async def test_another_agency_sees_nothing_and_cannot_act(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    stranger = Chat_(id=7300)
    await _enrolled(h, stranger, world.land, "admin")
    code = world.petition.tracking_code

    replies = await h.say(stranger, code)
    assert "Không có phản ánh" in replies[-1] and PHONE not in replies[-1]
    for kind in (PetitionOp.OPEN, PetitionOp.TAKE, PetitionOp.FILES, PetitionOp.REROUTE):
        calls = await h.press(stranger, op(kind, world.petition.id))
        texts = texts_of(calls)
        assert texts and "Không có phản ánh" in texts[-1]
        assert not any(PHONE in t or "Nguyễn Văn An" in t for t in texts)
        assert not [c for c in calls if isinstance(c, SendPhoto | SendDocument)]
    calls = await h.press(
        stranger, OfficialReroute(id=world.petition.id, agency=world.land, confirm=True).pack()
    )
    assert "Không có phản ánh" in texts_of(calls)[-1]
    for forged in (
        op(PetitionOp.OPEN, 2**40),
        op(PetitionOp.OPEN, -1),
        OfficialReroute(id=world.petition.id, agency=2**40, confirm=True).pack(),
        OfficialConfirm(op=ConfirmOp.SEND, id=2**62).pack(),
        "op:zz:1",  # an unknown action: not ours, the usual stale-button answer
    ):
        calls = await h.press(stranger, forged)
        assert alerts_of(calls) + texts_of(calls), f"nothing answered {forged}"
        assert all("sự cố" not in t for t in texts_of(calls) + alerts_of(calls)), forged
    petition = await _petition(h, world.petition.id)
    assert (petition.status, petition.agency_id) == (PetitionStatus.RECEIVED, world.justice)
    assert await _audit(h, "view") == []
    denied = await _audit(h, "view_denied")
    assert len(denied) >= 5 and {d.petition_id for d in denied} == {world.petition.id}


async def test_the_own_agency_sees_the_card_with_personal_data_and_files(
    harness: Harness,
) -> None:
    h = harness
    world = await _world(h)
    officer = Chat_(id=7400)
    official = await _enrolled(h, officer, world.justice, "officer")

    replies = await h.say(officer, "/dspakn")
    assert world.petition.tracking_code in replies[-1] and "Mới" in replies[-1]
    list_buttons = buttons_of(h.recorder.calls[-1:])
    assert (op(PetitionOp.OPEN, world.petition.id)) in [d for _, d in list_buttons]

    replies = await h.say(officer, f"mở giúp pakn {world.petition.year} {world.petition.seq}")
    card = replies[-1]
    for expected in (
        world.petition.tracking_code,
        "Nguyễn Văn An",
        PHONE,
        "an.nguyen@example.vn",
        "Số 12 ngõ 34",
        "Hạn từ chối",
        "Hạn trả lời",
        "Gửi bởi người dân",
    ):
        assert expected in card, expected
    card_buttons = [d for _, d in buttons_of(h.recorder.calls[-1:])]
    assert op(PetitionOp.TAKE, world.petition.id) in card_buttons
    assert op(PetitionOp.REROUTE, world.petition.id) not in card_buttons  # officers cannot
    views = await _audit(h, "view")
    assert len(views) == 1 and views[0].official_id == official.id
    assert views[0].details == {"personal_data": True}

    calls = await h.press(officer, op(PetitionOp.FILES, world.petition.id))
    photos = [c for c in calls if isinstance(c, SendPhoto)]
    documents = [c for c in calls if isinstance(c, SendDocument)]
    assert [p.photo for p in photos] == ["AgACphoto1"]
    assert [d.document for d in documents] == ["BQACdoc1"]
    assert (await _audit(h, "view"))[-1].details == {"personal_data": True, "attachments": 2}


# --- actions ---------------------------------------------------------------------------------


async def test_a_zalo_photo_reaches_a_telegram_official_as_its_link(harness: Harness) -> None:
    """A Zalo CDN URL is no Telegram file id: the official's chat gets it as a link, never as
    a photo Telegram would have to fetch."""
    h = harness
    world = await _world(h)
    url = "https://photo-stal-2.zdn.vn/d/bien-nhan.jpg"
    async with h.factory() as session:
        result = await PetitionRepository(session).submit(
            PetitionDraft(
                topic_kind="other",
                topic="Thời gian chờ tại bộ phận một cửa",
                content="Thời gian chờ tại bộ phận một cửa quá lâu, đề nghị bố trí thêm quầy.",
                sender_name="Lê Thị Hoa",
                phone="0987654321",
                address="Phường Bến Nghé, TP Hồ Chí Minh",
                sector="Hộ tịch",
                channel="zalo",
                chat_id="3",
                language="vi",
                attachments=(AttachmentDraft(kind="url", file_id=url),),
            )
        )
        await session.commit()
    officer = Chat_(id=7401)
    await _enrolled(h, officer, world.justice, "officer")
    calls = await h.press(officer, op(PetitionOp.FILES, result.petition.id))
    assert not [c for c in calls if isinstance(c, SendPhoto | SendDocument)]
    texts_sent = [c.text for c in calls if isinstance(c, SendMessage)]
    assert any(url in text and result.petition.tracking_code in text for text in texts_sent)


async def test_take_ask_answer_publish_each_audited_and_told_to_the_citizen(
    harness: Harness,
) -> None:
    h = harness
    world = await _world(h)
    pid = world.petition.id
    officer = Chat_(id=7500)
    official = await _enrolled(h, officer, world.justice, "officer")

    wakes = h.dispatcher["outbox"].wakes
    calls = await h.press(officer, op(PetitionOp.TAKE, pid))
    assert "Anh/chị đã nhận xử lý" in texts_of(calls)[0]
    assert h.dispatcher["outbox"].wakes == wakes + 1  # the citizen's message goes out now
    petition = await _petition(h, pid)
    assert (petition.status, petition.assigned_to) == (PetitionStatus.IN_PROGRESS, official.id)

    # ask: a typed question, previewed, then confirmed
    calls = await h.press(officer, op(PetitionOp.ASK, pid))
    assert "câu hỏi" in texts_of(calls)[-1]
    assert "trống" in (await h.say(officer, "\u200b \u200b"))[-1]
    too_long = "a" * (TEXT_MAX_CHARS + 1)
    assert str(TEXT_MAX_CHARS + 1) in (await h.say(officer, too_long))[-1].replace(".", "")
    assert "gõ nội dung" in (await h.send_photo(officer))[-1]
    question = "Anh/chị gửi giúp ảnh <giấy hẹn> & số biên nhận; DROP TABLE petitions; 😀"
    preview = (await h.say(officer, question))[-1]
    assert "&lt;giấy hẹn&gt; &amp; số biên nhận" in preview
    assert (
        await _petition(h, pid)
    ).status == PetitionStatus.IN_PROGRESS  # nothing happens before confirming
    send = OfficialConfirm(op=ConfirmOp.SEND, id=pid).pack()
    calls = await h.press(officer, send)
    assert "Đã gửi câu hỏi" in texts_of(calls)[0]
    assert (await _petition(h, pid)).status == PetitionStatus.INFO_REQUESTED
    again = await h.press(officer, send)  # a double tap sends nothing twice
    assert "hết hiệu lực" in texts_of(again)[-1]

    async with h.factory() as session:
        petition = await PetitionRepository(session).get(pid)
        assert petition is not None
        petition = (
            await PetitionRepository(session).provide_info(petition, "Tôi gửi số biên nhận 0042.")
        ).petition
        await session.commit()

    # answer: 4,000 characters of several paragraphs, more than one message for the citizen
    paragraph = (
        "Sở Tư pháp đã kiểm tra hồ sơ và làm việc với UBND phường về việc trả kết quả. " * 10
    )
    answer = "\n\n".join([paragraph.strip()] * 6)[:TEXT_MAX_CHARS].strip()
    await h.press(officer, op(PetitionOp.ANSWER, pid))
    await h.say(officer, answer)
    calls = await h.press(officer, OfficialConfirm(op=ConfirmOp.SEND, id=pid).pack())
    assert "Đã ghi nhận câu trả lời" in texts_of(calls)[0]
    petition = await _petition(h, pid)
    assert petition.status == PetitionStatus.ANSWERED and petition.answer == answer

    # publish: a preview of the redacted copy first
    calls = await h.press(officer, op(PetitionOp.PUBLISH, pid))
    preview = texts_of(calls)[-1]
    assert "Nguyễn Văn An" not in preview and "***" in preview
    await h.press(officer, OfficialConfirm(op=ConfirmOp.PUBLISH, id=pid).pack())
    petition = await _petition(h, pid)
    assert petition.status == PetitionStatus.PUBLISHED and petition.public_answer
    calls = await h.press(officer, OfficialConfirm(op=ConfirmOp.PUBLISH, id=pid).pack())
    assert "giai đoạn hiện tại" in texts_of(calls)[0]  # twice: refused with the reason

    actions = [e.action for e in await _audit_for(h, pid)]
    for expected in ("taken", "info_requested", "answered", "published"):
        assert actions.count(expected) == 1, (expected, actions)
    assert all(e.via == "telegram" for e in await _audit_for(h, pid) if e.action != "view")

    updates = await _outbox(h, OutboxKind.PETITION_UPDATE)
    assert [u.payload["action"] for u in updates] == [
        "taken",
        "info_requested",
        "answered",
        "answered",
        "published",
    ]
    assert all(u.chat_id == str(CITIZEN) for u in updates)
    rendered = [await _render(h, u) for u in updates]
    assert all(r is not None for r in rendered)
    texts = [r[0] for r in rendered if r is not None]
    for text in texts:
        assert utf16_len(parse_html(text)) <= TEXT_LIMIT
    assert "Sở Tư pháp" in texts[0] and "đang được" in texts[0]
    assert "&lt;giấy hẹn&gt;" in texts[1]
    # the info request's Reply button is gone once the citizen replied
    assert "pr:" not in str(rendered[1][1])  # type: ignore[index]
    # the two answer parts hold the whole answer, in order
    part1, part2 = parse_html(texts[2]), parse_html(texts[3])
    assert "(1/2)" in part1 and "(2/2)" in part2 and "tiếp theo" in part1
    body = (
        part1.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
        + " "
        + part2.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
    )
    assert " ".join(body.split()) == " ".join(answer.split())
    assert "công khai" in texts[4]


async def _audit_for(h: Harness, petition_id: int) -> list[AuditEntry]:
    async with h.factory() as session:
        return await _petition_audit(session, petition_id)


async def _petition_audit(session: AsyncSession, petition_id: int) -> list[AuditEntry]:
    from storage.repositories.audit import AuditRepository

    return await AuditRepository(session).for_petition(petition_id)


async def test_refusal_needs_a_reason_and_tells_the_citizen_where_complaints_go(
    harness: Harness,
) -> None:
    h = harness
    world = await _world(h)
    pid = world.petition.id
    officer = Chat_(id=7600)
    await _enrolled(h, officer, world.justice, "officer")
    await h.press(officer, op(PetitionOp.REFUSE, pid))
    assert "trống" in (await h.say(officer, "   "))[-1]
    cancel = await h.press(officer, OfficialConfirm(op=ConfirmOp.CANCEL, id=pid).pack())
    assert "Đã huỷ" in texts_of(cancel)[-1]
    assert (await _petition(h, pid)).status == PetitionStatus.RECEIVED
    # after cancelling, text is not taken as a reason any more
    await h.say(officer, "Nội dung là khiếu nại về quyết định hành chính")
    assert (await _petition(h, pid)).status == PetitionStatus.RECEIVED

    await h.press(officer, op(PetitionOp.REFUSE, pid))
    await h.say(officer, "Lý do ban đầu")
    await h.press(officer, OfficialConfirm(op=ConfirmOp.EDIT, id=pid).pack())
    await h.say(officer, "Nội dung là khiếu nại về quyết định hành chính, không phải phản ánh.")
    await h.press(officer, OfficialConfirm(op=ConfirmOp.SEND, id=pid).pack())
    petition = await _petition(h, pid)
    assert petition.status == PetitionStatus.REFUSED
    assert (
        petition.refusal_reason
        == "Nội dung là khiếu nại về quyết định hành chính, không phải phản ánh."
    )
    [row] = [
        u for u in await _outbox(h, OutboxKind.PETITION_UPDATE) if u.payload["action"] == "refused"
    ]
    rendered = await _render(h, row)
    assert rendered is not None
    assert "không phải phản ánh" in rendered[0] and "Luật Khiếu nại" in rendered[0]
    assert [e.action for e in await _audit_for(h, pid)].count("refused") == 1


async def test_reroute_by_an_admin_only(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    officer = Chat_(id=7700)
    admin = Chat_(id=7701)
    await _enrolled(h, officer, world.justice, "officer")
    await _enrolled(h, admin, world.justice, "admin")
    land_official = await _enrolled(h, Chat_(id=7702), world.land, "officer")
    pid = (await _new_petition(h)).id  # after the enrolments: its officials are notified

    calls = await h.press(officer, op(PetitionOp.REROUTE, pid))
    assert "quản trị" in texts_of(calls)[-1]
    calls = await h.press(officer, OfficialReroute(id=pid, agency=world.land, confirm=True).pack())
    assert "quản trị" in texts_of(calls)[-1]
    assert (await _petition(h, pid)).agency_id == world.justice

    calls = await h.press(admin, op(PetitionOp.REROUTE, pid))
    choices = buttons_of(calls)
    assert (
        "Sở Nông nghiệp và Môi trường",
        OfficialReroute(id=pid, agency=world.land).pack(),
    ) in choices
    assert not any(d == OfficialReroute(id=pid, agency=world.justice).pack() for _, d in choices)
    calls = await h.press(admin, OfficialReroute(id=pid, agency=world.land).pack())
    assert "Sở Nông nghiệp" in texts_of(calls)[-1]
    assert (await _petition(h, pid)).agency_id == world.justice  # asked, not done
    await h.press(admin, OfficialReroute(id=pid, agency=world.land, confirm=True).pack())
    petition = await _petition(h, pid)
    assert (petition.agency_id, petition.status) == (world.land, PetitionStatus.RECEIVED)
    [entry] = [e for e in await _audit_for(h, pid) if e.action == "reroute"]
    assert entry.via == "telegram" and entry.details == {
        "from_agency_id": world.justice,
        "to_agency_id": world.land,
    }
    notices = [
        r for r in await _outbox(h, OutboxKind.PETITION_NEW) if r.payload["reason"] == "rerouted"
    ]
    assert [r.payload["official_id"] for r in notices] == [land_official.id]
    rendered = await _render(h, notices[0])
    assert rendered is not None and "chuyển đến" in rendered[0]

    # the old agency no longer sees it, and its earlier notices render nothing
    calls = await h.press(officer, op(PetitionOp.OPEN, pid))
    assert "Không có phản ánh" in texts_of(calls)[-1]
    first = [
        r for r in await _outbox(h, OutboxKind.PETITION_NEW) if r.payload["reason"] == "submitted"
    ]
    assert len(first) == 2  # the justice officer and admin
    assert [await _render(h, r) for r in first] == [None, None]


async def test_notices_are_rechecked_when_rendered(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    officer = Chat_(id=7800)
    official = await _enrolled(h, officer, world.justice, "officer")
    # a petition submitted after the enrolment notifies the official
    second = await _new_petition(h)
    rows = [
        r
        for r in await _outbox(h, OutboxKind.PETITION_NEW)
        if r.payload["petition_id"] == second.id
    ]
    assert [r.payload["official_id"] for r in rows] == [official.id]
    rendered = await _render(h, rows[0])
    assert rendered is not None
    text, keyboard = rendered
    assert second.tracking_code in text and "Hạn trả lời" in text
    assert keyboard.inline_keyboard[0][0].callback_data == op(PetitionOp.OPEN, second.id)
    # removed officials hear nothing more
    async with h.factory() as session:
        await OfficialRepository(session).deactivate(official.id)
        await session.commit()
    assert await _render(h, rows[0]) is None
    assert (await h.say(officer, "/petitions")) == [unknown_command(h)]
    # a citizen's message renders only for the petition's own chat, in its language
    async with h.factory() as session:
        admin = await _enrolled(h, Chat_(id=7801), world.justice, "admin")
        petition = await PetitionRepository(session).get(second.id)
        assert petition is not None and admin is not None
        petition = (
            await PetitionRepository(session).take(petition, admin, via="telegram")
        ).petition
        await session.commit()
    [row] = [
        u
        for u in await _outbox(h, OutboxKind.PETITION_UPDATE)
        if u.payload["petition_id"] == second.id
    ]
    rendered = await _render(h, row)
    assert rendered is not None and "is being handled by" in rendered[0]
    renderers = create_petition_renderers(h.dispatcher["i18n"])
    async with h.factory() as session:
        other_chat = _row(row, channel="telegram", chat_id=str(CITIZEN), language="vi")
        assert await renderers[row.kind](session, other_chat) is None


async def test_inbox_link_is_one_time_and_audited(harness: Harness) -> None:
    h = harness
    world = await _world(h)
    officer = Chat_(id=7900)
    official = await _enrolled(h, officer, world.justice, "officer")
    text = (await h.say(officer, "/hopthu"))[-1]
    url = parse_html(text).split()[-1]
    assert url.startswith(f"{BASE_URL}/inbox/login?token=")
    token = parse_qs(urlsplit(url).query)["token"][0]
    async with h.factory() as session:
        repo = InboxTokenRepository(session)
        signed_in = await repo.redeem_link(token)
        assert signed_in is not None and signed_in.id == official.id
        assert await repo.redeem_link(token) is None
        await session.commit()
    [entry] = await _audit(h, "login_link")
    assert entry.official_id == official.id and entry.via == "telegram"
    # in a group the command does not exist
    group = Chat_(id=7900, type="group")
    group_replies = await h.say(group, "/inbox")
    assert group_replies, "the group got no answer"
    assert "/inbox/login" not in " ".join(group_replies)


async def test_events_history_and_stale_steps(harness: Harness) -> None:
    """A step started on a petition another official has meanwhile answered is refused with the
    reason and the current card; nothing is recorded twice."""
    h = harness
    world = await _world(h)
    pid = world.petition.id
    first, second = Chat_(id=8000), Chat_(id=8001)
    await _enrolled(h, first, world.justice, "officer")
    await _enrolled(h, second, world.justice, "officer")
    await h.press(first, op(PetitionOp.ANSWER, pid))
    await h.say(first, "Câu trả lời thứ nhất của Sở Tư pháp.")
    await h.press(second, op(PetitionOp.REFUSE, pid))
    await h.say(second, "Không thuộc thẩm quyền.")
    await h.press(first, OfficialConfirm(op=ConfirmOp.SEND, id=pid).pack())
    calls = await h.press(second, OfficialConfirm(op=ConfirmOp.SEND, id=pid).pack())
    texts = texts_of(calls)
    assert "giai đoạn hiện tại" in texts[0] and "Đã trả lời" in texts[-1]
    petition = await _petition(h, pid)
    assert petition.status == PetitionStatus.ANSWERED and petition.refusal_reason is None
    async with h.factory() as session:
        events = await session.execute(
            select(PetitionEvent.action).where(PetitionEvent.petition_id == pid)
        )
        assert sorted(events.scalars()) == ["answered", "submitted"]


async def test_a_petition_rerouted_back_is_announced_again(harness: Harness) -> None:
    """Justice → land → justice: the justice officials hear about it again (the first notice,
    of the submission, must not swallow the one of the re-route back)."""
    h = harness
    world = await _world(h)
    justice_official = await _enrolled(h, Chat_(id=8100), world.justice, "officer")
    pid = (await _new_petition(h)).id
    async with h.factory() as session:
        repo, agencies = PetitionRepository(session), AgencyRepository(session)
        petition = await repo.get(pid)
        land, justice = await agencies.get(world.land), await agencies.get(world.justice)
        assert petition is not None and land is not None and justice is not None
        petition = (await repo.reroute(petition, None, land, via="cli")).petition
        petition = (await repo.reroute(petition, None, justice, via="cli")).petition
        await session.commit()
    notices = [
        r
        for r in await _outbox(h, OutboxKind.PETITION_NEW)
        if r.payload["official_id"] == justice_official.id
    ]
    assert [r.payload["reason"] for r in notices] == ["submitted", "rerouted"]
    rendered = await _render(h, notices[-1])
    assert rendered is not None and "chuyển đến" in rendered[0]


async def test_an_official_who_sent_a_petition_follows_it_as_a_citizen(harness: Harness) -> None:
    """An official is a citizen too: the tracking code of a petition they sent from this chat to
    another agency shows their own petition (as the thank-you promised), not "not your agency",
    and is not audited as a denied view."""
    h = harness
    world = await _world(h)
    chat = Chat_(id=8200)
    await _enrolled(h, chat, world.land, "officer")
    async with h.factory() as session:
        result = await PetitionRepository(session).submit(
            PetitionDraft(
                topic_kind="procedure",
                topic="Đăng ký khai sinh",
                procedure_code="1.001193",
                content="Thủ tục khai sinh yêu cầu giấy tờ đã bãi bỏ, đề nghị bỏ yêu cầu này.",
                sender_name="Trần Hà",
                phone=PHONE,
                address="Số 5 Hàng Bài, Hoàn Kiếm, Hà Nội",
                channel="telegram",
                chat_id=str(chat.id),
                language="vi",
            )
        )
        await session.commit()
        petition = result.petition
    assert petition.agency_id == world.justice
    replies = await h.say(chat, f"cho hỏi {petition.tracking_code}")
    assert "Không có phản ánh" not in replies[-1], replies
    assert "Đã tiếp nhận" in " ".join(replies) and "Sở Tư pháp" in " ".join(replies)
    assert await _audit(h, "view_denied") == []
    # another chat's code still gets the officials' "not found", audited
    replies = await h.say(chat, world.petition.tracking_code)
    assert "Không có phản ánh" in replies[-1]
    assert len(await _audit(h, "view_denied")) == 1
