"""Citizen phrasings per procedure: everyday words and English names, as a data file.

The file (``knowledge/data/phrasings.txt``, documented in its header) gives procedures extra
names: "làm giấy khai sinh cho con", "birth registration" for "Đăng ký khai sinh". The search
index scores them as alternative names of their procedure (see ``SearchIndex``). Officials can
teach the running index one more phrasing with ``apply_learned`` (no rebuild).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .normalize import clean_text, tokenize

if TYPE_CHECKING:  # the index imports this module; only its type is needed here
    from .search import SearchIndex

DEFAULT_PHRASINGS_PATH = Path(__file__).parent / "data" / "phrasings.txt"
MAX_PHRASING_CHARS = 120  # a phrasing is a short name, not a description
_CODE_RE = re.compile(r"^\d\.\d{6}(?:\.[0-9A-Za-z]+)*$")


@dataclass(frozen=True, slots=True)
class Phrasing:
    code: str  # the procedure's code as in the catalog ("1.001193")
    text: str  # the phrasing, cleaned ("làm giấy khai sinh cho con")
    source: str  # where it comes from: "phrasings.txt:42", "learned" ...


class PhrasingsError(ValueError):
    """The phrasings file is malformed (the message names the line)."""


def clean_phrasing(text: str) -> str | None:
    """The phrasing as stored, or None when it is empty, too long or has no word in it."""
    text = clean_text(text)
    if not text or len(text) > MAX_PHRASING_CHARS:
        return None
    if not any(t.isalpha() for t in tokenize(text)):
        return None
    return text


def parse_phrasings(text: str, source: str = "phrasings.txt") -> list[Phrasing]:
    """Every phrasing of the file, in file order; duplicates on one code are kept once.

    A line is ``code[, code ...] = phrasing | phrasing ...``; "#" starts a comment and a line in
    brackets (``[Hộ tịch]``) is a sector heading, for readers only.
    """
    out: list[Phrasing] = []
    seen: set[tuple[str, str]] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or (line.startswith("[") and line.endswith("]")):
            continue
        if "=" not in line:
            raise PhrasingsError(f"line {lineno}: expected 'code = phrasing | phrasing'")
        left, right = line.split("=", 1)
        codes = [c.strip() for c in left.split(",")]
        if not codes or any(not _CODE_RE.match(c) for c in codes):
            raise PhrasingsError(f"line {lineno}: not a procedure code: {left.strip()!r}")
        parts = [p.strip() for p in right.split("|")]
        if not any(parts):
            raise PhrasingsError(f"line {lineno}: no phrasing")
        for part in parts:
            if not part:
                raise PhrasingsError(f"line {lineno}: empty phrasing (stray '|')")
            cleaned = clean_phrasing(part)
            if cleaned is None:
                raise PhrasingsError(
                    f"line {lineno}: phrasing {part[:40]!r} is not a few words"
                    f" (at most {MAX_PHRASING_CHARS} characters)"
                )
            for code in codes:
                key = (code.lower(), cleaned.lower())
                if key not in seen:
                    seen.add(key)
                    out.append(Phrasing(code, cleaned, f"{source}:{lineno}"))
    return out


def load_phrasings(path: Path | None = None) -> tuple[Phrasing, ...]:
    path = path or DEFAULT_PHRASINGS_PATH
    return tuple(parse_phrasings(path.read_text(encoding="utf-8"), path.name))


@lru_cache(maxsize=1)
def load_default_phrasings() -> tuple[Phrasing, ...]:
    """The shipped phrasings (parsed once per process)."""
    return load_phrasings(DEFAULT_PHRASINGS_PATH)


def apply_learned(index: SearchIndex, code: str, text: str) -> bool:
    """Teach a built index one more phrasing of a procedure, effective for the next search.

    False when the code is not in the index or the text is not a usable phrasing. Cheap (well
    under a millisecond to a few) and synchronous: call it where searches run (the event loop).
    """
    return index.learn(code, text)


def codes_of(phrasings: Iterable[Phrasing]) -> set[str]:
    return {p.code for p in phrasings}


__all__ = [
    "DEFAULT_PHRASINGS_PATH",
    "MAX_PHRASING_CHARS",
    "Phrasing",
    "PhrasingsError",
    "apply_learned",
    "clean_phrasing",
    "codes_of",
    "load_default_phrasings",
    "load_phrasings",
    "parse_phrasings",
]
