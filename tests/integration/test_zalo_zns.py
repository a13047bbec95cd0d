"""Zalo pushes outside the reply window as ZNS template messages: the outbox worker, the Zalo
sender and the real dossier renderer against the stand-in Zalo server over loopback.

A dossier followed from a Zalo chat changes status; the push goes as an OA message inside the
window, as a ZNS message to the phone the citizen gave outside it (when the deployment has a
template for the kind), and is held for the citizen's next message otherwise — also when ZNS
refuses it. The ZNS ``tracking_id`` is the outbox row's, on every attempt."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo.api import ZaloApi
from bot.channels.zalo.session import ZaloBot
from bot.channels.zalo.window import WINDOW_CLOSED
from bot.factory import default_bot_properties
from bot.jobs.outbox import OutboxWorker
from bot.jobs.senders import ZALO_HOLD_RETRY, ZaloSender
from handlers.dossiers.notifications import create_dossier_renderers
from handlers.i18n import create_i18n
from knowledge.dossier import lookup_key
from knowledge.dossier_records import parse_record
from knowledge.outbox import OutboxKind
from storage.models import OutboxMessage, ZaloUser
from storage.outbox import release_held
from storage.repositories.dossiers import DossierRepository
from storage.repositories.zalo_users import ZaloUserRepository
from tests.tools.builders import birth_registration_index
from tests.tools.zalo_server import CurrentToken, FakeZalo

USER = "2468458835296117922"
CODE = "000.00.17.H12-260302-0042"
TEMPLATE = "231234"  # the deployment's approved template for dossier status pushes
PARAMS = {"receipt_code", "status", "date"}
MESSAGE_PATH = "/v3.0/oa/message/cs"
ZNS_PATH = "/message/template"
INDEX = birth_registration_index()

Factory = async_sessionmaker[AsyncSession]


@dataclass
class Env:
    fake: FakeZalo
    factory: Factory
    api: ZaloApi
    bot: ZaloBot
    chat: int
    status_at: datetime

    def worker(self, templates: Mapping[str, str] | None = None) -> OutboxWorker:
        sender = ZaloSender(
            self.bot,
            self.factory,
            zns_api=self.api,
            zns_templates={OutboxKind.DOSSIER_STATUS: TEMPLATE} if templates is None else templates,
        )
        return OutboxWorker(
            self.factory,
            {"zalo": sender},
            create_dossier_renderers(create_i18n("vi"), INDEX),
            global_rate=1000.0,
            per_chat_interval=0.0,
            idle_poll=0.05,
            backoff_base=0.2,
        )

    async def user(self, **values: object) -> None:
        async with self.factory() as session:
            await session.execute(update(ZaloUser).where(ZaloUser.id == self.chat).values(**values))
            await session.commit()

    async def close_window(self) -> None:
        await self.user(last_inbound_at=datetime.now(UTC) - timedelta(days=3))

    async def status_change(self, status: str = "9") -> None:
        """The dossier the chat follows reaches ``status`` (one status push queued)."""
        await _ingest(self.factory, status=status, status_at=self.status_at.isoformat())

    async def rows(self) -> list[OutboxMessage]:
        async with self.factory() as session:
            found = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            return list(found.all())

    async def row(self) -> OutboxMessage:
        [row] = await self.rows()
        return row

    async def writes_again(self) -> None:
        """The citizen writes: a new window, and the pushes held for it due now."""
        async with self.factory() as session:
            await ZaloUserRepository(session).inbound(USER)
            await release_held(session, "zalo", str(self.chat), WINDOW_CLOSED)
            await session.commit()


async def _ingest(factory: Factory, **fields: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    row = {
        "receipt_code": CODE,
        "procedure_code": "1.001193",
        "agency": "UBND phường Bến Nghé",
        "applicant_name": "Nguyễn Văn An",
        "applicant_phone": "0987654321",
        "channel": "1",
        "received_at": (now - timedelta(days=3)).isoformat(),
        "appointment_at": (now + timedelta(days=10)).isoformat(),
        "status": "4",
        "status_at": (now - timedelta(days=2)).isoformat(),
    }
    row.update(fields)
    async with factory() as session:
        await DossierRepository(session).upsert_many([parse_record(row)], source="test")
        await session.commit()


@pytest.fixture
async def env(session_factory: Factory) -> AsyncIterator[Env]:
    fake = FakeZalo()
    fake.templates = {TEMPLATE: PARAMS}
    await fake.start()
    await _ingest(session_factory)
    async with session_factory() as session:
        user = await ZaloUserRepository(session).inbound(USER, display_name="An")
        repo = DossierRepository(session)
        view = await repo.find(lookup_key(CODE))
        assert view is not None
        await repo.subscribe(view.id, "zalo", str(user.id), "vi")
        await session.commit()
    async with aiohttp.ClientSession() as http:
        api = ZaloApi(http, CurrentToken(fake), api_base=fake.base_url, business_base=fake.base_url)
        bot = ZaloBot(api, session_factory, default=default_bot_properties())
        status_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        yield Env(fake, session_factory, api, bot, user.id, status_at)
    await fake.stop()


# --- outside the window ----------------------------------------------------------------------


async def test_outside_the_window_a_status_push_goes_as_zns_to_the_given_phone(env: Env) -> None:
    await env.close_window()
    await env.user(phone="0912 345 678")  # as typed into the OA's "request user info" form
    await env.status_change("9")
    worker = env.worker()

    assert await worker.drain(timeout=3) == 1

    [zns] = env.fake.zns
    row = await env.row()
    vn_date = (env.status_at + timedelta(hours=7)).strftime("%d/%m/%Y")  # Asia/Ho_Chi_Minh
    assert zns["phone"] == "84912345678"
    assert zns["template_id"] == TEMPLATE
    assert zns["template_data"] == {
        "receipt_code": CODE,
        "status": "Đã xử lý xong",
        "date": vn_date,
    }
    assert all(len(value) <= 30 for value in zns["template_data"].values())
    assert zns["tracking_id"] == f"outbox-{row.id}"
    assert (row.kind, row.state) == (OutboxKind.DOSSIER_STATUS, "sent")
    assert row.last_error == f"zns {zns['msg_id']}"
    assert env.fake.messages(USER) == []  # no OA message outside the window
    assert [c.path for c in env.fake.calls()] == [ZNS_PATH]

    assert await worker.drain(timeout=0.3) == 0  # sent once, never again
    assert len(env.fake.calls(ZNS_PATH)) == 1


async def test_without_a_phone_the_push_is_held_for_the_next_message(env: Env) -> None:
    await env.close_window()
    await env.status_change("9")
    worker = env.worker()

    assert await worker.drain(timeout=0.5) == 0

    row = await env.row()
    assert (row.state, row.attempts) == ("pending", 0)
    assert row.last_error == f"deferred: {WINDOW_CLOSED}"
    assert row.available_at > datetime.now(UTC) + timedelta(seconds=ZALO_HOLD_RETRY - 60)
    assert env.fake.calls() == []  # neither ZNS nor an OA message

    await env.writes_again()
    assert await worker.drain(timeout=3) == 1
    [message] = env.fake.messages(USER)
    assert CODE in (message.text or "")
    assert env.fake.zns == []


async def test_without_a_template_for_the_kind_the_push_is_held(env: Env) -> None:
    await env.close_window()
    await env.user(phone="0912345678")
    await env.status_change("9")
    worker = env.worker({OutboxKind.PETITION_UPDATE: "231235"})  # none for status pushes

    assert await worker.drain(timeout=0.5) == 0

    row = await env.row()
    assert (row.state, row.last_error) == ("pending", f"deferred: {WINDOW_CLOSED}")
    assert env.fake.calls() == []


async def test_a_citizen_who_unfollowed_the_oa_gets_no_zns(env: Env) -> None:
    await env.close_window()
    await env.user(phone="0912345678", followed=False)
    await env.status_change("9")

    assert await env.worker().drain(timeout=0.5) == 0

    assert (await env.row()).state == "pending"
    assert env.fake.calls() == []


# --- inside the window -----------------------------------------------------------------------


async def test_inside_the_window_the_push_is_an_oa_message_not_zns(env: Env) -> None:
    await env.user(phone="0912345678")  # ZNS possible, but not needed
    await env.status_change("9")

    assert await env.worker().drain(timeout=3) == 1

    texts = env.fake.texts(USER)
    assert texts and CODE in texts[0] and "Đã xử lý xong" in texts[0]
    assert env.fake.zns == [] and env.fake.calls(ZNS_PATH) == []
    row = await env.row()
    assert (row.state, row.last_error) == ("sent", None)


async def test_zalo_saying_outside_the_window_sends_zns_instead(env: Env) -> None:
    await env.user(phone="84912345678")  # our clock thinks the window is open
    env.fake.fail_next(MESSAGE_PATH, code=-230)
    await env.status_change("9")

    assert await env.worker().drain(timeout=3) == 1

    assert [(c.path, c.error) for c in env.fake.calls()] == [(MESSAGE_PATH, -230), (ZNS_PATH, 0)]
    assert env.fake.messages(USER) == []
    [zns] = env.fake.zns
    row = await env.row()
    assert (zns["tracking_id"], row.state) == (f"outbox-{row.id}", "sent")


# --- ZNS refusals and failures ---------------------------------------------------------------


@pytest.mark.parametrize("refusal", ["bad phone", "bad template"])
async def test_a_zns_refusal_holds_the_push_and_it_is_not_lost(env: Env, refusal: str) -> None:
    await env.close_window()
    await env.user(phone="0912345678")
    await env.status_change("9")
    if refusal == "bad phone":
        env.fake.fail_next(ZNS_PATH, code=-108, message="Phone number invalid")
        worker, code = env.worker(), -108
    else:  # a template id Zalo does not know
        worker, code = env.worker({OutboxKind.DOSSIER_STATUS: "999999"}), -109

    assert await worker.drain(timeout=0.5) == 0

    assert [(c.path, c.error) for c in env.fake.calls()] == [(ZNS_PATH, code)]
    row = await env.row()
    assert (row.state, row.attempts) == ("pending", 0)
    assert row.last_error == f"deferred: {WINDOW_CLOSED}; ZNS refused (error {code})"
    assert row.available_at > datetime.now(UTC) + timedelta(seconds=ZALO_HOLD_RETRY - 60)

    await env.writes_again()  # held like any push outside the window: released by a message
    assert await worker.drain(timeout=3) == 1
    assert any(CODE in text for text in env.fake.texts(USER))
    assert env.fake.zns == []
    assert (await env.row()).state == "sent"


async def test_zalos_call_limit_pauses_without_counting_an_attempt(env: Env) -> None:
    await env.close_window()
    await env.user(phone="0912345678")
    await env.status_change("9")
    env.fake.fail_next(ZNS_PATH, code=-32)

    assert await env.worker().drain(timeout=0.5) == 0

    row = await env.row()
    assert (row.state, row.attempts) == ("pending", 0)
    assert row.available_at > datetime.now(UTC) + timedelta(seconds=50)  # Zalo's minute
    assert "RetryAfter" in (row.last_error or "")
    assert env.fake.zns == []


async def test_a_retry_after_no_answer_keeps_the_rows_tracking_id(env: Env) -> None:
    await env.close_window()
    await env.user(phone="0912345678")
    await env.status_change("9")
    env.fake.fail_next_http(ZNS_PATH, status=500)  # surely not sent: retried after a backoff

    assert await env.worker().drain(timeout=5) == 1

    first, second = env.fake.calls(ZNS_PATH)
    row = await env.row()
    assert (first.status, second.status) == (500, 200)
    assert first.json["tracking_id"] == second.json["tracking_id"] == f"outbox-{row.id}"
    assert len(env.fake.zns) == 1
    assert (row.state, row.attempts) == ("sent", 1)


async def test_a_zns_that_may_have_gone_is_uncertain_and_keeps_its_tracking_id(env: Env) -> None:
    await env.close_window()
    await env.user(phone="0912345678")
    await env.status_change("9")
    env.fake.drop_next(ZNS_PATH)  # Zalo may have sent it: the worker does not send it again
    worker = env.worker()

    assert await worker.drain(timeout=1) == 0
    assert await worker.drain(timeout=0.3) == 0

    [dropped] = env.fake.calls(ZNS_PATH)
    row = await env.row()
    assert dropped.status == 0 and row.state == "uncertain"
    assert "may have gone" in (row.last_error or "")

    # an operator, having checked Zalo's delivery report, sends it again: the same tracking id
    async with env.factory() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(state="pending", available_at=datetime.now(UTC))
        )
        await session.commit()
    assert await worker.drain(timeout=3) == 1
    [again] = env.fake.zns
    assert again["tracking_id"] == dropped.json["tracking_id"] == f"outbox-{row.id}"
