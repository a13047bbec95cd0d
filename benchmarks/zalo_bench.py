"""Zalo webhook benchmark: acknowledgement time and time to reply at a steady rate of events.

    python benchmarks/zalo_bench.py [--rate 200] [--seconds 15] [--users 500] [--runs 1]

`python -m bot` runs as a subprocess exactly as deployed (fresh SQLite file, Zalo configured),
its Zalo base URLs pointed at the stand-in Zalo server (`tests/tools/zalo_server.py`) in this
process. The load is open-loop: correctly signed `user_send_text` events from `--users`
citizens are posted at `--rate` per second by the clock (a slow answer does not lower the
offered rate). Acknowledgement = POST sent to its 200; reply = POST sent to the first message
the stand-in server receives for that citizen afterwards. The baseline in the same run is the
same load against a bare aiohttp handler in a subprocess that reads the body and answers 200
(no signature, no database): the webhook's own cost is the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tools.zalo_server import FakeZalo  # noqa: E402 - after the path is set
from tests.tools.zalo_signing import APP_ID, OA_SECRET_KEY, signed, text_event  # noqa: E402

QUESTIONS = (
    "/start",
    "lam giay khai sinh cho con",
    "mất sổ đỏ",
    "1.001193",
    "dang ky ket hon",
    "doi bang lai xe",
    "000.00.17.H12-260302-0042",
    "cap lai can cuoc",
)
BARE_SERVER = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.json_response({"ok": True})
app = web.Application()
app.router.add_post("/zalo/webhook", ok)
app.router.add_get("/healthz", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TimedZalo(FakeZalo):
    """The stand-in server, remembering when each citizen's messages arrived."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrivals: dict[str, list[float]] = defaultdict(list)

    def _message(self, call: Any) -> dict[str, Any]:
        body = call.json if isinstance(call.json, dict) else {}
        user = str((body.get("recipient") or {}).get("user_id", ""))
        self.arrivals[user].append(time.perf_counter())
        return super()._message(call)


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the server exited during start-up") from None
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


def start_bare(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port)])


def start_bot(fake: FakeZalo, tmp: str, port: int) -> subprocess.Popen[bytes]:
    access, refresh = fake.pair()
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/zalo.sqlite3",
        WEB_PORT=str(port),
        LOG_LEVEL="WARNING",
        DIGEST_ENABLED="false",
        ZALO_APP_ID=APP_ID,
        ZALO_OA_SECRET_KEY=OA_SECRET_KEY,
        ZALO_APP_SECRET=fake.app_secret,
        ZALO_ACCESS_TOKEN=access,
        ZALO_REFRESH_TOKEN=refresh,
        ZALO_API_BASE=fake.base_url,
        ZALO_OAUTH_BASE=fake.base_url,
        ZALO_BUSINESS_BASE=fake.base_url,
        PYTHONPATH=str(ROOT),
    )
    env.pop("BOT_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp, env=env)


async def load(
    url: str, rate: float, seconds: float, users: list[str]
) -> tuple[list[float], list[tuple[str, float]], dict[int, int], float]:
    """Post the events on schedule; acknowledgement times, (user, sent at) and statuses."""
    total = int(rate * seconds)
    acks: list[float] = []
    sent: list[tuple[str, float]] = []
    statuses: dict[int, int] = defaultdict(int)
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(i: int) -> None:
            user = users[i % len(users)]
            body = text_event(user, QUESTIONS[i % len(QUESTIONS)], datetime.now(UTC))
            raw, headers = signed(body)
            t0 = time.perf_counter()
            async with http.post(url, data=raw, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
            acks.append(time.perf_counter() - t0)
            sent.append((user, t0))

        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        achieved = total / (time.perf_counter() - start)
    return acks, sent, dict(statuses), achieved


def reply_times(fake: TimedZalo, sent: list[tuple[str, float]]) -> list[float]:
    """For each event, the first message for its citizen after it was posted (each message
    answers one event: a citizen's events are handled in order)."""
    by_user: dict[str, list[float]] = defaultdict(list)
    for user, at in sorted(sent, key=lambda s: s[1]):
        by_user[user].append(at)
    times: list[float] = []
    for user, posts in by_user.items():
        arrivals = sorted(fake.arrivals.get(user, []))
        cursor = 0
        for at in posts:
            cursor = bisect.bisect_left(arrivals, at, lo=cursor)
            if cursor < len(arrivals):
                times.append(arrivals[cursor] - at)
                cursor += 1
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | – | – | – | – |"
    return (
        f"| {name} | {pct(values, 0.5):.1f} | {pct(values, 0.9):.1f} | {pct(values, 0.99):.1f} "
        f"| {max(values) * 1000:.1f} |"
    )


async def bench(rate: float, seconds: float, n_users: int) -> None:
    users = [str(2_000_000_000_000_000_000 + i) for i in range(n_users)]
    fake = TimedZalo(app_id=APP_ID)
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        bare_port = free_port()
        bare = start_bare(bare_port)
        try:
            wait_ready(bare_port, bare)
            base_acks, _, base_statuses, base_rate = await load(
                f"http://127.0.0.1:{bare_port}/zalo/webhook", rate, seconds, users
            )
        finally:
            bare.terminate()
            bare.wait(timeout=30)
        port = free_port()
        bot = start_bot(fake, tmp, port)
        try:
            await asyncio.to_thread(wait_ready, port, bot)
            acks, sent, statuses, achieved = await load(
                f"http://127.0.0.1:{port}/zalo/webhook", rate, seconds, users
            )
            await asyncio.sleep(min(30.0, seconds * 2))  # let the replies drain
        finally:
            bot.terminate()
            bot.wait(timeout=30)
    await fake.stop()
    replies = reply_times(fake, sent)
    print(f"\nrate {rate:.0f}/s for {seconds:.0f} s, {n_users} citizens, load {os.getloadavg()}")
    print(f"offered {rate:.0f}/s; achieved {achieved:.0f}/s (baseline {base_rate:.0f}/s)")
    print(
        f"answers {statuses} (baseline {base_statuses}); replies seen for {len(replies)} of {len(sent)} events"
    )
    print("| ms | p50 | p90 | p99 | max |\n|---|---|---|---|---|")
    print(describe("webhook acknowledgement", acks))
    print(describe("baseline: bare aiohttp handler", base_acks))
    print(describe("time to reply (first Zalo message)", replies))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.runs):
        asyncio.run(bench(args.rate, args.seconds, args.users))
    return 0


if __name__ == "__main__":
    sys.exit(main())
