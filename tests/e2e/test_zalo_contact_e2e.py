"""Zalo end to end, the OA's "request user info" form as the dossier lookup's second factor and
petition attachments sent from Zalo: the app as `python -m bot` composes it, its real webhook
fed signed events, its replies read on the stand-in Zalo server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.dossier import lookup_key
from storage.repositories.inbox_tokens import InboxTokenRepository
from storage.repositories.lookup_failures import LookupFailureRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository
from storage.repositories.zalo_users import ZaloUserRepository
from tests.e2e.test_zalo_e2e import (
    CITIZEN,
    CODE,
    CONTENT,
    PHONE,
    ZaloApp,
    import_dossier,
    zalo_app,
)
from tests.tools.builders import justice_with_official
from tests.tools.zalo_signing import message_event

CARD_IMAGE = "https://cdn.example.gov.vn/zalo/chia-se-so-dien-thoai.png"


@pytest.fixture
async def zapp_info(tmp_path: Path) -> AsyncIterator[ZaloApp]:
    """The app on an OA whose tier has "request user info"."""
    async with zalo_app(
        tmp_path, zalo_request_user_info=True, zalo_request_user_info_image_url=CARD_IMAGE
    ) as running:
        yield running


@pytest.fixture
async def zapp(tmp_path: Path) -> AsyncIterator[ZaloApp]:
    """The app on an OA without "request user info" (the default)."""
    async with zalo_app(tmp_path) as running:
        yield running


async def _code_failures(zapp: ZaloApp) -> int:
    async with zapp.services.session_factory() as session:
        since = datetime.now(UTC) - timedelta(days=1)
        return len(await LookupFailureRepository(session).recent_for_code(lookup_key(CODE), since))


async def _stored_phone(zapp: ZaloApp) -> str | None:
    async with zapp.services.session_factory() as session:
        user = await ZaloUserRepository(session).by_user_id(CITIZEN)
    assert user is not None
    return user.phone


async def test_the_form_s_phone_opens_the_dossier_as_knowledge_of_the_full_number(
    zapp_info: ZaloApp,
) -> None:
    zapp = zapp_info
    await import_dossier(zapp)
    citizen = zapp.citizen()
    await citizen.say("/start")
    await citizen.say(CODE)
    assert "4 số cuối" in citizen.text()  # the 4 digits are still asked for
    [card] = citizen.cards()  # and the form comes after the question, as its last message
    assert citizen.last[-1].request_user_info == card
    assert card["title"] == "📱 Chia sẻ số điện thoại"
    assert "đầy đủ số điện thoại" in card["subtitle"]
    assert card["image_url"] == CARD_IMAGE

    # a wrong number: refused like wrong digits, and counted against the code too
    await citizen.submit_info(name="Nguyễn Văn An", phone="0987654321")
    assert "số điện thoại này không khớp" in citizen.text()
    assert "Số lần thử còn lại: 4" in citizen.text()
    assert CODE not in citizen.text()
    assert await _code_failures(zapp) == 1

    # a guess is only a guess: never the number ZNS messages would go to
    assert await _stored_phone(zapp) is None

    # the applicant's number, written the international way, opens the card
    await citizen.submit_info(name="Nguyễn Văn An", phone="+84 912 345 678")
    assert CODE in citizen.text() and "Nguyễn Văn An" not in citizen.text()
    assert any(t.startswith("🔔") for t in citizen.titles())
    # the applicant's number (maybe a relative's): it opened the dossier, it is not kept
    assert await _stored_phone(zapp) is None

    # outside the factor step a later answer to that form: nothing said, nothing kept
    assert await citizen.submit_info(phone="84912345678") == []
    assert await _stored_phone(zapp) is None


async def test_the_4_digits_keep_working_and_claimed_numbers_hit_the_attempt_limit(
    zapp_info: ZaloApp,
) -> None:
    zapp = zapp_info
    await import_dossier(zapp)
    citizen = zapp.citizen()
    await citizen.say(CODE)
    card = await citizen.say(PHONE[-4:])
    assert card and CODE in citizen.text()

    other = zapp.citizen("5551234567890123456")
    await other.say(CODE)
    for attempt in range(5):
        await other.submit_info(phone=f"091234{attempt:04d}")
    assert "thử sai quá nhiều lần" in other.text()  # the fifth wrong number locks the user
    assert await _code_failures(zapp) == 5
    # the lookup is over: the right number now is not answered, nor kept; the code is refused
    assert await other.submit_info(phone=PHONE) == []
    async with zapp.services.session_factory() as session:
        locked_out = await ZaloUserRepository(session).by_user_id("5551234567890123456")
    assert locked_out is not None and locked_out.phone is None
    await other.say(CODE)
    assert "thử sai quá nhiều lần" in other.text() and other.cards() == []


async def test_without_the_feature_no_form_is_sent_and_an_answer_proves_nothing(
    zapp: ZaloApp,
) -> None:
    await import_dossier(zapp)
    citizen = zapp.citizen()
    await citizen.say(CODE)
    assert "4 số cuối" in citizen.text()
    assert citizen.cards() == [] and "Chia sẻ số điện thoại" not in citizen.text()
    assert await citizen.submit_info(phone=PHONE) == []  # not a second factor, not kept
    assert await _stored_phone(zapp) is None
    await citizen.say(PHONE[-4:])
    assert CODE in citizen.text()


IMAGE_URL = "https://photo-stal-2.zdn.vn/d/chup-man-hinh-bien-nhan.jpg"


async def test_a_petition_with_an_image_from_zalo_keeps_its_link_for_the_officials(
    zapp: ZaloApp,
) -> None:
    async with zapp.services.session_factory() as session:
        justice = await justice_with_official(session, chat_id="900")
        await session.commit()
    citizen = zapp.citizen()
    await citizen.say("/phananh")
    await citizen.press(next(t for t in citizen.titles() if "Gửi phản ánh mới" in t))
    assert "Bước 1/7" in citizen.text()  # Zalo has the attachments step
    await citizen.say("khai sinh")
    await citizen.press(next(t for t in citizen.titles() if "khai sinh" in t.lower()))
    await citizen.say(CONTENT)
    assert "Bước 3/7" in citizen.text() and "Ảnh hoặc tài liệu" in citizen.text()
    image = message_event(
        "user_send_image",
        CITIZEN,
        datetime.now(UTC),
        attachments=[{"type": "image", "payload": {"url": IMAGE_URL, "thumbnail": IMAGE_URL}}],
    )
    await citizen.send(image)
    assert "Đã đính kèm (1/5)" in citizen.text() and "ảnh" in citizen.text()
    # a link that is not https is refused, the form keeps the one photo
    plain = message_event(
        "user_send_image",
        CITIZEN,
        datetime.now(UTC),
        attachments=[{"type": "image", "payload": {"url": "http://photo.zdn.vn/a.jpg"}}],
    )
    await citizen.send(plain)
    assert "Đã đính kèm" not in citizen.text() and "JPG, PNG, PDF" in citizen.text()
    await citizen.press(next(t for t in citizen.titles() if t.startswith("✅ Xong (đã đính kèm 1")))
    assert "Họ và tên" in citizen.text()
    await citizen.say("Nguyễn Văn An")
    await citizen.say("0987 654 321")
    await citizen.say("12 Lê Lợi, phường Bến Thành, Quận 1, TP Hồ Chí Minh")
    await citizen.press(next(t for t in citizen.titles() if "Gửi phản ánh" in t))

    async with zapp.services.session_factory() as session:
        repo = PetitionRepository(session)
        [petition] = await repo.of_sender("zalo", "1")
        attachments = await repo.attachments(petition.id)
    assert petition.tracking_code in citizen.text()
    assert [(a.kind, a.file_id, a.file_name) for a in attachments] == [("url", IMAGE_URL, None)]

    # the official opens the petition in the inbox: the photo is a link that opens it
    async with zapp.services.session_factory() as session:
        official = await OfficialRepository(session).by_chat("telegram", "900")
        assert official is not None and official.agency_id == justice.id
        token = await InboxTokenRepository(session).issue(
            official, kind="link", ttl=timedelta(minutes=10), now=datetime.now(UTC)
        )
        await session.commit()
    origin = zapp.services.settings.base_url
    signed_in = await zapp.client.post(
        "/inbox/login", data={"token": token}, headers={"Origin": origin}, allow_redirects=False
    )
    assert signed_in.status == 303, await signed_in.text()
    page = await zapp.client.get(f"/inbox/p/{petition.tracking_code}")
    html = await page.text()
    assert page.status == 200, html
    assert f'<a href="{IMAGE_URL}" rel="noopener noreferrer nofollow"' in html
