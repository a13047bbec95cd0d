"""Normalising what citizens type, formatting numbers, and resolving a question."""

from __future__ import annotations

import datetime as dt
import unicodedata

from handlers.formatting import format_date, format_duration, format_number, format_percent
from handlers.i18n import create_i18n, locale_from_language_code
from handlers.markup import shorten
from handlers.procedures.search import Outcome, resolve
from handlers.procedures.userinput import (
    MAX_QUERY_CHARS,
    QueryKind,
    clean_query,
    find_procedure_codes,
)
from knowledge.models import Procedure
from knowledge.search import ANSWER, CANDIDATE, Floor, SearchHit


def test_clean_query_kinds() -> None:
    assert clean_query(None).kind is QueryKind.EMPTY
    assert clean_query("  \n\t ").kind is QueryKind.EMPTY
    assert clean_query("\u200b\u200c\u200d\ufeff\u2060").kind is QueryKind.EMPTY
    assert clean_query("😀🙏🏻👨‍👩‍👧 !!!").kind is QueryKind.NO_WORDS
    sql = clean_query("'; DROP TABLE users; --")
    assert sql.kind is QueryKind.OK and sql.text == "'; DROP TABLE users; --"


def test_clean_query_normalises() -> None:
    nfd = unicodedata.normalize("NFD", "làm giấy khai sinh")
    assert clean_query(nfd).text == "làm giấy khai sinh"
    assert clean_query("khai\u200b sinh\u00ad\n\ncho   con").text == "khai sinh cho con"
    assert clean_query("“sổ đỏ”").text == '"sổ đỏ"'


def test_clean_query_caps_length_at_a_word_boundary() -> None:
    long = clean_query("đăng ký khai sinh " * 300)
    assert long.truncated and len(long.text) <= MAX_QUERY_CHARS
    assert long.text.endswith("sinh") or long.text.endswith("ký") or long.text.endswith("khai")
    assert long.original_length > 5000 - 1000
    assert not clean_query("đăng ký khai sinh").truncated


def test_find_codes_and_shorten() -> None:
    assert find_procedure_codes("thủ tục 1.004873 nhé") == ["1.004873"]
    assert find_procedure_codes("mã 2.002307.000.00.00.H35.") == ["2.002307.000.00.00.H35"]
    assert find_procedure_codes("giá 1.000.000 đồng") == []
    assert shorten("một hai ba bốn năm sáu", 12).endswith("…")
    assert len(shorten("x" * 100, 20)) <= 20


def test_babel_formatting() -> None:
    assert format_number(30407, "vi") == "30.407"
    assert format_number(30407, "en") == "30,407"
    assert format_number(93.3, "vi") == "93,3"
    assert format_percent(0.933, "vi").replace("\xa0", "") == "93,3%"
    assert format_date(dt.date(2022, 6, 15), "vi") == "15/06/2022"
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        assert format_duration(5, "working_day") == "5 ngày làm việc"
        assert format_duration(2.5, "day") == "2,5 ngày"
        assert format_duration(5, None) is None
    with i18n.context(), i18n.use_locale("en"):
        assert format_duration(1, "working_day") == "1 working day"
        assert format_duration(15, "day") == "15 days"


def test_locale_from_telegram_language_code() -> None:
    assert locale_from_language_code("en-US") == "en"
    assert locale_from_language_code("en") == "en"
    assert locale_from_language_code("vi") == "vi"
    assert locale_from_language_code("fr") == "vi"
    assert locale_from_language_code(None) == "vi"


class StubIndex:
    def __init__(self, procedures: list[Procedure], suggestions: list[str] | None = None) -> None:
        self.procedures = procedures
        self._suggestions = suggestions or []

    def search(self, query: str, limit: int = 5, *, floor: Floor = ANSWER) -> list[SearchHit]:
        loose = floor is CANDIDATE and "sinh" in query  # a word of the name, not enough
        return [
            SearchHit(p, 90.0)
            for p in self.procedures
            if query.split()[-1] in (p.code, p.base_code) or "khai" in query or loose
        ][:limit]

    def get(self, code: str) -> Procedure | None:
        return next((p for p in self.procedures if p.code == code), None)

    def suggestions(self, query: str, limit: int = 3) -> list[str]:
        return self._suggestions[:limit]


def test_resolve_outcomes() -> None:
    birth = Procedure(code="1.001193", name="Thủ tục đăng ký khai sinh")
    province = Procedure(code="1.012753.H19", name="Thủ tục của tỉnh")
    index = StubIndex([birth, province], ["đăng ký khai sinh"])
    assert resolve(index, "thủ tục 1.001193").outcome is Outcome.CARD  # type: ignore[arg-type]
    by_base = resolve(index, "1.012753")  # type: ignore[arg-type]
    assert by_base.outcome is Outcome.CARD and by_base.procedures[0] is province
    results = resolve(index, "làm giấy khai sinh")  # type: ignore[arg-type]
    assert results.outcome is Outcome.RESULTS and results.procedures[0] is birth
    maybe = resolve(index, "giấy sinh")  # type: ignore[arg-type]
    assert maybe.outcome is Outcome.MAYBE and maybe.procedures[:1] == (birth,)
    nothing = resolve(index, "zzz")  # type: ignore[arg-type]
    assert nothing.outcome is Outcome.NOTHING and nothing.suggestions == ("đăng ký khai sinh",)
