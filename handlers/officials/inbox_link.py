"""``/inbox``: a one-time sign-in link to the officials' inbox web page (audited)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import DialogSettings
from handlers.i18n import channel_of
from knowledge.petition_workflow import AuditAction
from storage.records import OfficialRecord
from storage.repositories.audit import AuditRepository
from storage.repositories.inbox_tokens import LINK_TTL, InboxTokenRepository

from .render_enrolment import inbox_link_text


async def inbox_command(
    message: Message,
    session: AsyncSession,
    bot: Bot,
    settings: DialogSettings,
    official: OfficialRecord,
) -> None:
    token = await InboxTokenRepository(session).issue(official, kind="link", ttl=LINK_TTL)
    await AuditRepository(session).record(
        AuditAction.LOGIN_LINK, official=official, via=channel_of(bot)
    )
    await session.commit()
    url = f"{settings.base_url}/inbox/login?token={token}"
    await message.answer(inbox_link_text(url, int(LINK_TTL.total_seconds() // 60)))
