"""Vietnamese-aware procedure search. (Temporary placeholder; being replaced by the real index.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .models import Procedure


@dataclass(frozen=True, slots=True)
class SearchHit:
    procedure: Procedure
    score: float  # 0..100, higher is better


class SearchIndex:
    """Interface: build(), search(), get(), suggestions(), __len__."""

    def __init__(self, procedures: list[Procedure]) -> None:
        self._procs = procedures
        self._by_code = {p.code: p for p in procedures}
        self._names = [p.name.lower() for p in procedures]

    @classmethod
    def build(cls, procedures: Iterable[Procedure]) -> "SearchIndex":
        return cls(list(procedures))

    def __len__(self) -> int:
        return len(self._procs)

    def get(self, code: str) -> Procedure | None:
        return self._by_code.get(code.strip())

    def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        q = query.strip().lower()
        if not q:
            return []
        if q in self._by_code:
            return [SearchHit(self._by_code[q], 100.0)]
        res = process.extract(q, self._names, scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
        return [SearchHit(self._procs[i], float(s)) for _, s, i in res]

    def suggestions(self, query: str, limit: int = 3) -> list[str]:
        """Phrases to offer as "did you mean" when search() finds nothing."""
        return []
