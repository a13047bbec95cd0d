"""Parsers of the flattened catalog fields, on real snippets of tthc_bo_nganh.jsonl."""

import unicodedata

from knowledge.models import Channel, Document, LegalBasis
from knowledge.parsing import (
    clean_text,
    parse_channels,
    parse_documents,
    parse_legal_basis,
    parse_levels,
    parse_results,
    parse_steps,
    split_agencies,
)

H = "Hình thức nộpThời gianPhí, lệ phíMô tả"


def test_channels_bare_number_and_free():
    # 1.001193 (Thủ tục đăng ký khai sinh)
    got = parse_channels(H + "Trực tuyến1Miễn phíDịch vụ bưu chính1Miễn phíTrực tiếp1Miễn phí")
    assert got == (
        Channel("online", "1", 1.0, None, "Miễn phí", ""),
        Channel("postal", "1", 1.0, None, "Miễn phí", ""),
        Channel("direct", "1", 1.0, None, "Miễn phí", ""),
    )


def test_channels_units_fee_description_and_unknowns():
    text = (
        H + "Trực tuyến5 Ngày làm việcMiễn phí- Trực tiếp tại Công an cấp xã"
        "Dịch vụ bưu chính2 Ngày làm việc70,000 VNĐ(70.000 đồng/Giấy chứng nhận)"
        "Trực tiếpKhông có thông tinKhông có thông tin"
    )
    got = parse_channels(text)
    assert got[0] == Channel(
        "online",
        "5 Ngày làm việc",
        5.0,
        "working_day",
        "Miễn phí",
        "- Trực tiếp tại Công an cấp xã",
    )
    assert got[1] == Channel(
        "postal",
        "2 Ngày làm việc",
        2.0,
        "working_day",
        "70,000 VNĐ (70.000 đồng/Giấy chứng nhận)",
        "",
    )
    assert got[2] == Channel("direct")
    assert len(got) == 3  # "Trực tiếp tại" inside the description is not a row


def test_channels_bare_number_glued_to_amount_and_hours():
    # 2.002009: "Trực tuyến1100 VNĐ" = time 1, fee 100 VNĐ
    got = parse_channels(
        H + "Trực tuyến1100 VNĐ(Phí công bố nội dung đăng ký doanh nghiệp)Trực tiếp8 GiờMiễn phí"
    )
    assert got == (
        Channel("online", "1", 1.0, None, "100 VNĐ (Phí công bố nội dung đăng ký doanh nghiệp)"),
        Channel("direct", "8 Giờ", 8.0, "hour", "Miễn phí", ""),
    )


def test_channels_long_description():
    text = (
        H + "Trực tuyến5 Ngày làm việcMiễn phí05 (năm) ngày làm việc kể từ ngày nhận hồ sơ "
        "đầy đủ, hợp lệ.Trực tiếp15 NgàyMiễn phí"
    )
    got = parse_channels(text)
    assert got[0].description == "05 (năm) ngày làm việc kể từ ngày nhận hồ sơ đầy đủ, hợp lệ."
    assert got[1] == Channel("direct", "15 Ngày", 15.0, "day", "Miễn phí", "")


def test_documents_template_and_quantity():
    # 1.002693
    text = (
        "--Tên giấy tờMẫu đơn, tờ khaiSố lượngĐơn đề nghị cấp giấy phép chặt hạ, dịch chuyển "
        "cây xanh theo Mẫu số 01 Phụ lục I của Nghị định số 258/2025/NĐ-CPMẫu số 01.docx"
        "1 bản chínhẢnh chụp hiện trạng cây xanh đô thị cần chặt hạ, dịch chuyển"
        "0 bản chính,1 bản sao"
    )
    assert parse_documents(text) == (
        Document(
            "Đơn đề nghị cấp giấy phép chặt hạ, dịch chuyển cây xanh theo Mẫu số 01 Phụ lục I"
            " của Nghị định số 258/2025/NĐ-CP",
            "1 bản chính",
            "Mẫu số 01.docx",
            "",
        ),
        Document("Ảnh chụp hiện trạng cây xanh đô thị cần chặt hạ, dịch chuyển", "1 bản sao"),
    )


def test_documents_groups_and_several_templates():
    text = (
        "* Giấy tờ phải nộp:Tên giấy tờMẫu đơn, tờ khaiSố lượngBản khai cá nhân (Mẫu số 03)."
        "Mẫu 03.TT41.doc1 bản chính* Giấy tờ phải xuất trình:Tên giấy tờMẫu đơn, tờ khaiSố lượng"
        "- Văn bản đề nghị;Mus08.docxMus09.docx2 bản sao"
    )
    assert parse_documents(text) == (
        Document(
            "Bản khai cá nhân (Mẫu số 03).", "1 bản chính", "Mẫu 03.TT41.doc", "Giấy tờ phải nộp"
        ),
        Document(
            "Văn bản đề nghị", "2 bản sao", "Mus08.docx; Mus09.docx", "Giấy tờ phải xuất trình"
        ),
    )


def test_documents_without_table():
    assert parse_documents("--") == ()
    assert parse_documents("") == ()


def test_legal_basis():
    # 1.000178
    text = (
        "Tên văn bản pháp lýMã văn bảnHướng dẫn xử lý khiếu nại, kiến nghị, phản ánh; giải "
        "quyết khiếu nại và quản lý công tác giải quyết khiếu nại trong công an nhân dân"
        "68/2013/TT-BCALuật Khiếu nại  năm 201102/2011/QH13Nghị định 05/2012/NĐ-CP05/2012/NĐ-CP"
    )
    assert parse_legal_basis(text) == (
        LegalBasis(
            "Hướng dẫn xử lý khiếu nại, kiến nghị, phản ánh; giải quyết khiếu nại và quản lý"
            " công tác giải quyết khiếu nại trong công an nhân dân",
            "68/2013/TT-BCA",
        ),
        LegalBasis("Luật Khiếu nại năm 2011", "02/2011/QH13"),
        LegalBasis("Nghị định 05/2012/NĐ-CP", "05/2012/NĐ-CP"),
    )


