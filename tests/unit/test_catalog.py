"""Catalog conversion, the shipped compact catalog and province catalog imports."""

import json
import time
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from knowledge.catalog import (
    CatalogFormatError,
    dump_compact,
    load_compact,
    load_default_catalog,
    procedure_from_chatbot_tthc,
    procedure_from_dict,
    procedure_from_nhdandz,
    procedure_to_dict,
    read_catalog_file,
)
from knowledge.models import Channel, Document, LegalBasis, Procedure

# ../shared beside the checkout, as on the developers' machines and in CI
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "catalog-sources"

RAW = {
    "ma_thu_tuc": "1.000178",
    "detail_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bf7-4fc1-768b-9ba3-94be4bca58ee",
    "ten_thu_tuc": "Giải quyết khiếu nại về quyết định hành chính (thực hiện tại cấp Trung ương)",
    "so_quyet_dinh": "QĐ/0001-BCA",
    "cap_thuc_hien": "Cấp bộ",
    "loai_thu_tuc": "TTHC được giao luật quy định chi tiết",
    "linh_vuc": "Khiếu nại, tố cáo",
    "doi_tuong_thuc_hien": "Tổ chức (không bao gồm doanh nghiệp, HTX), Công dân Việt Nam",
    "co_quan_co_tham_quyen": "Bộ Công an",
    "dia_chi_tiep_nhan": "",
    "trinh_tu_thuc_hien": "Bước 1: Thụ lý giải quyết khiếu nại\nBước 2: Kiểm tra lại quyết định",
    "cach_thuc_thuc_hien": "Hình thức nộpThời gianPhí, lệ phíMô tảDịch vụ bưu chính60 Ngày làm "
    "việcKhông có thông tinThời hạn giải quyết khiếu nại lần đầu không quá "
    "30 ngày.Trực tiếp60 Ngày làm việcKhông có thông tin",
    "thanh_phan_ho_so": "--Tên giấy tờMẫu đơn, tờ khaiSố lượngTài liệu, chứng cứ do các bên cung "
    "cấp1 bản chínhĐơn khiếu nại hoặc bản ghi nội dung khiếu nại1 bản chính",
    "can_cu_phap_ly": "Tên văn bản pháp lýMã văn bảnLuật Khiếu nại  năm 201102/2011/QH13",
    "co_quan_thuc_hien": "Thanh tra Bộ",
    "yeu_cau_dieu_kien": "Không có thông tin",
    "ket_qua_xu_ly": "Quyết định giải quyết khiếu nại lần 1, lần 2Mã: KQ.G01.00262Từ khóaKhông có "
    "thông tinMô tảKhông có thông tin",
    "_bo_nganh_dir": "bo-cong-an",
}


def test_procedure_from_chatbot_tthc():
    p = procedure_from_chatbot_tthc(RAW)
    assert p.code == "1.000178"
    assert p.levels == ("Cấp bộ",)
    assert p.issuing_agency == "Bộ Công an"
    assert p.competent_agency == "Bộ Công an"
    assert p.agencies == ("Thanh tra Bộ",)
    assert p.decision == "QĐ/0001-BCA"
    assert p.portal_url == RAW["detail_url"]
    assert p.conditions == ""
    assert p.steps == ("Bước 1: Thụ lý giải quyết khiếu nại", "Bước 2: Kiểm tra lại quyết định")
    assert p.channels == (
        Channel(
            "postal",
            "60 Ngày làm việc",
            60.0,
            "working_day",
            "",
            "Thời hạn giải quyết khiếu nại lần đầu không quá 30 ngày.",
        ),
        Channel("direct", "60 Ngày làm việc", 60.0, "working_day", "", ""),
    )
    assert p.documents == (
        Document("Tài liệu, chứng cứ do các bên cung cấp", "1 bản chính"),
        Document("Đơn khiếu nại hoặc bản ghi nội dung khiếu nại", "1 bản chính"),
    )
    assert p.legal_basis == (LegalBasis("Luật Khiếu nại năm 2011", "02/2011/QH13"),)
    assert p.results == ("Quyết định giải quyết khiếu nại lần 1, lần 2",)
    assert p.source == "chatbot_tthc"


def test_procedure_from_chatbot_tthc_nfd():
    raw = {k: unicodedata.normalize("NFD", v) if isinstance(v, str) else v for k, v in RAW.items()}
    p = procedure_from_chatbot_tthc(raw)
    assert p == procedure_from_chatbot_tthc(RAW)
    assert unicodedata.is_normalized("NFC", p.name)


