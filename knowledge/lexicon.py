"""The citizen lexicon: synonyms, filler phrases and procedure-changing modifiers (a data file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .normalize import tokenize

DEFAULT_LEXICON_PATH = Path(__file__).parent / "data" / "lexicon.txt"


@dataclass(frozen=True, slots=True)
class Lexicon:
    # phrase (accented tokens) -> alternatives, each a tuple of accented tokens
    synonyms: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    fillers: frozenset[tuple[str, ...]] = frozenset()
    modifiers: tuple[tuple[str, ...], ...] = ()
    stopwords: tuple[tuple[str, ...], ...] = ()

    @property
    def longest_phrase(self) -> int:
        lengths = [len(p) for p in self.synonyms] + [len(p) for p in self.fillers] + [1]
        return max(lengths)


class LexiconError(ValueError):
    """The lexicon file is malformed (the message names the line)."""


def parse_lexicon(text: str) -> Lexicon:
    synonyms: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}
    fillers: set[tuple[str, ...]] = set()
    modifiers: list[tuple[str, ...]] = []
    stopwords: list[tuple[str, ...]] = []
    section = ""
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section not in {"synonyms", "abbreviations", "fillers", "modifiers", "stopwords"}:
                raise LexiconError(f"line {lineno}: unknown section [{section}]")
            continue
        if section == "synonyms":
            if "=" not in line:
                raise LexiconError(f"line {lineno}: expected 'phrase = official phrase'")
            left, right = line.split("=", 1)
            key = tuple(tokenize(left))
            alternatives = tuple(tuple(tokenize(alt)) for alt in right.split("|"))
            alternatives = tuple(a for a in alternatives if a)
            if not key or not alternatives:
                raise LexiconError(f"line {lineno}: empty phrase")
            synonyms[key] = synonyms.get(key, ()) + alternatives
        elif section == "abbreviations":
            # both ways: the catalog writes "BHXH" in some names and the words in others
            if "=" not in line:
                raise LexiconError(f"line {lineno}: expected 'ABBR = words'")
            short, words = (tuple(tokenize(x)) for x in line.split("=", 1))
            if not short or not words:
                raise LexiconError(f"line {lineno}: empty phrase")
            synonyms[short] = synonyms.get(short, ()) + (words,)
            synonyms[words] = synonyms.get(words, ()) + (short,)
        elif section == "fillers":
            fillers.add(tuple(tokenize(line)))
        elif section == "modifiers":
            modifiers.append(tuple(tokenize(line)))
        elif section == "stopwords":
            stopwords.append(tuple(tokenize(line)))
        else:
            raise LexiconError(f"line {lineno}: entry outside a section")
    return Lexicon(
        synonyms=synonyms,
        fillers=frozenset(fillers),
        modifiers=tuple(modifiers),
        stopwords=tuple(stopwords),
    )


def load_lexicon(path: Path | None = None) -> Lexicon:
    return parse_lexicon((path or DEFAULT_LEXICON_PATH).read_text(encoding="utf-8"))
