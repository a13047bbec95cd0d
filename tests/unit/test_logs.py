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
            "x",
            logging.ERROR,
            __file__,
            1,
            "polling stopped: %s",
            (f"/bot{TOKEN}/x",),
            sys.exc_info(),
        )
    assert record_filter.filter(record)
    formatted = logging.Formatter().format(record)
    assert TOKEN not in formatted
    assert "***" in formatted and "RuntimeError" in formatted


def test_bad_configuration_is_reported_without_values(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "search", "x"],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_SERVER": "localhost:8081",
            "WEBHOOK_SECRET": "not valid!",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TELEGRAM_API_SERVER" in result.stderr and "WEBHOOK_SECRET" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert "not valid!" not in result.stderr


async def test_access_log_leaves_out_query_strings(caplog):
    """Sign-in links (/inbox/login?token=...) and Open311 keys (?api_key=...) are secrets in
    the query string: the web server's access log must not write them."""
    from aiohttp import ClientSession, web

    from bot.app import create_runner

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/inbox/login", ok)
    runner = create_runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        with caplog.at_level(logging.INFO, logger="aiohttp.access"):
            async with ClientSession() as client:
                url = f"http://127.0.0.1:{port}/inbox/login?token=SIGNINSECRET&api_key=KEYSECRET"
                async with client.get(url, headers={"Referer": url}) as response:
                    assert response.status == 200
    finally:
        await runner.cleanup()
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert lines and "/inbox/login" in lines[0] and "200" in lines[0]
    assert not any("SECRET" in line for line in lines)
