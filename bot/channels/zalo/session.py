"""The Zalo channel's aiogram `BaseSession`: the Bot API methods the dialogs call, carried out
with the OA's message API.

- Text: Telegram HTML rendered as plain text (links spelled out), split within Zalo's 2,000
  characters (``render.py``).
- Inline buttons: ``oa.query.show`` buttons (their payload comes back as the user's text and
  is recognised as the press, see ``channel.py``), URL buttons as ``oa.open.url``; five per
  template, more in further messages. Reply-keyboard buttons the same way (they type their text).
- Every press's payload is its title tagged with the number of the Zalo message it is on
  ("Chi tiết #12"), unique in the chat, so equal titles on two messages reach their own targets.
- Edits are sent anew (Zalo cannot edit): the new message keeps the dialog's message id; the
  old copy's buttons keep their callbacks; deleting a message forgets its buttons.
- A callback answer with ``show_alert`` is sent as a message; a toast is dropped.
- Photos (digest charts) are uploaded and sent as images.
- A reply keyboard's ``request_contact`` key, when the OA has "request user info" (setting
  ``ZALO_REQUEST_USER_INFO``), becomes a "request user info" card after the message's text (its
  title the key's text, its subtitle the text's last paragraph; a text that is only that
  paragraph is not sent apart); without it, the key is left out. The form's answer is a number the citizen typed, not one Zalo vouches for: the bot says
  so with ``contact_sharing = "claimed"`` (see ``handlers.common.contact_sharing``).

What it does not carry out is answered as ``bot.channels.sessions`` says.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteMessages,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendChatAction,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.sessions import ChannelSession
from bot.channels.updates import private_chat
from storage.repositories.zalo_users import ZaloUserRepository

from .api import (
    ZaloApi,
    ZaloApiError,
    ZaloButton,
    ZaloQuotaExceeded,
    ZaloRateLimited,
    ZaloTokenRejected,
)
from .render import (
    MORE_TEXT,
    ButtonSpec,
    ZaloMessagePlan,
    buttons_of,
    plan,
    spell_out_links,
    tagged,
)
from .tokens import ZaloTokenError

logger = logging.getLogger(__name__)

USER_LIMIT = -218  # the user's own receiving limit (the OA's quota is -211)
PLACEHOLDER_TOKEN = "1000000002:zalo"
"""Syntactically valid token; the Zalo bot never talks to Telegram. Its id is 1000000002."""


def token_failure(
    method: TelegramMethod[Any], error: ZaloTokenError | ZaloTokenRejected
) -> TelegramNetworkError | TelegramUnauthorizedError:
    """What a missing or refused token means to the outbox: a refresh that may work later is a
    network error (retried); tokens that are not valid, or refused, are "unauthorized"."""
    if isinstance(error, ZaloTokenError):
        if error.retryable:
            return TelegramNetworkError(method=method, message="Zalo: token refresh failed")
        return TelegramUnauthorizedError(
            method=method, message="Zalo: the OA's tokens are not valid"
        )
    return TelegramUnauthorizedError(
        method=method, message=f"Zalo error {error.code}: token refused"
    )


class ZaloUncertain(RuntimeError):
    """A send that failed after Zalo may have received it: not to be tried again."""


class ZaloPartlySent(RuntimeError):
    """The first pieces of a long message went out, a later one did not: not to be tried
    again (the citizen would get the first pieces twice)."""


def callback_query_id(chat_id: int) -> str:
    """A callback query id that says which chat pressed (to answer an alert there)."""
    return f"{chat_id}:{secrets.token_hex(8)}"


def _chat_of_query(query_id: str) -> int | None:
    head, _, _ = query_id.partition(":")
    return int(head) if head.isdigit() else None


def zalo_button(spec: ButtonSpec) -> ZaloButton:
    if spec.kind == "url":
        return ZaloButton.url(spec.title, spec.value)
    return ZaloButton.query(spec.title, spec.payload or spec.value)


def presses_of(buttons: Sequence[ButtonSpec]) -> list[tuple[str, str]]:
    """(payload, callback data) of each button whose press comes back: inline buttons become
    the callback; a reply-keyboard button is just its text typed, nothing to register."""
    return [(spec.payload, spec.value) for spec in buttons if spec.kind == "press"]


class ZaloSession(ChannelSession):
    """Answers Bot API methods through the OA's message API (see the module docstring)."""

    CHANNEL = "Zalo"
    BOT_USERNAME = "zalo_oa"

    def __init__(
        self,
        api: ZaloApi,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        request_info_image: str | None = None,
    ) -> None:
        super().__init__()
        self.zalo = api
        self.session_factory = session_factory
        self.request_info_image = request_info_image  # set: "request user info" cards are sent
        self._user_ids: dict[int, str] = {}  # chat id -> Zalo user id (never changes)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,
    ) -> TelegramType:
        """Zalo's errors as the aiogram errors the outbox worker classifies: a rate limit as
        flood control, a retryable failure that surely did not deliver as a network error, one
        that may have delivered as an unexpected error (never re-sent), the rest as a bad
        request (its ``__cause__`` is the Zalo error, e.g. ``ZaloOutsideWindow``)."""
        try:
            result = await self._carry_out(bot, method)
        except (ZaloTokenError, ZaloTokenRejected) as error:  # nothing was sent
            raise token_failure(method, error) from error
        except ZaloQuotaExceeded as error:
            if error.code != USER_LIMIT:  # the OA's quota: every chat waits
                raise TelegramRetryAfter(
                    method=method,
                    message="Zalo: quota used up",
                    retry_after=max(1, int(error.retry_after)),
                ) from error
            # this user's own limit (-218): only this chat waits (see ZaloSender)
            raise TelegramBadRequest(
                method=method, message="Bad Request: Zalo error -218"
            ) from error
        except ZaloRateLimited as error:
            raise TelegramRetryAfter(
                method=method,
                message="Zalo: too many requests",
                retry_after=max(1, int(error.retry_after)),
            ) from error
        except ZaloApiError as error:
            if error.uncertain:
                raise ZaloUncertain(
                    f"Zalo error {error.code}: the message may have gone"
                ) from error
            if error.retryable:
                raise TelegramNetworkError(
                    method=method, message=f"Zalo error {error.code}"
                ) from error
            raise TelegramBadRequest(
                method=method, message=f"Bad Request: Zalo error {error.code}"
            ) from error
        except ValueError as error:  # what Zalo would refuse, found before sending
            raise TelegramBadRequest(method=method, message=f"Bad Request: {error}") from error
        return cast(TelegramType, result)

    async def _carry_out(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage):
            return await self._send(bot, method, method.chat_id, method.text, method.reply_markup)
        if isinstance(method, EditMessageText):
            return await self._send(
                bot,
                method,
                method.chat_id,
                method.text or "",
                method.reply_markup,
                message_id=method.message_id,
            )
        if isinstance(method, EditMessageReplyMarkup):
            return await self._edit_markup(bot, method)
        if isinstance(method, DeleteMessage):
            return await self._forget(method.chat_id, [method.message_id])
        if isinstance(method, DeleteMessages):
            return await self._forget(method.chat_id, list(method.message_ids))
        if isinstance(method, AnswerCallbackQuery):
            return await self._answer_callback(bot, method)
        if isinstance(method, SendPhoto):
            return await self._send_photo(bot, method)
        if isinstance(method, SendChatAction):
            return True
        if isinstance(method, GetMe):
            return self.bot_user(bot)
        return self.not_carried_out(method)

    # -- helpers ----------------------------------------------------------------------------

    def _plain(self, bot: Bot, method: TelegramMethod[Any], text: str, parse_mode: Any) -> str:
        plain, entities = self.parsed(bot, method, text, parse_mode)
        return spell_out_links(plain, entities)

    def remember(self, chat_id: int, user_id: str) -> None:
        """The Zalo user behind a chat (the channel knows it from the event)."""
        if len(self._user_ids) > 100_000:
            self._user_ids.clear()
        self._user_ids[chat_id] = user_id

    async def _user_id(self, method: TelegramMethod[Any], chat_id: int | str | None) -> str:
        chat = int(chat_id or 0)
        known = self._user_ids.get(chat)
        if known is not None:
            return known
        async with self.session_factory() as session:
            user = await ZaloUserRepository(session).by_chat_id(chat)
        if user is None:
            raise TelegramBadRequest(method=method, message="Bad Request: chat not found")
        self.remember(chat, user.user_id)
        return user.user_id

    def _message(
        self,
        bot: Bot,
        chat_id: int,
        message_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        data = {
            "message_id": message_id,
            "date": datetime.now(UTC),
            "chat": private_chat(chat_id, ""),
            "from": self.bot_user(bot).model_dump(exclude_none=True),
            "text": text,
            "reply_markup": markup.model_dump(exclude_none=True) if markup else None,
        }
        return Message.model_validate(data, context={"bot": bot})

    async def _send(
        self,
        bot: Bot,
        method: SendMessage | EditMessageText,
        chat_id: int | str | None,
        text: str,
        markup: Any,
        *,
        message_id: int | None = None,
    ) -> Message:
        """One dialog message (new, or an edit sent anew under its id) as Zalo messages."""
        plain = self._plain(bot, method, text, method.parse_mode)
        if not plain.strip():
            raise TelegramBadRequest(
                method=cast(TelegramMethod[Any], method),
                message="Bad Request: message text is empty",
            )
        user_id = await self._user_id(method, chat_id)
        chat = int(chat_id or 0)
        async with self.session_factory() as session:
            users = ZaloUserRepository(session)
            sending = await users.next_message_id(chat)
            if message_id is None:
                message_id = sending
            buttons = tagged(self._buttons(markup), sending)
            # registered before sending: a quick press must find its button. An edit adds
            # the new copy's buttons; the old copy's keep their own callbacks (Zalo still
            # shows it), and the dialog re-checks whatever they ask for.
            await users.register_buttons(chat, message_id, presses_of(buttons))
            await session.commit()
        await self._deliver(chat, user_id, plan(plain, buttons))
        inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
        return self._message(bot, chat, message_id, plain, inline)

    def _buttons(self, markup: object) -> list[ButtonSpec]:
        return buttons_of(markup, contact=self.request_info_image is not None)

    async def _deliver(self, chat: int, user_id: str, messages: list[ZaloMessagePlan]) -> None:
        """Send the pieces in order; each one counts against the user's reply window."""
        sent = 0
        try:
            for message in messages:
                if message.request_title is not None and self.request_info_image:
                    await self.zalo.send_request_user_info(
                        user_id, message.request_title, message.text, self.request_info_image
                    )
                elif message.buttons:
                    await self.zalo.send_buttons(
                        user_id, message.text, [zalo_button(b) for b in message.buttons]
                    )
                else:
                    await self.zalo.send_text(user_id, message.text)
                sent += 1
        except Exception as error:
            if sent:  # a retry would send the first pieces again
                raise ZaloPartlySent(f"{sent} of {len(messages)} pieces sent") from error
            raise
        finally:
            await self._count(chat, sent)

    async def _count(self, chat: int, sent: int) -> None:
        if sent:
            async with self.session_factory() as session:
                await ZaloUserRepository(session).count_replies(chat, sent)
                await session.commit()

    async def _edit_markup(self, bot: Bot, method: EditMessageReplyMarkup) -> Message | bool:
        chat = int(method.chat_id or 0)
        if method.message_id is None:
            raise TelegramBadRequest(method=method, message="Bad Request: message not found")
        buttons = self._buttons(method.reply_markup)
        if not buttons:  # the keyboard removed: its presses no longer count
            await self._forget(chat, [method.message_id])
            return True
        user_id = await self._user_id(method, chat)
        async with self.session_factory() as session:
            users = ZaloUserRepository(session)
            buttons = tagged(buttons, await users.next_message_id(chat))
            await users.register_buttons(chat, method.message_id, presses_of(buttons))
            await session.commit()
        await self._deliver(chat, user_id, plan(MORE_TEXT, buttons))
        return self._message(bot, chat, method.message_id, MORE_TEXT, method.reply_markup)

    async def _forget(self, chat_id: int | str, message_ids: list[int]) -> bool:
        async with self.session_factory() as session:
            users = ZaloUserRepository(session)
            for message_id in message_ids:
                await users.forget_buttons(int(chat_id), message_id)
            await session.commit()
        return True

    async def _answer_callback(self, bot: Bot, method: AnswerCallbackQuery) -> bool:
        chat = _chat_of_query(method.callback_query_id)
        if method.show_alert and method.text and chat is not None:
            user_id = await self._user_id(method, chat)
            await self._deliver(chat, user_id, [ZaloMessagePlan(method.text)])
        return True

    async def _send_photo(self, bot: Bot, method: SendPhoto) -> Message:
        photo = method.photo
        if not isinstance(photo, BufferedInputFile):
            raise TelegramBadRequest(
                method=method, message="Bad Request: Zalo sends uploaded photos only"
            )
        user_id = await self._user_id(method, method.chat_id)
        caption = (
            self._plain(bot, method, method.caption, method.parse_mode) if method.caption else None
        )
        attachment = await self.zalo.upload_image(
            photo.data, photo.filename or "photo.png", "image/png"
        )
        chat = int(method.chat_id)
        await self.zalo.send_image(user_id, attachment, caption)
        await self._count(chat, 1)
        async with self.session_factory() as session:
            message_id = await ZaloUserRepository(session).next_message_id(chat)
            await session.commit()
        return self._message(bot, chat, message_id, caption or "", None)


class ZaloBot(Bot):
    """An aiogram `Bot` whose API calls are carried out by `ZaloSession` (never by Telegram).
    ``channel_name`` tells the channel-aware middlewares and dialogs which channel this is."""

    channel_name: ClassVar[str] = "zalo"

    def __init__(
        self,
        api: ZaloApi,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        token: str = PLACEHOLDER_TOKEN,
        default: DefaultBotProperties | None = None,
        request_info_image: str | None = None,
    ) -> None:
        super().__init__(
            token=token,
            session=ZaloSession(api, session_factory, request_info_image=request_info_image),
            default=default or DefaultBotProperties(parse_mode="HTML"),
        )
        # "claimed": a shared phone is one the citizen typed into Zalo's form, not vouched
        self.contact_sharing: str | None = "claimed" if request_info_image else None
