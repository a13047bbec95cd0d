"""The officials' side of the chat: enrolment, invitations, their agency's petitions, actions.

Who is an official is read from the database on every update (``OfficialRepository.by_chat``):
a removed official loses access at once. For everyone else these commands and buttons do not
exist: the handlers raise ``SkipHandler`` and the update goes on to the citizen's dialogs (an
unknown command, a search), so nothing here tells a citizen that an officials' side exists
beyond the documented enrolment command.

Access rules, checked on every button (buttons carry only a petition id):
- an official sees and acts on the petitions of their own agency only; any other id answers
  "not found / not your agency" and is audited as ``view_denied``;
- every card shown is audited (``PetitionRepository.record_view``), every action goes through
  the repository (which checks the agency and the status again and audits it);
- typed texts (question, answer, refusal reason) are previewed and confirmed; the confirm
  button works only with the text kept in this chat's conversation state;
- enrolment, invitations and sign-in links only in private chats; wrong, used and expired codes
  get one answer, and 5 failures per chat per hour lock the chat (counted in the audit log, so
  the limit holds across processes and restarts).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.dossier import locked_until
from knowledge.petition_workflow import (
    OPEN_STATUSES,
    OfficialRole,
    PetitionError,
    PetitionStatus,
    can_see_personal_data,
    public_names,
)
from knowledge.petitions import parse_tracking_code, redact_personal_data
from storage.models import Official, Petition
from storage.repositories.agencies import AgencyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.inbox_tokens import LINK_TTL, InboxTokenRepository
from storage.repositories.officials import OfficialRepository, normalize_invitation_code
from storage.repositories.petitions import PetitionRepository

from . import official_render as render
from .contracts import DialogSettings
from .formatting import format_number
from .i18n import channel_of
from .markup import quote
from .official_callbacks import (
    ConfirmOp,
    ListFilter,
    OfficialConfirm,
    OfficialList,
    OfficialPetition,
    OfficialReroute,
    PetitionOp,
)
from .petition_notifications import enqueue_answer_parts

logger = logging.getLogger(__name__)

MAX_DB_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
INVITATION_CODE_LENGTH = 12  # letters and digits after "MOI" (storage.petitions)
ENROL_MAX_FAILURES = 5
ENROL_WINDOW = timedelta(hours=1)
MAX_REROUTE_CHOICES = 90  # buttons (Telegram allows 100 per keyboard)

FSM_OP = "off_op"
FSM_PETITION = "off_pid"
FSM_TEXT = "off_text"

_TRACKING_HINT_RE = re.compile(r"pakn", re.IGNORECASE)
_INVISIBLE_RE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_ROLE_WORDS = {
    "officer": OfficialRole.OFFICER,
    "canbo": OfficialRole.OFFICER,
    "cán bộ": OfficialRole.OFFICER,
    "can bo": OfficialRole.OFFICER,
    "admin": OfficialRole.ADMIN,
    "quantri": OfficialRole.ADMIN,
    "quản trị": OfficialRole.ADMIN,
    "quan tri": OfficialRole.ADMIN,
}
_TYPED_OPS = (PetitionOp.ASK, PetitionOp.ANSWER, PetitionOp.REFUSE)


class OfficialText(StatesGroup):
    text = State()  # typing a question, an answer or a refusal reason
    confirm = State()  # the preview is shown: Send / Rewrite / Cancel


class OfficialEnrol(StatesGroup):
    code = State()  # /official without a code: waiting for it


def now_utc() -> datetime:
    return datetime.now(UTC)


def clean_typed_text(raw: str | None) -> str:
    """An official's typed text as it will be stored and sent: NFC, no invisible or control
    characters, line breaks kept (at most one blank line in a row), outer space trimmed."""
    text = unicodedata.normalize("NFC", raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", _INVISIBLE_RE.sub("", text))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


def _chat_id(event: Message | CallbackQuery) -> str:
    if isinstance(event, Message):
        return str(event.chat.id)
    if isinstance(event.message, Message):
        return str(event.message.chat.id)
    return str(event.from_user.id)


def _is_private(event: Message | CallbackQuery) -> bool:
    if isinstance(event, Message):
        return event.chat.type == "private"
    if isinstance(event.message, Message):
        return event.message.chat.type == "private"
    return True  # an inaccessible message: the bot answers in the private chat


async def current_official(
    session: AsyncSession, bot: Bot, event: Message | CallbackQuery
) -> Official | None:
    """The active official behind this chat (private chats only), else None."""
    if not _is_private(event):
        return None
    return await OfficialRepository(session).by_chat(channel_of(bot), _chat_id(event))


async def _official_or_skip(
    session: AsyncSession, bot: Bot, event: Message | CallbackQuery
) -> Official:
    official = await current_official(session, bot, event)
    if official is None:
        raise SkipHandler()  # a citizen: the citizen's dialogs take it
    return official


def _wake(outbox: Any) -> None:
    if outbox is not None:
        outbox.wake()


async def _send(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    if isinstance(event, Message):
        await event.answer(text, reply_markup=markup)
    elif isinstance(event.message, Message):
        await event.message.answer(text, reply_markup=markup)
    elif event.bot is not None:
        await event.bot.send_message(event.from_user.id, text, reply_markup=markup)


async def _edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit the message of the pressed button in place (or send when it is gone)."""
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_text(text, reply_markup=markup)
            return
        except TelegramAPIError as error:
            if "message is not modified" in str(error):
                return
            logger.debug("Could not edit the message; sending a new one", exc_info=True)
    await _send(callback, text, markup)


