"""Zalo users of the Official Account: the chat id each is known by, their reply window, the
dialogs' message ids, and the buttons sent to them (a press is the payload coming back).

Like every repository here, nothing commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ZaloButton, ZaloUser, utcnow
from storage.records import ZaloUserRecord
from storage.repositories.common import dialect_name, upsert_insert


class ZaloUserRepository:
    """Zalo users and the buttons on the messages sent to them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_user_id(self, user_id: str) -> ZaloUserRecord | None:
        result = await self.session.execute(select(ZaloUser).where(ZaloUser.user_id == user_id))
        row = result.scalar_one_or_none()
        return ZaloUserRecord.of(row) if row is not None else None

    async def by_chat_id(self, chat_id: int) -> ZaloUserRecord | None:
        row = await self.session.get(ZaloUser, chat_id)
        return ZaloUserRecord.of(row) if row is not None else None

    async def inbound(
        self, user_id: str, *, display_name: str = "", at: datetime | None = None
    ) -> ZaloUserRecord:
        """The user wrote (or followed) at ``at``: created on first contact, and a new reply
        window opens (its free replies counted from zero). One statement, so two events of
        a new user at once cannot create two rows."""
        at = at or utcnow()
        values = {
            "user_id": user_id,
            "display_name": display_name[:255],
            "last_inbound_at": at,
            "window_replies": 0,
            "last_message_id": 0,
            "followed": True,
            "created_at": at,
        }
        changes: dict[str, object] = {"last_inbound_at": at, "window_replies": 0}
        if display_name:
            changes["display_name"] = display_name[:255]
        stmt = (
            upsert_insert(dialect_name(self.session), ZaloUser)
            .values(**values)
            .on_conflict_do_update(index_elements=[ZaloUser.user_id], set_=changes)
        )
        await self.session.execute(stmt)
        result = await self.session.execute(
            select(ZaloUser)
            .where(ZaloUser.user_id == user_id)
            .execution_options(populate_existing=True)
        )
        return ZaloUserRecord.of(result.scalar_one())

    async def set_followed(self, user_id: str, followed: bool) -> None:
        await self.session.execute(
            update(ZaloUser).where(ZaloUser.user_id == user_id).values(followed=followed)
        )

    async def set_phone(self, chat_id: int, phone: str | None) -> None:
        """The phone ZNS messages of this chat go to (outside the reply window): one the user
        agreed to receive them on, given in answer to the card that asked for exactly that
        (``handlers.common.zns``); None: no ZNS any more."""
        await self.session.execute(
            update(ZaloUser)
            .where(ZaloUser.id == chat_id)
            .values(phone=phone[:32] if phone else None)
        )

    async def next_message_id(self, chat_id: int) -> int:
        """The next message id of this chat (the dialogs edit and answer by message id)."""
        result = await self.session.execute(
            update(ZaloUser)
            .where(ZaloUser.id == chat_id)
            .values(last_message_id=ZaloUser.last_message_id + 1)
            .returning(ZaloUser.last_message_id)
        )
        return int(result.scalar_one())

    async def count_replies(self, chat_id: int, sent: int = 1) -> None:
        """``sent`` more messages went out in the user's current reply window."""
        await self.session.execute(
            update(ZaloUser)
            .where(ZaloUser.id == chat_id)
            .values(window_replies=ZaloUser.window_replies + sent)
        )

    # -- buttons ---------------------------------------------------------------------------

    async def register_buttons(
        self, chat_id: int, message_id: int, presses: Sequence[tuple[str, str]]
    ) -> None:
        """Buttons on (a copy of) message ``message_id``: (payload, callback data) pairs, each
        payload unique in the chat."""
        now = utcnow()
        self.session.add_all(
            ZaloButton(
                chat_id=chat_id,
                message_id=message_id,
                payload=payload,
                callback_data=data,
                created_at=now,
            )
            for payload, data in presses
        )
        await self.session.flush()

    async def forget_buttons(self, chat_id: int, message_id: int) -> None:
        await self.session.execute(
            delete(ZaloButton).where(
                ZaloButton.chat_id == chat_id, ZaloButton.message_id == message_id
            )
        )

    async def press(self, chat_id: int, text: str) -> tuple[int, str] | None:
        """The (message id, callback data) of this chat's button whose payload is ``text``;
        None when the text is not a button sent to this user."""
        result = await self.session.execute(
            select(ZaloButton.message_id, ZaloButton.callback_data)
            .where(ZaloButton.chat_id == chat_id, ZaloButton.payload == text)
            .order_by(ZaloButton.message_id.desc(), ZaloButton.id.desc())
            .limit(1)
        )
        row = result.first()
        return (int(row[0]), str(row[1])) if row is not None else None

    async def purge_buttons(self, older_than: datetime) -> None:
        await self.session.execute(delete(ZaloButton).where(ZaloButton.created_at < older_than))
