"""Phrasings officials taught the search (placeholder: replaced by the full module at merge)."""

from __future__ import annotations

from knowledge.search import SearchIndex


def apply_learned(index: SearchIndex, code: str, text: str) -> bool:
    """Teach the live ``index`` that ``text`` asks for procedure ``code`` (through
    ``SearchIndex.learn`` when the index has it); True when the index took it."""
    learn = getattr(index, "learn", None)
    return bool(learn(code, text)) if learn else False
