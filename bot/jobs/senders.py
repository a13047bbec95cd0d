"""The outbox's senders: deliver a `Rendered` message to one chat of one channel (Telegram, the
web chat), raising what the worker (`bot.jobs.outbox`) classifies: aiogram's errors,
`Deferred` (the recipient cannot receive now) and `PartiallyDelivered` (a photo went out, the
rest of its text did not).

Telegram's photo captions are limited to 1024 characters: `split_caption` cuts the text into a
caption and the rest, which follows as a message.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.webchat.hub import WebChatHub
from bot.channels.webchat.session import WebChatBot
from bot.channels.zalo.api import ZaloOutsideWindow, ZaloQuotaExceeded
from bot.channels.zalo.render import TEXT_LIMIT, split_text
from bot.channels.zalo.session import ZaloPartlySent
from bot.channels.zalo.window import WINDOW_CLOSED, window_open
from bot.jobs.outbox import Deferred, PartiallyDelivered
from handlers.contracts import Rendered
from knowledge.workdays import utcnow
from storage.repositories.zalo_users import ZaloUserRepository

CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption
ZALO_HOLD_RETRY = 3600.0  # seconds between looks at a push held for a closed Zalo window
MAX_PART_WAIT = 30  # seconds of flood control waited out before the text after a photo

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

    async def send(self, chat_id: str, rendered: Rendered) -> None:
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

    async def send(self, chat_id: str, rendered: Rendered) -> None:
        """Send the text (and keyboard) to a connected visitor, else raise `Deferred`."""
        visitor = self.hub.by_chat_id(chat_id)
        if visitor is None:
            raise Deferred("web chat visitor not connected")
        await self.bot.send_message(
            chat_id=visitor.chat_id, text=rendered.text, reply_markup=rendered.reply_markup
        )


class ZaloSender:
    """Sends to a Zalo user through the `ZaloBot`, inside Zalo's reply window only.

    Outside it (48 h since the user's last message, or its free messages used up) the message
    raises `Deferred` and waits, uncounted; when the user writes again the channel makes the
    chat's waiting messages due at once (`storage.outbox.release_held`). A chat id with no Zalo
    user behind it waits the same way (and fails after the worker's 7 days). A photo goes
    first, its text after it; a message cut off after its first piece is not tried again."""

    def __init__(
        self, bot: Bot, session_factory: async_sessionmaker[AsyncSession], *, clock: Any = utcnow
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.clock = clock

    async def send(self, chat_id: str, rendered: Rendered) -> None:
        try:
            await self._send(chat_id, rendered)
        except ZaloPartlySent as error:
            raise PartiallyDelivered(error) from error
        except TelegramBadRequest as error:
            cause = error.__cause__
            if isinstance(cause, ZaloOutsideWindow):  # Zalo knows better than our clock
                raise Deferred(WINDOW_CLOSED, retry_after=ZALO_HOLD_RETRY) from error
            if isinstance(cause, ZaloQuotaExceeded):  # this user's own limit: this chat waits
                raise Deferred("the Zalo user's limit", retry_after=cause.retry_after) from error
            raise

    async def _send(self, chat_id: str, rendered: Rendered) -> None:
        async with self.session_factory() as session:
            user = await ZaloUserRepository(session).by_chat_id(int(chat_id))
        if user is None:
            raise Deferred("unknown Zalo chat")
        needed = len(split_text(rendered.text, TEXT_LIMIT)) + (1 if rendered.photo else 0)
        if not window_open(user.last_inbound_at, user.window_replies, self.clock(), needed=needed):
            # released at once when the user writes again; the hourly retry is a safety net
            raise Deferred(WINDOW_CLOSED, retry_after=ZALO_HOLD_RETRY)
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
