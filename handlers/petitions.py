"""The citizen's side of petitions (phản ánh, kiến nghị): the form, following my petitions,
answering an agency's request for information, and reading the published answers.

How the form stays correct:
- Its state and fields live in the conversation state, which the FSM storage keeps in the
  database, so a half-filled form survives a restart; each form has a random id.
- Submitting uses the idempotency key ``<channel>:<chat id>:<form id>``: a double tap, a retried
  callback or a re-delivered update finds the same petition (never a second one) and shows the
  same tracking code. The petition (with its outbox messages to the officials) is committed
  before the outbox is woken, the form cleared and the citizen thanked.
- Complaints, denunciations and legal-advice requests are recognised in the content
  (``knowledge.petitions.classify_request``) and redirected, never stored.
- Per-chat limits (``settings.petitions_per_hour`` / ``petitions_per_day``) are checked when a
  form starts and again at submission.
- Petitions hold personal data: the form runs in private chats only, and a petition's details
  are shown only in the chat that sent it (anyone else gets the same "not found").

Channels: on Telegram a citizen can attach photos and documents and share their own contact;
the web chat has neither, so the attachments step is left out there and the phone is typed.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.dossier import national_phone
from knowledge.normalize import clean_text, loose_equal
from knowledge.petition_workflow import PetitionAction, PetitionError, PetitionStatus
from knowledge.petitions import (
    CONTENT_MAX_CHARS,
    classify_request,
    is_valid_email,
    is_valid_phone,
    parse_tracking_code,
    redact_personal_data,
    validate_address,
    validate_content,
    validate_name,
    validate_petition,
)
from knowledge.search import SearchIndex
from storage.models import Petition, utcnow
from storage.repositories.agencies import AgencyRepository
from storage.repositories.citizen_petitions import CitizenPetitionRepository
from storage.repositories.petitions import AttachmentDraft, PetitionDraft, PetitionRepository

from . import petition_render as pr
from .contracts import DialogSettings
from .i18n import channel_of
from .petition_callbacks import (
    FormAction,
    FormOp,
    PetitionMenu,
    PetitionMenuAction,
    PetitionReply,
    PetitionTopic,
    PetitionView,
    PublicList,
    PublicOpen,
    ReplyAction,
    ReplyOp,
)
from .search import RESULT_LIMIT
from .userinput import QueryKind, clean_query

logger = logging.getLogger(__name__)

FSM_FORM = "petition_form"
FSM_LAST = "petition_last"  # {"form": id, "petition_id": n}: the form submitted last
FSM_REPLY = "petition_reply"  # {"petition_id": n, "files": [...]}: a reply being written
MY_PETITIONS_SHOWN = 10
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]+(@\w+)?(\s|$)")


class PetitionStates(StatesGroup):
    topic = State()
    content = State()
    files = State()
    name = State()
    contact = State()
    address = State()
    review = State()
    reply = State()  # writing the answer to a request for more information


STATE_OF: dict[str, State] = {
    pr.TOPIC: PetitionStates.topic,
    pr.CONTENT: PetitionStates.content,
    pr.FILES: PetitionStates.files,
    pr.NAME: PetitionStates.name,
    pr.CONTACT: PetitionStates.contact,
    pr.ADDRESS: PetitionStates.address,
    pr.REVIEW: PetitionStates.review,
}
FORM_STATES = tuple(STATE_OF.values())
MY_STATES = frozenset(st.state for st in (*FORM_STATES, PetitionStates.reply))

Target = Message | CallbackQuery


# --- small helpers -------------------------------------------------------------------------------


def new_form_id() -> str:
    return secrets.token_hex(5)


def idempotency_key(channel: str, chat_id: str, form_id: str) -> str:
    return f"{channel}:{chat_id}:{form_id}"


def _not_command(message: Message) -> bool:
    return not _COMMAND_RE.match(message.text or "")


def _chat_of(target: Target) -> tuple[str, str]:
    """(chat id, chat type) of the chat a message or a button press comes from."""
    message = target.message if isinstance(target, CallbackQuery) else target
    if isinstance(message, Message):
        return str(message.chat.id), message.chat.type
    return str(target.from_user.id), "private"  # an inaccessible message: the user's own chat


async def _say(target: Target, text: str, markup: Any = None) -> None:
    if isinstance(target, CallbackQuery):
        if isinstance(target.message, Message):
            await target.message.answer(text, reply_markup=markup)
        elif target.bot is not None:
            await target.bot.send_message(target.from_user.id, text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


async def _say_all(target: Target, texts: list[str], markup: Any = None) -> None:
    """Several messages; the keyboard goes on the last one."""
    for i, text in enumerate(texts):
        await _say(target, text, markup if i == len(texts) - 1 else None)


async def _load_form(state: FSMContext) -> pr.FormData | None:
    return pr.FormData.from_dict((await state.get_data()).get(FSM_FORM))


async def _save_form(state: FSMContext, form: pr.FormData) -> None:
    await state.update_data({FSM_FORM: form.to_dict()})


async def _drop(state: FSMContext, *keys: str, extra: dict[str, Any] | None = None) -> None:
    data = await state.get_data()
    for key in keys:
        data.pop(key, None)
    data.update(extra or {})
    await state.set_data(data)


def _wake(outbox: Any) -> None:
    wake = getattr(outbox, "wake", None)
    if callable(wake):
        wake()


def _locale(i18n: I18n | None) -> str | None:
    return i18n.current_locale if i18n is not None else None


async def _limit_until(
    session: AsyncSession, settings: DialogSettings, channel: str, chat_id: str
) -> datetime | None:
    """When this chat may send its next petition (None: now), by the per-hour and per-day
    limits, counted on the petitions stored for the chat."""
    now = utcnow()
    repo = PetitionRepository(session)
    last_hour = await repo.count_since(channel, chat_id, now - timedelta(hours=1))
    last_day = await repo.count_since(channel, chat_id, now - timedelta(days=1))
    if last_hour < settings.petitions_per_hour and last_day < settings.petitions_per_day:
        return None
    times = await CitizenPetitionRepository(session).received_times(channel, chat_id, now - timedelta(days=1))
    return pr.next_allowed_at(
        times, now, settings.petitions_per_hour, settings.petitions_per_day
    ) or now + timedelta(minutes=1)


async def _leave_contact_step(target: Target, state: FSMContext, channel: str, text: str) -> bool:
    """On Telegram the phone step shows a reply keyboard; take it away when leaving the step.
    Returns True when a message (``text``) was sent to do so."""
    if channel != "telegram" or await state.get_state() != PetitionStates.contact.state:
        return False
    await _say(target, text, ReplyKeyboardRemove())
    return True


# --- the menu and the entry points ---------------------------------------------------------------


async def leave_for_now(target: Target, state: FSMContext, bot: Bot) -> None:
    """Leave the form or a reply being written, keeping what was filled in (the petitions menu
    offers "Continue"), so that the next text is read as a question, not as a field."""
    if await state.get_state() in MY_STATES:
        await _leave_contact_step(target, state, channel_of(bot), "👌")
        await state.set_state(None)


async def show_menu(target: Target, state: FSMContext, bot: Bot) -> None:
    """The petitions submenu (menu button, /phananh, a message asking to send feedback)."""
    _chat_id, chat_type = _chat_of(target)
    if chat_type != "private":
        await _say(target, pr.private_only_text())
        return
    channel = channel_of(bot)
    form = await _load_form(state)
    resume_step = None
    steps = pr.steps_for(channel)
    if form is not None:
        resume_step = steps.index(form.next_missing(channel)) + 1
    # Out of the form while the menu is shown (its fields are kept: "Continue" resumes),
    # so that a question typed next is answered, not taken for a field.
    await leave_for_now(target, state, bot)
    await _say(
        target,
        pr.menu_text(),
        pr.petitions_menu(resume_step=resume_step, total_steps=len(steps)),
    )


async def start_form(
    target: Target, state: FSMContext, session: AsyncSession, bot: Bot, settings: DialogSettings
) -> None:
    chat_id, chat_type = _chat_of(target)
    if chat_type != "private":
        await _say(target, pr.private_only_text())
        return
    channel = channel_of(bot)
    until = await _limit_until(session, settings, channel, chat_id)
    if until is not None:
        await _say(
            target,
            pr.limit_text(until, settings.petitions_per_hour, settings.petitions_per_day),
            pr.back_to_petitions(),
        )
        return
    await _drop(state, FSM_REPLY)
    form = pr.FormData(id=new_form_id())
    await _save_form(state, form)
    await _ask(target, state, form, pr.TOPIC, channel)


async def _ask(
    target: Target, state: FSMContext, form: pr.FormData, step: str, channel: str
) -> None:
    """Move the form to ``step`` and send its question (with the value given so far, if any,
    and a button to keep it)."""
    if step != pr.CONTACT:
        await _leave_contact_step(target, state, channel, "👌")
    await state.set_state(STATE_OF[step])
    if step == pr.REVIEW:
        form.editing = False
        await _save_form(state, form)
        await _say_all(target, pr.render_review(form, channel), pr.review_keyboard(form.id))
        return
    has_value = {
        pr.TOPIC: bool(form.topic),
        pr.CONTENT: bool(form.content),
        pr.FILES: False,  # its own "Done" button keeps what is attached
        pr.NAME: bool(form.name),
        pr.CONTACT: bool(form.phone or form.email),
        pr.ADDRESS: bool(form.address),
    }[step]
    markup: Any
    if step == pr.TOPIC:
        text = pr.ask_topic_text(channel)
        if form.topic:
            text += "\n\n" + pr.topic_chosen_line(form)
        markup = pr.topic_keyboard(form.id, keep=has_value, editing=form.editing)
    elif step == pr.CONTENT:
        text = pr.ask_content_text(form, channel)
        markup = pr.nav_keyboard(form.id, keep=has_value, editing=form.editing)
    elif step == pr.FILES:
        text, markup = pr.ask_files_text(form, channel), pr.files_keyboard(form.id, len(form.files))
    elif step == pr.NAME:
        text = pr.ask_name_text(form, channel)
        markup = pr.nav_keyboard(form.id, keep=has_value, editing=form.editing)
    elif step == pr.CONTACT:
        text = pr.ask_contact_text(form, channel)
        markup = (
            pr.contact_reply_keyboard(keep=has_value)
            if channel == "telegram"
            else pr.nav_keyboard(form.id, keep=has_value, editing=form.editing)
        )
    else:
        text = pr.ask_address_text(form, channel)
        markup = pr.nav_keyboard(form.id, keep=has_value, editing=form.editing)
    await _say(target, text, markup)


async def _after_field(target: Target, state: FSMContext, form: pr.FormData, channel: str) -> None:
    """A field was filled: go to the review when editing, else to the next empty step."""
    step = pr.REVIEW if form.editing else form.next_missing(channel)
    form.editing = False if step == pr.REVIEW else form.editing
    await _save_form(state, form)
    await _ask(target, state, form, step, channel)


async def _current_step(state: FSMContext) -> str | None:
    current = await state.get_state()
    for step, st in STATE_OF.items():
        if st.state == current:
            return step
    return None


# --- following my petitions ----------------------------------------------------------------------


def _lenient_code(text: str) -> tuple[int, int] | None:
    """A tracking code as typed, also without the "PAKN" word after /phananh ("2026 123")."""
    parsed = parse_tracking_code(text)
    if parsed is not None:
        return parsed
    stripped = clean_text(text)
    if re.fullmatch(r"20\d\d[\s\-_./:#]*\d{1,6}", stripped):
        return parse_tracking_code("PAKN " + stripped)
    return None


async def show_my_petitions(
    target: Target, state: FSMContext, session: AsyncSession, bot: Bot
) -> None:
    chat_id, chat_type = _chat_of(target)
    if chat_type != "private":
        await _say(target, pr.private_only_text())
        return
    petitions = await PetitionRepository(session).of_sender(
        channel_of(bot), chat_id, limit=MY_PETITIONS_SHOWN
    )
    await _say(target, pr.my_petitions_text(petitions), pr.my_petitions_keyboard(petitions))


async def _latest_question(session: AsyncSession, petition: Petition) -> str | None:
    events = await PetitionRepository(session).events(petition.id)
    questions = [e.note for e in events if e.action == PetitionAction.INFO_REQUEST and e.note]
    return questions[-1] if questions else None


async def show_petition(target: Target, session: AsyncSession, petition: Petition) -> None:
    """The sender's own view of a petition (callers checked that this chat sent it)."""
    agency = await AgencyRepository(session).get(petition.agency_id)
    question = (
        await _latest_question(session, petition) if petition.status == PetitionStatus.INFO_REQUESTED else None
    )
    attachments = len(await PetitionRepository(session).attachments(petition.id))
    await _say_all(
        target,
        pr.render_petition(
            petition, agency.name if agency else "", question=question, attachments=attachments
        ),
        pr.petition_keyboard(petition),
    )