async def _own_petition(
    session: AsyncSession, official: Official, petition_id: int, via: str
) -> Petition | None:
    """The petition if it is of the official's agency; otherwise None (audited)."""
    if not 0 < petition_id <= MAX_DB_ID:  # forged button data: the column is 32-bit
        return None
    petition = await PetitionRepository(session).get(petition_id)
    if petition is None:
        return None
    if petition.agency_id != official.agency_id:
        await AuditRepository(session).record(
            "view_denied", official=official, petition_id=petition.id, via=via
        )
        await session.commit()
        return None
    return petition


async def _card_data(
    session: AsyncSession, official: Official, petition: Petition
) -> render.CardData:
    repo = PetitionRepository(session)
    events = await repo.events(petition.id)
    attachments = await repo.attachments(petition.id)
    agency = await AgencyRepository(session).get(petition.agency_id)
    assert agency is not None  # a foreign key
    names = await OfficialRepository(session).official_names(
        [e.official_id for e in events if e.official_id] + [petition.assigned_to or 0]
    )
    return render.CardData(
        petition=petition,
        agency=agency,
        events=events,
        attachments=attachments,
        names=names,
        personal=can_see_personal_data(official, petition),
    )


async def show_card(
    event: Message | CallbackQuery,
    session: AsyncSession,
    official: Official,
    petition: Petition,
    via: str,
    *,
    edit: bool = False,
) -> None:
    """Show the petition's card (audited as a view) with the actions the official has now."""
    data = await _card_data(session, official, petition)
    await PetitionRepository(session).record_view(petition, official, via=via)
    await session.commit()
    text = render.render_card(data, now_utc())
    markup = render.card_keyboard(
        petition,
        official,
        attachments=len(data.attachments),
        full_text=render.needs_full_text(data),
    )
    if edit and isinstance(event, CallbackQuery):
        await _edit(event, text, markup)
    else:
        await _send(event, text, markup)


async def show_list(
    event: Message | CallbackQuery,
    session: AsyncSession,
    official: Official,
    kind: ListFilter,
    page: int,
    *,
    edit: bool = False,
) -> None:
    agency = await AgencyRepository(session).get(official.agency_id)
    assert agency is not None
    page = max(0, min(page, 10_000))
    rows = await PetitionRepository(session).list_for_agency(
        official.agency_id,
        statuses=render.FILTER_STATUSES[kind],
        limit=render.PAGE_SIZE + 1,
        offset=page * render.PAGE_SIZE,
    )
    has_next = len(rows) > render.PAGE_SIZE
    petitions = rows[: render.PAGE_SIZE]
    now = now_utc()
    text = render.render_list(agency, petitions, kind, page, now)
    markup = render.list_keyboard(petitions, kind, page, has_next, now)
    if edit and isinstance(event, CallbackQuery):
        await _edit(event, text, markup)
    else:
        await _send(event, text, markup)


def _mentions_pakn(message: Message) -> bool:
    """Cheap pre-filter: only texts naming "PAKN" can hold a tracking code."""
    return bool(message.text and _TRACKING_HINT_RE.search(message.text))


def _role_of(text: str) -> str | None:
    return _ROLE_WORDS.get(" ".join(text.lower().split()))


# --- the router --------------------------------------------------------------------------------


