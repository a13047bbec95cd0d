"""The web chat's visitors: one per browser cookie, each a private chat with its own bounded
event log (what the page shows) and message memory (what a button press or an edit refers to).

A visitor is identified by a random 128-bit token (the cookie); its chat/user id is an HMAC of the
token, so with a stable secret the same browser keeps its id across restarts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import Message

from bot.channels.updates import private_chat

logger = logging.getLogger(__name__)

# secrets.token_urlsafe(16) (128 random bits), then "." and 16 characters of an HMAC of it that
# only this deployment can make; bare 22-character tokens from older releases are still read.
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}(?:\.[A-Za-z0-9_-]{16})?$")
_MAX_CHAT_ID = 2**53 - 1  # positive int64 that JavaScript could also hold exactly

JsonEvent = dict[str, Any]


@dataclass(eq=False)
class Visitor:
    """One browser (one cookie): a private chat with the bot."""

    token: str
    chat_id: int
    last_seen: float
    max_events: int
    max_event_bytes: int
    max_messages: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: int = 0  # requests waiting for or holding `lock`
    cursor: int = 0  # seq of the newest event
    events: deque[tuple[JsonEvent, int]] = field(default_factory=deque)
    event_bytes: int = 0
    messages: OrderedDict[int, Message] = field(default_factory=OrderedDict)
    language: str | None = None  # the page's language ("vi"/"en"), sent as language_code
    _last_message_id: int = 0
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def user_id(self) -> int:
        return self.chat_id  # private chat: chat id == user id, as on Telegram

    @property
    def display_name(self) -> str:
        return "Guest" if self.language == "en" else "Khách"

    def chat(self) -> dict[str, Any]:
        """The visitor's private chat, as Telegram describes one."""
        return private_chat(self.chat_id, self.display_name)

    def next_message_id(self) -> int:
        self._last_message_id += 1
        return self._last_message_id

    def push(self, event: JsonEvent) -> JsonEvent:
        """Append an event (gets the next `seq`), evicting the oldest beyond the bounds."""
        self.cursor += 1
        event = {"seq": self.cursor, **event}
        size = len(json.dumps(event, ensure_ascii=False))
        self.events.append((event, size))
        self.event_bytes += size
        while len(self.events) > 1 and (
            len(self.events) > self.max_events or self.event_bytes > self.max_event_bytes
        ):
            _, dropped = self.events.popleft()
            self.event_bytes -= dropped
        # Wake every long-poll waiting on the current Event, then arm a fresh one.
        self._wakeup.set()
        self._wakeup = asyncio.Event()
        return event

    def events_after(self, seq: int) -> list[JsonEvent]:
        return [event for event, _ in self.events if event["seq"] > seq]

    async def wait_for_events(self, after: int, timeout: float) -> list[JsonEvent]:
        """Events newer than `after`, waiting up to `timeout` seconds for the first one."""
        found = self.events_after(after)
        if found or timeout <= 0:
            return found
        # Return after any wake-up, even an empty one (shutdown, eviction): the page simply
        # polls again.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        return self.events_after(after)

    def wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def remember(self, message: Message) -> None:
        self.messages[message.message_id] = message
        self.messages.move_to_end(message.message_id)
        while len(self.messages) > self.max_messages:
            self.messages.popitem(last=False)


