"""What the aiogram sessions of the channels that are not Telegram share: nothing to close, no
Telegram files behind them, the bot as a user, and one answer for a Bot API method they do not
carry out (those returning ``bool`` — setMyCommands ... — mean nothing there and answer True;
any other raises ``TelegramBadRequest`` naming it, so a dialog that starts using one fails
loudly in the tests instead of silently showing nothing)."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any, ClassVar

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import TelegramMethod
from aiogram.types import MessageEntity, User

from bot.channels.telegram_html import TelegramHTMLError, parse_telegram_html

logger = logging.getLogger(__name__)


class ChannelSession(BaseSession):
    """The base of the web chat's and Zalo's sessions (``CHANNEL`` names the channel)."""

    CHANNEL: ClassVar[str] = "this"
    BOT_FIRST_NAME: ClassVar[str] = "Trợ lý thủ tục hành chính"
    BOT_USERNAME: ClassVar[str] = "assistant"

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        # There are no Telegram files behind this channel; never fall back to real HTTP.
        raise NotImplementedError(f"the {self.CHANNEL} channel cannot download Telegram files")
        yield b""  # pragma: no cover - makes this an async generator

    def bot_user(self, bot: Bot) -> User:
        return User(
            id=bot.id, is_bot=True, first_name=self.BOT_FIRST_NAME, username=self.BOT_USERNAME
        )

    def parsed(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        text: str,
        parse_mode: Any,
        entities: list[MessageEntity] | None = None,
    ) -> tuple[str, list[MessageEntity]]:
        """Plain text and entities, as Telegram would parse ``text`` (the bot's default parse
        mode applies); HTML Telegram refuses raises ``TelegramBadRequest`` like Telegram."""
        if isinstance(parse_mode, Default):
            parse_mode = bot.default[parse_mode.name]
        # ParseMode is a str enum: compare its value, str() of it is "ParseMode.HTML"
        if parse_mode is None or str(getattr(parse_mode, "value", parse_mode)).upper() != "HTML":
            if parse_mode is not None:
                logger.warning("%s channel shows %s text as plain text", self.CHANNEL, parse_mode)
            return text, list(entities or [])
        try:
            return parse_telegram_html(text)
        except TelegramHTMLError as error:
            raise TelegramBadRequest(
                method=method, message=f"Bad Request: can't parse entities: {error}"
            ) from error

    def not_carried_out(self, method: TelegramMethod[Any]) -> bool:
        """True for a ``bool`` method; raises for any other (see the module docstring)."""
        if method.__returning__ is bool:
            logger.debug("%s channel answers True to %s", self.CHANNEL, type(method).__name__)
            return True
        logger.warning("%s channel cannot deliver %s", self.CHANNEL, type(method).__name__)
        raise TelegramBadRequest(
            method=method,
            message=f"Bad Request: method {type(method).__name__} is not supported by the "
            f"{self.CHANNEL} channel",
        )