def test_legal_basis_number_quoted_in_title_and_glued_title():
    text = (
        "Tên văn bản pháp lýMã văn bảnNghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ"
        " quy định chi tiết Luật Hộ tịch123/2015/NĐ-CPThông tư 16/2024/TT-BCA quy định về mẫu "
        "thẻ căn cước16/2024/TT-BCALuật Căn cước26/2023/QH15"
    )
    assert parse_legal_basis(text) == (
        LegalBasis(
            "Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ quy định chi tiết "
            "Luật Hộ tịch",
            "123/2015/NĐ-CP",
        ),
        LegalBasis("Thông tư 16/2024/TT-BCA quy định về mẫu thẻ căn cước", "16/2024/TT-BCA"),
        LegalBasis("Luật Căn cước", "26/2023/QH15"),
    )
    assert parse_legal_basis("Không có thông tin") == ()


def test_results_cut_junk_and_split_codes():
    # 1.014152
    text = (
        "Văn bản chấp thuận nguyên tắc thành lập ngân hàng thương mại cổ phầnMã: KQ.G19.000314"
        "Văn bản không chấp thuận nguyên tắc thành lập ngân hàng thương mại cổ phầnMã: "
        "KQ.G19.000406Từ khóaKhông có thông tinMô tảKhông có thông tinChọn cơ quan thực hiện"
        "Tỉnh/ Thành phốBộ ngành-- Chọn Bộ ngành --Đơn vị-- Chọn Cơ sở --Nộp hồ sơ"
    )
    assert parse_results(text) == (
        "Văn bản chấp thuận nguyên tắc thành lập ngân hàng thương mại cổ phần",
        "Văn bản không chấp thuận nguyên tắc thành lập ngân hàng thương mại cổ phần",
    )
    assert parse_results("Giấy khai sinhMã: KQ.G15.000031Từ khóaKhông có thông tin") == (
        "Giấy khai sinh",
    )


def test_steps():
    text = (
        "Bước 1: Thụ lý giải quyết khiếu nại\n\nNếu khiếu nại thuộc thẩm quyền.\n"
        "Bước 2: Kiểm tra lại quyết định hành chính.  Bước 3: Xác minh\n- Tổ chức đối thoại\n"
        "và lập biên bản\n  \n"
    )
    assert parse_steps(text) == (
        "Bước 1: Thụ lý giải quyết khiếu nại",
        "Nếu khiếu nại thuộc thẩm quyền.",
        "Bước 2: Kiểm tra lại quyết định hành chính.",
        "Bước 3: Xác minh",
        "Tổ chức đối thoại và lập biên bản",
    )
    assert parse_steps("Không có thông tin") == ()


def test_levels_and_agencies():
    assert parse_levels("Cấp bộ, Cấp xã") == ("Cấp bộ", "Cấp xã")
    assert parse_levels("Cấp Bộ, Cấp Tỉnh") == ("Cấp bộ", "Cấp tỉnh")
    assert parse_levels("") == ()
    assert split_agencies("Cục cảnh sát quản lý hành chính về trật tự, xã hội, Công an tỉnh") == (
        "Cục cảnh sát quản lý hành chính về trật tự, xã hội",
        "Công an tỉnh",
    )
    assert split_agencies("Ngân hàng Nhà nước Việt Nam, Ngân hàng Nhà nước Khu vực") == (
        "Ngân hàng Nhà nước Việt Nam",
        "Ngân hàng Nhà nước Khu vực",
    )
    assert split_agencies("Không có thông tin") == ()
    assert clean_text("  Không có thông tin ") == ""


def test_nfd_input_gives_nfc_output():
    nfd = unicodedata.normalize("NFD", H + "Trực tiếp10 Ngày làm việcMiễn phíNộp tại Ủy ban")
    got = parse_channels(nfd)
    assert got == (
        Channel("direct", "10 Ngày làm việc", 10.0, "working_day", "Miễn phí", "Nộp tại Ủy ban"),
    )
    assert unicodedata.is_normalized("NFC", got[0].description)
    docs = parse_documents(
        unicodedata.normalize(
            "NFD", "--Tên giấy tờMẫu đơn, tờ khaiSố lượngGiấy chứng sinh1 bản chính"
        )
    )
    assert docs == (Document("Giấy chứng sinh", "1 bản chính"),)
    assert parse_levels(unicodedata.normalize("NFD", "Cấp xã")) == ("Cấp xã",)


def test_legal_basis_number_cell_repeating_the_kind():
    # real row of 1.001193: the number cell says "Thông tư số 03/2023/TT-BTP"
    text = (
        "Tên văn bản pháp lýMã văn bảnThông tư số 03/2023/TT-BTP ngày 02/8/2023 của Bộ trưởng "
        "Bộ Tư phápThông tư số 03/2023/TT-BTPLuật Hộ tịch60/2014/QH13"
    )
    assert parse_legal_basis(text) == (
        LegalBasis(
            "Thông tư số 03/2023/TT-BTP ngày 02/8/2023 của Bộ trưởng Bộ Tư pháp", "03/2023/TT-BTP"
        ),
        LegalBasis("Luật Hộ tịch", "60/2014/QH13"),
    )
