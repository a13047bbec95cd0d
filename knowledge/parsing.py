"""Heuristic parsers for the flattened fields of the national procedure catalog crawl.

The portal's HTML tables were flattened to text without cell separators, e.g.
``"Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến1Miễn phíDịch vụ bưu chính22 Ngày làm việc…"``.
The functions here rebuild the rows from the structure of that text. All output is NFC with
collapsed whitespace. Pure Python, no third-party imports.
"""

from __future__ import annotations

import re
import unicodedata

from .models import Channel, ChannelKind, Document, LegalBasis

NO_INFO = "Không có thông tin"

_SPACES = re.compile(r"[^\S\n]+")
_ANY_SPACE = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff\u00ad]")


def nfc(text: str | None) -> str:
    """NFC-normalise ``text`` (None -> "")."""
    if not text:
        return ""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text))


def clean_text(text: str | None, *, keep_newlines: bool = False) -> str:
    """NFC, collapse whitespace, strip; "Không có thông tin" becomes ""."""
    s = nfc(text)
    if keep_newlines:
        s = _SPACES.sub(" ", s)
        s = "\n".join(line.strip() for line in s.split("\n"))
        s = _BLANK_LINES.sub("\n", s).strip()
    else:
        s = _ANY_SPACE.sub(" ", s).strip()
    if s.casefold() in (NO_INFO.casefold(), "không", "không quy định", "--", "-"):
        # "Không"/"Không quy định" alone carry no information for a citizen either.
        return "" if s.casefold() != "không quy định" else s
    return s


def is_empty(text: str | None) -> bool:
    """True for "", whitespace, "Không có thông tin"."""
    return not clean_text(text)


# --------------------------------------------------------------------------------------------
# Levels and agencies
# --------------------------------------------------------------------------------------------

_LEVEL_CANON = {
    "cấp bộ": "Cấp bộ",
    "cấp tỉnh": "Cấp tỉnh",
    "cấp xã": "Cấp xã",
    "cấp huyện": "Cấp huyện",
    "cơ quan khác": "Cơ quan khác",
}


def parse_levels(text: str | None) -> tuple[str, ...]:
    """ "Cấp bộ, Cấp xã" -> ("Cấp bộ", "Cấp xã"); case is normalised ("Cấp Bộ" -> "Cấp bộ")."""
    out: list[str] = []
    for part in re.split(r"[,;\n]", clean_text(text)):
        part = part.strip()
        if not part:
            continue
        canon = _LEVEL_CANON.get(part.casefold(), part)
        if canon not in out:
            out.append(canon)
    return tuple(out)


def split_agencies(text: str | None) -> tuple[str, ...]:
    """Split a list of agencies on newlines, ";" and ", ".

    A comma-separated fragment that starts with a lowercase letter belongs to the previous name
    ("Cục cảnh sát quản lý hành chính về trật tự, xã hội", "Thuế tỉnh, thành phố").
    """
    s = clean_text(text, keep_newlines=True)
    if not s:
        return ()
    out: list[str] = []
    for line in re.split(r"[\n;]", s):
        parts: list[str] = []
        for frag in line.split(","):
            frag = frag.strip()
            if not frag:
                continue
            if parts and (frag[0].islower() or frag[0].isdigit()):
                parts[-1] = f"{parts[-1]}, {frag}"
            else:
                parts.append(frag)
        for p in parts:
            p = p.strip(" .-–")
            if p and not is_empty(p) and p not in out:
                out.append(p)
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Channels (cach_thuc_thuc_hien)
# --------------------------------------------------------------------------------------------