def test_procedure_from_nhdandz():
    raw = {
        "thu_tuc_id": "1.013124",
        "metadata": {
            "mã_thủ_tục": "1.013124",
            "tên_thủ_tục": "Thủ tục thẩm định kế hoạch",
            "số_quyết_định": "Quyết định số 6225/QĐ-BQP",
            "cấp_thực_hiện": "Cấp Bộ",
            "loại_thủ_tục": "TTHC được luật giao quy định chi tiết",
            "lĩnh_vực": "Ứng phó sự cố tràn dầu",
        },
        "content": {
            "trình_tự_thực_hiện": "Bước 1: Gửi hồ sơ",
            "cơ_quan_thực_hiện": "Văn phòng",
            "kết_quả_thực_hiện": "Quyết định phê duyệt.",
            "yêu_cầu_điều_kiện_thực_hiện": "Không",
            "từ_khóa": "Không có thông tin",
        },
        "tables": {
            "hinh_thuc_nop": [
                {
                    "hinh_thuc": "Trực tiếp",
                    "thoi_han_giai_quyet": "30 Ngày làm việc",
                    "phi_le_phi": "Phí : 0 Đồng",
                    "mo_ta": "",
                }
            ],
            "thanh_phan_ho_so": [
                {
                    "ten_giay_to": "Kế hoạch ứng phó",
                    "so_luong": "5-PHLCII.doc",
                    "ghi_chu": "Bản chính: 1\nBản sao: 0",
                }
            ],
            "can_cu_phap_ly": [
                {
                    "so_ky_hieu": "12",
                    "trich_yeu": "Quyết định số 12/2021/QĐ-TTg ngày 24/3/2021 ban hành Quy chế",
                }
            ],
        },
    }
    p = procedure_from_nhdandz(raw)
    assert p.levels == ("Cấp bộ",)
    assert p.decision == "6225/QĐ-BQP"
    assert p.channels == (
        Channel("direct", "30 Ngày làm việc", 30.0, "working_day", "Phí : 0 Đồng", ""),
    )
    assert p.documents == (Document("Kế hoạch ứng phó", "1 bản chính", "5-PHLCII.doc"),)
    assert p.legal_basis[0].number == "12/2021/QĐ-TTg"
    assert p.conditions == ""
    assert p.issuing_agency == "Bộ Quốc phòng"


def test_round_trip_dict_and_compact(tmp_path):
    p = procedure_from_chatbot_tthc(RAW)
    d = procedure_to_dict(p)
    assert "receiving_address" not in d and "conditions" not in d  # empty fields omitted
    assert json.loads(json.dumps(d)) == d
    back = procedure_from_dict(d)
    assert back == p and back.extra == p.extra
    minimal = Procedure(code="1.012753.H19", name="Tên")
    assert procedure_to_dict(minimal) == {"code": "1.012753.H19", "name": "Tên"}
    assert procedure_from_dict(procedure_to_dict(minimal)) == minimal
    path = tmp_path / "c.jsonl.gz"
    dump_compact([p, minimal, p], path)
    assert load_compact(path) == [p, minimal, p]


@pytest.fixture(scope="module")
def shipped():
    return load_default_catalog()


def test_shipped_catalog(shipped):
    assert len(shipped) >= 2800
    by_code = {p.code: p for p in shipped}
    assert len(by_code) == len(shipped)
    ks = by_code["1.001193"]
    assert ks.name == "Thủ tục đăng ký khai sinh"
    assert ks.levels == ("Cấp xã",)
    assert len(ks.channels) == 3
    assert {c.kind for c in ks.channels} == {"direct", "online", "postal"}
    assert any(d.name.startswith("Giấy chứng sinh") for d in ks.documents)
    assert ks.results == ("Giấy khai sinh",)
    assert ks.portal_url.startswith("https://dichvucong.gov.vn/")
    assert "1.013124" in by_code  # from the defence-ministry extract
    assert all(unicodedata.is_normalized("NFC", p.name) for p in shipped)


def test_shipped_catalog_loads_fast():
    load_default_catalog()  # warm the file cache
    t0 = time.perf_counter()
    load_default_catalog()
    assert time.perf_counter() - t0 < 1.5  # ~0.2 s on the dev box; generous for slow CI


# ---------------------------------------------------------------- province imports