def create_router() -> Router:
    router = Router(name="officials")

    # -- enrolment ----------------------------------------------------------------------------

    async def _enrol(
        message: Message, state: FSMContext, session: AsyncSession, bot: Bot, i18n: I18n,
        code: str,
    ) -> None:
        channel = channel_of(bot)
        chat_id = str(message.chat.id)
        now = now_utc()
        failures = await OfficialRepository(session).enroll_failures(channel, chat_id, now - ENROL_WINDOW)
        locked = locked_until(failures, ENROL_MAX_FAILURES, ENROL_WINDOW)
        if locked is not None:
            await state.set_state(None)
            await message.answer(render.enrol_locked_text(locked))
            return
        user = message.from_user
        try:
            official = await OfficialRepository(session).enroll(
                code,
                channel=channel,
                chat_id=chat_id,
                display_name=user.full_name if user else "",
                language=i18n.current_locale,
            )
        except PetitionError:
            await session.rollback()
            await OfficialRepository(session).record_enroll_failure(channel, chat_id)
            await session.commit()
            logger.warning("Official enrolment failed: channel=%s chat=%s", channel, chat_id)
            failures.append(now)
            locked = locked_until(failures, ENROL_MAX_FAILURES, ENROL_WINDOW)
            await message.answer(
                render.enrol_locked_text(locked) if locked else render.enrol_failed_text()
            )
            if locked:
                await state.set_state(None)
            return
        await session.commit()
        await state.set_state(None)
        agency = await AgencyRepository(session).get(official.agency_id)
        assert agency is not None
        logger.info("Official #%d enrolled (agency %s, %s)", official.id, agency.code, official.role)
        await message.answer(render.enrolled_text(official, agency))

    @router.message(Command("official", "canbo"))
    async def official_command(
        message: Message,
        command: CommandObject,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        i18n: I18n,
    ) -> None:
        if message.chat.type != "private":
            await message.answer(render.private_only_text())
            return
        code = (command.args or "").strip()
        if code:
            await _enrol(message, state, session, bot, i18n, code[:100])
            return
        official = await current_official(session, bot, message)
        if official is not None:
            agency = await AgencyRepository(session).get(official.agency_id)
            assert agency is not None
            await message.answer(render.official_status_text(official, agency))
            return
        await state.set_state(OfficialEnrol.code)
        await message.answer(render.enrol_prompt())

    @router.message(StateFilter(OfficialEnrol, OfficialText), Command("cancel", "huy"))
    async def cancel_command(message: Message, state: FSMContext) -> None:
        await state.set_state(None)
        await state.update_data({FSM_OP: None, FSM_PETITION: None, FSM_TEXT: None})
        await message.answer(render.cancelled_text())

    @router.message(OfficialEnrol.code, F.text, ~F.text.startswith("/"))
    async def enrol_code(
        message: Message, state: FSMContext, session: AsyncSession, bot: Bot, i18n: I18n
    ) -> None:
        text = (message.text or "").strip()
        if message.chat.type != "private":
            raise SkipHandler()
        if len(normalize_invitation_code(text[:100])) != INVITATION_CODE_LENGTH:
            # Not a code at all (a question typed instead): the prompt is dropped, the text is
            # answered as usual and no failed attempt is counted.
            await state.set_state(None)
            raise SkipHandler()
        await _enrol(message, state, session, bot, i18n, text[:100])

    @router.message(OfficialEnrol.code, ~F.text)
    async def enrol_not_text(message: Message) -> None:
        await message.answer(render.enrol_prompt())

    # -- invitations and sign-in links --------------------------------------------------------

    @router.message(Command("invite", "moi"))
    async def invite_command(
        message: Message, command: CommandObject, session: AsyncSession, bot: Bot
    ) -> None:
        official = await _official_or_skip(session, bot, message)
        if official.role != OfficialRole.ADMIN:
            await message.answer(render.error_text("admins_only"))
            return
        role = _role_of(command.args or "")
        if role is None:
            await message.answer(render.invite_usage_text())
            return
        code, invitation = await OfficialRepository(session).create_invitation(
            official.agency_id, role, created_by=official, via=channel_of(bot)
        )
        await session.commit()
        agency = await AgencyRepository(session).get(official.agency_id)
        assert agency is not None
        await message.answer(render.invitation_text(code, role, agency, invitation.expires_at))

    @router.message(Command("inbox", "hopthu"))
    async def inbox_command(
        message: Message, session: AsyncSession, bot: Bot, settings: DialogSettings
    ) -> None:
        official = await _official_or_skip(session, bot, message)
        token = await InboxTokenRepository(session).issue(official, kind="link", ttl=LINK_TTL)
        await AuditRepository(session).record(
            "login_link", official=official, via=channel_of(bot)
        )
        await session.commit()
        url = f"{settings.base_url}/inbox/login?token={token}"
        await message.answer(render.inbox_link_text(url, int(LINK_TTL.total_seconds() // 60)))

    # -- lists and cards ----------------------------------------------------------------------

    @router.message(Command("petitions", "dspakn"))
    async def petitions_command(
        message: Message, state: FSMContext, session: AsyncSession, bot: Bot
    ) -> None:
        official = await _official_or_skip(session, bot, message)
        if await state.get_state() in (OfficialText.text.state, OfficialText.confirm.state):
            await state.set_state(None)
        await show_list(message, session, official, ListFilter.OPEN, 0)

    @router.callback_query(OfficialList.filter())
    async def list_page(
        callback: CallbackQuery, callback_data: OfficialList, session: AsyncSession, bot: Bot
    ) -> None:
        official = await _official_or_skip(session, bot, callback)
        await callback.answer()
        await show_list(
            callback, session, official, callback_data.kind, callback_data.page, edit=True
        )

    @router.message(StateFilter(None), F.text, ~F.text.startswith("/"), _mentions_pakn)
    async def tracking_code(message: Message, session: AsyncSession, bot: Bot) -> None:
        parsed = parse_tracking_code(message.text)
        if parsed is None:
            raise SkipHandler()
        official = await _official_or_skip(session, bot, message)
        petition = await PetitionRepository(session).by_code(message.text or "")
        via = channel_of(bot)
        if (
            petition is not None
            and petition.agency_id != official.agency_id
            and (petition.channel, petition.chat_id) == (via, _chat_id(message))
        ):
            raise SkipHandler()  # sent from this chat as a citizen: the citizen's view shows it
        if petition is not None:
            petition = await _own_petition(session, official, petition.id, via)
        if petition is None:
            await message.answer(render.error_text("not_found"))
            return
        await show_card(message, session, official, petition, via)

    @router.callback_query(OfficialPetition.filter())
    async def petition_button(
        callback: CallbackQuery,
        callback_data: OfficialPetition,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        outbox: Any = None,
    ) -> None:
        official = await _official_or_skip(session, bot, callback)
        via = channel_of(bot)
        petition = await _own_petition(session, official, callback_data.id, via)
        if petition is None:
            await callback.answer()
            await _send(callback, render.error_text("not_found"))
            return
        op = callback_data.op
        if op in (PetitionOp.OPEN, PetitionOp.REFRESH):
            await callback.answer()
            await show_card(callback, session, official, petition, via, edit=op is PetitionOp.REFRESH)
        elif op is PetitionOp.FILES:
            await callback.answer()
            await _send_attachments(callback, session, official, petition, bot, via)
        elif op is PetitionOp.TEXT:
            await callback.answer()
            data = await _card_data(session, official, petition)
            await PetitionRepository(session).record_view(
                petition, official, via=via, details={"full_text": True}
            )
            await session.commit()
            for part in render.render_full_text(data):
                await _send(callback, part)
        elif op is PetitionOp.TAKE:
            await _act(callback, session, official, petition, op, via, outbox)
        elif op in _TYPED_OPS:
            allowed = (PetitionStatus.RECEIVED, PetitionStatus.IN_PROGRESS) if op is PetitionOp.ASK else OPEN_STATUSES
            await callback.answer()
            if petition.status not in allowed:
                await _send(callback, render.error_text("wrong_status"))
                await show_card(callback, session, official, petition, via)
                return
            await state.set_state(OfficialText.text)
            await state.update_data({FSM_OP: op.value, FSM_PETITION: petition.id, FSM_TEXT: None})
            await _send(
                callback,
                render.text_prompt(op, petition.tracking_code),
                render.cancel_keyboard(petition.id),
            )
        elif op is PetitionOp.PUBLISH:
            await callback.answer()
            if petition.status != PetitionStatus.ANSWERED:
                await _send(callback, render.error_text("wrong_status"))
                await show_card(callback, session, official, petition, via)
                return
            names = public_names(petition)  # the same strings publish() masks
            preview = render.publish_preview(
                petition,
                redact_personal_data(petition.content, names=names),
                redact_personal_data(petition.answer or "", names=names),
            )
            await _send(callback, preview, render.publish_keyboard(petition.id))
        elif op is PetitionOp.REROUTE:
            await callback.answer()
            if official.role != OfficialRole.ADMIN:
                await _send(callback, render.error_text("admins_only"))
                return
            if petition.status not in OPEN_STATUSES:
                await _send(callback, render.error_text("wrong_status"))
                await show_card(callback, session, official, petition, via)
                return
            agencies = [
                a for a in await AgencyRepository(session).list() if a.id != petition.agency_id
            ][:MAX_REROUTE_CHOICES]
            if not agencies:
                await _send(callback, render.error_text("no_other_agency"))
                return
            await _send(
                callback,
                render.reroute_prompt(petition.tracking_code),
                render.reroute_keyboard(petition.id, agencies),
            )

    # -- typed texts: question, answer, refusal -----------------------------------------------

    @router.message(StateFilter(OfficialText), F.text, ~F.text.startswith("/"))
    async def typed_text(
        message: Message, state: FSMContext, session: AsyncSession, bot: Bot
    ) -> None:
        official = await _official_or_skip(session, bot, message)
        data = await state.get_data()
        try:
            op = PetitionOp(data.get(FSM_OP))
            petition_id = int(data.get(FSM_PETITION) or 0)
        except (TypeError, ValueError):
            await state.set_state(None)
            await message.answer(render.error_text("expired"))
            return
        petition = await _own_petition(session, official, petition_id, channel_of(bot))
        if petition is None or op not in _TYPED_OPS:
            await state.set_state(None)
            await message.answer(render.error_text("not_found"))
            return
        text = clean_typed_text(message.text)
        if not text:
            await message.answer(render.error_text("empty_text"))
            return
        if len(text) > render.TEXT_MAX_CHARS:
            await message.answer(
                render.error_text("too_long").format(
                    count=format_number(len(text)), limit=format_number(render.TEXT_MAX_CHARS)
                )
            )
            return
        await state.set_state(OfficialText.confirm)
        await state.update_data({FSM_TEXT: text})
        await message.answer(
            render.text_preview(op, petition.tracking_code, text),
            reply_markup=render.confirm_keyboard(petition.id),
        )

    @router.message(StateFilter(OfficialText), ~F.text)
    async def typed_not_text(message: Message, session: AsyncSession, bot: Bot) -> None:
        await _official_or_skip(session, bot, message)
        await message.answer(render.error_text("not_text"))

    @router.callback_query(OfficialConfirm.filter())
    async def confirm_button(
        callback: CallbackQuery,
        callback_data: OfficialConfirm,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        outbox: Any = None,
    ) -> None:
        official = await _official_or_skip(session, bot, callback)
        via = channel_of(bot)
        data = await state.get_data()
        mine = data.get(FSM_PETITION) == callback_data.id
        if callback_data.op is ConfirmOp.CANCEL:
            await callback.answer()
            if mine:
                await state.set_state(None)
                await state.update_data({FSM_OP: None, FSM_PETITION: None, FSM_TEXT: None})
            await _edit(callback, render.cancelled_text(), None)
            return
        petition = await _own_petition(session, official, callback_data.id, via)
        if petition is None:
            await callback.answer()
            await _send(callback, render.error_text("not_found"))
            return
        if callback_data.op is ConfirmOp.PUBLISH:
            await _act(callback, session, official, petition, PetitionOp.PUBLISH, via, outbox)
            return
        try:
            op = PetitionOp(data.get(FSM_OP))
        except ValueError:
            op = None
        if not mine or op not in _TYPED_OPS:
            await callback.answer()
            await _edit(callback, render.error_text("expired"), None)
            return
        if callback_data.op is ConfirmOp.EDIT:
            await callback.answer()
            await state.set_state(OfficialText.text)
            await _send(
                callback,
                render.text_prompt(op, petition.tracking_code),
                render.cancel_keyboard(petition.id),
            )
            return
        text = str(data.get(FSM_TEXT) or "")
        if await state.get_state() != OfficialText.confirm.state or not text:
            await callback.answer()
            await _edit(callback, render.error_text("expired"), None)
            return
        done = await _act(callback, session, official, petition, op, via, outbox, text=text)
        if done:
            await state.set_state(None)
            await state.update_data({FSM_OP: None, FSM_PETITION: None, FSM_TEXT: None})

    @router.callback_query(OfficialReroute.filter())
    async def reroute_button(
        callback: CallbackQuery,
        callback_data: OfficialReroute,
        session: AsyncSession,
        bot: Bot,
        outbox: Any = None,
    ) -> None:
        official = await _official_or_skip(session, bot, callback)
        via = channel_of(bot)
        petition = await _own_petition(session, official, callback_data.id, via)
        await callback.answer()
        if petition is None:
            await _send(callback, render.error_text("not_found"))
            return
        if official.role != OfficialRole.ADMIN:
            await _send(callback, render.error_text("admins_only"))
            return
        agency = (
            await AgencyRepository(session).get(callback_data.agency)
            if 0 < callback_data.agency <= MAX_DB_ID
            else None
        )
        if agency is None:
            await _send(callback, render.error_text("not_found"))
            return
        if not callback_data.confirm:
            await _edit(
                callback,
                render.reroute_confirm(petition.tracking_code, agency),
                render.reroute_confirm_keyboard(petition.id, agency.id),
            )
            return
        try:
            await PetitionRepository(session).reroute(petition, official, agency, via=via)
        except PetitionError as error:
            await session.rollback()
            await _send(callback, render.error_text(error.code))
            return
        await session.commit()
        _wake(outbox)
        logger.info("Petition #%d re-routed by official #%d", petition.id, official.id)
        await _edit(callback, render.done_text(PetitionOp.REROUTE, petition.tracking_code, agency.name), None)

    return router


async def _act(
    callback: CallbackQuery,
    session: AsyncSession,
    official: Official,
    petition: Petition,
    op: PetitionOp,
    via: str,
    outbox: Any,
    *,
    text: str | None = None,
) -> bool:
    """Carry out ``op`` through the repository, commit, wake the outbox, show the result and
    the fresh card; a refused change shows why and the current card. True when done."""
    repo = PetitionRepository(session)
    petition_id, official_id = petition.id, official.id  # a rollback expires the objects
    try:
        if op is PetitionOp.TAKE:
            await repo.take(petition, official, via=via)
        elif op is PetitionOp.ASK:
            await repo.request_info(petition, official, text or "", via=via)
        elif op is PetitionOp.ANSWER:
            event = await repo.answer(petition, official, text or "", via=via)
            await enqueue_answer_parts(session, petition, event)
        elif op is PetitionOp.REFUSE:
            await repo.refuse(petition, official, text or "", via=via)
        elif op is PetitionOp.PUBLISH:
            await repo.publish(petition, official, via=via)
        else:
            raise ValueError(op)
    except PetitionError as error:
        await session.rollback()
        await callback.answer()
        await _send(callback, render.error_text(error.code))
        fresh = await PetitionRepository(session).get(petition_id)
        again = await OfficialRepository(session).get(official_id)
        if fresh is not None and again is not None and fresh.agency_id == again.agency_id:
            await show_card(callback, session, again, fresh, via)
        return False
    await session.commit()
    _wake(outbox)
    logger.info("Petition #%d: %s by official #%d", petition.id, op.name.lower(), official.id)
    await callback.answer()
    if op is PetitionOp.TAKE:
        await _send(callback, render.done_text(op, petition.tracking_code))
        await show_card(callback, session, official, petition, via, edit=True)
    else:
        await _edit(callback, render.done_text(op, petition.tracking_code), None)
        await show_card(callback, session, official, petition, via)
    return True


async def _send_attachments(
    callback: CallbackQuery,
    session: AsyncSession,
    official: Official,
    petition: Petition,
    bot: Bot,
    via: str,
) -> None:
    """Re-send the petition's photos and documents by their Telegram file ids (the bytes stay
    with Telegram); a link is sent as text. Audited as a view of the attachments."""
    attachments = await PetitionRepository(session).attachments(petition.id)
    await PetitionRepository(session).record_view(
        petition, official, via=via, details={"attachments": len(attachments)}
    )
    await session.commit()
    chat_id = _chat_id(callback)
    failed = 0
    for attachment in attachments:
        caption = f"{petition.tracking_code} · {attachment.file_name or attachment.kind}"[:1000]
        try:
            if attachment.kind == "photo":
                await bot.send_photo(chat_id, attachment.file_id, caption=quote(caption))
            elif attachment.kind == "document":
                await bot.send_document(chat_id, attachment.file_id, caption=quote(caption))
            else:
                await bot.send_message(chat_id, quote(f"{caption}\n{attachment.file_id}"))
        except TelegramAPIError:
            logger.warning(
                "Petition #%d: attachment #%d could not be re-sent", petition.id, attachment.id
            )
            failed += 1
    if failed:
        await _send(callback, render.attachments_failed_text(failed))
