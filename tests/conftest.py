"""Tests see only the settings they set themselves: no developer's .env or shell variables."""

from __future__ import annotations

import pytest

from bot.config import Settings


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
