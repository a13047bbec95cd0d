"""How the dialogs' Telegram-HTML messages become Zalo messages (plain text, buttons)."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.channels.telegram_html import parse_telegram_html
from bot.channels.zalo.render import (
    BUTTONS_PER_MESSAGE,
    MORE_TEXT,
    SUBTITLE_LIMIT,
    TEXT_LIMIT,
    TITLE_LIMIT,
    ButtonSpec,
    buttons_of,
    plan,
    spell_out_links,
    split_text,
)


def _plain(html: str) -> str:
    text, entities = parse_telegram_html(html)
    return spell_out_links(text, entities)


def test_formatting_is_dropped_and_links_are_spelled_out() -> None:
    html = (
        "<b>Đăng ký khai sinh</b> 👶 — nộp tại "
        '<a href="https://dichvucong.gov.vn/p/1">Cổng Dịch vụ công</a> hoặc '
        '<a href="https://x.vn">https://x.vn</a>; mã <code>1.001193</code>'
    )
    assert _plain(html) == (
        "Đăng ký khai sinh 👶 — nộp tại Cổng Dịch vụ công (https://dichvucong.gov.vn/p/1) "
        "hoặc https://x.vn; mã 1.001193"
    )


def test_link_offsets_count_utf16_like_telegram() -> None:
    # an emoji outside the BMP before the link is two UTF-16 units
    assert _plain('😀 <a href="https://a.vn">xem</a> tiếp') == "😀 xem (https://a.vn) tiếp"


def test_long_text_is_cut_at_paragraphs_within_the_limit() -> None:
    paragraph = "Thành phần hồ sơ gồm tờ khai và giấy tờ tùy thân. " * 12
    text = "\n\n".join([paragraph.strip()] * 6)
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(p) <= TEXT_LIMIT for p in pieces)
    assert all(p.endswith("tùy thân.") for p in pieces)  # cut between paragraphs
    assert "".join(p.replace("\n", "") for p in pieces).replace(" ", "") == text.replace(
        "\n", ""
    ).replace(" ", "")


def test_a_text_without_spaces_is_still_cut() -> None:
    pieces = split_text("x" * (TEXT_LIMIT * 2 + 5))
    assert [len(p) for p in pieces] == [TEXT_LIMIT, TEXT_LIMIT, 5]


def test_inline_and_url_buttons_with_unique_titles() -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Xem", callback_data="proc:1"),
                InlineKeyboardButton(text="Xem", callback_data="proc:2"),
            ],
            [InlineKeyboardButton(text="Nộp trực tuyến", url="https://dichvucong.gov.vn")],
            [InlineKeyboardButton(text="T" * 150, callback_data="long")],
        ]
    )
    specs = buttons_of(markup)
    assert [s.title for s in specs[:3]] == ["Xem", "Xem (2)", "Nộp trực tuyến"]
    assert [s.kind for s in specs] == ["press", "press", "url", "press"]
    assert specs[2].value == "https://dichvucong.gov.vn"
    assert len(specs[3].title) == TITLE_LIMIT and specs[3].title.endswith("…")


def test_reply_keyboards_type_their_text_and_contact_requests_are_left_out() -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="📱 Chia sẻ số điện thoại", request_contact=True)],
            [KeyboardButton(text="Hủy")],
        ]
    )
    assert buttons_of(markup) == [ButtonSpec("Hủy", "reply", "Hủy")]


def test_buttons_go_on_the_last_piece_five_per_message() -> None:
    buttons = [ButtonSpec(f"Lựa chọn {i}", "press", f"c:{i}") for i in range(12)]
    messages = plan("a" * (TEXT_LIMIT + 10), buttons)
    assert [len(m.buttons) for m in messages] == [0, BUTTONS_PER_MESSAGE, 5, 2]
    assert messages[2].text == messages[3].text == MORE_TEXT
    assert [b.value for m in messages for b in m.buttons] == [b.value for b in buttons]


def test_no_buttons_no_templates() -> None:
    assert [m.buttons for m in plan("Xin chào", [])] == [()]


def test_a_contact_request_becomes_a_card_after_the_text_when_the_oa_sends_them() -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📱 Chia sẻ số điện thoại", request_contact=True)]]
    )
    buttons = buttons_of(markup, contact=True)
    assert buttons == [ButtonSpec("📱 Chia sẻ số điện thoại", "contact", "")]
    messages = plan("Mã hồ sơ: X\n\nGửi 4 số cuối.\n\nHoặc bấm nút bên dưới.", buttons)
    assert [(m.text, m.request_title, m.buttons) for m in messages] == [
        ("Mã hồ sơ: X\n\nGửi 4 số cuối.\n\nHoặc bấm nút bên dưới.", None, ()),
        ("Hoặc bấm nút bên dưới.", "📱 Chia sẻ số điện thoại", ()),
    ]
    long_card = plan("từ " * 400, buttons)[-1]
    assert len(long_card.text) <= SUBTITLE_LIMIT and long_card.text.endswith("…")


def test_a_message_that_is_only_the_card_s_purpose_becomes_the_card_alone() -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📱 Nhận thông báo ZNS", request_contact=True)]]
    )
    buttons = buttons_of(markup, contact=True)
    purpose = "Nhận thông báo qua tin nhắn ZNS khi quá 48 giờ: chia sẻ số điện thoại."
    assert [(m.text, m.request_title) for m in plan(purpose, buttons)] == [
        (purpose, "📱 Nhận thông báo ZNS")
    ]
    # more than the purpose, or other buttons beside the card: the text is sent too
    assert len(plan(f"Tiêu đề\n\n{purpose}", buttons)) == 2
    with_reply = buttons_of(
        ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text="📱 Nhận thông báo ZNS", request_contact=True)],
                [KeyboardButton(text="Huỷ")],
            ]
        ),
        contact=True,
    )
    assert [m.request_title for m in plan(purpose, with_reply)] == [None, "📱 Nhận thông báo ZNS"]