async def show_by_code(
    target: Target, session: AsyncSession, bot: Bot, code: tuple[int, int]
) -> None:
    chat_id, chat_type = _chat_of(target)
    if chat_type != "private":
        await _say(target, pr.private_only_text())
        return
    year, number = code
    petition = await PetitionRepository(session).by_code(f"PAKN {year} {number}")
    channel = channel_of(bot)
    if petition is None or petition.channel != channel or petition.chat_id != chat_id:
        # Unknown and somebody else's look the same: codes cannot be probed.
        await _say(target, pr.petition_not_found_text(), pr.back_to_petitions())
        return
    await show_petition(target, session, petition)


# --- published answers ---------------------------------------------------------------------------


def public_item(petition: Petition, agency: str) -> pr.PublicItem:
    """Only what may be published: the redacted copies, and the topic with the sender's name
    masked (an Open311 topic is free text)."""
    return pr.PublicItem(
        id=petition.id,
        tracking_code=petition.tracking_code,
        topic=redact_personal_data(petition.topic, names=[petition.sender_name]),
        agency=agency,
        received_at=petition.received_at,
        published_at=petition.published_at,
        content=petition.public_content or "",
        answer=petition.public_answer or "",
    )


async def show_public_list(callback: CallbackQuery, session: AsyncSession, page: int) -> None:
    repo = PetitionRepository(session)
    total = await repo.count_published()
    pages = max(1, -(-total // pr.PUBLIC_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = await repo.published(limit=pr.PUBLIC_PAGE_SIZE, offset=page * pr.PUBLIC_PAGE_SIZE)
    names = await CitizenPetitionRepository(session).agency_names({p.agency_id for p in rows})
    items = [public_item(p, names.get(p.agency_id, "")) for p in rows]
    await _say(
        callback,
        pr.public_list_text(items, page, total),
        pr.public_list_keyboard(items, page, total),
    )


# --- submitting ----------------------------------------------------------------------------------


async def _thank(target: Target, session: AsyncSession, petition: Petition) -> None:
    agency = await AgencyRepository(session).get(petition.agency_id)
    await _say(
        target,
        pr.thanks_text(petition.tracking_code, agency.name if agency else "", petition.answer_by),
        pr.back_to_petitions(),
    )


def _first_problem_step(form: pr.FormData) -> tuple[str, Any] | None:
    problems = validate_petition(form.content, form.name, form.phone, form.address, form.email)
    if not problems:
        return None
    field = problems[0].field
    step = {"content": pr.CONTENT, "name": pr.NAME, "address": pr.ADDRESS}.get(field, pr.CONTACT)
    return step, problems[0]


async def submit(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    settings: DialogSettings,
    i18n: I18n | None,
    outbox: Any,
    form: pr.FormData,
) -> None:
    channel = channel_of(bot)
    chat_id, chat_type = _chat_of(callback)
    if chat_type != "private":
        await _say(callback, pr.private_only_text())
        return
    key = idempotency_key(channel, chat_id, form.id)
    petition = await CitizenPetitionRepository(session).by_idempotency_key(key)
    if petition is None:
        if not form.topic:
            await _ask(callback, state, form, pr.TOPIC, channel)
            return
        problem = _first_problem_step(form)
        if problem is not None:
            step, first = problem
            await _say(callback, pr.problem_text(first))
            await _ask(callback, state, form, step, channel)
            return
        classification = classify_request(form.content)
        if classification.out_of_scope:
            await state.set_state(PetitionStates.content)
            await _say(callback, pr.redirect_text(classification), pr.redirect_keyboard(form.id))
            return
        until = await _limit_until(session, settings, channel, chat_id)
        if until is not None:
            await _say(
                callback,
                pr.limit_text(until, settings.petitions_per_hour, settings.petitions_per_day),
                pr.review_keyboard(form.id),
            )
            return
        draft = PetitionDraft(
            topic_kind=form.topic_kind or pr.TOPIC_OTHER,
            topic=form.topic or pr.OTHER_TOPIC_TEXT,
            content=form.content or "",
            sender_name=clean_text(form.name or ""),
            address=clean_text(form.address or ""),
            phone=form.phone,
            email=form.email,
            procedure_code=form.procedure_code,
            sector=form.sector,
            source="chat",
            channel=channel,
            chat_id=chat_id,
            language=_locale(i18n),
            attachments=_attachment_drafts(form.files),
        )
        result = await PetitionRepository(session).submit(draft, idempotency_key=key)
        petition = result.petition
        logger.info(
            "Petition %s submitted on %s (%s)",
            petition.tracking_code,
            channel,
            "new" if result.created else "already stored",
        )
    # Committed before anything else: the thank-you never announces a petition that is not
    # stored, and the officials' notifications are in the same transaction.
    await session.commit()
    _wake(outbox)
    await _leave_contact_step(callback, state, channel, "👌")
    await state.set_state(None)
    await _drop(state, FSM_FORM, extra={FSM_LAST: {"form": form.id, "petition_id": petition.id}})
    await _thank(callback, session, petition)


# --- replying to a request for more information ------------------------------------------------


async def _reply_data(state: FSMContext) -> dict[str, Any] | None:
    raw = (await state.get_data()).get(FSM_REPLY)
    if not isinstance(raw, dict) or not isinstance(raw.get("petition_id"), int):
        return None
    files = raw.get("files")
    raw["files"] = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
    return raw


async def send_reply(
    target: Target,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    outbox: Any,
    text: str,
) -> None:
    reply = await _reply_data(state)
    chat_id, _chat_type = _chat_of(target)
    channel = channel_of(bot)
    petition = (
        await CitizenPetitionRepository(session).own_petition(reply["petition_id"], channel, chat_id) if reply else None
    )
    if reply is None or petition is None:
        await state.set_state(None)
        await _drop(state, FSM_REPLY)
        await _say(target, pr.reply_not_waiting_text(), pr.back_to_petitions())
        return
    try:
        await PetitionRepository(session).provide_info(
            petition, text, attachments=_attachment_drafts(reply["files"])
        )
    except PetitionError as error:
        await session.rollback()
        await state.set_state(None)
        await _drop(state, FSM_REPLY)
        if error.code == "empty_text":
            await _say(target, pr.reply_empty_text())
        else:
            await _say(target, pr.reply_not_waiting_text(), pr.back_to_petitions())
        return
    await session.commit()
    _wake(outbox)
    await state.set_state(None)
    await _drop(state, FSM_REPLY)
    await _say(target, pr.reply_sent_text(petition.tracking_code), pr.back_to_petitions())


# --- attachments ----------------------------------------------------------------------------------


def _attachment_of(message: Message) -> tuple[dict[str, Any] | None, str | None]:
    """(the file as kept in the form, None) or (None, the reason it is refused)."""
    if message.photo:
        photo = message.photo[-1]  # the largest size Telegram made
        if photo.file_size is not None and photo.file_size > pr.MAX_FILE_BYTES:
            return None, "too_big"
        return {
            "kind": "photo",
            "file_id": photo.file_id,
            "unique": photo.file_unique_id,
            "name": None,
            "mime": "image/jpeg",
            "size": photo.file_size,
        }, None
    document = message.document
    if document is None:
        return None, "type"
    problem = pr.attachment_problem(document.file_name, document.mime_type, document.file_size, 0)
    if problem is not None:
        return None, problem
    return {
        "kind": "document",
        "file_id": document.file_id,
        "unique": document.file_unique_id,
        "name": clean_text(document.file_name or "")[:255] or None,
        "mime": document.mime_type,
        "size": document.file_size,
    }, None


def _attachment_drafts(files: list[dict[str, Any]]) -> tuple[AttachmentDraft, ...]:
    """The files kept in the conversation state, as the repository stores them."""
    return tuple(
        AttachmentDraft(
            kind=str(f.get("kind") or "document"),
            file_id=str(f["file_id"]),
            file_name=(str(f["name"])[:255] if f.get("name") else None),
            mime_type=(str(f["mime"])[:127] if f.get("mime") else None),
            size=f.get("size") if isinstance(f.get("size"), int) else None,
        )
        for f in files
        if f.get("file_id")
    )


def _add_file(files: list[dict[str, Any]], file: dict[str, Any]) -> str | None:
    """Add ``file`` unless it is already there; the reason it was refused, or None."""
    if any(f.get("unique") and f.get("unique") == file.get("unique") for f in files):
        return None  # the same file twice (an album re-sent): keep one
    if len(files) >= pr.MAX_FILES:
        return "too_many"
    files.append(file)
    return None


# --- intent in free text ---------------------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W_]+")
_INTENT_PAIRS = (("phản", "ánh"), ("kiến", "nghị"), ("góp", "ý"))
_INTENT_WORDS = ("pakn", "feedback", "petition", "petitions")


def asks_for_petition(text: str | None) -> bool:
    """Does a free text ask to send feedback ("tôi muốn phản ánh", "gui kien nghi", "góp ý về
    thủ tục")? "góp ý kiến" (a catalog procedure's wording) does not count."""
    words = [w.lower() for w in _WORD_RE.findall(clean_text(text or ""))]
    if not words or len(words) > 60:
        return False
    if any(w in _INTENT_WORDS for w in words):
        return True
    for i in range(len(words) - 1):
        for first, second in _INTENT_PAIRS:
            if loose_equal(words[i], first) and loose_equal(words[i + 1], second):
                if (
                    (first, second) == ("góp", "ý")
                    and i + 2 < len(words)
                    and loose_equal(words[i + 2], "kiến")
                ):
                    continue
                return True
    return False


def _petition_intent(message: Message) -> bool:
    return asks_for_petition(message.text)


def _maybe_phone_step_key(message: Message) -> bool:
    """Cheap pre-filter (the locale is not known yet): a shared contact, or a text that starts
    like a typed button of the phone step's reply keyboard (Back, Cancel, Keep)."""
    return message.contact is not None or (message.text or "").startswith(("⬅️", "✖️", "➡️"))


def _tracking_code_in(message: Message) -> dict[str, Any] | bool:
    parsed = parse_tracking_code(message.text or "")
    return {"tracking_code": parsed} if parsed is not None else False


# --- the router ------------------------------------------------------------------------------------


def create_router() -> Router:
    router = Router(name="petitions")

    # -- entry points

    @router.message(Command("phananh", "feedback", "pakn"))
    async def petitions_command(
        message: Message,
        command: CommandObject,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
    ) -> None:
        args = command.args or ""
        code = _lenient_code(args) if args else None
        if code is not None:
            await show_by_code(message, session, bot, code)
        elif re.search(r"(?i)pakn|\d", args):
            await message.answer(pr.bad_tracking_code_text(), reply_markup=pr.back_to_petitions())
        else:
            await show_menu(message, state, bot)

    @router.message(StateFilter(None), F.text, _not_command, _tracking_code_in)
    async def code_in_text(
        message: Message, session: AsyncSession, bot: Bot, tracking_code: tuple[int, int]
    ) -> None:
        await show_by_code(message, session, bot, tracking_code)

    @router.message(StateFilter(None), F.text, _not_command, _petition_intent)
    async def intent_in_text(message: Message, state: FSMContext, bot: Bot) -> None:
        await show_menu(message, state, bot)

    @router.message(StateFilter(None), _maybe_phone_step_key)
    async def phone_keyboard_left_over(message: Message, state: FSMContext, bot: Bot) -> None:
        """The phone step's reply keyboard stays on screen when the citizen left the step
        another way (/start, /help, the main menu, /hoso...): its buttons still work, as they
        would at that step, instead of "I can only read text" or a search for "⬅️ Back"."""
        channel = channel_of(bot)
        text = clean_text(message.text or "")
        labels = (pr.back_label(), pr.cancel_label(), pr.keep_label())
        if channel != "telegram" or (message.contact is None and text not in labels):
            raise SkipHandler()
        form = await _load_form(state)
        if message.contact is not None and (form is None or not form.name):
            raise SkipHandler()  # not from this form's phone step (a dossier lookup's button)
        if form is None:
            await message.answer(pr.stale_form_text(), reply_markup=ReplyKeyboardRemove())
            return
        await state.set_state(PetitionStates.contact)
        if message.contact is not None:
            await contact_shared(message, state, bot)
        else:
            await _typed_nav(message, state, form, channel, label=text)

    @router.callback_query(PetitionMenu.filter())
    async def menu(
        callback: CallbackQuery,
        callback_data: PetitionMenu,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        settings: DialogSettings,
    ) -> None:
        await callback.answer()
        action = callback_data.action
        if action is PetitionMenuAction.NEW:
            await start_form(callback, state, session, bot, settings)
        elif action is PetitionMenuAction.RESUME:
            form = await _load_form(state)
            chat_id, chat_type = _chat_of(callback)
            if form is None or chat_type != "private":
                await show_menu(callback, state, bot)
                return
            channel = channel_of(bot)
            await _ask(callback, state, form, form.next_missing(channel), channel)
        elif action is PetitionMenuAction.MINE:
            await show_my_petitions(callback, state, session, bot)
        else:
            await show_menu(callback, state, bot)

    # -- form buttons

    @router.callback_query(PetitionTopic.filter())
    async def topic_picked(
        callback: CallbackQuery,
        callback_data: PetitionTopic,
        state: FSMContext,
        bot: Bot,
        index: SearchIndex,
    ) -> None:
        form = await _load_form(state)
        if form is None or form.id != callback_data.form:
            await callback.answer(pr.stale_form_text(), show_alert=True)
            return
        procedure = index.get(callback_data.code)
        if procedure is None:
            await callback.answer(pr.stale_form_text(), show_alert=True)
            return
        await callback.answer()
        form.topic_kind = pr.TOPIC_PROCEDURE
        form.topic = procedure.name[:500]
        form.procedure_code = procedure.code
        form.sector = procedure.sector or None
        await _after_field(callback, state, form, channel_of(bot))

    @router.callback_query(FormAction.filter())
    async def form_action(
        callback: CallbackQuery,
        callback_data: FormAction,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        settings: DialogSettings,
        i18n: I18n,
        outbox: Any = None,
    ) -> None:
        channel = channel_of(bot)
        form = await _load_form(state)
        op = callback_data.op
        if form is None or form.id != callback_data.form:
            last = (await state.get_data()).get(FSM_LAST)
            if (
                op is FormOp.SUBMIT
                and isinstance(last, dict)
                and last.get("form") == callback_data.form
                and isinstance(last.get("petition_id"), int)
            ):
                # A second tap on Submit, or the same press delivered again: the same petition.
                chat_id, _type = _chat_of(callback)
                petition = await CitizenPetitionRepository(session).own_petition(last["petition_id"], channel, chat_id)
                if petition is not None:
                    await callback.answer()
                    await _thank(callback, session, petition)
                    return
            await callback.answer(pr.stale_form_text(), show_alert=True)
            return
        # Answered first: the spinner stops at once, and a slow commit cannot make a late
        # answerCallbackQuery fail after the petition is stored.
        await callback.answer()
        if op is FormOp.SUBMIT:
            await submit(callback, state, session, bot, settings, i18n, outbox, form)
            return
        step = await _current_step(state)
        if op is FormOp.CANCEL:
            if not await _leave_contact_step(callback, state, channel, pr.cancelled_text()):
                await _say(callback, pr.cancelled_text(), pr.back_to_petitions())
            else:
                await _say(callback, pr.menu_text(), pr.petitions_menu())
            await state.set_state(None)
            await _drop(state, FSM_FORM)
        elif op is FormOp.BACK:
            if form.editing:
                await _ask(callback, state, form, pr.REVIEW, channel)
                return
            if step is None:  # an older message's button while elsewhere: resume the form
                await _ask(callback, state, form, form.next_missing(channel), channel)
                return
            previous = pr.step_before(step, channel)
            if previous is None:
                await _leave_contact_step(callback, state, channel, "👌")
                await state.set_state(None)
                await show_menu(callback, state, bot)
            else:
                await _ask(callback, state, form, previous, channel)
        elif op in (FormOp.SERVICE, FormOp.OTHER):
            form.topic_kind = pr.TOPIC_SERVICE if op is FormOp.SERVICE else pr.TOPIC_OTHER
            form.topic = pr.SERVICE_TOPIC_TEXT if op is FormOp.SERVICE else pr.OTHER_TOPIC_TEXT
            form.procedure_code = None
            form.sector = None
            await _after_field(callback, state, form, channel)
        elif op is FormOp.FILES_DONE:
            form.files_done = True
            await _after_field(callback, state, form, channel)
        elif op is FormOp.NEXT:
            await _after_field(callback, state, form, channel)
        elif op is FormOp.EDIT:
            await _leave_contact_step(callback, state, channel, "👌")
            await state.set_state(PetitionStates.review)
            await _say(callback, pr.edit_prompt_text(), pr.edit_keyboard(form.id, channel))
        elif op is FormOp.EDIT_FIELD:
            if callback_data.arg not in pr.EDITABLE or callback_data.arg not in pr.steps_for(
                channel
            ):
                await _ask(callback, state, form, pr.REVIEW, channel)
                return
            form.editing = True
            await _save_form(state, form)
            await _ask(callback, state, form, callback_data.arg, channel)
        elif op is FormOp.REVIEW:
            missing = form.next_missing(channel)
            await _ask(callback, state, form, missing, channel)
        elif op is FormOp.REWRITE:
            await _ask(callback, state, form, pr.CONTENT, channel)

    # -- form steps (messages)

    @router.message(PetitionStates.topic, F.text, _not_command)
    async def topic_text(message: Message, state: FSMContext, bot: Bot, index: SearchIndex) -> None:
        form = await _load_form(state)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text())
            return
        query = clean_query(message.text)
        channel = channel_of(bot)
        if query.kind is not QueryKind.OK:  # empty, or only emoji and symbols
            await message.answer(
                pr.ask_topic_text(channel), reply_markup=pr.topic_keyboard(form.id)
            )
            return
        hits = [h.procedure for h in index.search(query.text, limit=RESULT_LIMIT)]
        await message.answer(
            pr.topic_results_text(query.text or "", len(hits), channel),
            reply_markup=pr.topic_keyboard(form.id, hits),
        )

    @router.message(PetitionStates.content, F.text, _not_command)
    async def content_text(message: Message, state: FSMContext, bot: Bot) -> None:
        form = await _load_form(state)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text())
            return
        content = pr.clean_multiline(message.text)
        problems = validate_content(content)
        if problems:
            await message.answer(
                pr.problem_text(problems[0]), reply_markup=pr.nav_keyboard(form.id)
            )
            return
        classification = classify_request(content)
        if classification.out_of_scope:
            logger.info("Petition content redirected: %s", classification.kind.value)
            await message.answer(
                pr.redirect_text(classification), reply_markup=pr.redirect_keyboard(form.id)
            )
            return
        form.content = content
        await _after_field(message, state, form, channel_of(bot))

    @router.message(PetitionStates.files, F.photo | F.document)
    async def file_received(message: Message, state: FSMContext) -> None:
        form = await _load_form(state)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text())
            return
        file, problem = _attachment_of(message)
        if file is not None:
            problem = _add_file(form.files, file)
        if problem is not None:
            await message.answer(
                pr.attachment_problem_text(problem),
                reply_markup=pr.files_keyboard(form.id, len(form.files)),
            )
            return
        await _save_form(state, form)
        await message.answer(
            pr.file_added_text(form.files), reply_markup=pr.files_keyboard(form.id, len(form.files))
        )

    @router.message(PetitionStates.files, F.text, _not_command)
    async def files_text(message: Message, state: FSMContext, bot: Bot) -> None:
        form = await _load_form(state)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text())
            return
        if pr.means_done(message.text or ""):
            form.files_done = True
            await _after_field(message, state, form, channel_of(bot))
            return
        await message.answer(
            pr.files_text_hint(), reply_markup=pr.files_keyboard(form.id, len(form.files))
        )

    @router.message(PetitionStates.files, _not_command)
    async def files_other(message: Message, state: FSMContext) -> None:
        form = await _load_form(state)
        count = len(form.files) if form else 0
        await message.answer(
            pr.attachment_problem_text("type"),
            reply_markup=pr.files_keyboard(form.id, count) if form else None,
        )

    @router.message(PetitionStates.name, F.text, _not_command)
    async def name_text(message: Message, state: FSMContext, bot: Bot) -> None:
        form = await _load_form(state)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text())
            return
        name = clean_text(message.text or "")
        problems = validate_name(name)
        if problems:
            await message.answer(
                pr.problem_text(problems[0]), reply_markup=pr.nav_keyboard(form.id)
            )
            return
        form.name = name
        await _after_field(message, state, form, channel_of(bot))

    @router.message(PetitionStates.contact, F.contact)
    async def contact_shared(message: Message, state: FSMContext, bot: Bot) -> None:
        form = await _load_form(state)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text(), reply_markup=ReplyKeyboardRemove())
            return
        contact = message.contact
        if contact is None or message.from_user is None or contact.user_id != message.from_user.id:
            await message.answer(pr.not_own_contact_text())
            return
        if not is_valid_phone(contact.phone_number):
            await message.answer(pr.problem_text(pr.Problem("phone", "phone_invalid")))
            return
        await _save_contact(message, state, form, channel_of(bot), phone=contact.phone_number)

    @router.message(PetitionStates.contact, F.text, _not_command)
    async def contact_text(message: Message, state: FSMContext, bot: Bot) -> None:
        form = await _load_form(state)
        channel = channel_of(bot)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text(), reply_markup=ReplyKeyboardRemove())
            return
        text = clean_text(message.text or "")
        if text in (pr.back_label(), pr.cancel_label(), pr.keep_label()):
            await _typed_nav(message, state, form, channel, label=text)
            return
        if "@" in text:
            if not is_valid_email(text):
                await message.answer(pr.problem_text(pr.Problem("email", "email_invalid")))
                return
            await _save_contact(message, state, form, channel, email=text)
            return
        if not is_valid_phone(text):
            await message.answer(pr.problem_text(pr.Problem("phone", "phone_invalid")))
            return
        await _save_contact(message, state, form, channel, phone=text)

    @router.message(PetitionStates.address, F.text, _not_command)
    async def address_text(message: Message, state: FSMContext, bot: Bot) -> None:
        form = await _load_form(state)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text())
            return
        address = clean_text(message.text or "")
        problems = validate_address(address)
        if problems:
            await message.answer(
                pr.problem_text(problems[0]), reply_markup=pr.nav_keyboard(form.id)
            )
            return
        form.address = address
        await _after_field(message, state, form, channel_of(bot))

    @router.message(PetitionStates.review, F.text, _not_command)
    async def review_text(message: Message, state: FSMContext) -> None:
        form = await _load_form(state)
        if form is None:
            await state.set_state(None)
            await message.answer(pr.stale_form_text())
            return
        await message.answer(pr.review_hint_text(), reply_markup=pr.review_keyboard(form.id))

    @router.message(StateFilter(*FORM_STATES), _not_command)
    async def form_other(message: Message, state: FSMContext, bot: Bot) -> None:
        # Stickers, voice, locations, a photo before the attachments step...: say what is expected.
        form = await _load_form(state)
        step = await _current_step(state)
        steps = pr.steps_for(channel_of(bot))
        is_file = bool(message.photo or message.document)
        if form is not None and step == pr.REVIEW:  # nothing to type: keep the Submit button
            hint = pr.files_step_passed_text(at_review=True) if is_file else pr.review_hint_text()
            await message.answer(hint, reply_markup=pr.review_keyboard(form.id))
            return
        if is_file and pr.FILES in steps and step in steps and steps.index(step) > steps.index(
            pr.FILES
        ):
            hint = pr.files_step_passed_text(at_review=False)
        else:
            hint = pr.photo_too_early_text() if is_file else pr.text_expected()
        markup = pr.nav_keyboard(form.id) if form is not None and step != pr.CONTACT else None
        await message.answer(hint, reply_markup=markup)

    # -- following my petitions

    @router.callback_query(PetitionView.filter())
    async def view_petition(
        callback: CallbackQuery, callback_data: PetitionView, session: AsyncSession, bot: Bot
    ) -> None:
        chat_id, _type = _chat_of(callback)
        petition = await CitizenPetitionRepository(session).own_petition(callback_data.id, channel_of(bot), chat_id)
        if petition is None:
            await callback.answer(pr.petition_not_found_text()[:200], show_alert=True)
            return
        await callback.answer()
        await show_petition(callback, session, petition)

    # -- replying to a request for more information

    @router.callback_query(PetitionReply.filter())
    async def reply_start(
        callback: CallbackQuery,
        callback_data: PetitionReply,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
    ) -> None:
        channel = channel_of(bot)
        chat_id, _type = _chat_of(callback)
        petition = await CitizenPetitionRepository(session).own_petition(callback_data.petition_id, channel, chat_id)
        if petition is None:
            await callback.answer(pr.petition_not_found_text()[:200], show_alert=True)
            return
        if petition.status != PetitionStatus.INFO_REQUESTED:
            await callback.answer(pr.reply_not_waiting_text(), show_alert=True)
            return
        await callback.answer()
        await state.set_state(PetitionStates.reply)
        await state.update_data({FSM_REPLY: {"petition_id": petition.id, "files": []}})
        question = await _latest_question(session, petition)
        await _say_all(
            callback,
            pr.ask_reply_text(petition, question, channel),
            pr.reply_keyboard(petition.id, 0),
        )

    @router.callback_query(ReplyOp.filter())
    async def reply_op(
        callback: CallbackQuery,
        callback_data: ReplyOp,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        outbox: Any = None,
    ) -> None:
        reply = await _reply_data(state)
        if reply is None or reply["petition_id"] != callback_data.petition_id:
            await callback.answer(pr.stale_form_text(), show_alert=True)
            return
        await callback.answer()
        if callback_data.op is ReplyAction.CANCEL:
            await state.set_state(None)
            await _drop(state, FSM_REPLY)
            await _say(callback, pr.reply_cancelled_text(), pr.back_to_petitions())
            return
        await send_reply(callback, state, session, bot, outbox, "")

    @router.message(PetitionStates.reply, F.text, _not_command)
    async def reply_text(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        outbox: Any = None,
    ) -> None:
        text = pr.clean_multiline(message.text)
        if not any(ch.isalnum() for ch in text):
            await message.answer(pr.reply_empty_text())
            return
        if len(text) > CONTENT_MAX_CHARS:
            await message.answer(pr.problem_text(pr.Problem("content", "content_too_long")))
            return
        await send_reply(message, state, session, bot, outbox, text)

    @router.message(PetitionStates.reply, F.photo | F.document)
    async def reply_file(message: Message, state: FSMContext) -> None:
        reply = await _reply_data(state)
        if reply is None:
            await state.set_state(None)
            await message.answer(pr.reply_not_waiting_text())
            return
        file, problem = _attachment_of(message)
        if file is not None:
            problem = _add_file(reply["files"], file)
        if problem is not None:
            await message.answer(pr.attachment_problem_text(problem))
            return
        await state.update_data({FSM_REPLY: reply})
        await message.answer(
            pr.file_added_text(reply["files"]) + "\n\n" + pr.reply_after_file_text(),
            reply_markup=pr.reply_keyboard(reply["petition_id"], len(reply["files"])),
        )

    @router.message(PetitionStates.reply, _not_command)
    async def reply_other(message: Message) -> None:
        await message.answer(pr.reply_empty_text())

    # -- published answers

    @router.callback_query(PublicList.filter())
    async def public_list(
        callback: CallbackQuery, callback_data: PublicList, session: AsyncSession
    ) -> None:
        await callback.answer()
        await show_public_list(callback, session, callback_data.page)

    @router.callback_query(PublicOpen.filter())
    async def public_open(
        callback: CallbackQuery, callback_data: PublicOpen, session: AsyncSession
    ) -> None:
        petition = await PetitionRepository(session).get(callback_data.id)
        if petition is None or petition.published_at is None:
            await callback.answer(pr.public_not_found_text(), show_alert=True)
            return
        await callback.answer()
        names = await CitizenPetitionRepository(session).agency_names({petition.agency_id})
        item = public_item(petition, names.get(petition.agency_id, ""))
        await _say_all(
            callback, pr.render_public(item), pr.public_item_keyboard(callback_data.page)
        )

    return router


