"""Loading, converting and importing the procedure catalog.

Sources: the national portal crawl (``chatbot_tthc``, primary), the defence-ministry extract
(``nhdandz``), a compact gzip JSON Lines form shipped in ``knowledge/data/catalog.jsonl.gz``, and
a province's own export (raw/compact JSONL, the portal's XLSX list or its CSV form).
"""

from __future__ import annotations

import csv
import gc
import gzip
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .models import Channel, Document, LegalBasis, Procedure
from .parsing import (
    clean_text,
    nfc,
    parse_channels,
    parse_documents,
    parse_legal_basis,
    parse_levels,
    parse_result_keywords,
    parse_results,
    parse_steps,
    parse_time_limit,
    split_agencies,
)

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_CATALOG = DATA_DIR / "catalog.jsonl.gz"

CODE_RE = re.compile(r"^\d\.\d{6}(\.[0-9A-Za-z]+)*$")
MAX_CODE_LENGTH = 40  # real ones are at most ~25 ("2.002307.000.00.00.H35"); chat buttons need room

MINISTRY_BY_DIR = {
    "bo-tai-chinh": "Bộ Tài chính",
    "bo-nong-nghiep-mt": "Bộ Nông nghiệp và Môi trường",
    "bo-xay-dung": "Bộ Xây dựng",
    "bo-cong-an": "Bộ Công an",
    "bo-tu-phap": "Bộ Tư pháp",
    "ngan-hang-nha-nuoc": "Ngân hàng Nhà nước Việt Nam",
    "toa-an-nhan-dan": "Tòa án nhân dân",
    "bo-quoc-phong": "Bộ Quốc phòng",
}


class CatalogFormatError(ValueError):
    """The file is not a procedure catalog in any supported format."""


@dataclass
class CatalogImport:
    """Result of reading a catalog file: the good procedures and the rejected rows."""

    procedures: list[Procedure] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line/row number, reason)


def normalise_code(code: Any) -> str:
    """NFC, strip whitespace; "" for None."""
    if code is None:
        return ""
    return re.sub(r"\s+", "", nfc(str(code)))


def is_valid_code(code: str) -> bool:
    return bool(CODE_RE.match(code))


# --------------------------------------------------------------------------------------------
# Source converters
# --------------------------------------------------------------------------------------------


def procedure_from_chatbot_tthc(raw: dict) -> Procedure:
    """Convert one record of ``chatbot_tthc/tthc_bo_nganh.jsonl`` (or the same shape)."""
    code = normalise_code(raw.get("ma_thu_tuc"))
    competent = clean_text(raw.get("co_quan_co_tham_quyen"))
    issuing = MINISTRY_BY_DIR.get(str(raw.get("_bo_nganh_dir") or ""), "")
    if not issuing:
        issuing = clean_text(raw.get("co_quan_ban_hanh")) or competent
    extra: dict[str, str] = {}
    for key, name in (
        ("loai_thu_tuc", "procedure_type"),
        ("co_quan_duoc_uy_quyen", "delegated_agency"),
        ("co_quan_phoi_hop", "coordinating_agency"),
    ):
        val = clean_text(raw.get(key))
        if val:
            extra[name] = val
    return Procedure(
        code=code,
        name=clean_text(raw.get("ten_thu_tuc")),
        sector=clean_text(raw.get("linh_vuc")),
        levels=parse_levels(raw.get("cap_thuc_hien")),
        agencies=split_agencies(raw.get("co_quan_thuc_hien")),
        competent_agency=competent,
        issuing_agency=issuing,
        receiving_address=clean_text(raw.get("dia_chi_tiep_nhan"), keep_newlines=True),
        audience=clean_text(raw.get("doi_tuong_thuc_hien")),
        steps=parse_steps(raw.get("trinh_tu_thuc_hien")),
        channels=parse_channels(raw.get("cach_thuc_thuc_hien")),
        documents=parse_documents(raw.get("thanh_phan_ho_so")),
        legal_basis=parse_legal_basis(raw.get("can_cu_phap_ly")),
        conditions=clean_text(raw.get("yeu_cau_dieu_kien"), keep_newlines=True),
        results=parse_results(raw.get("ket_qua_xu_ly")),
        decision=clean_text(raw.get("so_quyet_dinh")),
        portal_url=clean_text(raw.get("detail_url")),
        keywords=parse_result_keywords(raw.get("ket_qua_xu_ly")),
        source="chatbot_tthc",
        extra=extra,
    )


