"""The web chat channel: an aiohttp page that talks to the same aiogram dialogs as Telegram."""

from __future__ import annotations

from .app import WEBCHAT_CHANNEL_KEY, create_web_app, setup_webchat
from .webchat import (
    Visitor,
    WebChatBot,
    WebChatChannel,
    WebChatHub,
    WebChatInputError,
    WebChatSession,
)

__all__ = [
    "WEBCHAT_CHANNEL_KEY",
    "Visitor",
    "WebChatBot",
    "WebChatChannel",
    "WebChatHub",
    "WebChatInputError",
    "WebChatSession",
    "create_web_app",
    "setup_webchat",
]
