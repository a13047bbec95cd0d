"""The citizen phrasings file (knowledge/data/phrasings.txt), its loader and live additions."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from knowledge.catalog import load_default_catalog
from knowledge.phrasings import (
    MAX_PHRASING_CHARS,
    PhrasingsError,
    apply_learned,
    load_default_phrasings,
    parse_phrasings,
)
from knowledge.search import SearchIndex, same_name_key
from knowledge.vocabulary import load_default_vocabulary

# Phrasings knowingly given to procedures with different names, and why. (Lines listing several
# codes are documented by the line itself: those codes share every phrasing on it.)
SHARED: dict[str, str] = {}


@pytest.fixture(scope="module")
def catalog():
    return {p.code: p for p in load_default_catalog()}


@pytest.fixture(scope="module")
def index():
    return SearchIndex.build(load_default_catalog(), vocabulary=load_default_vocabulary())


def test_every_code_is_in_the_catalog(catalog) -> None:
    phrasings = load_default_phrasings()
    unknown = sorted({p.code for p in phrasings if p.code not in catalog})
    assert not unknown
    assert len({p.code for p in phrasings}) >= 300


def test_no_phrasing_names_two_different_procedures(catalog) -> None:
    names: dict[str, set[str]] = defaultdict(set)
    sources: dict[str, set[str]] = defaultdict(set)
    for p in load_default_phrasings():
        text = p.text.lower()
        names[text].add(same_name_key(catalog[p.code].name))
        sources[text].add(p.source)
    clashes = {
        text: sorted(keys)
        for text, keys in names.items()
        if len(keys) > 1 and len(sources[text]) > 1 and text not in SHARED
    }
    assert not clashes


def test_siblings_keep_their_own_phrasings() -> None:
    """A re-issue, an age band or a foreign element is a different procedure."""
    by_code = defaultdict(set)
    for p in load_default_phrasings():
        by_code[p.code].add(p.text.lower())
    first, lost = by_code["1.014061"], by_code["1.014064"]  # ID card: first issue / re-issue
    assert all("mất" not in t and "lại" not in t for t in first)
    assert all("dưới 14" not in t for t in first)
    assert all("đủ 14" not in t for t in by_code["1.014062"])
    assert all("nước ngoài" not in t for t in by_code["1.000894"])  # marriage, no foreign element
    assert any("mất" in t for t in lost)


def test_parse_errors_name_the_line() -> None:
    ok = "# comment\n[Hộ tịch]\n1.001193 = làm giấy khai sinh | birth registration\n"
    assert [p.text for p in parse_phrasings(ok)] == ["làm giấy khai sinh", "birth registration"]
    assert parse_phrasings(ok)[0].source == "phrasings.txt:3"
    bad = {
        "1.001193 làm giấy khai sinh": "line 2: expected",
        "khai sinh = làm giấy khai sinh": "line 2: not a procedure code",
        "1.001193 = làm giấy khai sinh || x": "line 2: empty phrasing",
        "1.001193 = ": "line 2: no phrasing",
        "1.001193 = " + "a" * (MAX_PHRASING_CHARS + 1): "line 2: phrasing",
        "1.001193 = 123": "line 2: phrasing",
    }
    for line, message in bad.items():
        with pytest.raises(PhrasingsError, match=message):
            parse_phrasings("# header\n" + line)


def test_several_codes_on_a_line() -> None:
    parsed = parse_phrasings("1.003460, 1.003358 = temporary residence card")
    assert [p.code for p in parsed] == ["1.003460", "1.003358"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("birth registration", "1.001193"),
        ("marriage with a foreigner", "2.000806"),
        ("lấy chồng nước ngoài", "2.000806"),
        ("criminal record certificate", "3.000333"),
        ("sang tên sổ đỏ", "1.013831"),
        ("đi nghĩa vụ quân sự", "1.013133"),
        ("rút bảo hiểm một lần", "1.001613"),
        ("giải chấp sổ đỏ", "1.011443"),
        ("renew a visa", "1.001146"),
        ("work accident benefit", "1.001632"),
    ],
)
def test_phrasing_only_queries_find_their_procedure_first(index, query: str, code: str) -> None:
    hits = index.search(query, 3)
    assert hits, query
    top = hits[0].procedure
    wanted = index.get(code)
    assert wanted is not None
    assert same_name_key(top.name) == same_name_key(wanted.name), (query, top.code, top.name)


def test_phrasings_apply_to_the_same_procedure_at_other_levels(index) -> None:
    # "Cấp lại thẻ căn cước" at commune, province and central level share the phrasing
    codes = {h.procedure.code for h in index.search("mất căn cước công dân", 5)}
    assert {"1.014064", "2.001194", "1.000757"} <= codes


def test_learn_adds_a_phrasing_without_rebuild() -> None:
    procedures = [p for p in load_default_catalog() if p.sector == "Quản lý xuất nhập cảnh"]
    index = SearchIndex.build(procedures, phrasings=())
    query = "zorgvisum kuxo"  # words the catalog never writes
    assert not index.search(query)
    started = time.perf_counter()
    assert index.learn("1.003460", "zorgvisum kuxo")
    assert time.perf_counter() - started < 0.05
    hits = index.search(query)
    assert hits and hits[0].procedure.code == "1.003460"
    # again: known already, still True and nothing doubles
    assert apply_learned(index, "1.003460", "Zorgvisum  KUXO")
    assert index.search(query)[0].procedure.code == "1.003460"
    # an existing word can be taught too: "tạm trú" phrasings for another procedure
    assert index.learn("1.002757", "xin evisa cho bạn")
    assert index.search("xin evisa cho bạn")[0].procedure.code == "1.002757"


def test_learn_refuses_unknown_codes_and_bad_texts() -> None:
    procedures = list(load_default_catalog())[:50]
    index = SearchIndex.build(procedures, phrasings=())
    code = procedures[0].code
    assert not apply_learned(index, "9.999999", "something")
    assert not index.learn(code, "")
    assert not index.learn(code, "   ")
    assert not index.learn(code, "x" * (MAX_PHRASING_CHARS + 1))
    assert not index.learn(code, "123 456")
    assert index.search("khai sinh") == index.search("khai sinh")  # still searchable


@pytest.mark.parametrize("text", ["đăng ký", "giấy tờ", "cho tôi hỏi", "làm sao", "cấp mới"])
def test_a_general_text_is_not_learned(index, text: str) -> None:
    """Mapped to one procedure, "đăng ký" would take over every question holding it."""
    before = [h.procedure.code for h in index.search("thủ tục đăng ký chào bán", 3)]
    assert not index.learnable(text)
    assert index.learn("1.001456", text) is False
    assert [h.procedure.code for h in index.search("thủ tục đăng ký chào bán", 3)] == before


def test_a_specific_text_is_learnable(index) -> None:
    assert index.learnable("lấy chồng người hàn")
    assert index.learnable("renew my visa")
    assert not index.learnable("x " * 200)  # too long