_CHANNEL_KIND = {"trực tiếp": "direct", "trực tuyến": "online", "dịch vụ bưu chính": "postal"}


def _nhdandz_quantity(note: str) -> str:
    """ "Bản chính: 1\\nBản sao: 0" -> "1 bản chính"."""
    parts = []
    for kind in ("chính", "sao"):
        m = re.search(rf"Bản {kind}\s*:\s*(\d+)", note, re.IGNORECASE)
        if m and int(m.group(1)) > 0:
            parts.append(f"{int(m.group(1))} bản {kind}")
    return ", ".join(parts)


_NUMBER_IN_TEXT = re.compile(r"\d+(?:\.\d+)?/\d{4}/[A-ZĐ][A-ZĐa-z0-9\-/]*[A-ZĐ0-9a-z]")


def _nhdandz_channels(rows: list[dict]) -> tuple[Channel, ...]:
    channels = []
    for row in rows:
        kind = _CHANNEL_KIND.get(clean_text(row.get("hinh_thuc")).casefold())
        if kind is None:
            continue
        time_text = clean_text(row.get("thoi_han_giai_quyet"))
        value, unit = parse_time_limit(time_text)
        channels.append(
            Channel(
                kind=kind,  # type: ignore[arg-type]
                time_limit=time_text,
                time_value=value,
                time_unit=unit,
                fee=clean_text(row.get("phi_le_phi")),
                description=clean_text(row.get("mo_ta")),
            )
        )
    return tuple(channels)


def _nhdandz_documents(rows: list[dict]) -> tuple[Document, ...]:
    documents = []
    for row in rows:
        name = clean_text(row.get("ten_giay_to"))
        if not name:
            continue
        # in this extract "so_luong" holds the template file name, "ghi_chu" the counts
        template = clean_text(row.get("so_luong"))
        documents.append(
            Document(
                name=name,
                quantity=_nhdandz_quantity(nfc(row.get("ghi_chu") or "")),
                template=template,
            )
        )
    return tuple(documents)


def _nhdandz_legal_basis(rows: list[dict]) -> tuple[LegalBasis, ...]:
    """Legal documents with their numbers ("63/2010/NĐ-CP"), found in the title when the
    number column holds something else."""
    legal = []
    for row in rows:
        number = clean_text(row.get("so_ky_hieu"))
        title = clean_text(row.get("trich_yeu"))
        if not re.search(r"/", number):
            m = _NUMBER_IN_TEXT.search(title) or _NUMBER_IN_TEXT.search(number)
            if m:
                number = m.group(0)
            elif number and not number.isdigit():
                title = title or number
                number = ""
            else:
                number = ""
        else:
            m = _NUMBER_IN_TEXT.search(number)
            if m:
                number = m.group(0)
        if title or number:
            legal.append(LegalBasis(title=title or number, number=number))
    return tuple(legal)


def procedure_from_nhdandz(raw: dict) -> Procedure:
    """Convert one record of ``nhdandz_ThuTucHanhChinh/bqp_tthc_extracted_fixed.jsonl``."""
    meta = raw.get("metadata") or {}
    content = raw.get("content") or {}
    tables = raw.get("tables") or {}
    channels = _nhdandz_channels(tables.get("hinh_thuc_nop") or [])
    documents = _nhdandz_documents(tables.get("thanh_phan_ho_so") or [])
    legal = _nhdandz_legal_basis(tables.get("can_cu_phap_ly") or [])
    decision = clean_text(meta.get("số_quyết_định"))
    decision = re.sub(r"^Quyết định số\s*", "", decision)
    results = tuple(
        r
        for r in (clean_text(x) for x in re.split(r"\n", nfc(content.get("kết_quả_thực_hiện"))))
        if r
    )
    keywords = tuple(
        k for k in (clean_text(x) for x in re.split(r"[,;\n]", nfc(content.get("từ_khóa")))) if k
    )
    extra: dict[str, str] = {}
    ptype = clean_text(meta.get("loại_thủ_tục"))
    if ptype:
        extra["procedure_type"] = ptype
    for key, name in (
        ("cơ_quan_được_ủy_quyền", "delegated_agency"),
        ("cơ_quan_phối_hợp", "coordinating_agency"),
    ):
        val = clean_text(content.get(key))
        if val:
            extra[name] = val
    return Procedure(
        code=normalise_code(meta.get("mã_thủ_tục") or raw.get("thu_tuc_id")),
        name=clean_text(meta.get("tên_thủ_tục")),
        sector=clean_text(meta.get("lĩnh_vực")),
        levels=parse_levels(meta.get("cấp_thực_hiện")),
        agencies=split_agencies(content.get("cơ_quan_thực_hiện")),
        competent_agency=clean_text(content.get("cơ_quan_có_thẩm_quyền")),
        issuing_agency="Bộ Quốc phòng",
        receiving_address=clean_text(content.get("địa_chỉ_tiếp_nhận_hs"), keep_newlines=True),
        audience=clean_text(content.get("đối_tượng_thực_hiện")),
        steps=parse_steps(content.get("trình_tự_thực_hiện")),
        channels=channels,
        documents=documents,
        legal_basis=legal,
        conditions=clean_text(content.get("yêu_cầu_điều_kiện_thực_hiện"), keep_newlines=True),
        results=results,
        decision=decision,
        keywords=keywords,
        source="nhdandz",
        extra=extra,
    )


