"""Procedure cards and result lists: escaping, pagination within Telegram's limits, buttons."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from aiogram.types import InlineKeyboardMarkup

from handlers.common import keyboards as common_keyboards
from handlers.common.callbacks import CALLBACK_DATA_LIMIT
from handlers.i18n import create_i18n
from handlers.markup import TELEGRAM_TEXT_LIMIT, text_length
from handlers.procedures import keyboards
from handlers.procedures.callbacks import (
    CardPage,
    OpenProcedure,
    Suggestion,
    phrase_check,
)
from handlers.procedures.render import (
    render_card_pages,
    render_no_results,
    render_results,
)
from knowledge.models import Channel, Document, LegalBasis, Procedure

LONGEST_CODE = "2.002307.000.00.00.H35"
ALLOWED = {"b", "i", "code", "a"}


class _Checker(HTMLParser):
    """Visible text of Telegram HTML; fails on unknown or unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible(html_text: str) -> str:
    leftovers = re.sub(r"</?[a-z]+(\s[^<>]*)?>|&(#\d+|lt|gt|amp|quot);", "", html_text)
    assert not set("<>&") & set(leftovers), "unescaped <, > or & outside tags/entities"
    checker = _Checker()
    checker.feed(html_text)
    checker.close()
    assert not checker.stack, f"unclosed tags {checker.stack}"
    return "".join(checker.text)


def assert_page_ok(page: str) -> None:
    assert text_length(page) <= TELEGRAM_TEXT_LIMIT, "raw HTML over the limit"
    shown = visible(page)
    assert shown.strip()
    assert text_length(shown) <= TELEGRAM_TEXT_LIMIT, "visible text over the limit"


@pytest.fixture(autouse=True)
def vietnamese() -> Iterator[None]:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        yield


def huge_procedure(code: str = LONGEST_CODE) -> Procedure:
    docs = tuple(
        Document(
            name=f"Giấy tờ số {i} <bản sao> & chứng thực 😀 " + "rất dài " * (i % 40),
            quantity="1 bản chính, 1 bản sao",
            template="Mẫu số 01 <TK>.docx" if i % 3 == 0 else "",
            group="Giấy tờ phải nộp" if i < 60 else "Giấy tờ phải xuất trình",
        )
        for i in range(1, 121)
    )
    return Procedure(
        code=code,
        name="Thủ tục đăng ký khai sinh <có yếu tố nước ngoài> & nhận cha, mẹ, con",
        sector="Hộ tịch",
        levels=("Cấp xã",),
        agencies=("Ủy ban nhân dân cấp xã",),
        receiving_address="Bộ phận Một cửa <UBND> & Trung tâm Phục vụ hành chính công",
        steps=(
            "Nộp hồ sơ tại Bộ phận Một cửa.",
            "x" * 9000,
            "Bước 3: nhận kết quả " + "tại xã " * 900,
        ),
        channels=(
            Channel("direct", "5 Ngày làm việc", 5.0, "working_day", "Lệ phí : 8.000 Đồng"),
            Channel("online", "3 Ngày làm việc", 3.0, "working_day", "Miễn phí"),
        ),
        documents=docs,
        legal_basis=(
            LegalBasis("Luật Hộ tịch", "60/2014/QH13"),
            LegalBasis("Nghị định 123/2015/NĐ-CP"),
        ),
        conditions="Không có",
        results=("Giấy khai sinh",),
        portal_url="https://dichvucong.gov.vn/p/home/dvc-tthc?ma=1&x=<2>",
    )


def test_long_card_is_split_into_valid_pages_without_losing_content() -> None:
    p = huge_procedure()
    pages = render_card_pages(p)
    assert len(pages) >= 3
    for page in pages:
        assert_page_ok(page)
    assert f"2/{len(pages)}" in visible(pages[1])
    # Drop the "name (page x/y)" header of continuation pages before joining them back.
    bodies = [visible(pages[0])] + [visible(page).split("\n\n", 1)[1] for page in pages[1:]]
    everything = re.sub(r"\s+", "", "".join(bodies))
    for doc in p.documents:
        assert re.sub(r"\s+", "", doc.name) in everything
    assert "x" * 9000 in everything  # a word too long for a page is cut, never dropped


def test_catalog_text_is_escaped() -> None:
    first = render_card_pages(huge_procedure())[0]
    assert "&lt;có yếu tố nước ngoài&gt; &amp; nhận" in first
    assert "<có" not in first


def test_card_states_online_and_postal_availability() -> None:
    text = " ".join(visible(x) for x in render_card_pages(huge_procedure()))
    assert "Anh/chị có thể nộp hồ sơ trực tuyến" in text
    assert "không thực hiện qua dịch vụ bưu chính" in text
    assert "5 ngày làm việc" in text and "Lệ phí : 8.000 Đồng" in text
    minimal = render_card_pages(Procedure(code="1.000001", name="Thủ tục tối giản"))
    assert len(minimal) == 1
    assert_page_ok(minimal[0])
    # no channel data: the card says so and claims nothing about online or post
    shown = visible(minimal[0])
    assert "chưa công bố cách thức thực hiện" in shown
    assert "trực tuyến" not in shown and "bưu chính" not in shown
    offline = Procedure(
        code="1.000003",
        name="Chỉ nộp trực tiếp",
        channels=(Channel(kind="direct", time_limit="3 Ngày"),),
    )
    assert "chưa hỗ trợ nộp hồ sơ trực tuyến" in visible(render_card_pages(offline)[0])


def test_unsafe_portal_url_is_not_linked() -> None:
    p = Procedure(code="1.000002", name="X", portal_url="javascript:alert(1)")
    assert "javascript" not in "".join(render_card_pages(p))
    markup = keyboards.card(p, 0, 1)
    card_buttons = [b for row in markup.inline_keyboard for b in row]
    assert card_buttons, "the card has no buttons"
    assert all(b.url is None for b in card_buttons)


