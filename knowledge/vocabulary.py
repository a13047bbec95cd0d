"""The words and word pairs a catalog writes anywhere in its texts.

Search corrects a syllable or a pair of syllables only when the catalog never writes it: "người
thân" is real Vietnamese (it appears in procedure texts) even though no procedure *name* has it,
while "căng cước" is a typo of "căn cước". Collecting this from 11 million characters of steps and
documents takes seconds, so the shipped catalog ships its vocabulary precomputed beside it, and an
imported catalog computes only its own.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .models import Procedure
from .normalize import folded_words

DEFAULT_VOCABULARY = Path(__file__).parent / "data" / "vocabulary.json.gz"


def procedure_text(p: Procedure) -> str:
    """All free text of a procedure: name, audience, conditions, steps, results, documents."""
    parts = [p.name, p.audience, p.conditions, *p.steps, *p.results, *(d.name for d in p.documents)]
    parts += [c.description for c in p.channels]
    return "\n".join(parts)


@dataclass(slots=True)
class TextVocabulary:
    words: set[str] = field(default_factory=set)
    pairs: set[str] = field(default_factory=set)  # "a b", folded

    @classmethod
    def from_procedures(cls, procedures: Iterable[Procedure]) -> TextVocabulary:
        vocab = cls()
        seen: set[str] = set()
        for p in procedures:
            if p.base_code in seen:  # province variants share the national texts
                continue
            seen.add(p.base_code)
            for chunk in procedure_text(p).split("\n"):
                words = folded_words(chunk)
                vocab.words.update(words)
                vocab.pairs.update(f"{a} {b}" for a, b in zip(words, words[1:]))
        return vocab

    def merge(self, other: TextVocabulary) -> TextVocabulary:
        return TextVocabulary(self.words | other.words, self.pairs | other.pairs)

    def dump(self, path: Path) -> None:
        payload = {"words": sorted(self.words), "pairs": sorted(self.pairs)}
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def load(cls, path: Path) -> TextVocabulary:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            payload = json.load(fh)
        return cls(set(payload["words"]), set(payload["pairs"]))


def load_default_vocabulary() -> TextVocabulary:
    return TextVocabulary.load(DEFAULT_VOCABULARY)
