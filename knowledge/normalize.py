"""Text normalisation for Vietnamese search: NFC, invisible characters, diacritic folding.

Two forms of every token are kept apart:
- the *accented* form (NFC, lower case): "lại", "lái", "sổ";
- the *folded* form (no diacritics, đ -> d, i/y spelling variants unified): "lai", "so".
A query token typed without diacritics may stand for any accented token with the same folded
form; a token typed with diacritics stands only for itself ("loose" matching, see `loose_equal`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# A zero-width *space* (and the word joiner's cousins that act as spaces) still separate words;
# every other format character (zero-width joiners, BOM, soft hyphen, direction marks) is dropped.
_SPACE_LIKE = frozenset("\u200b\u2028\u2029\u3000")
_SPACE_LIKE_RE = re.compile("[\u200b\u2028\u2029\u3000]")
# Unicode's format characters (category Cf) other than U+200B, as ranges: checking each character's
# category in Python costs a third of a second over the catalog's names.
_FORMAT_RE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200c-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE_RE = re.compile(r"\s+")
# Syllables are letters and digits; a dot or slash inside digits stays (codes, "02/2020").
# A province suffix is letters then digits ("1.012753.H19"); "3.cấp" is a number and a word.
_TOKEN_RE = re.compile(
    r"\d++(?:[./]\d++)*+(?:\.[a-z]{1,3}\d++(?![^\W\d_]))*+|[^\W\d_]+", re.UNICODE
)

# In Vietnamese, "i" and "y" after these initials are spelling variants: kí/ký, lí/lý, mĩ/mỹ.
_IY_RE = re.compile(r"^(b|c|d|h|k|l|m|n|p|qu|s|t|v|x|ch|kh|nh|ph|th|tr)y$")

_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "d"})


def clean_text(text: str) -> str:
    """NFC-normalise, drop invisible and control characters, collapse white space."""
    text = unicodedata.normalize("NFC", text)
    if not text.isascii():
        text = _FORMAT_RE.sub("", _SPACE_LIKE_RE.sub(" ", text))
    text = _CONTROL_RE.sub(" ", text)
    return _SPACE_RE.sub(" ", text).strip()


@lru_cache(maxsize=200_000)
def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics ("Đăng ký" -> "Dang ky"); keeps case."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_TABLE))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@lru_cache(maxsize=200_000)
def fold_token(token: str) -> str:
    """Folded form of one lower-case token: no diacritics, unified i/y, no leading zeros."""
    folded = strip_diacritics(token)
    if folded.isdigit():
        return folded.lstrip("0") or "0"
    match = _IY_RE.match(folded)
    if match:
        return match.group(1) + "i"
    return folded


def tokenize(text: str) -> list[str]:
    """Lower-case accented tokens of a cleaned text."""
    return _TOKEN_RE.findall(clean_text(text).lower())


def fold(text: str) -> str:
    """The folded form of a whole text, tokens joined by single spaces."""
    return " ".join(fold_token(t) for t in tokenize(text))


_ASCII_WORD_RE = re.compile(r"[a-z]+")


def folded_words(text: str) -> list[str]:
    """Fast folded alphabetic words of a long text (for vocabularies, not for matching)."""
    ascii_text = (
        unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    return [fold_token(w) for w in _ASCII_WORD_RE.findall(ascii_text)]


def has_diacritics(token: str) -> bool:
    return strip_diacritics(token) != token


def loose_equal(query_token: str, target_token: str) -> bool:
    """Does a typed token stand for target? Exact when typed with diacritics, folded otherwise."""
    if query_token == target_token:
        return True
    if has_diacritics(query_token):
        return False
    return fold_token(query_token) == fold_token(target_token)