_CHANNEL_WORDS: dict[str, ChannelKind] = {
    "Trực tiếp": "direct",
    "Trực tuyến": "online",
    "Dịch vụ bưu chính": "postal",
}
_CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
_ROW_CANDIDATE = re.compile(r"(Trực tiếp|Trực tuyến|Dịch vụ bưu chính)(?=\d|Không có thông tin)")
_UNITS = {
    "ngày làm việc": "working_day",
    "ngày": "day",
    "giờ": "hour",
    "tháng": "month",
    "năm": "year",
    "tuần": "week",
    "phút": "minute",
}
_TIME_WITH_UNIT = re.compile(
    r"(\d+(?:[.,]\d+)?) ?(Ngày làm việc|Ngày|Giờ|Tháng|Năm|Tuần|Phút)", re.IGNORECASE
)
_MONEY = r"\d[\d.,]* ?(?:Việt Nam Đồng|VNĐ|USD|Đồng|đồng)"
_FEE_START = re.compile(rf"(?:Miễn phí|Không có thông tin|{_MONEY})")
_AFTER_TIME_OK = re.compile(
    rf"(?:Miễn phí|Không có thông tin|{_MONEY}|Trực tiếp|Trực tuyến|Dịch vụ bưu chính|$)"
)
_ROW_FREE_TIME = re.compile(
    r"(Trực tiếp|Trực tuyến|Dịch vụ bưu chính)([A-ZĐ][^()]{0,80}?)(?=Miễn phí|\d[\d.,]* ?VNĐ)"
)
_BARE_GLUED_MONEY = re.compile(r"(\d)(\d[\d.,]* ?(?:Việt Nam Đồng|VNĐ|USD|Đồng|đồng))")


def parse_time_limit(text: str) -> tuple[float | None, str | None]:
    """ "22 Ngày làm việc" -> (22.0, "working_day"); "1" -> (1.0, None); "" -> (None, None)."""
    s = clean_text(text)
    m = _TIME_WITH_UNIT.fullmatch(s) or _TIME_WITH_UNIT.match(s)
    if m:
        return float(m.group(1).replace(",", ".")), _UNITS[m.group(2).casefold()]
    m = re.fullmatch(r"(\d+(?:[.,]\d+)?)", s)
    if m:
        return float(m.group(1).replace(",", ".")), None
    return None, None


def _read_time(body: str, pos: int) -> tuple[str, int] | None:
    """Read the time cell at ``pos``; return (text, end) or None when this is not a row."""
    if body.startswith(NO_INFO, pos):
        end = pos + len(NO_INFO)
        return ("", end) if _AFTER_TIME_OK.match(body, end) else None
    m = _TIME_WITH_UNIT.match(body, pos)
    if m:
        return m.group(0), m.end()
    m = _BARE_GLUED_MONEY.match(body, pos)
    if m:
        # A bare number glued to an amount, "Trực tuyến1100 VNĐ": the time is the first digit.
        return m.group(1), m.start(2)
    m = re.compile(r"\d+(?:[.,]\d+)?").match(body, pos)
    if m and _AFTER_TIME_OK.match(body, m.end()):
        return m.group(0), m.end()
    return None


