"""Plain dataclasses describing one published administrative procedure (thủ tục hành chính)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ChannelKind = Literal["direct", "online", "postal"]
"""trực tiếp / trực tuyến / dịch vụ bưu chính (công ích)."""


@dataclass(frozen=True, slots=True)
class Channel:
    """One submission channel with its own time limit and fee."""

    kind: ChannelKind
    time_limit: str = ""  # as published, e.g. "5 Ngày làm việc"; "" when unknown
    time_value: float | None = None  # 5.0
    time_unit: str | None = None  # "working_day" | "day" | "hour" | "month" | "year" | None
    fee: str = ""  # as published, e.g. "Miễn phí", "Lệ phí : 8.000 Đồng"
    description: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    """One required document of the dossier."""

    name: str
    quantity: str = ""  # e.g. "1 bản chính, 1 bản sao"
    template: str = ""  # form template file name, e.g. "Mẫu số 01.docx"
    group: str = ""  # e.g. "Giấy tờ phải nộp", "Giấy tờ phải xuất trình"


@dataclass(frozen=True, slots=True)
class LegalBasis:
    title: str
    number: str = ""  # e.g. "123/2015/NĐ-CP"


@dataclass(frozen=True, slots=True)
class Procedure:
    """A procedure of the national catalog (or a province's copy of it)."""

    code: str  # "1.001193", or with a province suffix "1.012753.H19"
    name: str
    sector: str = ""  # lĩnh vực
    levels: tuple[str, ...] = ()  # "Cấp bộ", "Cấp tỉnh", "Cấp xã", "Cơ quan khác"
    agencies: tuple[str, ...] = ()  # implementing agencies (cơ quan thực hiện)
    competent_agency: str = ""  # cơ quan có thẩm quyền
    issuing_agency: str = ""  # cơ quan ban hành (ministry)
    receiving_address: str = ""  # địa chỉ tiếp nhận
    audience: str = ""  # đối tượng thực hiện
    steps: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    documents: tuple[Document, ...] = ()
    legal_basis: tuple[LegalBasis, ...] = ()
    conditions: str = ""
    results: tuple[str, ...] = ()
    decision: str = ""  # số quyết định công bố
    portal_url: str = ""
    keywords: tuple[str, ...] = ()
    source: str = ""  # where the record came from, e.g. "chatbot_tthc", "xlsx:<file>"
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def base_code(self) -> str:
        """The national code without a province suffix: "1.012753.H19" -> "1.012753"."""
        parts = self.code.split(".")
        return ".".join(parts[:2]) if len(parts) >= 2 else self.code

    def channel(self, kind: ChannelKind) -> Channel | None:
        for ch in self.channels:
            if ch.kind == kind:
                return ch
        return None
