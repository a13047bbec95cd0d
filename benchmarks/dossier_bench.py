"""Dossier benchmark: file import, the ingest API and the chat's lookup by code.

    python benchmarks/dossier_bench.py [--rows 200000] [--api-rows 50000]
                                       [--lookup-rows 5000000] [--queries 20000]
                                       [--skip import,api,lookup]

(a) import: writes a realistic CSV (iGate-like codes over several agencies, Vietnamese names,
    statuses with their times) and loads it with ``bot.cli.dossier_import.import_dossiers`` -- the
    function ``python -m bot import-dossiers`` runs -- into a fresh SQLite file; then loads the
    same file again (everything unchanged).
(b) API: a real aiohttp server on 127.0.0.1 with ``setup_dossier_api``, a real key, JSON
    batches of 1,000 posted one after another by an aiohttp client in the same process (the
    client's JSON encoding is counted against the server).
(c) lookup: a SQLite database of ``--lookup-rows`` dossiers (built once through the same
    ``DossierRepository.upsert_many`` path, cached under benchmarks/.cache/), then
    ``DossierRepository.find`` for ``--queries`` random keys, half existing and half missing,
    on one core (``os.sched_setaffinity``). Baselines in the same run: the raw ``sqlite3``
    point query on the same file (the floor), and ``find`` on a new session per lookup (what a
    chat handler pays).

Prints Markdown tables. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE = Path(__file__).resolve().parent / ".cache"

AGENCIES = [  # (receiving unit identifier, agency name)
    ("000.00.17.H12", "Sở Tư pháp tỉnh Cao Bằng"),
    ("000.00.01.H29", "UBND Quận Ba Đình"),
    ("000.00.12.H29", "UBND Quận Cầu Giấy"),
    ("000.20.31.H56", "UBND Huyện Diên Khánh"),
    ("000.00.02.H58", "Sở Kế hoạch và Đầu tư tỉnh Ninh Thuận"),
    ("000.00.21.H49", "UBND Phường Bến Nghé"),
    ("000.00.05.G01", "Sở Xây dựng"),
    ("000.31.27.H42", "UBND Thị xã Kỳ Anh"),
    ("000.00.09.H36", "Sở Tài nguyên và Môi trường"),
    ("000.12.40.H19", "UBND Huyện Tân Yên"),
]
PROCEDURES = ["1.001193", "1.000894", "2.000748", "1.004227", "3.000347", "1.001612", "2.001040"]
FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Gia"]
GIVEN = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Hà",
    "Hải",
    "Hạnh",
    "Hùng",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phong",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Khánh",
]
STATUS_WEIGHTS = [
    (1, 2),
    (2, 10),
    (3, 1),
    (4, 30),
    (5, 5),
    (6, 2),
    (7, 1),
    (8, 1),
    (9, 12),
    (10, 36),
]
COLUMNS = [
    "dossierNo",
    "procedure_code",
    "agencyName",
    "applicant_name",
    "applicant_phone",
    "applicant_id_number",
    "channel",
    "acceptedDate",
    "appointmentDate",
    "status",
    "status_at",
    "finished_at",
    "returned_at",
    "new_appointment_at",
    "delay_reason",
    "postal_tracking",
]


def dossier_rows(count: int, seed: int = 1) -> Iterator[dict[str, str]]:
    """``count`` realistic dossiers as CSV rows (local times, as exports write them)."""
    rng = random.Random(seed)
    statuses = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
    start = datetime(2024, 1, 2, 7, 30)
    per_day = 150
    day = 0
    produced = 0
    while produced < count:
        date = start + timedelta(days=day)
        day += 1
        if date.weekday() >= 5:
            continue
        for unit, agency in AGENCIES:
            for seq in range(1, per_day + 1):
                if produced >= count:
                    return
                produced += 1
                received = date + timedelta(minutes=rng.randrange(0, 540))
                appointment = received + timedelta(days=rng.choice([3, 5, 7, 10, 15]))
                status = rng.choice(statuses)
                status_at = received + timedelta(hours=rng.randrange(1, 200))
                finished = returned = new_appointment = ""
                reason = tracking = ""
                if status in (9, 10):
                    finished = _fmt(status_at - timedelta(hours=2))
                if status == 10:
                    returned = _fmt(status_at)
                if rng.random() < 0.03:
                    new_appointment = _fmt(appointment + timedelta(days=5))
                    reason = "Cần xác minh thêm thông tin về nguồn gốc đất"
                channel = rng.choice(["1", "2", "2", "3"])
                if channel == "3":
                    tracking = f"EMS{rng.randrange(10**8, 10**9)}VN"
                yield {
                    "dossierNo": f"{unit}-{date:%y%m%d}-{seq:04d}",
                    "procedure_code": rng.choice(PROCEDURES),
                    "agencyName": agency,
                    "applicant_name": (
                        f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                    ),
                    "applicant_phone": f"09{rng.randrange(10**7, 10**8)}",
                    "applicant_id_number": f"0{rng.randrange(10**10, 10**11)}",
                    "channel": channel,
                    "acceptedDate": _fmt(received),
                    "appointmentDate": _fmt(appointment),
                    "status": str(status),
                    "status_at": _fmt(status_at),
                    "finished_at": finished,
                    "returned_at": returned,
                    "new_appointment_at": new_appointment,
                    "delay_reason": reason,
                    "postal_tracking": tracking,
                }


def _fmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def write_csv(path: Path, count: int) -> None:
    """A CSV export of ``count`` dossiers with iGate-style column names."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(dossier_rows(count))