def _write_xlsx(path: Path, rows: list[tuple]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Danh sách TTHC"
    ws.append(("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nDANH SÁCH THỦ TỤC HÀNH CHÍNH", None, None))
    ws.append(("Mã số", "Tên", "Cơ quan ban hành", "Cơ quan thực hiện", "Lĩnh vực"))
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_xlsx_import_generated(tmp_path):
    path = tmp_path / "danh-sach.xlsx"
    _write_xlsx(
        path,
        [
            (
                "1.001193.H19",
                "Thủ tục đăng ký khai sinh",
                "Bộ Tư pháp",
                "Ủy ban nhân dân cấp xã",
                "Hộ tịch",
            ),
            ("abc", "Bad code", "Bộ Tư pháp", "", ""),
            (
                "2.002307.000.00.00.H35",
                unicodedata.normalize("NFD", "Đăng ký kết hôn"),
                "Bộ Tư pháp",
                "Bộ Tư pháp\nỦy ban nhân dân cấp tỉnh",
                "Hộ tịch",
            ),
            ("1.000001", "", "Bộ Tư pháp", "", ""),
            (None, "No code", None, None, None),
        ],
    )
    res = read_catalog_file(path)
    assert [p.code for p in res.procedures] == ["1.001193.H19", "2.002307.000.00.00.H35"]
    assert res.procedures[0].base_code == "1.001193"
    assert res.procedures[1].name == "Đăng ký kết hôn"  # NFC
    assert res.procedures[1].agencies == ("Bộ Tư pháp", "Ủy ban nhân dân cấp tỉnh")
    assert res.procedures[0].sector == "Hộ tịch"
    assert res.procedures[0].issuing_agency == "Bộ Tư pháp"
    assert [n for n, _ in res.errors] == [4, 6, 7]
    assert "invalid procedure code" in res.errors[0][1]
    assert "empty procedure name" in res.errors[1][1]
    assert "missing procedure code" in res.errors[2][1]


def test_xlsx_import_real_file():
    path = SHARED / "chatbot_tthc" / "danh-sach-tthc-BoTuPhap.xlsx"
    if not path.exists():
        pytest.skip("shared catalog sources not available")
    res = read_catalog_file(path)
    assert len(res.procedures) == 271
    assert res.errors == []
    by_code = {p.code: p for p in res.procedures}
    assert (
        by_code["1.002099"].name == "Đăng ký hoạt động của chi nhánh của tổ chức hành nghề luật sư"
    )
    assert by_code["1.002099"].agencies == ("Sở Tư Pháp",)


def test_csv_import(tmp_path):
    path = tmp_path / "danh_sach_tthc_all.csv"
    path.write_text(
        "ma_so,ten,co_quan_ban_hanh,co_quan_thuc_hien,linh_vuc,source_file\n"
        '1.014981,"Đề nghị cấp giấy chứng nhận huấn luyện",Bộ Công an,Cục Cảnh sát,Vũ khí,x.xlsx\n'
        "1.01498,Short code,Bộ Công an,,,x.xlsx\n"
        f"1.014982{'.H19' * 9},Code too long for a chat button,Bộ Công an,,,x.xlsx\n",
        encoding="utf-8",
    )
    res = read_catalog_file(path)
    assert [p.code for p in res.procedures] == ["1.014981"]
    assert res.errors == [
        (3, "invalid procedure code '1.01498'"),
        (4, "procedure code longer than 40 characters"),
    ]


def test_jsonl_raw_and_compact_import(tmp_path):
    raw_path = tmp_path / "raw.jsonl"
    bad = dict(RAW, ma_thu_tuc="X.1")
    raw_path.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in (RAW, bad)) + "\n" + "{not json\n",
        encoding="utf-8",
    )
    res = read_catalog_file(raw_path)
    assert [p.code for p in res.procedures] == ["1.000178"]
    assert [n for n, _ in res.errors] == [2, 3]
    assert res.procedures[0].documents == procedure_from_chatbot_tthc(RAW).documents

    compact_path = tmp_path / "compact.jsonl"
    p = procedure_from_chatbot_tthc(RAW)
    lines = [
        procedure_to_dict(p),
        {"code": "1.000179", "name": ""},
        {"code": "2.000986.H19", "name": "Tên"},
    ]
    compact_path.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8"
    )
    res = read_catalog_file(compact_path)
    assert [x.code for x in res.procedures] == ["1.000178", "2.000986.H19"]
    assert res.procedures[0] == p
    assert res.errors == [(2, "empty procedure name")]


@pytest.mark.parametrize(
    "name,content",
    [
        ("picture.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("empty.jsonl", b""),
        ("random.json", b'{"hello": "world", "n": 1}\n'),
        ("array.json", b"[1, 2, 3]"),
        ("notes.txt", "Xin chào".encode()),
        ("binary.csv", bytes(range(256))),
    ],
)
def test_not_a_catalog(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CatalogFormatError):
        read_catalog_file(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(CatalogFormatError):
        read_catalog_file(path)


def test_merge_keeps_the_national_details_of_a_bare_province_row():
    from knowledge.catalog import merge_catalogs

    national = Procedure(
        code="1.001193",
        name="Thủ tục đăng ký khai sinh",
        sector="Hộ tịch",
        documents=(Document(name="Giấy chứng sinh", quantity="1 bản chính"),),
        steps=("Nộp hồ sơ",),
    )
    other = Procedure(code="1.000894", name="Thủ tục đăng ký kết hôn")
    bare_same_code = Procedure(code="1.001193", name="Đăng ký khai sinh", agencies=("UBND xã A",))
    bare_province = Procedure(code="1.001193.H19", name="Đăng ký khai sinh (tỉnh)", source="xlsx")
    brand_new = Procedure(code="1.099999.H19", name="Thủ tục riêng của tỉnh")

    merged = {
        p.code: p
        for p in merge_catalogs([national, other], [bare_same_code, bare_province, brand_new])
    }
    assert set(merged) == {"1.001193", "1.000894", "1.001193.H19", "1.099999.H19"}
    same = merged["1.001193"]
    assert same.name == "Đăng ký khai sinh" and same.agencies == ("UBND xã A",)  # the import wins
    assert same.documents == national.documents and same.steps == national.steps  # gaps filled
    province = merged["1.001193.H19"]
    assert province.documents == national.documents and province.source == "xlsx"
    assert merged["1.099999.H19"] == brand_new
