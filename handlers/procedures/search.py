"""What a free-text question resolves to: one card, a list of results, a few "did you mean"
candidates, or nothing (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from knowledge.models import Procedure
from knowledge.search import CANDIDATE, SearchIndex

from .userinput import find_procedure_codes

RESULT_LIMIT = 5
SUGGESTION_LIMIT = 3
CANDIDATE_LIMIT = 3


class Outcome(str, enum.Enum):
    CARD = "card"  # a procedure code was typed and found: open its card directly
    RESULTS = "results"
    MAYBE = "maybe"  # nothing sure enough, but procedures the question may be about: ask
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class Resolution:
    outcome: Outcome
    procedures: tuple[Procedure, ...] = ()
    suggestions: tuple[str, ...] = field(default=())
    top_score: float | None = None  # the best hit's SearchHit.score (0..100), None without hits


def _exact_code_hit(index: SearchIndex, text: str, hits: list[Procedure]) -> Procedure | None:
    codes = find_procedure_codes(text)
    if not codes:
        return None
    wanted = {c.casefold() for c in codes}
    for p in hits:
        if p.code.casefold() in wanted:
            return p
    for code in codes:
        found = index.get(code)
        if found is not None:
            return found
    # "1.001193" typed while the catalog only holds a province's "1.001193.H19": open it when
    # there is exactly one such procedure among the hits.
    # And the other way round: "1.001193.H19" typed while the catalog has only the national one.
    wanted_bases = wanted | {".".join(c.split(".")[:2]) for c in wanted}
    by_base = [p for p in hits if p.base_code.casefold() in wanted_bases]
    return by_base[0] if len(by_base) == 1 else None


def resolve(index: SearchIndex, text: str, limit: int = RESULT_LIMIT) -> Resolution:
    found = index.search(text, limit=limit)
    hits = [hit.procedure for hit in found]
    top_score = found[0].score if found else None
    exact = _exact_code_hit(index, text, hits)
    if exact is not None:
        return Resolution(Outcome.CARD, (exact,), top_score=top_score)
    if hits:
        return Resolution(Outcome.RESULTS, tuple(hits), top_score=top_score)
    # not a dead end when the question holds words of a procedure's name: offer the best few
    candidates = index.search(text, limit=CANDIDATE_LIMIT, floor=CANDIDATE)
    if candidates:
        procedures = tuple(hit.procedure for hit in candidates)
        return Resolution(Outcome.MAYBE, procedures, top_score=candidates[0].score)
    suggestions = tuple(s for s in index.suggestions(text, limit=SUGGESTION_LIMIT) if s.strip())
    return Resolution(Outcome.NOTHING, (), suggestions[:SUGGESTION_LIMIT])
