"""Typed errors the dialogs raise; the errors router maps each to a friendly reply."""

from __future__ import annotations


class DialogError(Exception):
    """Something the citizen should be told about in plain words (not a bug)."""


class ProcedureNotFound(DialogError):
    def __init__(self, code: str) -> None:
        super().__init__(f"procedure {code!r} is not in the catalog")
        self.code = code


class SuggestionExpired(DialogError):
    """A "did you mean" button whose phrase is no longer in the conversation state."""
