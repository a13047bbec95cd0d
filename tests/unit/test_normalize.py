import unicodedata

import pytest

from knowledge.lexicon import LexiconError, load_lexicon, parse_lexicon
from knowledge.normalize import (
    clean_text,
    fold,
    fold_token,
    folded_words,
    has_diacritics,
    loose_equal,
    tokenize,
)


def test_clean_text_nfc_invisible_and_spaces():
    decomposed = unicodedata.normalize("NFD", "Đăng ký khai sinh")
    assert decomposed != "Đăng ký khai sinh"
    assert clean_text(f"  {decomposed}\u200d\ufeff \n\t") == "Đăng ký khai sinh"
    assert clean_text("khai\u200bsinh") == "khai sinh"  # a zero-width space still separates
    assert clean_text("a\x00b\x07c") == "a b c"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đăng ký khai sinh", "dang ki khai sinh"),
        ("ĐĂNG KÝ KẾT HÔN", "dang ki ket hon"),
        ("đăng kí", "dang ki"),  # i/y spelling variants meet
        ("Sổ đỏ", "so do"),
        ("mức độ 02", "muc do 2"),  # leading zeros do not matter in numbers
        ("Quy định", "qui dinh"),
        ("Thẻ  căn\u200bcước", "the can cuoc"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_fold_token_iy_only_after_initial_consonants():
    assert fold_token("kí") == fold_token("ký") == "ki"
    assert fold_token("lý") == fold_token("lí")
    assert fold_token("yêu") == "yeu"  # a leading y is not a variant
    assert fold_token("tuy") == "tuy"  # a glide + y is not either


def test_tokenize_keeps_codes_and_drops_emoji_and_punctuation():
    tokens = tokenize("Thủ tục 1.004873 và 2.002307.000.00.00.H35 😀 '; DROP TABLE --")
    assert tokens == ["thủ", "tục", "1.004873", "và", "2.002307.000.00.00.h35", "drop", "table"]


def test_folded_words_matches_per_token_folding():
    text = "Người yêu cầu đăng kí khai sinh nộp Tờ khai (mẫu 02)"
    assert folded_words(text) == [fold_token(t) for t in tokenize(text) if t.isalpha()]


def test_loose_equal():
    assert loose_equal("lai", "lại") and loose_equal("lai", "lái")
    assert loose_equal("lại", "lại")
    assert not loose_equal("lái", "lại")  # typed with diacritics: only itself
    assert has_diacritics("đ") and not has_diacritics("d")


def test_shipped_lexicon_parses_and_has_every_section():
    lex = load_lexicon()
    assert ("sổ", "đỏ") in lex.synonyms
    assert ("giấy", "chứng", "nhận", "quyền", "sử", "dụng", "đất") in lex.synonyms[("sổ", "đỏ")]
    assert ("tôi", "muốn") in lex.fillers
    assert ("lại",) in lex.modifiers
    assert ("cho",) in lex.stopwords


def test_lexicon_errors_name_the_line():
    with pytest.raises(LexiconError, match="line 2"):
        parse_lexicon("[synonyms]\nno equals sign here\n")
    with pytest.raises(LexiconError, match="unknown section"):
        parse_lexicon("[nonsense]\n")
    lex = parse_lexicon("# comment\n[synonyms]\nA = b | c  # trailing\n[fillers]\nxin hỏi\n")
    assert lex.synonyms[("a",)] == (("b",), ("c",))
    assert lex.fillers == frozenset({("xin", "hỏi")})


def test_abbreviations_work_both_ways():
    lex = parse_lexicon("[abbreviations]\nbhxh = bảo hiểm xã hội\n")
    assert lex.synonyms[("bhxh",)] == (("bảo", "hiểm", "xã", "hội"),)
    assert lex.synonyms[("bảo", "hiểm", "xã", "hội")] == (("bhxh",),)


def test_every_format_character_is_dropped():
    import sys

    from knowledge.normalize import _FORMAT_RE, _SPACE_LIKE

    format_chars = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Cf" and chr(c) not in _SPACE_LIKE
    ]
    assert format_chars and all(_FORMAT_RE.fullmatch(ch) for ch in format_chars)
    assert clean_text("a\u2066b\U000e0041c") == "abc"