# --------------------------------------------------------------------------------------------
# Compact dict form
# --------------------------------------------------------------------------------------------

_CH_KEYS = ("kind", "time_limit", "time_value", "time_unit", "fee", "description")
_DOC_KEYS = ("name", "quantity", "template", "group")


def _compact(obj: Any, keys: Iterable[str]) -> dict:
    out = {}
    for k in keys:
        v = getattr(obj, k)
        if v is not None and v != "":
            out[k] = v
    return out


def procedure_to_dict(p: Procedure) -> dict:
    """A compact JSON-safe dict (empty fields omitted) that round-trips via procedure_from_dict."""
    d: dict[str, Any] = {"code": p.code, "name": p.name}
    for k in (
        "sector",
        "competent_agency",
        "issuing_agency",
        "receiving_address",
        "audience",
        "conditions",
        "decision",
        "portal_url",
        "source",
    ):
        v = getattr(p, k)
        if v:
            d[k] = v
    for k in ("levels", "agencies", "steps", "results", "keywords"):
        v = getattr(p, k)
        if v:
            d[k] = list(v)
    if p.channels:
        d["channels"] = [_compact(c, _CH_KEYS) for c in p.channels]
    if p.documents:
        d["documents"] = [_compact(doc, _DOC_KEYS) for doc in p.documents]
    if p.legal_basis:
        d["legal_basis"] = [
            [lb.title, lb.number] if lb.number else [lb.title] for lb in p.legal_basis
        ]
    if p.extra:
        d["extra"] = dict(p.extra)
    return d


def procedure_from_dict(d: dict) -> Procedure:
    """Inverse of procedure_to_dict; raises KeyError/TypeError/ValueError on malformed input."""
    channels = []
    for c in d.get("channels") or ():
        tv = c.get("time_value")
        channels.append(
            Channel(
                kind=c["kind"],
                time_limit=c.get("time_limit", ""),
                time_value=float(tv) if tv is not None else None,
                time_unit=c.get("time_unit"),
                fee=c.get("fee", ""),
                description=c.get("description", ""),
            )
        )
    documents = tuple(
        Document(
            name=x["name"],
            quantity=x.get("quantity", ""),
            template=x.get("template", ""),
            group=x.get("group", ""),
        )
        for x in d.get("documents") or ()
    )
    legal = []
    for x in d.get("legal_basis") or ():
        if isinstance(x, dict):
            legal.append(LegalBasis(title=x["title"], number=x.get("number", "")))
        else:
            legal.append(LegalBasis(title=x[0], number=x[1] if len(x) > 1 else ""))
    return Procedure(
        code=d["code"],
        name=d["name"],
        sector=d.get("sector", ""),
        levels=tuple(d.get("levels") or ()),
        agencies=tuple(d.get("agencies") or ()),
        competent_agency=d.get("competent_agency", ""),
        issuing_agency=d.get("issuing_agency", ""),
        receiving_address=d.get("receiving_address", ""),
        audience=d.get("audience", ""),
        steps=tuple(d.get("steps") or ()),
        channels=tuple(channels),
        documents=documents,
        legal_basis=tuple(legal),
        conditions=d.get("conditions", ""),
        results=tuple(d.get("results") or ()),
        decision=d.get("decision", ""),
        portal_url=d.get("portal_url", ""),
        keywords=tuple(d.get("keywords") or ()),
        source=d.get("source", ""),
        extra=dict(d.get("extra") or {}),
    )


_FORMAT = "citizen-assistant-catalog"


