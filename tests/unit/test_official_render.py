"""What officials and citizens read about petitions: cards, lists, previews and notifications
stay under Telegram's limits whatever was typed, escape every typed text, and show personal
data only when the caller allows it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from aiogram.utils.i18n import I18n

from handlers.i18n import create_i18n
from handlers.markup import text_length
from handlers.officials.callbacks import (
    ConfirmOp,
    ListFilter,
    OfficialConfirm,
    OfficialList,
    OfficialPetition,
    OfficialReroute,
    PetitionOp,
)
from handlers.officials.render_card import (
    CARD_BUDGET,
    CardData,
    card_keyboard,
    needs_full_text,
    render_card,
    render_full_text,
)
from handlers.officials.render_deadlines import deadlines, worst_mark
from handlers.officials.render_list import list_keyboard, render_list
from handlers.officials.render_prompts import TEXT_MAX_CHARS, text_preview
from handlers.officials.render_shared import split_text
from handlers.petitions.notifications import (
    answer_chunks,
    render_answer_part,
    render_info_requested,
    render_new_for_official,
    render_refused,
)
from knowledge.petitions import DeadlineStatus
from storage.models import Agency, Official, Petition, PetitionAttachment, PetitionEvent
from tests.tools.telegram_server import TEXT_LIMIT, parse_html, utf16_len

# Monday 2 November 2026, 09:00 in Hanoi
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script> & "quoted" 😀\u200b\'; DROP TABLE petitions; --'


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n()


@pytest.fixture(params=["vi", "en"])
def locale(request: pytest.FixtureRequest, i18n: I18n) -> Iterator[str]:
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def petition(**overrides: object) -> Petition:
    values: dict[str, object] = {
        "id": 7,
        "tracking_code": "PAKN-2026-000123",
        "year": 2026,
        "seq": 123,
        "source": "chat",
        "channel": "telegram",
        "chat_id": "5001",
        "topic_kind": "procedure",
        "procedure_code": "1.001193",
        "sector": "Hộ tịch",
        "topic": "Đăng ký khai sinh",
        "content": "Cán bộ hẹn trả kết quả khai sinh nhưng đã quá hạn ba ngày.",
        "sender_name": "Nguyễn Văn An",
        "phone": "0912345678",
        "email": "an@example.vn",
        "address": "Số 12 ngõ 34 Lê Lợi",
        "agency_id": 1,
        "status": "received",
        "received_at": NOW,
        "refuse_by": date(2026, 11, 4),
        "info_by": date(2026, 11, 9),
        "answer_by": date(2026, 11, 23),
        "updated_at": NOW,
    }
    values.update(overrides)
    return Petition(**values)


AGENCY = Agency(id=1, code="so-tu-phap", name="Sở Tư pháp", sectors=[], procedure_codes=[])


def official(role: str = "officer") -> Official:
    return Official(id=3, agency_id=1, channel="telegram", chat_id="9", role=role, active=True)


def card(
    p: Petition,
    *,
    personal: bool = True,
    events: list[PetitionEvent] | None = None,
    attachments: list[PetitionAttachment] | None = None,
) -> CardData:
    return CardData(
        petition=p,
        agency=AGENCY,
        events=events
        or [PetitionEvent(id=1, petition_id=p.id, action="submitted", actor="citizen", at=NOW)],
        attachments=attachments or [],
        names={3: "Trần Hà"},
        personal=personal,
    )


def visible(html: str) -> str:
    text = parse_html(html)  # raises like Telegram on bad HTML
    assert utf16_len(text) <= TEXT_LIMIT
    return text


# --- callback data ---------------------------------------------------------------------------


def test_every_button_fits_64_bytes() -> None:
    big = 2**63 - 1
    packed = [OfficialPetition(op=op, id=big).pack() for op in PetitionOp]
    packed += [OfficialList(kind=kind, page=big).pack() for kind in ListFilter]
    packed += [OfficialConfirm(op=op, id=big).pack() for op in ConfirmOp]
    packed += [OfficialReroute(id=big, agency=big, confirm=True).pack()]
    assert max(len(p.encode()) for p in packed) <= 64
    assert len({p.split(":")[0] for p in packed}) == 4  # one prefix per kind


# --- the card --------------------------------------------------------------------------------


def test_personal_data_only_when_allowed(locale: str) -> None:
    p = petition()
    shown = visible(render_card(card(p, personal=True), NOW))
    for item in ("Nguyễn Văn An", "0912345678", "an@example.vn", "Số 12 ngõ 34"):
        assert item in shown
    hidden = visible(render_card(card(p, personal=False), NOW))
    for item in ("Nguyễn Văn An", "0912345678", "an@example.vn", "Số 12 ngõ 34"):
        assert item not in hidden
    assert "🔒" in hidden and p.tracking_code in hidden and p.content in hidden


def test_hostile_text_is_escaped_everywhere(locale: str) -> None:
    p = petition(
        topic=HOSTILE,
        content=HOSTILE * 3,
        sender_name=HOSTILE,
        address=HOSTILE,
        answer=HOSTILE,
        status="answered",
        publish_by=date(2026, 11, 6),
    )
    events = [
        PetitionEvent(
            id=2,
            petition_id=7,
            action="answered",
            actor="official",
            official_id=3,
            note=HOSTILE,
            at=NOW,
        )
    ]
    for html in (
        render_card(card(p, events=events), NOW),
        *render_full_text(card(p, events=events)),
        text_preview(PetitionOp.ANSWER, p.tracking_code, HOSTILE),
        render_refused(p, HOSTILE, HOSTILE),
        render_answer_part(p, HOSTILE, HOSTILE, 1, 1, False),
        render_info_requested(p, HOSTILE, HOSTILE, True),
        render_new_for_official(p, "info_provided", NOW, HOSTILE),
    ):
        assert "<script>" in visible(html)  # shown as typed, never as markup


def test_the_card_fits_with_everything_at_its_longest(locale: str) -> None:
    long_content = ("Nội dung phản ánh rất dài về thủ tục đăng ký khai sinh 😀. " * 120)[:5000]
    p = petition(
        content=long_content,
        answer="Trả lời. " * 500,
        status="answered",
        refusal_reason=None,
        publish_by=date(2026, 11, 6),
        assigned_to=3,
        topic="Chủ đề " * 80,
    )
    events = [
        PetitionEvent(
            id=i,
            petition_id=7,
            action=action,
            actor="official",
            official_id=3,
            note="Ghi chú dài " * 400,
            at=NOW + timedelta(minutes=i),
        )
        for i, action in enumerate(["info_requested", "info_provided"] * 15, start=2)
    ]
    data = card(p, events=events)
    html = render_card(data, NOW)
    assert text_length(html) <= CARD_BUDGET
    shown = visible(html)
    assert p.tracking_code in shown and "Nguyễn Văn An" in shown and "0912345678" in shown
    assert needs_full_text(data)
    parts = render_full_text(data)
    assert len(parts) > 5
    joined = "".join(visible(part) for part in parts)
    assert " ".join(long_content.split())[:2000] in " ".join(joined.split())


def test_deadline_marks_follow_the_stage(locale: str) -> None:
    p = petition()  # received Monday 2 Nov: refuse by Wednesday 4 Nov
    assert [d.status for d in deadlines(p, [], NOW)][:3] == [DeadlineStatus.OK] * 3
    tuesday = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    assert [d.status for d in deadlines(p, [], tuesday)][:3] == [
        DeadlineStatus.DUE_SOON,
        DeadlineStatus.OK,
        DeadlineStatus.OK,
    ]
    late = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
    assert [d.status for d in deadlines(p, [], late)][0] is DeadlineStatus.OVERDUE
    assert (worst_mark(p, NOW), worst_mark(p, tuesday), worst_mark(p, late)) == ("•", "⚠️", "🔴")
    taken = petition(status="in_progress")
    asked = [PetitionEvent(id=2, petition_id=7, action="info_requested", actor="official", at=NOW)]
    assert [d.status for d in deadlines(taken, asked, late)][:2] == [None, None]
    assert worst_mark(taken, late) == "•"
    answered = petition(status="answered", publish_by=date(2026, 11, 4))
    marks = [d.status for d in deadlines(answered, [], late)]
    assert marks == [None, None, None, DeadlineStatus.OVERDUE]
    assert "🔴" in visible(render_card(card(answered), late))


def test_buttons_follow_the_status_and_the_role(locale: str) -> None:
    def ops(p: Petition, role: str = "officer", **kw: int | bool) -> set[str]:
        markup = card_keyboard(
            p,
            official(role),
            attachments=int(kw.get("attachments", 0)),
            full_text=bool(kw.get("full_text", False)),
        )
        return {
            b.callback_data.split(":")[1]
            for row in markup.inline_keyboard
            for b in row
            if b.callback_data and b.callback_data.startswith("op:")
        }

    assert ops(petition()) == {"k", "a", "n", "x", "r"}
    assert ops(petition(), "admin", attachments=2, full_text=True) == {
        "k",
        "a",
        "n",
        "x",
        "g",
        "f",
        "t",
        "r",
    }
    assert ops(petition(status="info_requested")) == {"n", "x", "r"}
    assert ops(petition(status="answered")) == {"p", "r"}
    assert ops(petition(status="published"), "admin") == {"r"}
    assert ops(petition(status="refused"), "admin") == {"r"}


def test_list_and_its_keyboard(locale: str) -> None:
    rows = [petition(id=i, tracking_code=f"PAKN-2026-{i:06d}", topic=HOSTILE) for i in range(1, 9)]
    html = render_list(AGENCY, rows, ListFilter.NEW, 1, datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
    shown = visible(html)
    assert "⚠️ PAKN-2026-000008" in shown  # refuse by tomorrow
    markup = list_keyboard(rows, ListFilter.NEW, 1, True, NOW)
    assert markup.inline_keyboard[0][0].text.startswith("• PAKN-2026-000001")
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert OfficialList(kind=ListFilter.NEW, page=0).pack() in data
    assert OfficialList(kind=ListFilter.NEW, page=2).pack() in data
    assert OfficialPetition(op=PetitionOp.OPEN, id=8).pack() in data
    assert {
        OfficialList(kind=k, page=0).pack() for k in ListFilter if k is not ListFilter.NEW
    } <= set(data)
    assert all(len(b.text) <= 48 for row in markup.inline_keyboard for b in row)
    empty = visible(render_list(AGENCY, [], ListFilter.OPEN, 0, NOW))
    assert "🎉" in empty


def test_preview_of_the_longest_text(locale: str) -> None:
    for text in ("<" * TEXT_MAX_CHARS, "a" * TEXT_MAX_CHARS, "Dòng một\n\nDòng hai"):
        shown = visible(text_preview(PetitionOp.ANSWER, "PAKN-2026-000123", text))
        assert text in shown  # whole: the official confirms exactly what is sent


# --- splitting and the citizen's messages ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Câu trả lời ngắn.",
        "\n\n".join(["Đoạn văn " * 60] * 12),
        "x" * 9000,  # no break at all
        "😀" * 3000,  # two UTF-16 units each
        "<&>" * 2500,  # escaped, but Telegram counts the visible characters
        "a\u200b" * 3000,
    ],
)
def test_split_text_fits_and_keeps_everything(text: str) -> None:
    parts = split_text(text, 3500)
    assert parts and all(text_length(p) <= 3500 for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.strip().replace(
        " ", ""
    ).replace("\n", "")
    assert split_text("  \n ", 3500) == []


def test_a_long_answer_goes_in_parts_that_fit(locale: str) -> None:
    answer = "\n\n".join(["Sở Tư pháp đã kiểm tra và làm việc với UBND phường. " * 12] * 7)[:4000]
    chunks = answer_chunks(answer)
    assert len(chunks) == 2
    p = petition(status="answered")
    first = visible(render_answer_part(p, "Sở Tư pháp", chunks[0], 1, 2, True))
    second = visible(render_answer_part(p, "Sở Tư pháp", chunks[1], 2, 2, True))
    assert "(1/2)" in first and "(2/2)" in second
    assert "⬇️" in first
    fallback = visible(render_answer_part(p, "Sở Tư pháp", chunks[0], 1, 2, False))
    assert "⬇️" not in fallback  # nobody queued the rest: the citizen is pointed to the details
    assert answer_chunks("Ngắn.") == ["Ngắn."]
    assert answer_chunks("<" * 3000) == ["<" * 3000]  # the inbox's longest: one message


def test_long_questions_and_reasons_are_cut_to_fit(locale: str) -> None:
    p = petition()
    text = "Lý do " * 700  # 4,200 characters
    for html in (
        render_refused(p, "Sở Tư pháp", text),
        render_info_requested(p, "Sở Tư pháp", text, True),
    ):
        shown = visible(html)
        assert "Lý do Lý do" in shown and "…" in shown
    refused = visible(render_refused(p, "Sở Tư pháp", "Không thuộc thẩm quyền."))
    assert ("Luật Khiếu nại" if locale == "vi" else "Law on Complaints") in refused


def test_new_petition_notice(locale: str) -> None:
    p = petition(answer_by=date(2026, 11, 3))
    shown = visible(render_new_for_official(p, "submitted", NOW))
    assert p.tracking_code in shown and "Đăng ký khai sinh" in shown
    assert "03/11/2026" in shown if locale == "vi" else "Nov 3, 2026" in shown
    assert "⚠️" in shown  # one working day left
    assert "0912345678" not in shown and "Nguyễn Văn An" not in shown
