"""Builders of the records tests need again and again: a citizen's petition draft, an agency with
an enrolled official, and a quick search index that holds the birth registration."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.catalog import load_default_catalog
from knowledge.search import SearchIndex
from storage.models import Agency
from storage.repositories.agencies import AgencyRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionDraft

CONTENT = "Cán bộ hẹn trả kết quả khai sinh nhưng đã quá hạn ba ngày mà chưa nhận được."


def petition_draft(**overrides: Any) -> PetitionDraft:
    """A birth-registration complaint from a Telegram chat (1001), with `overrides`."""
    values: dict[str, Any] = {
        "topic_kind": "procedure",
        "topic": "Đăng ký khai sinh",
        "procedure_code": "1.001193",
        "sector": "Hộ tịch",
        "content": CONTENT,
        "sender_name": "Nguyễn Văn An",
        "phone": "0912345678",
        "address": "12 Lê Lợi, phường Bến Thành, TP Hồ Chí Minh",
        "channel": "telegram",
        "chat_id": "1001",
        "language": "vi",
    }
    values.update(overrides)
    return PetitionDraft(**values)


async def justice_with_official(
    session: AsyncSession,
    *,
    chat_id: str = "900",
    role: str = "officer",
    display_name: str = "Cán bộ",
    channel: str = "telegram",
) -> Agency:
    """The justice department (birth registrations) with one enrolled official; not committed."""
    justice = await AgencyRepository(session).save(
        "so-tu-phap", "Sở Tư pháp", sectors=["Hộ tịch"], procedure_codes=["1.001193"]
    )
    officials = OfficialRepository(session)
    code, _ = await officials.create_invitation(justice.id, role)
    await officials.enroll(code, channel=channel, chat_id=chat_id, display_name=display_name)
    return justice


def birth_registration_index() -> SearchIndex:
    """A slice of the shipped catalog holding the birth registration (1.001193): quick to build."""
    procedures = list(load_default_catalog())[:300]
    assert any(p.code == "1.001193" for p in procedures)
    return SearchIndex.build(procedures)