def machine() -> str:
    """One line about where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"SQLite {sqlite3.sqlite_version}"
    )


# --- (a) import ---------------------------------------------------------------------------------


async def bench_import(rows: int) -> list[tuple[str, str]]:
    from bot.cli.dossier_import import import_dossiers
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade

    results: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dossiers.csv"
        write_csv(path, rows)
        size = path.stat().st_size
        url = f"sqlite+aiosqlite:///{tmp}/import.sqlite3"
        await upgrade(url)
        engine = create_engine(url)
        factory = create_session_factory(engine)
        try:
            for label in ("first import (all new)", "re-import (all unchanged)"):
                summary = await import_dossiers(factory, path, errors=io.StringIO(), progress=False)
                assert summary.rejected == 0, summary
                results.append(
                    (
                        f"CSV import, {label}",
                        f"{summary.rate:,.0f} dossiers/s ({rows:,} rows, "
                        f"{size / 1e6:.0f} MB, {summary.seconds:.1f} s)",
                    )
                )
        finally:
            await engine.dispose()
    return results


# --- (b) API -------------------------------------------------------------------------------------


def api_items(count: int) -> list[dict[str, Any]]:
    """API items of one agency (the key's), ISO times with offsets as a system would send."""
    items = []
    for row in dossier_rows(count * len(AGENCIES), seed=2):
        if row["agencyName"] != AGENCIES[0][1]:
            continue
        item: dict[str, Any] = {
            "receipt_code": row["dossierNo"],
            "procedure_code": row["procedure_code"],
            "applicant_name": row["applicant_name"],
            "applicant_phone": row["applicant_phone"],
            "channel": int(row["channel"]),
            "status": int(row["status"]),
        }
        for src, dst in (
            ("acceptedDate", "received_at"),
            ("appointmentDate", "appointment_at"),
            ("status_at", "status_at"),
            ("returned_at", "returned_at"),
        ):
            if row[src]:
                item[dst] = row[src].replace(" ", "T") + "+07:00"
        items.append(item)
        if len(items) == count:
            break
    return items


async def bench_api(rows: int, batch: int = 1000) -> list[tuple[str, str]]:
    import aiohttp
    from aiohttp import web

    from bot.web.dossier_api import setup_dossier_api
    from bot.web.plumbing import RateLimiter
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.repositories.api_keys import ApiKeyRepository

    items = api_items(rows)
    results: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/api.sqlite3"
        await upgrade(url)
        engine = create_engine(url)
        factory = create_session_factory(engine)
        async with factory() as session:
            _, key = await ApiKeyRepository(session).create(AGENCIES[0][1], "bench")
            await session.commit()
        app = web.Application()
        # The request rate limits (20/s per address, 10/s per key by default) would cap this
        # single client; lift them: this measures the ingest path, not the limiter.
        unlimited = 1e12
        setup_dossier_api(
            app,
            factory,
            per_address=RateLimiter(burst=unlimited, per_second=unlimited),
            per_key=RateLimiter(burst=unlimited, per_second=unlimited),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        endpoint = f"http://127.0.0.1:{port}/api/v1/dossiers"
        headers = {"Authorization": f"Bearer {key}"}
        try:
            async with aiohttp.ClientSession() as client:
                for label in ("new dossiers", "same batches again (unchanged)"):
                    started = time.perf_counter()
                    for start in range(0, len(items), batch):
                        async with client.post(
                            endpoint, json=items[start : start + batch], headers=headers
                        ) as response:
                            body = await response.json()
                            assert response.status == 200, body
                    seconds = time.perf_counter() - started
                    results.append(
                        (
                            f"API, {label}",
                            f"{len(items) / seconds:,.0f} dossiers/s ({len(items):,} items in "
                            f"batches of {batch:,}, {seconds:.1f} s)",
                        )
                    )
        finally:
            await runner.cleanup()
            await engine.dispose()
    return results


# --- (c) lookup ----------------------------------------------------------------------------------


async def build_lookup_db(path: Path, rows: int) -> None:
    """``rows`` dossiers through ``DossierRepository.upsert_many`` (chunks of 5,000)."""
    from knowledge.dossier_records import parse_record
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.repositories.dossiers import DossierRepository

    partial = path.with_suffix(".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    url = f"sqlite+aiosqlite:///{partial}"
    await upgrade(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    started = time.perf_counter()
    chunk = []
    done = 0
    try:
        for row in dossier_rows(rows, seed=3):
            chunk.append(parse_record(row))
            if len(chunk) == 5000:
                async with factory() as session:
                    await DossierRepository(session).upsert_many(chunk, "bench")
                    await session.commit()
                done += len(chunk)
                chunk = []
                if done % 250_000 == 0:
                    rate = done / (time.perf_counter() - started)
                    print(f"  built {done:,} dossiers ({rate:,.0f}/s)", file=sys.stderr)
        if chunk:
            async with factory() as session:
                await DossierRepository(session).upsert_many(chunk, "bench")
                await session.commit()
    finally:
        await engine.dispose()
    conn = sqlite3.connect(partial)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file in the cache
    conn.close()
    partial.rename(path)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


async def bench_lookup(rows: int, queries: int) -> list[tuple[str, dict[str, float]]]:
    from knowledge.dossier import lookup_key
    from storage.db import create_engine, create_session_factory
    from storage.repositories.dossiers import DossierRepository

    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"dossiers-{rows}.sqlite3"
    if not path.exists():
        print(f"building {path} ({rows:,} dossiers, cached for later runs)...", file=sys.stderr)
        await build_lookup_db(path, rows)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})

    rng = random.Random(7)
    with sqlite3.connect(path) as conn:
        total = conn.execute("SELECT max(id) FROM dossiers").fetchone()[0]
        ids = rng.sample(range(1, total + 1), queries // 2)
        existing = [
            conn.execute("SELECT lookup_key FROM dossiers WHERE id = ?", (i,)).fetchone()[0]
            for i in ids
        ]
    missing = [
        lookup_key(f"000.00.99.Z99-{rng.randrange(10**6):06d}-{i:04d}")
        for i in range(queries - len(existing))
    ]
    keys = existing + missing
    rng.shuffle(keys)
    present = set(existing)

    results: list[tuple[str, dict[str, float]]] = []
    # The floor: the same two point queries through the bare sqlite3 module.
    conn = sqlite3.connect(path)
    samples = []
    for key in keys:
        t0 = time.perf_counter()
        row = conn.execute("SELECT * FROM dossiers WHERE lookup_key = ?", (key,)).fetchone()
        if row is not None:
            conn.execute(
                "SELECT status, status_at, note FROM dossier_events WHERE dossier_id = ? "
                "UNION ALL SELECT NULL, new_appointment_at, reason FROM dossier_apologies "
                "WHERE dossier_id = ?",
                (row[0], row[0]),
            ).fetchall()
        samples.append(time.perf_counter() - t0)
        assert (row is not None) == (key in present)
    conn.close()
    results.append(("raw sqlite3, same 2 queries (floor)", percentiles(samples)))

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    factory = create_session_factory(engine)
    try:
        for label, per_lookup_session in (
            ("DossierRepository.find, one session", False),
            ("DossierRepository.find, new session per lookup", True),
        ):
            samples = []
            async with factory() as shared:
                for key in keys[:200]:  # warm the statement cache and the pool
                    await DossierRepository(shared).find(key)
                for key in keys:
                    t0 = time.perf_counter()
                    if per_lookup_session:
                        async with factory() as session:
                            view = await DossierRepository(session).find(key)
                    else:
                        view = await DossierRepository(shared).find(key)
                    samples.append(time.perf_counter() - t0)
                    assert (view is not None) == (key in present)
            results.append((label, percentiles(samples)))
        # What the chat does on a second factor: one credentials query (the same for known and
        # unknown codes), then the whole dossier by id when it matched; a session per update.
        samples = []
        for key in keys:
            t0 = time.perf_counter()
            async with factory() as session:
                repo = DossierRepository(session)
                credentials = await repo.credentials(key)
                view = await repo.find_by_id(credentials.id) if credentials else None
            samples.append(time.perf_counter() - t0)
            assert (view is not None) == (key in present)
        results.append(
            ("chat path: credentials + find_by_id, new session per lookup", percentiles(samples))
        )
        # Scan baseline: the same lookup without the unique index (a LIKE can't use it),
        # on a few keys only.
        scan = []
        async with engine.connect() as connection:
            from sqlalchemy import text

            for key in keys[:5]:
                t0 = time.perf_counter()
                await connection.execute(
                    text("SELECT id FROM dossiers WHERE lookup_key LIKE :k"), {"k": key}
                )
                scan.append(time.perf_counter() - t0)
        results.append(("unindexed scan (LIKE), 5 keys (for scale)", percentiles(scan)))
    finally:
        await engine.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--api-rows", type=int, default=50_000)
    parser.add_argument("--lookup-rows", type=int, default=5_000_000)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--skip", default="", help="comma-separated: import,api,lookup")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    print(f"Machine: {machine()}\n")
    throughput: list[tuple[str, str]] = []
    if "import" not in skip:
        throughput += await bench_import(args.rows)
    if "api" not in skip:
        throughput += await bench_api(args.api_rows)
    if throughput:
        print("| Ingest | Rate |\n|---|---|")
        for name, value in throughput:
            print(f"| {name} | {value} |")
        print()
    if "lookup" not in skip:
        lookups = await bench_lookup(args.lookup_rows, args.queries)
        print(
            f"Lookup by code, {args.lookup_rows:,} dossiers in SQLite, {args.queries:,} keys "
            "(half missing), one core:\n"
        )
        print("| Path | p50 ms | p95 ms | p99 ms | max ms | mean ms |\n|---|---|---|---|---|---|")
        for name, stats in lookups:
            print(
                f"| {name} | {stats['p50']:.3f} | {stats['p95']:.3f} | {stats['p99']:.3f} | "
                f"{stats['max']:.3f} | {stats['mean']:.3f} |"
            )


if __name__ == "__main__":
    asyncio.run(main())
