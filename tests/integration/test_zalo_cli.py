"""``python -m bot zalo``: a new token pair stored from standard input, the status shown without
the tokens, bad input refused with nothing stored."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli.main import main

ACCESS = "access-" + "a1" * 20
REFRESH = "refresh-" + "r2" * 20


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'z.sqlite3'}")
    monkeypatch.setenv("ZALO_APP_ID", "3600000000000000001")
    monkeypatch.setenv("ZALO_APP_SECRET", "app-secret-for-tests")
    monkeypatch.setenv("ZALO_OA_SECRET_KEY", "oa-secret-for-tests")
    return tmp_path


def _run(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(args))


def test_set_tokens_then_status(
    configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, "zalo", "status") == 1
    assert "no Zalo tokens stored" in capsys.readouterr().out
    assert _run(monkeypatch, "zalo", "set-tokens", stdin=f"{ACCESS}\n{REFRESH}\n") == 0
    assert _run(monkeypatch, "zalo", "status") == 0
    out, err = capsys.readouterr()
    assert "access token valid" in out and "3600000000000000001" in out
    assert ACCESS not in out + err and REFRESH not in out + err


def test_bad_input_stores_nothing(
    configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for stdin in ("", f"{ACCESS}\n", f"{ACCESS}\n{REFRESH}\nthird-line-{ACCESS}\n", "a b\nc d\n"):
        assert _run(monkeypatch, "zalo", "set-tokens", stdin=stdin) == 2
        assert "two lines" in capsys.readouterr().err
    assert _run(monkeypatch, "zalo", "status") == 1


def test_without_the_app_settings_it_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'z.sqlite3'}")
    monkeypatch.delenv("ZALO_APP_ID", raising=False)
    assert _run(monkeypatch, "zalo", "status") == 2
    assert "ZALO_APP_ID" in capsys.readouterr().err
