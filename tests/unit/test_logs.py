import logging
import subprocess
import sys
from pathlib import Path

from bot.logs import RedactSecrets

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAH-secret_token-value"


def test_secrets_are_masked_in_messages_args_and_tracebacks():
    record_filter = RedactSecrets([TOKEN, ""])
    try:
        raise RuntimeError(f"GET https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "polling stopped: %s", (f"/bot{TOKEN}/x",), sys.exc_info()
        )
    assert record_filter.filter(record)
    formatted = logging.Formatter().format(record)
    assert TOKEN not in formatted
    assert "***" in formatted and "RuntimeError" in formatted


def test_bad_configuration_is_reported_without_values(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "search", "x"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "BOT_TOKEN": TOKEN,
             "TELEGRAM_API_SERVER": "localhost:8081", "WEBHOOK_SECRET": "not valid!"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TELEGRAM_API_SERVER" in result.stderr and "WEBHOOK_SECRET" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert "not valid!" not in result.stderr
