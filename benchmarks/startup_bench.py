"""Start-up benchmark: `python -m bot` from process start to the web chat's first answer.

    python benchmarks/startup_bench.py [--runs 3]

Each run starts the real entry point on a fresh SQLite database (migrations included) and a free
port, waits for /healthz, then asks one question through the web chat API and times the answer.
It also prints how long importing aiogram alone takes in a fresh interpreter, the floor under
any aiogram process on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run() -> tuple[float, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/b.sqlite3", WEB_PORT=str(port)
        )
        env.pop("BOT_TOKEN", None)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    opener.open(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                    break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError("the bot exited during start-up") from None
                    time.sleep(0.02)
            ready = time.perf_counter() - t0
            opener.open(f"http://127.0.0.1:{port}/", timeout=5).read()
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/chat/messages",
                data=json.dumps({"text": "làm giấy khai sinh"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            body = json.loads(opener.open(req, timeout=30).read())
            answered = time.perf_counter() - t0
            assert body["events"], "no answer"
            return ready, answered
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import aiogram.types"], check=True)
    aiogram_import = time.perf_counter() - t0
    knowledge_only = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from knowledge.catalog import load_default_catalog;"
                "from knowledge.vocabulary import load_default_vocabulary;"
                "from knowledge.search import SearchIndex;"
                "i = SearchIndex.build(load_default_catalog(), vocabulary=load_default_vocabulary());"
                "assert i.search('làm giấy khai sinh')",
            ],
            cwd=ROOT,
            check=True,
        )
        knowledge_only.append(time.perf_counter() - t0)
    runs = [one_run() for _ in range(args.runs)]
    print(
        f"| fresh interpreter: imports + catalog + index + first answer | {statistics.median(knowledge_only):.2f} s |"
    )
    print(f"| import aiogram alone | {aiogram_import:.2f} s |")
    print(
        f"| process start to /healthz (median of {args.runs}) | {statistics.median(r[0] for r in runs):.2f} s |"
    )
    print(
        f"| process start to first answer (median of {args.runs}) | {statistics.median(r[1] for r in runs):.2f} s |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