class WebChatHub:
    """Per-visitor state, bounded: at most `max_visitors` (least recently seen evicted first),
    bounded event logs and message memories, idle visitors expire after `idle_ttl` seconds.

    A visitor is identified by a random 128-bit token (the cookie); its chat/user id is an HMAC
    of the token, so with a stable `secret` the same browser keeps its id (language, FSM state
    in the database) across restarts. Without a secret a random one is used per process.
    """

    def __init__(
        self,
        *,
        secret: bytes | None = None,
        max_visitors: int = 1000,
        max_events_per_visitor: int = 200,
        max_event_bytes_per_visitor: int = 256 * 1024,
        max_messages_per_visitor: int = 100,
        max_pending_per_visitor: int = 4,
        idle_ttl: float = 6 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.max_visitors = max_visitors
        self.max_events = max_events_per_visitor
        self.max_event_bytes = max_event_bytes_per_visitor
        self.max_messages = max_messages_per_visitor
        self.max_pending = max_pending_per_visitor
        self.idle_ttl = idle_ttl
        self._clock = clock
        self._by_token: OrderedDict[str, Visitor] = OrderedDict()  # LRU order
        self._by_chat: dict[int, Visitor] = {}

    def __len__(self) -> int:
        return len(self._by_token)

    def new_token(self) -> str:
        """A fresh cookie value, signed so that this deployment recognises it after a restart."""
        random_part = secrets.token_urlsafe(16)
        return random_part + "." + self._signature(random_part)

    def _signature(self, random_part: str) -> str:
        digest = hmac.new(self._secret, b"token:" + random_part.encode("ascii"), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:12]).decode("ascii")

    @staticmethod
    def is_valid_token(token: str | None) -> bool:
        return token is not None and _TOKEN_RE.fullmatch(token) is not None

    def knows(self, token: str | None) -> bool:
        """True when `token` is a cookie this deployment issued: a visitor held now, or one
        signed with the secret (a visitor coming back after a restart). A well-formed token
        nobody issued is not known, so minting cookies does not mint identities for free."""
        if token is None:
            return False
        if token in self._by_token:
            return True
        random_part, dot, signature = token.partition(".")
        return (
            bool(dot)
            and self.is_valid_token(token)
            and hmac.compare_digest(signature, self._signature(random_part))
        )

    def chat_id_for(self, token: str) -> int:
        digest = hmac.new(self._secret, token.encode("ascii"), hashlib.sha256).digest()
        return (int.from_bytes(digest[:8], "big") & _MAX_CHAT_ID) or 1

    def visitor(self, token: str | None) -> tuple[Visitor, bool]:
        """The visitor for a cookie value, creating one if needed; True when the cookie must be
        (re)set because the token was missing or malformed."""
        now = self._clock()
        if token is not None and self.is_valid_token(token):
            found = self._by_token.get(token)
            if found is not None:
                found.last_seen = now
                self._by_token.move_to_end(token)
                return found, False
            chat_id = self.chat_id_for(token)
            if chat_id not in self._by_chat:  # a 2**53 collision: just issue a new token
                return self._add(token, chat_id, now), False
        while True:
            token = self.new_token()
            chat_id = self.chat_id_for(token)
            if token not in self._by_token and chat_id not in self._by_chat:
                return self._add(token, chat_id, now), True

    def _add(self, token: str, chat_id: int, now: float) -> Visitor:
        self.expire_idle()
        while len(self._by_token) >= self.max_visitors:
            _, oldest = next(iter(self._by_token.items()))
            logger.info("web chat full (%d visitors): evicting the least recently seen", len(self))
            self._remove(oldest)
        visitor = Visitor(
            token=token,
            chat_id=chat_id,
            last_seen=now,
            max_events=self.max_events,
            max_event_bytes=self.max_event_bytes,
            max_messages=self.max_messages,
        )
        self._by_token[token] = visitor
        self._by_chat[chat_id] = visitor
        return visitor

    def _remove(self, visitor: Visitor) -> None:
        self._by_token.pop(visitor.token, None)
        self._by_chat.pop(visitor.chat_id, None)
        visitor.wake()  # let a waiting long-poll return

    def by_chat_id(self, chat_id: int | str) -> Visitor | None:
        try:
            return self._by_chat.get(int(chat_id))
        except ValueError:
            return None

    def expire_idle(self) -> int:
        """Drop visitors idle longer than `idle_ttl`; returns how many were dropped."""
        limit = self._clock() - self.idle_ttl
        stale = [v for v in self._by_token.values() if v.last_seen < limit and v.pending == 0]
        for visitor in stale:
            self._remove(visitor)
        if stale:
            logger.debug("expired %d idle web chat visitors", len(stale))
        return len(stale)

    def wake_all(self) -> None:
        for visitor in self._by_token.values():
            visitor.wake()
