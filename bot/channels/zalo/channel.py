"""The Zalo channel: a verified webhook event in, an aiogram `Update` through the same
`Dispatcher` as Telegram and the web chat.

- ``user_send_text``: when the text is the payload of a button sent to this user (see
  ``session.py``), it is that button's press (a callback query on the message it was on);
  otherwise a typed message (commands included).
- ``follow``: the OA's welcome, as ``/start``; ``unfollow``: remembered, nothing sent.
- ``user_send_image`` / ``user_send_file``: a photo / document message (its "file id" is the
  media URL); stickers, GIFs, audio, video and locations: a message the dialogs answer as
  "not text".
- ``user_submit_info`` (the "request user info" form): when the OA sends such forms
  (``ZALO_REQUEST_USER_INFO``), a message with a contact that has **no** ``user_id``: unlike
  Telegram's contact, Zalo does not vouch that the number typed into its form is the user's
  own. The channel keeps nothing of it: which card the citizen answered decides what the number
  is, and only the dialog that sent the card knows. The dialogs read a contact without
  ``user_id`` as a *claimed* number (``handlers.common.contact_sharing``): the dossier lookup
  takes it as knowledge of the applicant's full phone, counted like a 4-digit guess and never
  kept; the answer to the card a follow confirmation offers for ZNS (``handlers.common.zns``)
  becomes the phone ZNS messages go to; anywhere else it is not answered. Without the feature
  the event is only acknowledged (no card of ours asked for it). Why a contact and not a
  dialog-specific signal: the dialogs stay channel-neutral, and the missing ``user_id`` carries
  exactly the difference (Telegram's phone-book cards, which nobody vouches either, are read
  the same way).

The webhook runs one user's events one at a time, in order; every event opens that user's reply
window (``storage.repositories.zalo_users``) and releases the pushes held while it was closed.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.updates import (
    UnhandledUpdates,
    callback_update,
    clean_user_text,
    person,
    private_chat,
    text_update,
)
from handlers.contracts import Waker, wake
from knowledge.workdays import utcnow
from storage.outbox import release_held
from storage.records import ZaloUserRecord
from storage.repositories.zalo_users import ZaloUserRepository

from .events import EventKind, ZaloEvent
from .session import ZaloBot, ZaloSession, callback_query_id
from .window import WINDOW_CLOSED

logger = logging.getLogger(__name__)


def _file_unique_id(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


class ZaloChannel:
    """Zalo events -> `Update`s -> ``dispatcher.feed_update`` (see the module docstring)."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: ZaloBot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        feed_kwargs: dict[str, Any] | None = None,
        strict: bool = False,
        clock: Callable[[], Any] = utcnow,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.session_factory = session_factory
        self.feed_kwargs = dict(feed_kwargs or {})
        self.unhandled = UnhandledUpdates("Zalo", logger, strict=strict)
        self.clock = clock
        self.outbox: Waker | None = None  # set by the composition root
        self._update_ids = itertools.count(1)

    async def handle(self, event: ZaloEvent) -> None:
        """One verified, de-duplicated event of the webhook."""
        if not event.user_id:
            logger.info("Zalo event %s without a user: acknowledged", event.name)
            return
        if event.kind is EventKind.UNFOLLOW:
            async with self.session_factory() as session:
                await ZaloUserRepository(session).set_followed(event.user_id, False)
                await session.commit()
            return
        async with self.session_factory() as session:
            users = ZaloUserRepository(session)
            user = await users.inbound(event.user_id, at=self._written_at(event))
            press = None
            if event.kind is EventKind.TEXT and event.text:
                press = await users.press(user.id, clean_user_text(event.text))
            held = await release_held(session, "zalo", str(user.id), WINDOW_CLOSED, self.clock())
            if event.kind is EventKind.FOLLOW:
                await users.set_followed(event.user_id, True)
            await session.commit()
        if held:
            wake(self.outbox)  # the window is open again: what waited for it goes now
        session_of_bot = self.bot.session
        if isinstance(session_of_bot, ZaloSession):
            session_of_bot.remember(user.id, user.user_id)
        update = self._update(event, user, press)
        if update is None:
            logger.info("Zalo event %s is not for the dialogs: acknowledged", event.name)
            return
        result = await self.dispatcher.feed_update(self.bot, update, **self.feed_kwargs)
        if result is UNHANDLED:
            self.unhandled.record(update)

    def _written_at(self, event: ZaloEvent) -> datetime:
        """When the user wrote: the event's time (a retry may come hours later, and Zalo's
        window runs from the message), never later than now."""
        now: datetime = self.clock()
        if event.timestamp is None:
            return now
        return min(now, datetime.fromtimestamp(event.timestamp / 1000, UTC))

    # -- Update construction ----------------------------------------------------------------

    def _update(
        self, event: ZaloEvent, user: ZaloUserRecord, press: tuple[int, str] | None
    ) -> Update | None:
        chat = private_chat(user.id, user.display_name or "Zalo")
        sender = person(user.id, user.display_name or "Zalo", None)
        if press is not None:
            message_id, data = press
            return callback_update(
                self.bot,
                update_id=next(self._update_ids),
                query_id=callback_query_id(user.id),
                user=sender,
                chat_instance=f"zalo:{user.id}",
                message={
                    "message_id": message_id,
                    "date": int(self.clock().timestamp()),
                    "chat": chat,
                    "text": "…",
                },
                data=data,
            )
        text, extra = self._content(event, user)
        if text is None and extra is None:
            return None
        return text_update(
            self.bot,
            update_id=next(self._update_ids),
            message_id=event_message_id(event),
            chat=chat,
            user=sender,
            text=text or "",
            extra=extra,
        )

    def _content(
        self, event: ZaloEvent, user: ZaloUserRecord
    ) -> tuple[str | None, dict[str, Any] | None]:
        """The text and the other message fields an event becomes (None, None: nothing)."""
        if event.kind is EventKind.FOLLOW:
            return "/start", None
        if event.kind is EventKind.TEXT:
            text = clean_user_text(event.text or "")
            return (text, None) if text else (None, None)
        if event.kind is EventKind.SUBMIT_INFO:
            return None, self._claimed_contact(event, user)
        media = event.attachments[0] if event.attachments else None
        if event.kind is EventKind.IMAGE and media is not None and media.url:
            size = {"file_id": media.url, "file_unique_id": _file_unique_id(media.url)}
            return None, {"photo": [{**size, "width": 0, "height": 0}]}
        if event.kind is EventKind.FILE and media is not None and media.url:
            document = {
                "file_id": media.url,
                "file_unique_id": _file_unique_id(media.url),
                "file_name": media.name,
                "file_size": media.size,
            }
            return None, {"document": {k: v for k, v in document.items() if v is not None}}
        if event.kind in (EventKind.STICKER, EventKind.UNSUPPORTED_MEDIA):
            sticker = {
                "file_id": f"zalo:{event.name}",
                "file_unique_id": _file_unique_id(event.name),
                "type": "regular",
                "width": 0,
                "height": 0,
                "is_animated": False,
                "is_video": False,
            }
            return None, {"sticker": sticker}
        return None, None

    def _claimed_contact(self, event: ZaloEvent, user: ZaloUserRecord) -> dict[str, Any] | None:
        """The contact a form's answer becomes (no ``user_id``: claimed, not vouched), when the
        OA sends the forms; None otherwise (nothing of ours asked: the number is not kept)."""
        phone = clean_user_text(event.info.phone or "", 32) if event.info is not None else ""
        if getattr(self.bot, "contact_sharing", None) != "claimed" or not phone:
            return None
        name = clean_user_text(event.info.name or "", 64) if event.info is not None else ""
        return {
            "contact": {"phone_number": phone, "first_name": name or user.display_name or "Zalo"}
        }


def event_message_id(event: ZaloEvent) -> int:
    """A message id for what the user sent (Zalo's msg_id is a string; the dialogs only need
    an int that differs between messages)."""
    key = event.msg_id or f"{event.name}:{event.timestamp}"
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big") or 1