def _balanced_paren_end(s: str, pos: int) -> int:
    """Index after the parenthesis group opening at ``s[pos] == "("`` (or len(s) if unclosed)."""
    depth = 0
    for i in range(pos, len(s)):
        ch = s[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(s)


def _split_fee(rest: str) -> tuple[str, str]:
    """Split the text after the time cell into (fee, description)."""
    m = _FEE_START.match(rest)
    if not m:
        return "", rest
    fee = m.group(0)
    end = m.end()
    notes: list[str] = []
    while True:
        k = end
        while k < len(rest) and rest[k] == " ":
            k += 1
        if k < len(rest) and rest[k] == "(":
            close = _balanced_paren_end(rest, k)
            notes.append(rest[k:close])
            end = close
        else:
            break
    if fee == NO_INFO:
        fee = ""
    fee_text = " ".join(x for x in [fee, *notes] if x)
    return clean_text(fee_text), rest[end:]


def parse_channels(text: str | None) -> tuple[Channel, ...]:
    """Parse ``cach_thuc_thuc_hien`` into channels (one per row, in published order)."""
    s = nfc(text)
    if not s:
        return ()
    body = s[len(_CHANNEL_HEADER) :] if s.startswith(_CHANNEL_HEADER) else s
    starts: list[tuple[int, ChannelKind, str, int]] = []  # (row start, kind, time, time end)
    for m in _ROW_CANDIDATE.finditer(body):
        read = _read_time(body, m.end())
        if read is None:
            continue  # "Trực tiếp" inside a description, not a row start
        if starts and m.start() < starts[-1][3]:
            continue
        starts.append((m.start(), _CHANNEL_WORDS[m.group(1)], read[0], read[1]))
    if not starts:
        # rare rows whose time cell is free text: "Trực tuyếnKhông phải trả kết quả …Miễn phí…"
        for m in _ROW_FREE_TIME.finditer(body):
            if starts and m.start() < starts[-1][3]:
                continue
            starts.append((m.start(), _CHANNEL_WORDS[m.group(1)], m.group(2), m.end(2)))
    channels: list[Channel] = []
    for i, (_, kind, time_text, time_end) in enumerate(starts):
        row_end = starts[i + 1][0] if i + 1 < len(starts) else len(body)
        fee, desc = _split_fee(body[time_end:row_end])
        value, unit = parse_time_limit(time_text)
        channels.append(
            Channel(
                kind=kind,
                time_limit=clean_text(time_text),
                time_value=value,
                time_unit=unit,
                fee=fee,
                description=clean_text(desc),
            )
        )
    return tuple(channels)


# --------------------------------------------------------------------------------------------
# Documents (thanh_phan_ho_so)
# --------------------------------------------------------------------------------------------

_DOC_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
# "1 bản chính", "0 bản chính,1 bản sao", "2 bản sao"; must be followed by glued text or the end
_QUANTITY = re.compile(r"(\d+) bản (chính|sao)(?:,\s*(\d+) bản (chính|sao))?(?=\S|$)")
_TEMPLATE_EXT = re.compile(r"\.(?:docx|doc|pdf|xlsx|xls|rar|zip)", re.IGNORECASE)
_TEMPLATE_TAIL = re.compile(r"(?:\.(?:docx|doc|pdf|xlsx|xls|rar|zip))+$", re.IGNORECASE)
_LEGAL_CODE_END = re.compile(r"\d+/\d{4}/[A-ZĐ][A-ZĐ\- ]*[A-ZĐ]$")
_MAX_TEMPLATE = 110


def _format_quantity(m: re.Match[str]) -> str:
    parts = []
    for num, kind in ((m.group(1), m.group(2)), (m.group(3), m.group(4))):
        if num is not None and int(num) > 0:
            parts.append(f"{int(num)} bản {kind}")
    return ", ".join(parts) if parts else f"0 bản {m.group(2)}"


def _template_start(s: str) -> int | None:
    """Index where a template file name glued to the end of ``s`` begins, or None."""
    lo = max(1, len(s) - _MAX_TEMPLATE)
    strong: list[int] = []
    weak: list[int] = []
    for j in range(lo, len(s) - 4):
        prev, ch = s[j - 1], s[j]
        if ch.isspace() or ch in ".;:,)(":
            continue
        if prev in ";:":
            strong.append(j)
        elif prev == ")":
            strong.append(j)
        elif prev == ".":
            before = s[j - 2] if j >= 2 else ""
            if before.islower() or before == ")" or _LEGAL_CODE_END.search(s[: j - 1]):
                strong.append(j)
        elif prev.islower() and ch.isupper():
            weak.append(j)
        elif prev.isdigit() and ch.isupper() and not s[j - 2 : j - 1].isupper():
            weak.append(j)
        elif prev.isupper() and ch.isupper() and j + 1 < len(s) and s[j + 1].islower():
            weak.append(j)
        elif prev.isupper() and ch.islower() and _LEGAL_CODE_END.search(s[:j]):
            weak.append(j)
    if strong:
        return strong[-1]
    if weak:
        return weak[0]
    return None


def _split_name_template(row: str) -> tuple[str, str]:
    """Split "name<template.docx>[<template2.docx>]" into (name, "; "-joined templates)."""
    s = row.strip()
    if not _TEMPLATE_TAIL.search(s):
        return s, ""
    # cut trailing consecutive templates: "a.docxb.docx" -> pieces
    pieces = [
        p
        for p in re.split(
            r"(?<=\.docx)|(?<=\.doc)(?!x)|(?<=\.pdf)|(?<=\.xlsx)|(?<=\.xls)(?!x)",
            s,
            flags=re.IGNORECASE,
        )
        if p
    ]
    first = pieces[0]
    extra = [p.strip() for p in pieces[1:]]
    # a further template may be glued after the extension with a stray prefix ("…docx31Mẫu…")
    j = _template_start(first)
    if j is None:
        name, tpl = first, ""
        # no visible boundary: keep the whole text as the name, the last token as template
        m = re.search(r"(\S+)$", first)
        if m and m.start() > 0:
            name, tpl = first[: m.start()], m.group(1)
        elif m:
            name, tpl = first, first
    else:
        name, tpl = first[:j], first[j:]
    templates = [t for t in [tpl.strip(), *extra] if t]
    return name.strip(), "; ".join(templates)


def _clean_doc_name(name: str) -> str:
    s = clean_text(name)
    s = re.sub(r"^[-–•*]+\s*", "", s)
    return s.rstrip(" ;,").strip()


def _clean_group(heading: str) -> str:
    s = clean_text(heading)
    s = s.strip("-– ")
    s = re.sub(r"^\*\s*", "", s)
    s = s.rstrip(": ").strip()
    return s


def parse_documents(text: str | None) -> tuple[Document, ...]:
    """Parse ``thanh_phan_ho_so`` into documents with quantity, template and group."""
    s = nfc(text)
    if _DOC_HEADER not in s:
        return ()
    parts = s.split(_DOC_HEADER)
    heading = parts[0]
    docs: list[Document] = []
    for idx, part in enumerate(parts[1:], start=1):
        group = _clean_group(heading)
        pos = 0
        rows: list[tuple[str, str]] = []
        for m in _QUANTITY.finditer(part):
            rows.append((part[pos : m.start()], _format_quantity(m)))
            pos = m.end()
        tail = part[pos:]
        # text after the last quantity is the heading of the next group (or a row without one)
        if idx < len(parts) - 1:
            heading = tail
        elif clean_text(tail):
            rows.append((tail, ""))
        for raw, qty in rows:
            name, template = _split_name_template(nfc(raw))
            name = _clean_doc_name(name)
            template = clean_text(template)
            if not name and template:
                name = template
            if not name:
                continue
            docs.append(Document(name=name, quantity=qty, template=template, group=group))
    return tuple(docs)


# --------------------------------------------------------------------------------------------
# Legal basis (can_cu_phap_ly)
# --------------------------------------------------------------------------------------------

_LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
_SEG = r"(?:[A-ZĐ]*QH\d{2}|TTg|[A-ZĐ]+)"
_LEGAL_NUMBER = re.compile(rf"(\d+(?:\.\d+)?)/(?:(\d{{4}})/)?({_SEG}(?:\s?[-–/]\s?{_SEG})*)")
_TITLE_WORDS = (
    "Luật",
    "Bộ luật",
    "Nghị",
    "Thông",
    "Quyết",
    "Pháp",
    "Quy",
    "Sửa",
    "Hướng",
    "Văn",
    "Chỉ",
    "Công",
    "Lệnh",
    "Hiến",
    "Ban",
    "Biểu",
    "Danh",
    "Về",
)


def _is_row_end(after: str) -> bool:
    """Whether a legal number followed by ``after`` closes a row (vs. being quoted in a title)."""
    if not after:
        return True
    ch = after[0]
    if after.startswith("ngày"):
        return False
    if ch.isdigit():
        return _LEGAL_NUMBER.match(after) is None  # the row's own number follows
    if ch.isspace():
        return re.match(r"\s+[A-ZĐ]", after) is not None
    if ch.isalpha():
        return True
    return False


def _normalise_number(num: str) -> str:
    s = re.sub(r"\s*([-–/])\s*", r"\1", num).replace("–", "-")
    return s


_GLUED_KIND = re.compile(
    r"(?<=[a-zà-ỹđ)])(?:Thông tư liên tịch|Thông tư|Nghị định|Quyết định|Nghị quyết|Luật|Pháp lệnh)"
    r"(?: số)?\s*$"
)


def parse_legal_basis(text: str | None) -> tuple[LegalBasis, ...]:
    """Parse ``can_cu_phap_ly`` into (title, number) rows."""
    s = nfc(text)
    if not s.startswith(_LEGAL_HEADER):
        return ()
    body = s[len(_LEGAL_HEADER) :]
    rows: list[LegalBasis] = []
    title_start = 0
    for m in _LEGAL_NUMBER.finditer(body):
        if m.group(2) is None and not re.search(r"QĐ|TTg", m.group(3)):
            continue  # "12/QĐ…" style without a year is rare; skip bare "x/y" fragments
        start, end = m.start(), m.end()
        code = m.group(3)
        after = body[end:]
        # "…/TT-BCALuật Căn cước": the last capital of the code starts the next title
        glued_word = re.match(r"[a-zà-ỹđ]+", after)
        if glued_word and len(code) > 2:
            word = code[-1] + glued_word.group(0)
            if any(word.startswith(w) for w in _TITLE_WORDS):
                end -= 1
                after = body[end:]
        if not _is_row_end(after):
            continue  # a number quoted inside the title
        # digits glued to a preceding year: "năm 201102/2011/QH13" -> "02/2011/QH13"
        num_start = start
        digits = m.group(1).split(".")[0]
        if len(digits) > 4 and re.match(r"(19|20)\d\d", digits):
            num_start = start + 4
        number = _normalise_number(body[num_start:end])
        title = clean_text(body[title_start:num_start])
        # the number cell sometimes repeats the kind ("Thông tư số 03/2023/TT-BTP"): its words
        # end up glued to the title ("... Bộ Tư phápThông tư số")
        title = _GLUED_KIND.sub("", title).strip()
        title_start = end
        if not title:
            title = number
        rows.append(LegalBasis(title=title, number=number))
    tail = clean_text(body[title_start:])
    if tail and not tail.startswith("Cơ quan thực hiện"):
        rows.append(LegalBasis(title=tail, number=""))
    return tuple(rows)


# --------------------------------------------------------------------------------------------
# Results, steps
# --------------------------------------------------------------------------------------------

_RESULT_CODE = re.compile(
    r"Mã:\s*(?:Chưa xác định"
    r"|(?:\d{3}\.\d{2}\.\d{2}\.)?[A-Z]\d{2}-KQ\d+"
    r"|[A-Z]{2}[.\-][A-Z]\d{2}[.\-]\d+"
    r"|[A-Za-z0-9][A-Za-z0-9.\-_]*?(?=[A-ZĐ][a-zà-ỹđ]|\s|$))"
)


def _cut_result_junk(text: str) -> tuple[str, str]:
    """Return (results part, keywords part) of ``ket_qua_xu_ly``."""
    s = nfc(text).split("Chọn cơ quan thực hiện", 1)[0]
    keywords = ""
    i = s.find("Từ khóa")
    if i >= 0:
        tail = s[i + len("Từ khóa") :]
        keywords = tail.split("Mô tả", 1)[0]
        s = s[:i]
    return s, keywords


def parse_results(text: str | None) -> tuple[str, ...]:
    """Parse ``ket_qua_xu_ly`` into result document names."""
    s, _ = _cut_result_junk(text or "")
    out: list[str] = []
    for piece in _RESULT_CODE.split(s):
        name = clean_text(piece).strip(" ;,")
        name = re.sub(r"^[-+•*]+\s*", "", name)
        if name and name not in out:
            out.append(name)
    return tuple(out)


def parse_result_keywords(text: str | None) -> tuple[str, ...]:
    """The "Từ khóa" cell of ``ket_qua_xu_ly`` split on commas/semicolons."""
    _, kw = _cut_result_junk(text or "")
    return tuple(k for k in (clean_text(x) for x in re.split(r"[,;\n]", kw)) if k)


_STEP_MARK = re.compile(r"(?=Bước\s*\d+\s*[:.\-–])")


def parse_steps(text: str | None) -> tuple[str, ...]:
    """Split ``trinh_tu_thuc_hien`` into steps (newlines, "- " bullets, "Bước N")."""
    s = nfc(text)
    if is_empty(s):
        return ()
    s = s.replace("\r", "\n")
    lines: list[str] = []
    for raw in s.split("\n"):
        for chunk in _STEP_MARK.split(raw):
            chunk = clean_text(chunk)
            if not chunk:
                continue
            # a line starting in lowercase continues the previous one (broken crawl lines)
            if lines and chunk[0].islower():
                lines[-1] = f"{lines[-1]} {chunk}"
            else:
                lines.append(chunk)
    steps = []
    for line in lines:
        line = re.sub(r"^[-–•*]+\s*", "", line).strip()
        if line:
            steps.append(line)
    return tuple(steps)
