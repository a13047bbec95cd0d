"""`python -m bot` in a subprocess, as an operator runs it: its environment (a SQLite file in the
test's directory, no token unless given), a one-shot command, and stopping a long-running one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="INFO",
        **extra,
    )
    return env


def run_cli(
    tmp_path: Path, *args: str, stdin: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`python -m bot <args>` in `tmp_path`, to completion."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env_for(tmp_path),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, as a service manager would; the process's output."""
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out