def _callback_data(markup: InlineKeyboardMarkup | None) -> list[str]:
    assert markup is not None
    return [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]


def test_callback_data_fits_64_bytes_with_the_longest_code() -> None:
    for packed in (
        CardPage(code=LONGEST_CODE, page=999).pack(),
        OpenProcedure(code=LONGEST_CODE).pack(),
        Suggestion(index=9, check=phrase_check("đăng ký khai sinh")).pack(),
    ):
        assert len(packed.encode("utf-8")) <= CALLBACK_DATA_LIMIT
    p = huge_procedure()
    pages = render_card_pages(p)
    data = _callback_data(keyboards.card(p, 1, len(pages)))
    data += _callback_data(keyboards.results([p] * 5))
    data += _callback_data(
        keyboards.suggestions(["đăng ký khai sinh có yếu tố nước ngoài cho trẻ em " * 3])
    )
    data += _callback_data(common_keyboards.main_menu()) + _callback_data(
        common_keyboards.language_menu("vi")
    )
    assert data and all(len(d.encode("utf-8")) <= CALLBACK_DATA_LIMIT for d in data)
    assert CardPage.unpack(CardPage(code=LONGEST_CODE, page=2).pack()).code == LONGEST_CODE


def test_real_catalog_codes_and_cards_fit() -> None:
    from knowledge.catalog import load_default_catalog

    catalog = load_default_catalog()
    longest = max(catalog, key=lambda p: len(p.code.encode("utf-8")))
    assert len(CardPage(code=longest.code, page=999).pack().encode("utf-8")) <= CALLBACK_DATA_LIMIT
    # Every 7th card keeps this quick while covering every kind of record.
    checked = 0
    for p in catalog[::7]:
        pages = render_card_pages(p)
        assert pages, p.code
        for page in pages:
            assert_page_ok(page)
        for d in _callback_data(keyboards.card(p, len(pages) - 1, len(pages))):
            assert len(d.encode("utf-8")) <= CALLBACK_DATA_LIMIT
            checked += 1
    assert checked, "no card had a button to check"


def test_results_and_no_results() -> None:
    p = huge_procedure()
    text = render_results("<b>khai sinh</b> & con", [p, p], truncated_to=300)
    assert_page_ok(text)
    assert "&lt;b&gt;khai sinh&lt;/b&gt; &amp; con" in text
    assert "300 ký tự đầu tiên" in visible(text)
    markup = keyboards.results([p, p])
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert len(labels) >= 2  # one button per result at least
    assert all(len(label) <= keyboards.BUTTON_TEXT_LIMIT + 8 for label in labels)
    assert labels[0].startswith("1. ")
    nothing = render_no_results("'; DROP TABLE users; --", ["đăng ký khai sinh"])
    assert_page_ok(nothing)
    assert "Có phải anh/chị muốn tìm" in nothing and "1.001193" in nothing
    assert "Có phải" not in render_no_results("zzz", [])


def test_english_card() -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text = " ".join(visible(x) for x in render_card_pages(huge_procedure()))
    assert (
        "Documents to bring" in text and "5 working days" in text and "You can apply online" in text
    )


def test_steps_keep_the_catalogs_own_numbering() -> None:
    numbered = Procedure(
        code="1.000001",
        name="Thủ tục thử",
        steps=("Bước 1: Nộp hồ sơ.", "Kiểm tra hồ sơ.", "Bước 2: Nhận kết quả."),
    )
    shown = visible("\n".join(render_card_pages(numbered)))
    assert "Bước 1: Nộp hồ sơ." in shown and "Bước 2: Nhận kết quả." in shown
    assert "• Kiểm tra hồ sơ." in shown
    assert "Bước 3" not in shown  # no invented numbers next to the catalog's

    plain = Procedure(code="1.000002", name="Thủ tục thử", steps=("Nộp hồ sơ.", "Nhận kết quả."))
    shown = visible("\n".join(render_card_pages(plain)))
    assert "Bước 1: Nộp hồ sơ." in shown and "Bước 2: Nhận kết quả." in shown


def test_time_fee_and_place_come_before_the_documents() -> None:
    p = Procedure(
        code="1.000003",
        name="Thủ tục thử",
        channels=(Channel(kind="direct", time_limit="5 Ngày làm việc", fee="Miễn phí"),),
        agencies=("UBND cấp xã",),
        documents=(Document(name="Tờ khai", quantity="1 bản chính"),),
    )
    shown = visible(render_card_pages(p)[0])
    assert shown.index("Miễn phí") < shown.index("UBND cấp xã") < shown.index("Tờ khai")


def test_document_notes_are_not_counted_as_papers() -> None:
    p = Procedure(
        code="1.000004",
        name="Thủ tục thử",
        documents=(
            Document(
                name="Trường hợp ủy quyền thì nộp thêm văn bản ủy quyền.", quantity="0 bản chính"
            ),
            Document(name="Tờ khai theo mẫu", quantity="1 bản chính"),
            Document(name="+ Lưu ý: bản sao phải có chứng thực", quantity=""),
            Document(name="Giấy chứng sinh", quantity="1 bản chính"),
        ),
    )
    shown = visible(render_card_pages(p)[0])
    assert "1. Tờ khai theo mẫu" in shown and "2. Giấy chứng sinh" in shown
    assert "3." not in shown
    assert "Lưu ý về giấy tờ:" in shown
    assert "• Trường hợp ủy quyền thì nộp thêm văn bản ủy quyền." in shown
    assert "• Lưu ý: bản sao phải có chứng thực" in shown
