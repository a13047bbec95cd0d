"""The real entry point as a newcomer runs it: `python -m bot` and its subcommands, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import aiohttp
import openpyxl
import pytest

from tests.tools.cli import env_for, run_cli, stop
from tests.tools.net import free_port
from tests.tools.webchat import assert_none_logged


def test_search_json_and_stdin(tmp_path):
    res = run_cli(tmp_path, "search", "--json", "lam giay khai sinh cho con")
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    assert set(payload) == {"query", "results", "took_ms"}
    assert payload["results"][0]["code"] == "1.001193"
    assert set(payload["results"][0]) == {"code", "name", "score"}

    res = run_cli(tmp_path, "search", "--limit", "2", stdin="1.001193\n\ndoi bang lai xe\n😀\n")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["1.001193", "doi bang lai xe", "😀"]
    assert lines[0]["results"][0]["code"] == "1.001193"
    assert lines[1]["results"][0]["code"] == "3.000347"
    assert len(lines[1]["results"]) <= 2
    assert lines[2]["results"] == []


def test_import_catalog_xlsx_then_search_finds_province_codes(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH THỦ TỤC HÀNH CHÍNH"])
    ws.append(["Mã số", "Tên", "Cơ quan ban hành", "Cơ quan thực hiện", "Lĩnh vực"])
    ws.append(
        ["1.099991.H19", "Cấp giấy phép nuôi chim yến tại nhà", "UBND tỉnh", "Sở NN", "Nông nghiệp"]
    )
    ws.append(["not-a-code", "Thủ tục hỏng", "", "", ""])
    path = tmp_path / "province.xlsx"
    wb.save(path)

    res = run_cli(tmp_path, "import-catalog", str(path))
    assert res.returncode == 0, res.stderr
    assert "1 new" in res.stdout and "1 rows skipped" in res.stdout
    assert "row 4" in res.stderr

    again = run_cli(tmp_path, "import-catalog", str(path))
    assert "0 new, 0 updated" in again.stdout

    found = json.loads(run_cli(tmp_path, "search", "--json", "nuoi chim yen").stdout)
    assert found["results"][0]["code"] == "1.099991.H19"

    (tmp_path / "fake.xlsx").write_bytes(b"\x89PNG\r\n\x1a\nnot a workbook")
    bad = run_cli(tmp_path, "import-catalog", str(tmp_path / "fake.xlsx"))
    assert bad.returncode == 2 and "not a procedure catalog" in bad.stderr


async def test_python_m_bot_serves_the_web_chat(tmp_path):
    """`python -m bot` with no token: the web chat answers a question over real HTTP."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env_for(tmp_path, WEB_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"{base}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                await _sleep(0.1)
            else:
                pytest.fail("the web app did not come up")
            async with http.get(f"{base}/") as r:  # sets the visitor cookie
                assert r.status == 200
                assert "text/html" in r.headers["Content-Type"]
            async with http.post(
                f"{base}/api/chat/messages", json={"text": "dang ky ket hon"}
            ) as r:
                assert r.status == 200, await r.text()
                events = (await r.json())["events"]
        answered = time.perf_counter() - started
        texts = " ".join(e.get("html", "") for e in events)
        buttons = [b["text"] for e in events for row in e.get("buttons") or [] for b in row]
        assert "kết hôn" in (texts + " ".join(buttons)).lower(), events
        print(f"process start to first answer: {answered:.2f} s")
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out  # SIGTERM shuts down cleanly
    assert "Traceback" not in out, out
    assert "Web chat: http://" in out  # the log is at INFO, where unhandled updates are logged
    assert_none_logged(out)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_python_m_bot_serves_telegram_and_web_chat_in_one_process(tmp_path):
    """With BOT_TOKEN set, the same process long-polls the (stand-in) Bot API and serves the web."""
    from tests.tools.telegram_server import FakeTelegram, FakeUser

    fake = FakeTelegram()
    api = await fake.start()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env_for(tmp_path, WEB_PORT=str(port), BOT_TOKEN=fake.token, TELEGRAM_API_SERVER=api),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        citizen = FakeUser(id=4242, first_name="Hoa")
        reply = await fake.reply_to(fake.text_update(citizen, "/start"), timeout=60)
        assert "Xin chào Hoa" in reply.text
        reply = await fake.reply_to(fake.text_update(citizen, "doi bang lai xe"), timeout=10)
        assert any(b["callback_data"].startswith("po:3.000347") for b in reply.buttons), (
            reply.buttons
        )
        assert any(c.method == "setMyCommands" for c in fake.calls)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
    finally:
        out = stop(proc)
        await fake.stop()
    assert proc.returncode == 0, out
    assert fake.token not in out  # the token never reaches the logs
