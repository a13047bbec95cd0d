"""The outbox's senders: deliver a `Rendered` message to one chat of one channel (Telegram, the
web chat, Zalo), raising what the worker (`bot.jobs.outbox`) classifies: aiogram's errors,
`Deferred` (the recipient cannot receive now) and `PartiallyDelivered` (a photo went out, the
rest of its text did not). A send returns None, or a note the worker keeps with the sent row
("zns ...": a Zalo push that went as a ZNS template message).

Telegram's photo captions are limited to 1024 characters: `split_caption` cuts the text into a
caption and the rest, which follows as a message.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.webchat.hub import WebChatHub
from bot.channels.webchat.session import WebChatBot
from bot.channels.zalo.api import (
    NIGHT_CODES,
    ZaloApi,
    ZaloApiError,
    ZaloOutsideWindow,
    ZaloQuotaExceeded,
    ZaloRateLimited,
    ZaloTokenRejected,
    zns_phone,
)
from bot.channels.zalo.render import TEXT_LIMIT, split_text
from bot.channels.zalo.session import (
    USER_LIMIT,
    ZaloPartlySent,
    ZaloUncertain,
    token_failure,
)
from bot.channels.zalo.tokens import ZaloTokenError
from bot.channels.zalo.window import WINDOW_CLOSED, window_open
from bot.jobs.outbox import Deferred, PartiallyDelivered
from handlers.contracts import Delivery, Rendered
from knowledge.workdays import utcnow
from storage.records import ZaloUserRecord
from storage.repositories.zalo_users import ZaloUserRepository

logger = logging.getLogger(__name__)

CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption
ZALO_HOLD_RETRY = 3600.0  # seconds between looks at a push held for a closed Zalo window
MAX_PART_WAIT = 30  # seconds of flood control waited out before the text after a photo
ZNS_NOTE = "zns"  # how a sent row says it went as a ZNS template message

_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^<>]*>")
_NUMERIC_CHAT_RE = re.compile(r"-?\d+")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _balanced(html: str) -> bool:
    stack: list[str] = []
    for closing, tag in _TAG_RE.findall(html):
        if not closing:
            stack.append(tag.lower())
        elif not stack or stack.pop() != tag.lower():
            return False
    return not stack


def split_caption(text: str, limit: int = CAPTION_LIMIT) -> tuple[str, str]:
    """Split HTML `text` into a photo caption of at most `limit` characters and the rest.

    Cuts at the last line break that leaves both parts with balanced tags (a paragraph break
    preferred); ("", text) when no such cut exists, so the photo goes without a caption."""
    if _utf16_len(text) <= limit:
        return text, ""
    best: tuple[str, str] | None = None
    for separator in ("\n\n", "\n"):
        end = len(text)
        while True:
            cut = text.rfind(separator, 0, end)
            if cut <= 0:
                break
            head = text[:cut].rstrip()
            if head and _utf16_len(head) <= limit and _balanced(head):
                best = (head, text[cut:].strip("\n"))
                break
            end = cut
        if best is not None:
            return best
    return "", text


class TelegramSender:
    """Sends through an aiogram `Bot` (its default parse mode, HTML in this project, applies).

    A photo carries as much of the text as fits a caption (1024 characters, cut at a line
    break); the rest follows as a message `part_interval` seconds later (Telegram's per-chat
    pace), waiting out a flood-control answer to that second part a few times."""

    def __init__(self, bot: Bot, *, part_interval: float = 1.0, part_retries: int = 3) -> None:
        self.bot = bot
        self.part_interval = part_interval
        self.part_retries = part_retries

    @staticmethod
    def _chat(chat_id: str) -> int | str:
        return int(chat_id) if _NUMERIC_CHAT_RE.fullmatch(chat_id) else chat_id

    async def send(
        self, chat_id: str, rendered: Rendered, delivery: Delivery | None = None
    ) -> None:
        """Send a message, or a photo with a caption (and the rest of the text after it)."""
        chat = self._chat(chat_id)
        if rendered.photo is None:
            await self.bot.send_message(
                chat_id=chat, text=rendered.text, reply_markup=rendered.reply_markup
            )
            return
        caption, rest = split_caption(rendered.text)
        await self.bot.send_photo(
            chat_id=chat,
            photo=BufferedInputFile(rendered.photo, filename=rendered.photo_name),
            caption=caption or None,
            reply_markup=None if rest else rendered.reply_markup,
        )
        if not rest:
            return
        try:
            await self._send_rest(chat, rest, rendered.reply_markup)
        except Exception as error:
            raise PartiallyDelivered(error) from error

    async def _send_rest(
        self, chat: int | str, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        await asyncio.sleep(self.part_interval)
        for attempt in range(self.part_retries + 1):
            try:
                await self.bot.send_message(chat_id=chat, text=text, reply_markup=markup)
                return
            except TelegramRetryAfter as error:
                if attempt == self.part_retries or error.retry_after > MAX_PART_WAIT:
                    raise
                await asyncio.sleep(error.retry_after)


class WebChatSender:
    """Sends to a web chat visitor through the `WebChatBot` (the page shows it on its next poll).

    A visitor the hub does not know (browser gone, or the process restarted) raises `Deferred`:
    the worker tries again later, since the same browser comes back with the same chat id. The
    web chat shows no photos: a photo message is delivered as its text."""

    def __init__(self, bot: WebChatBot, hub: WebChatHub) -> None:
        self.bot = bot
        self.hub = hub

    async def send(
        self, chat_id: str, rendered: Rendered, delivery: Delivery | None = None
    ) -> None:
        """Send the text (and keyboard) to a connected visitor, else raise `Deferred`."""
        visitor = self.hub.by_chat_id(chat_id)
        if visitor is None:
            raise Deferred("web chat visitor not connected")
        await self.bot.send_message(
            chat_id=visitor.chat_id, text=rendered.text, reply_markup=rendered.reply_markup
        )


def zns_tracking_id(row_id: int) -> str:
    """The ZNS ``tracking_id`` of an outbox row: the same on every attempt of that row, so Zalo's
    delivery reports (and any second attempt) can be matched to it."""
    return f"outbox-{row_id}"


class ZaloSender:
    """Sends to a Zalo user through the `ZaloBot`, inside Zalo's reply window only.

    Outside it (48 h since the user's last message, or its free messages used up, by our clock
    or by Zalo's answer: -230/-232, or the user's own limit -218) the message raises `Deferred`
    and waits, uncounted; when the user writes again the channel makes the chat's waiting
    messages due at once (`storage.outbox.release_held`). A chat id with no Zalo user behind it
    waits the same way (and fails after the worker's 7 days). A photo goes first, its text
    after it; a message cut off after its first piece is not tried again.

    With ZNS configured (`zns_templates`: template id by outbox kind, and the `zns_api`), a
    push outside the window goes instead as a ZNS template message to the phone the user gave
    for it (in answer to the card that asks for it, ``handlers.common.zns``), when its kind has
    a template, its renderer gave the template's parameters and the user still follows the OA:
    sent, it counts as delivered
    (note "zns <msg id>"). Its ``tracking_id`` is the row's (`zns_tracking_id`). What ZNS
    refuses for this message (bad phone -108, bad template -109, its data, the ZNS quota, the
    night hours) holds the message as above, never loses it; Zalo's call limit (-32, 429) is
    flood control; no answer is retried when it surely did not reach Zalo and is "uncertain"
    (never re-sent) when it may have."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        clock: Any = utcnow,
        zns_api: ZaloApi | None = None,
        zns_templates: Mapping[str, str] | None = None,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.clock = clock
        self.zns_api = zns_api
        self.zns_templates = dict(zns_templates or {}) if zns_api is not None else {}

    async def send(
        self, chat_id: str, rendered: Rendered, delivery: Delivery | None = None
    ) -> str | None:
        async with self.session_factory() as session:
            user = await ZaloUserRepository(session).by_chat_id(int(chat_id))
        if user is None:
            raise Deferred("unknown Zalo chat")
        needed = len(split_text(rendered.text, TEXT_LIMIT)) + (1 if rendered.photo else 0)
        if not window_open(user.last_inbound_at, user.window_replies, self.clock(), needed=needed):
            # released at once when the user writes again; the hourly retry is a safety net
            hold = Deferred(WINDOW_CLOSED, retry_after=ZALO_HOLD_RETRY)
            return await self._outside_window(user, rendered, delivery, hold)
        try:
            await self._send(user, rendered)
        except ZaloPartlySent as error:
            raise PartiallyDelivered(error) from error
        except TelegramBadRequest as error:
            cause = error.__cause__
            if isinstance(cause, ZaloOutsideWindow):  # Zalo knows better than our clock
                hold = Deferred(WINDOW_CLOSED, retry_after=ZALO_HOLD_RETRY)
            elif isinstance(cause, ZaloQuotaExceeded) and cause.code == USER_LIMIT:
                # this user's own limit: this chat waits (not the others)
                hold = Deferred("the Zalo user's limit", retry_after=cause.retry_after)
            else:
                raise
            hold.__cause__ = error
            return await self._outside_window(user, rendered, delivery, hold)
        return None

    async def _send(self, user: ZaloUserRecord, rendered: Rendered) -> None:
        if rendered.photo is not None:
            await self.bot.send_photo(
                chat_id=user.id,
                photo=BufferedInputFile(rendered.photo, filename=rendered.photo_name),
            )
            try:
                await self.bot.send_message(
                    chat_id=user.id, text=rendered.text, reply_markup=rendered.reply_markup
                )
            except Exception as error:
                raise PartiallyDelivered(error) from error
            return
        await self.bot.send_message(
            chat_id=user.id, text=rendered.text, reply_markup=rendered.reply_markup
        )

    # -- outside the window: ZNS, or hold -----------------------------------------------------

    async def _outside_window(
        self,
        user: ZaloUserRecord,
        rendered: Rendered,
        delivery: Delivery | None,
        hold: Deferred,
    ) -> str:
        """Send the row as a ZNS template message when it may go as one; else raise ``hold``."""
        template_id = self.zns_templates.get(delivery.kind) if delivery is not None else None
        if (
            delivery is None
            or self.zns_api is None
            or template_id is None
            or not rendered.template_data
            or not user.phone
            or not user.followed
        ):
            raise hold
        try:
            phone = zns_phone(user.phone)
        except ValueError:
            logger.info(
                "Outbox #%d: the stored phone is not a Vietnamese number; held", delivery.row_id
            )
            raise hold from None
        method = SendMessage(chat_id=user.id, text="ZNS")  # what aiogram's errors name
        try:
            msg_id = await self.zns_api.send_zns(
                phone, template_id, dict(rendered.template_data), zns_tracking_id(delivery.row_id)
            )
        except (ZaloTokenError, ZaloTokenRejected) as error:  # nothing was sent
            raise token_failure(method, error) from error
        except ZaloRateLimited as error:
            if isinstance(error, ZaloQuotaExceeded) or error.code in NIGHT_CODES:
                # ZNS's own quota, or not at night: this message waits (other chats do not)
                raise Deferred(
                    f"{hold}; ZNS not now (error {error.code})", retry_after=error.retry_after
                ) from error
            raise TelegramRetryAfter(  # Zalo's call limit is the app's: every chat waits
                method=method,
                message="Zalo: too many requests",
                retry_after=max(1, int(error.retry_after)),
            ) from error
        except ZaloApiError as error:
            if error.uncertain:  # it may have gone: never sent again
                raise ZaloUncertain(f"ZNS error {error.code}: the message may have gone") from error
            if error.retryable:  # surely not delivered: the worker tries again (same tracking id)
                raise TelegramNetworkError(
                    method=method, message=f"ZNS error {error.code}"
                ) from error
            # refused for this message (phone -108, template -109, its data...): held, not lost
            logger.warning(
                "Outbox #%d: ZNS refused (error %s, template of %s); held for the reply window",
                delivery.row_id,
                error.code,
                delivery.kind,
            )
            raise Deferred(
                f"{hold}; ZNS refused (error {error.code})", retry_after=hold.retry_after
            ) from error
        return f"{ZNS_NOTE} {msg_id}".strip()