def dump_compact(procedures: Iterable[Procedure], path: str | Path) -> None:
    """Write the catalog as gzip JSON Lines (deterministic bytes for the same input).

    Line 1 is a header holding shared tables (channels, documents, legal bases and step texts
    that several procedures reuse); every further line is procedure_to_dict(p) in which those
    lists hold integer indexes into the tables. load_compact also reads plain
    procedure_to_dict lines without a header.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict[Any, int]] = {
        k: {} for k in ("channels", "documents", "legal_basis", "steps")
    }

    def ref(table: str, key: Any) -> int:
        t = tables[table]
        idx = t.get(key)
        if idx is None:
            idx = t[key] = len(t)
        return idx

    lines = []
    for p in procedures:
        d = procedure_to_dict(p)
        if p.channels:
            d["channels"] = [
                ref(
                    "channels",
                    (c.kind, c.time_limit, c.time_value, c.time_unit, c.fee, c.description),
                )
                for c in p.channels
            ]
        if p.documents:
            d["documents"] = [
                ref("documents", (x.name, x.quantity, x.template, x.group)) for x in p.documents
            ]
        if p.legal_basis:
            d["legal_basis"] = [ref("legal_basis", (x.title, x.number)) for x in p.legal_basis]
        if p.steps:
            d["steps"] = [ref("steps", s) for s in p.steps]
        lines.append(json.dumps(d, ensure_ascii=False, separators=(",", ":")))
    header = {"format": _FORMAT, "version": 2}
    for name, t in tables.items():
        header[name] = [list(k) if isinstance(k, tuple) else k for k in t]
    with open(path, "wb") as fh:
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz:
            gz.write(json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode())
            gz.write(b"\n")
            for line in lines:
                gz.write(line.encode("utf-8") + b"\n")


def load_compact(path: str | Path) -> list[Procedure]:
    """Read a file written by dump_compact (or plain procedure_to_dict JSON Lines, gzipped)."""
    with open(path, "rb") as fh:
        text = gzip.decompress(fh.read()).decode("utf-8")
    lines = text.splitlines()
    if not lines:
        return []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small objects: the cyclic GC would rescan them over and over
    try:
        first = json.loads(lines[0])
        if first.get("format") != _FORMAT:
            return [procedure_from_dict(json.loads(x)) for x in lines if x.strip()]
        channels = [
            Channel(k, tl, tv, tu, fee, desc) for k, tl, tv, tu, fee, desc in first["channels"]
        ]
        documents = [Document(n, q, t, g) for n, q, t, g in first["documents"]]
        legal = [LegalBasis(t, n) for t, n in first["legal_basis"]]
        steps = first["steps"]
        out = []
        for line in lines[1:]:
            d = json.loads(line)
            g = d.get
            out.append(
                Procedure(
                    d["code"],
                    d["name"],
                    g("sector", ""),
                    tuple(g("levels", ())),
                    tuple(g("agencies", ())),
                    g("competent_agency", ""),
                    g("issuing_agency", ""),
                    g("receiving_address", ""),
                    g("audience", ""),
                    tuple([steps[i] for i in g("steps", ())]),
                    tuple([channels[i] for i in g("channels", ())]),
                    tuple([documents[i] for i in g("documents", ())]),
                    tuple([legal[i] for i in g("legal_basis", ())]),
                    g("conditions", ""),
                    tuple(g("results", ())),
                    g("decision", ""),
                    g("portal_url", ""),
                    tuple(g("keywords", ())),
                    g("source", ""),
                    dict(g("extra", {})),
                )
            )
        return out
    finally:
        if gc_was_enabled:
            gc.enable()


def load_default_catalog() -> list[Procedure]:
    """The catalog shipped with the package (knowledge/data/catalog.jsonl.gz)."""
    return load_compact(DEFAULT_CATALOG)


# --------------------------------------------------------------------------------------------
# Building from the source dumps
# --------------------------------------------------------------------------------------------


def _iter_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def build_catalog_from_sources(sources_dir: str | Path) -> list[Procedure]:
    """Merge chatbot_tthc (primary) and nhdandz (only codes the primary lacks); sorted by code."""
    sources_dir = Path(sources_dir)
    by_code: dict[str, Procedure] = {}
    primary = sources_dir / "chatbot_tthc" / "tthc_bo_nganh.jsonl"
    for raw in _iter_jsonl(primary):
        p = procedure_from_chatbot_tthc(raw)
        if p.code and p.name:
            by_code.setdefault(p.code, p)
    secondary = sources_dir / "nhdandz_ThuTucHanhChinh" / "bqp_tthc_extracted_fixed.jsonl"
    if secondary.exists():
        for raw in _iter_jsonl(secondary):
            p = procedure_from_nhdandz(raw)
            if p.code and p.name and p.code not in by_code:
                by_code[p.code] = p
    return sorted(by_code.values(), key=_code_sort_key)


def _code_sort_key(p: Procedure) -> tuple:
    return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in p.code.split("."))


# --------------------------------------------------------------------------------------------
# Importing a province's own export
# --------------------------------------------------------------------------------------------

_XLSX_COLUMNS = {
    "mã số": "code",
    "mã thủ tục": "code",
    "tên": "name",
    "tên thủ tục": "name",
    "cơ quan ban hành": "issuing",
    "cơ quan thực hiện": "agencies",
    "lĩnh vực": "sector",
}
_CSV_COLUMNS = {
    "ma_so": "code",
    "ten": "name",
    "co_quan_ban_hanh": "issuing",
    "co_quan_thuc_hien": "agencies",
    "linh_vuc": "sector",
}


def _check_row(code: str, name: str) -> str | None:
    if not code:
        return "missing procedure code"
    if len(code) > MAX_CODE_LENGTH:
        return f"procedure code longer than {MAX_CODE_LENGTH} characters"
    if not is_valid_code(code):
        return f"invalid procedure code {code!r}"
    if not name:
        return "empty procedure name"
    return None


def _procedure_from_list_row(row: dict[str, Any], source: str) -> Procedure:
    return Procedure(
        code=normalise_code(row.get("code")),
        name=clean_text(_str(row.get("name"))),
        sector=clean_text(_str(row.get("sector"))),
        agencies=split_agencies(_str(row.get("agencies"))),
        issuing_agency=clean_text(_str(row.get("issuing"))),
        source=source,
    )


def _str(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_xlsx(path: Path) -> CatalogImport:
    # imported here: only XLSX imports need openpyxl, and it costs start-up time otherwise
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException  # (with openpyxl, above)

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise CatalogFormatError(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    try:
        for ws in wb.worksheets:
            result = _read_sheet(ws, path.name)
            if result is not None:
                return result
    finally:
        wb.close()
    raise CatalogFormatError(f"{path.name}: no sheet with a 'Mã số' / 'Tên' header row was found")


def _read_sheet(ws: Any, file_name: str) -> CatalogImport | None:
    colmap: dict[int, str] | None = None
    out = CatalogImport()
    for rownum, values in enumerate(ws.iter_rows(values_only=True), start=1):
        if colmap is None:
            if rownum > 30:
                return None
            cand: dict[int, str] = {}
            for i, v in enumerate(values):
                key = clean_text(_str(v)).casefold()
                if key in _XLSX_COLUMNS and _XLSX_COLUMNS[key] not in cand.values():
                    cand[i] = _XLSX_COLUMNS[key]
            if "code" in cand.values() and "name" in cand.values():
                colmap = cand
            continue
        if all(v is None or not str(v).strip() for v in values):
            continue
        row = {field_: values[i] if i < len(values) else None for i, field_ in colmap.items()}
        _add_list_row(out, rownum, row, f"xlsx:{file_name}")
    return out if colmap is not None else None


def _add_list_row(out: CatalogImport, rownum: int, row: dict[str, Any], source: str) -> None:
    p = _procedure_from_list_row(row, source)
    err = _check_row(p.code, p.name)
    if err:
        out.errors.append((rownum, err))
    else:
        out.procedures.append(p)


def _read_csv(path: Path, text: str) -> CatalogImport:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise CatalogFormatError(f"{path.name}: empty CSV file") from exc
    cols = {
        i: _CSV_COLUMNS.get(h.strip().lstrip("\ufeff").casefold()) for i, h in enumerate(header)
    }
    if "code" not in cols.values() or "name" not in cols.values():
        raise CatalogFormatError(f"{path.name}: CSV header lacks 'ma_so' and 'ten' columns")
    out = CatalogImport()
    for rownum, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        row = {f: values[i] if i < len(values) else None for i, f in cols.items() if f}
        _add_list_row(out, rownum, row, f"csv:{path.name}")
    return out


def _read_jsonl(path: Path, text: str) -> CatalogImport:
    out = CatalogImport()
    shape: str | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if shape is None:
                raise CatalogFormatError(f"{path.name}: line {lineno} is not JSON") from exc
            out.errors.append((lineno, f"invalid JSON: {exc.msg}"))
            continue
        if not isinstance(obj, dict):
            if shape is None:
                raise CatalogFormatError(f"{path.name}: line {lineno} is not a JSON object")
            out.errors.append((lineno, "not a JSON object"))
            continue
        if "ma_thu_tuc" in obj or "ten_thu_tuc" in obj:
            kind = "raw"
        elif "code" in obj or ("name" in obj and ("channels" in obj or "levels" in obj)):
            kind = "compact"
        elif "metadata" in obj and isinstance(obj.get("metadata"), dict):
            kind = "nhdandz"
        else:
            if shape is None:
                raise CatalogFormatError(
                    f"{path.name}: line {lineno} has neither 'ma_thu_tuc' nor 'code'; "
                    "not a procedure catalog"
                )
            out.errors.append((lineno, "unrecognised record (no 'ma_thu_tuc' or 'code')"))
            continue
        shape = shape or kind
        try:
            if kind == "raw":
                p = procedure_from_chatbot_tthc(obj)
                p = _with_source(p, f"jsonl:{path.name}")
            elif kind == "nhdandz":
                p = procedure_from_nhdandz(obj)
            else:
                d = dict(obj)
                d["code"] = normalise_code(d.get("code"))
                d["name"] = clean_text(_str(d.get("name")))
                p = procedure_from_dict(d)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            out.errors.append((lineno, f"malformed record: {type(exc).__name__}: {exc}"))
            continue
        err = _check_row(p.code, p.name)
        if err:
            out.errors.append((lineno, err))
        else:
            out.procedures.append(p)
    if shape is None:
        raise CatalogFormatError(f"{path.name}: no records found")
    return out


def _with_source(p: Procedure, source: str) -> Procedure:
    return replace(p, source=source)


def read_catalog_file(path: str | Path) -> CatalogImport:
    """Read a province's catalog export, auto-detecting the format.

    Supported: JSONL in the raw chatbot_tthc shape or the compact procedure_to_dict shape (also
    gzip-compressed), the portal's "Danh sách TTHC" XLSX export and its CSV form. Rows with a bad
    code or an empty name are reported in ``errors``; a file that is not a catalog at all raises
    CatalogFormatError.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogFormatError(f"{path.name}: cannot read file ({exc.strerror})") from exc
    if not data.strip():
        raise CatalogFormatError(f"{path.name}: empty file")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise CatalogFormatError(f"{path.name}: corrupt gzip file") from exc
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(path) if not path.name.endswith(".gz") else _xlsx_from_bytes(path, data)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise CatalogFormatError(f"{path.name}: not an XLSX workbook (wrong file signature)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogFormatError(f"{path.name}: not UTF-8 text; not a catalog file") from exc
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _read_jsonl(path, text)
    if stripped.startswith("["):
        raise CatalogFormatError(f"{path.name}: a JSON array is not supported; use JSON Lines")
    first_line = stripped.splitlines()[0] if stripped else ""
    if "," in first_line or path.suffix.lower() == ".csv":
        return _read_csv(path, text)
    raise CatalogFormatError(f"{path.name}: unrecognised format (expected JSONL, XLSX or CSV)")


def _xlsx_from_bytes(path: Path, data: bytes) -> CatalogImport:
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
        tmp.write(data)
        tmp.flush()
        res = _read_xlsx(Path(tmp.name))
    return res


# --------------------------------------------------------------------------------------------
# Overlaying a province's export on the shipped catalog


_OWN_FIELDS = {"code", "source", "extra"}


def overlay(update: Procedure, base: Procedure) -> Procedure:
    """`update` with each of its empty fields taken from `base`.

    A province's XLSX export carries only code, name, sector and agencies: its copy of a national
    procedure keeps the national documents, steps, channels and legal basis.
    """
    changes = {
        f.name: getattr(base, f.name)
        for f in fields(Procedure)
        if f.name not in _OWN_FIELDS and not getattr(update, f.name) and getattr(base, f.name)
    }
    return replace(update, **changes) if changes else update


def merge_catalogs(base: Iterable[Procedure], imported: Iterable[Procedure]) -> list[Procedure]:
    """The shipped catalog with imported procedures added or overlaid, by code.

    An imported procedure fills its gaps from the shipped record of the same code, else from the
    national record of its base code ("1.012753.H19" from "1.012753").
    """
    by_code = {p.code: p for p in base}
    national = dict(by_code)
    for p in imported:
        ref = national.get(p.code) or national.get(p.base_code)
        by_code[p.code] = overlay(p, ref) if ref is not None else p
    return list(by_code.values())