async def _save_contact(
    message: Message,
    state: FSMContext,
    form: pr.FormData,
    channel: str,
    *,
    phone: str | None = None,
    email: str | None = None,
) -> None:
    if phone is not None:
        form.phone, form.email = "0" + national_phone(phone), None
    else:
        form.phone, form.email = None, clean_text(email or "")
    await _save_form(state, form)
    saved = pr.contact_saved_text(form.phone or form.email or "")
    if channel == "telegram":
        await message.answer(saved, reply_markup=ReplyKeyboardRemove())
    else:
        await message.answer(saved)
    # the reply keyboard is gone: leave the contact state before the next question
    await state.set_state(None)
    await _after_field(message, state, form, channel)


async def _typed_nav(
    message: Message, state: FSMContext, form: pr.FormData, channel: str, *, label: str
) -> None:
    """ "Back", "Cancel" or "Keep" typed with the phone step's reply keyboard (Telegram)."""
    if label == pr.cancel_label():
        await message.answer(pr.cancelled_text(), reply_markup=ReplyKeyboardRemove())
        await state.set_state(None)
        await _drop(state, FSM_FORM)
        await message.answer(pr.menu_text(), reply_markup=pr.petitions_menu())
        return
    await message.answer("👌", reply_markup=ReplyKeyboardRemove())
    await state.set_state(None)
    if label == pr.keep_label() and (form.phone or form.email):
        await _after_field(message, state, form, channel)
    elif form.editing:
        await _ask(message, state, form, pr.REVIEW, channel)
    else:
        await _ask(message, state, form, pr.step_before(pr.CONTACT, channel) or pr.NAME, channel)


__all__ = [
    "PetitionStates",
    "asks_for_petition",
    "create_router",
    "idempotency_key",
    "show_menu",
    "start_form",
]
