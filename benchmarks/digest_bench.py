"""Digest benchmark: one agency's daily digest built from 5,000,000 dossiers and 1,000,000
petitions in SQLite (the default database).

    python benchmarks/digest_bench.py [--dossiers 5000000] [--petitions 1000000] [--runs 7]
                                      [--sample 20000] [--rebuild] [--one-agency]

``--one-agency`` puts every dossier and petition in one agency (the worst case for one digest).

The database is generated once with ``sqlite3`` directly (executemany) on the migrated schema
and cached under benchmarks/.cache/ (git-ignored): eight agencies of very different sizes (the
largest holds 40 % of everything), two years of dossiers received on working days (a few online
at weekends) with their full history -- accepted, processing, supplement requests (one or
several), refusals, withdrawals, stops, "processed" with or without a finished time, returns
-- appointment dates by the procedures' time limits, early / on-time / late outcomes, ratings
of returned dossiers on five levels, and petitions through their life cycle (old ones mostly
published or refused, recent ones open) with tracking codes, deadlines and events.

Then it times the real code path -- ``handlers.digest.build.build_digest``, what the scheduler calls per
agency -- for the digest of 31 December (the month so far is at its longest: 1 - 30 December)
for the largest agency and a middle-sized one, several times (the first run is reported
apart), and the digests of all eight agencies one after another. Baselines in the same run, on
the largest agency's dossiers: (1) the naive way, each dossier of the month loaded with its
history and classified in Python by ``knowledge.timeliness`` (timed on a sample, extrapolated);
(2) the digest's own dossier query with ``INDEXED BY ix_dossiers_agency``, the index the schema
had before migration 0005; (3) the same query over the year instead of the month (what figures
"since 1 January" would cost). Prints Markdown. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.petitions import petition_deadlines, publish_by  # noqa: E402
from knowledge.timeliness import StatusEvent, classify  # noqa: E402
from knowledge.workdays import VN_TZ, add_working_days, is_working_day  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
DAY = date(2026, 12, 31)  # a Thursday: the month (1 - 30 December) is at its longest
NOW = datetime(2026, 12, 31, 7, 30, tzinfo=VN_TZ)
FIRST_DAY = DAY - timedelta(days=730)
AGENCIES = [  # (code, name, share of dossiers and petitions)
    ("ubnd-tp", "UBND thành phố", 0.40),
    ("so-tnmt", "Sở Nông nghiệp và Môi trường", 0.18),
    ("so-tu-phap", "Sở Tư pháp", 0.12),
    ("cong-an", "Công an tỉnh", 0.10),
    ("so-xd", "Sở Xây dựng", 0.08),
    ("so-khdt", "Sở Tài chính", 0.06),
    ("ubnd-ben-nghe", "UBND phường Bến Nghé", 0.04),
    ("so-yt", "Sở Y tế", 0.02),
]
LIMITS = [(0, 6), (1, 8), (2, 8), (3, 18), (5, 20), (7, 12), (10, 12), (15, 10), (20, 4), (30, 2)]


def utc_text(moment: datetime) -> str:
    """A local naive time as ``UtcDateTime`` stores it in SQLite (UTC text)."""
    return f"{moment - timedelta(hours=7):%Y-%m-%d %H:%M:%S}.000000"


def machine() -> str:
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


# --- generation --------------------------------------------------------------------------------


class Calendar:
    """Working days of the generated years as indexes, so adding working days is a lookup."""

    def __init__(self, first: date, last: date) -> None:
        self.days: list[date] = []
        d = first
        while d <= last:
            if is_working_day(d):
                self.days.append(d)
            d += timedelta(days=1)
        self.index = {d: i for i, d in enumerate(self.days)}

    def add(self, day: date, n: int) -> date:
        i = self.index.get(day)
        if i is None:
            return add_working_days(day, n)
        return self.days[min(i + n, len(self.days) - 1)]


def pick_agency(rng: random.Random) -> int:
    x, total = rng.random(), 0.0
    for i, (_code, _name, share) in enumerate(AGENCIES):
        total += share
        if x < total:
            return i
    return len(AGENCIES) - 1


def dossiers(count: int, rng: random.Random, cal: Calendar) -> Iterator[tuple[Any, ...]]:
    """(row, events, rating) per dossier, in order of reception."""
    limits = [v for v, w in LIMITS for _ in range(w)]
    now_local = NOW.replace(tzinfo=None)
    working = [d for d in cal.days if FIRST_DAY <= d < DAY]
    weekend = [
        d for d in (FIRST_DAY + timedelta(days=i) for i in range(730)) if not is_working_day(d)
    ]
    per_working = count * 0.97 / len(working)
    seq = 0
    for day in sorted(working + weekend):
        n = int(per_working) if is_working_day(day) else int(count * 0.03 / len(weekend))
        if rng.random() < per_working - int(per_working) and is_working_day(day):
            n += 1
        for _ in range(n):
            seq += 1
            if seq > count:
                return
            agency = pick_agency(rng)
            received = datetime.combine(day, datetime.min.time()) + timedelta(
                minutes=450 + rng.randrange(570)
            )
            limit = rng.choice(limits)
            due_day = cal.add(day, limit)
            appointment = (
                None
                if rng.random() < 0.03
                else datetime.combine(due_day, datetime.min.time()) + timedelta(hours=17)
            )
            events: list[tuple[int, datetime | None]] = [
                (2, received),
                (4, received + timedelta(hours=1)),
            ]
            t = received + timedelta(hours=1)
            status, finished, returned = 4, None, None
            x = rng.random()
            span_days = limit * rng.choice((0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.0, 1.1, 1.4))
            if x < 0.06 or (x < 0.07 and limit > 2):  # one or more supplement requests
                for _request in range(1 if rng.random() < 0.85 else 2):
                    t += timedelta(hours=rng.uniform(2, 48))
                    events.append((5, t))
                    t += timedelta(hours=rng.uniform(4, 120))
                    events.append((4, t))
            elif x < 0.08:
                t += timedelta(hours=rng.uniform(1, 48))
                events.append((rng.choice((3, 7, 8)), t))
                status = events[-1][0]
            if status == 4:
                end = t + timedelta(days=span_days, hours=rng.uniform(0, 6))
                if end < now_local:
                    status = 9
                    quiet = rng.random() < 0.05  # "processed" exported without finished_at
                    events.append((9, end))
                    finished = None if quiet else end
                    if rng.random() < 0.7:
                        returned = end + timedelta(hours=rng.uniform(1, 72))
                        if returned < now_local:
                            events.append((10, returned))
                            status = 10
                        else:
                            returned = None
            status_at = events[-1][1]
            yield (
                agency,
                received,
                appointment,
                status,
                status_at,
                finished,
                returned,
                events,
            )


def build(path: Path, n_dossiers: int, n_petitions: int) -> None:
    """Generate the benchmark database (about 10 minutes for 5M + 1M)."""
    from storage.migrate import upgrade

    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{tmp}"))
    rng = random.Random(20261215)
    cal = Calendar(FIRST_DAY - timedelta(days=10), DAY + timedelta(days=120))
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    stamp = utc_text(datetime(2026, 12, 1))
    for i, (code, name, _share) in enumerate(AGENCIES, start=1):
        conn.execute(
            "INSERT INTO agencies (id, code, name, sectors, procedure_codes, dossier_agency,"
            " is_default, created_at) VALUES (?, ?, ?, '[]', '[]', ?, ?, ?)",
            (i, code, name, name, int(i == 1), stamp),
        )
        for j in range(2):
            conn.execute(
                "INSERT INTO officials (agency_id, channel, chat_id, display_name, role, language,"
                " active, created_at) VALUES (?, 'telegram', ?, '', 'officer', 'vi', 1, ?)",
                (i, str(100_000 + i * 10 + j), stamp),
            )
    conn.commit()

    started = time.perf_counter()
    dossier_sql = (
        "INSERT INTO dossiers (id, receipt_code, lookup_key, procedure_code, agency, applicant_name,"
        " applicant_phone, applicant_id_number, channel, received_at, appointment_at, status,"
        " status_at, finished_at, returned_at, source, created_at, updated_at)"
        " VALUES (?, ?, ?, '1.001193', ?, 'Nguyễn Văn An', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench', ?, ?)"
    )
    event_sql = (
        "INSERT INTO dossier_events (dossier_id, status, status_at, note, recorded_at)"
        " VALUES (?, ?, ?, NULL, ?)"
    )
    rating_sql = (
        "INSERT INTO service_ratings (dossier_id, agency, procedure_code, level, channel, chat_id,"
        " created_at, updated_at) VALUES (?, ?, '1.001193', ?, 'telegram', ?, ?, ?)"
    )
    levels = [1] * 60 + [2] * 30 + [3] * 6 + [4] * 3 + [5]
    rows: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    ratings: list[tuple[Any, ...]] = []
    daily: dict[tuple[int, date], int] = {}

    def flush() -> None:
        conn.executemany(dossier_sql, rows)
        conn.executemany(event_sql, events)
        conn.executemany(rating_sql, ratings)
        conn.commit()
        rows.clear()
        events.clear()
        ratings.clear()

    for dossier_id, (
        agency,
        received,
        appointment,
        status,
        status_at,
        finished,
        returned,
        history,
    ) in enumerate(dossiers(n_dossiers, rng, cal), start=1):
        day = received.date()
        key = (agency, day)
        daily[key] = daily.get(key, 0) + 1
        code = f"000.00.{agency + 10:02d}.H29-{day:%y%m%d}-{daily[key]:05d}"
        name = AGENCIES[agency][1]
        received_text = utc_text(received)
        rows.append(
            (
                dossier_id,
                code,
                code.replace(".", "").replace("-", "").upper(),
                name,
                f"09{dossier_id % 100_000_000:08d}",
                f"0{dossier_id:011d}",
                rng.choice((1, 2, 2, 3)),
                received_text,
                utc_text(appointment) if appointment else None,
                status,
                utc_text(status_at) if status_at else None,
                utc_text(finished) if finished else None,
                utc_text(returned) if returned else None,
                received_text,
                received_text,
            )
        )
        for event_status, at in history:
            events.append((dossier_id, event_status, utc_text(at) if at else None, received_text))
        if returned is not None and rng.random() < 0.08:
            rated = utc_text(returned + timedelta(hours=rng.uniform(0, 48)))
            ratings.append((dossier_id, name, rng.choice(levels), f"c{dossier_id}", rated, rated))
        if len(rows) >= 100_000:
            flush()
            done = dossier_id
            rate = done / (time.perf_counter() - started)
            print(f"\r  dossiers: {done:,} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    flush()
    print(file=sys.stderr)
    build_petitions(conn, n_petitions, rng, cal)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    tmp.rename(path)


def build_petitions(
    conn: sqlite3.Connection, count: int, rng: random.Random, cal: Calendar
) -> None:
    started = time.perf_counter()
    now_local = NOW.replace(tzinfo=None)
    deadlines: dict[tuple[date, bool], Any] = {}
    petition_sql = (
        "INSERT INTO petitions (id, tracking_code, year, seq, source, channel, chat_id, language,"
        " topic_kind, topic, content, sender_name, phone, address, agency_id, status,"
        " received_at, refuse_by, info_by, answer_by, taken_at, answered_at, answer, publish_by,"
        " refused_at, published_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'chat', 'telegram', ?, 'vi', 'procedure', 'Đăng ký khai sinh',"
        " 'Cán bộ hẹn trả kết quả nhưng đã quá hạn ba ngày mà chưa nhận được.', 'Nguyễn Văn An',"
        " '0912345678', '12 Lê Lợi, phường Bến Thành', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    event_sql = (
        "INSERT INTO petition_events (petition_id, action, actor, official_id, note, at)"
        " VALUES (?, ?, ?, NULL, NULL, ?)"
    )
    span = (DAY - FIRST_DAY).days * 86_400
    moments = sorted(rng.randrange(span) for _ in range(count))
    seqs: dict[int, int] = {}
    rows: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for pid, offset in enumerate(moments, start=1):
        # Citizens write at any hour, most in the daytime.
        received = datetime.combine(FIRST_DAY, datetime.min.time()) + timedelta(seconds=offset)
        if received.hour < 7 and rng.random() < 0.7:
            received += timedelta(hours=8)
        received = min(received, now_local - timedelta(minutes=1))
        year = received.year
        seqs[year] = seqs.get(year, 0) + 1
        key = (received.date(), received.hour >= 17)
        if key not in deadlines:
            deadlines[key] = petition_deadlines(received.replace(tzinfo=VN_TZ))
        d = deadlines[key]
        age = (now_local - received).days
        x = rng.random()
        taken = answered = refused = published = None
        pub_by = None
        if age > 30:
            status = (
                "published"
                if x < 0.80
                else "refused"
                if x < 0.95
                else "answered"
                if x < 0.97
                else "in_progress"
                if x < 0.99
                else "info_requested"
                if x < 0.995
                else "received"
            )
        else:
            status = (
                "received"
                if x < 0.1
                else "in_progress"
                if x < 0.45
                else "info_requested"
                if x < 0.55
                else "answered"
                if x < 0.7
                else "published"
                if x < 0.9
                else "refused"
            )
        at = received
        pevents = [(pid, "submitted", "citizen", utc_text(at))]
        if status != "received":
            at = min(at + timedelta(hours=rng.uniform(1, 40)), now_local)
            if status == "refused":
                refused = at
                pevents.append((pid, "refused", "official", utc_text(at)))
            else:
                taken = at
                pevents.append((pid, "taken", "official", utc_text(at)))
                if status == "info_requested" or rng.random() < 0.1:
                    at = min(at + timedelta(hours=rng.uniform(1, 48)), now_local)
                    pevents.append((pid, "info_requested", "official", utc_text(at)))
                if status in ("answered", "published"):
                    at = min(at + timedelta(days=rng.uniform(1, 18)), now_local)
                    answered = at
                    pub_by = publish_by(at.replace(tzinfo=VN_TZ))
                    pevents.append((pid, "answered", "official", utc_text(at)))
                if status == "published":
                    at = min(at + timedelta(days=rng.uniform(0, 3)), now_local)
                    published = at
                    pevents.append((pid, "published", "official", utc_text(at)))
        rows.append(
            (
                pid,
                f"PAKN-{year}-{seqs[year]:06d}",
                year,
                seqs[year],
                str(200_000 + pid % 50_000),
                pick_agency(rng) + 1,
                status,
                utc_text(received),
                d.refuse_by.isoformat(),
                d.first_info_request_by.isoformat(),
                d.answer_by.isoformat(),
                utc_text(taken) if taken else None,
                utc_text(answered) if answered else None,
                "Đã xử lý." if answered else None,
                pub_by.isoformat() if pub_by else None,
                utc_text(refused) if refused else None,
                utc_text(published) if published else None,
                utc_text(at),
            )
        )
        events.extend(pevents)
        if len(rows) >= 100_000:
            conn.executemany(petition_sql, rows)
            conn.executemany(event_sql, events)
            conn.commit()
            rows.clear()
            events.clear()
            rate = pid / (time.perf_counter() - started)
            print(f"\r  petitions: {pid:,} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    conn.executemany(petition_sql, rows)
    conn.executemany(event_sql, events)
    for year, last in seqs.items():
        conn.execute("INSERT INTO petition_counters (year, last) VALUES (?, ?)", (year, last))
    conn.commit()
    print(file=sys.stderr)


# --- timing ------------------------------------------------------------------------------------


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s | {max(times):.3f} s"


async def bench(path: Path, runs: int, sample: int) -> None:
    from sqlalchemy import select
    from sqlalchemy.dialects import sqlite

    from handlers.digest.build import build_digest
    from knowledge.digest import digest_periods
    from storage.db import create_engine, create_session_factory
    from storage.models import Agency, Dossier, DossierEvent
    from storage.repositories.common import local_midnight
    from storage.repositories.digest import DigestRepository, _cohort_statement

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    factory = create_session_factory(engine)
    periods = digest_periods(DAY)
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    with sqlite3.connect(path) as raw:
        counts = {
            t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "dossiers",
                "dossier_events",
                "service_ratings",
                "petitions",
                "petition_events",
            )
        }
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    print(
        "Database: "
        + ", ".join(f"{n:,} {t}" for t, n in counts.items())
        + f"; {size / 1e9:.2f} GB. Digest of {DAY}: report period {periods.start} .. "
        f"{periods.end}, month {periods.month_start} .. {periods.end}, chart from {periods.trend_start}."
    )
    print()
    async with factory() as session:
        agencies = list((await session.execute(select(Agency).order_by(Agency.id))).scalars())
    largest = agencies[0]
    middle = agencies[2] if len(agencies) > 2 else None

    print(
        "| agency (its share) | dossiers read: SQL / from history | its petitions | first run | p50 | max |"
    )
    print("|---|---|---|---|---|---|")
    for agency in (largest, middle):
        if agency is None:
            continue
        times: list[float] = []
        for _ in range(runs + 1):
            async with factory() as session:
                t0 = time.perf_counter()
                await build_digest(session, agency, DAY, NOW)
                times.append(time.perf_counter() - t0)
        async with factory() as session:
            stats: dict[str, int] = {}
            await DigestRepository(session).dossier_figures_by_day(
                agency.dossier_agency, periods.first, periods.end, NOW, stats=stats
            )
        with sqlite3.connect(path) as raw:
            petitions = raw.execute(
                "SELECT count(*) FROM petitions WHERE agency_id = ?", (agency.id,)
            ).fetchone()[0]
        share = dict((n, w) for _c, n, w in AGENCIES)[agency.name]
        print(
            f"| {agency.name} ({share:.0%}) | {stats['sql']:,} / {stats['history']:,} | "
            f"{petitions:,} | {times[0]:.3f} s | {summary(times[1:])} |"
        )
    async with factory() as session:
        t0 = time.perf_counter()
        for agency in agencies:
            await build_digest(session, agency, DAY, NOW)
        total = time.perf_counter() - t0
    print()
    print(
        f"All {len(agencies)} agencies one after another (the scheduler's morning): {total:.2f} s"
    )
    print()
    print(f"Baselines, {largest.name}'s dossier figures:")
    print()
    print("| approach | time |")
    print("|---|---|")

    # (1) the naive way, on a sample of the month
    month_from = local_midnight(periods.month_start)
    async with factory() as session:
        t0 = time.perf_counter()
        rows = (
            await session.execute(
                select(
                    Dossier.id,
                    Dossier.appointment_at,
                    Dossier.finished_at,
                    Dossier.returned_at,
                    Dossier.status,
                    Dossier.status_at,
                )
                .where(Dossier.agency == largest.dossier_agency, Dossier.received_at >= month_from)
                .limit(sample)
            )
        ).all()
        ids = [r.id for r in rows]
        history: dict[int, list[StatusEvent]] = {}
        for i in range(0, len(ids), 5_000):
            for dossier_id, status, at in (
                await session.execute(
                    select(
                        DossierEvent.dossier_id, DossierEvent.status, DossierEvent.status_at
                    ).where(DossierEvent.dossier_id.in_(ids[i : i + 5_000]))
                )
            ).tuples():
                history.setdefault(dossier_id, []).append(StatusEvent(status, at))
        for r in rows:
            classify(
                history.get(r.id, [StatusEvent(r.status, r.status_at)]),
                r.appointment_at,
                NOW,
                finished_at=r.finished_at,
                returned_at=r.returned_at,
            )
        naive = time.perf_counter() - t0
        month = await DigestRepository(session).dossier_figures_by_day(
            largest.dossier_agency, periods.month_start, periods.end, NOW
        )
    cohort = sum(f.received for f in month.values())
    per = naive / max(len(rows), 1)
    print(
        f"| naive: each dossier and its history loaded, classified in Python ({len(rows):,} "
        f"timed, {per * 1e6:.0f} µs each), extrapolated to the month's {cohort:,} | "
        f"{per * cohort:.2f} s |"
    )

    # (2) the digest's dossier query, on the index the schema had before migration 0005
    statement = _cohort_statement(
        "sqlite", largest.dossier_agency, periods.first, periods.end, local_midnight(DAY)
    )
    sql = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    sql = sql.replace("LIMIT ? OFFSET 0", "LIMIT -1 OFFSET 0")
    with sqlite3.connect(path) as raw:
        for label, query in (
            ("the digest's dossier query (raw sqlite3), ix_dossiers_agency_received", sql),
            (
                "the same on ix_dossiers_agency, the index before migration 0005",
                sql.replace("FROM dossiers \n", "FROM dossiers INDEXED BY ix_dossiers_agency \n"),
            ),
        ):
            assert "INDEXED BY" in query or query is sql
            t0 = time.perf_counter()
            raw.execute(query).fetchall()
            print(f"| {label} | {time.perf_counter() - t0:.2f} s |")

    # (3) the year instead of the month
    async with factory() as session:
        t0 = time.perf_counter()
        year = await DigestRepository(session).dossier_figures_by_day(
            largest.dossier_agency, date(DAY.year, 1, 1), periods.end, NOW
        )
        took = time.perf_counter() - t0
    print(
        f"| the digest's dossier figures over the year ({sum(f.received for f in year.values()):,}"
        f" dossiers) instead of the month | {took:.2f} s |"
    )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dossiers", type=int, default=5_000_000)
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--one-agency",
        action="store_true",
        help="the worst case: one agency holds every dossier and every petition",
    )
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    suffix = ""
    if args.one_agency:
        AGENCIES[:] = [AGENCIES[0][:2] + (1.0,)]
        suffix = "-one-agency"
    path = CACHE / f"digest-{args.dossiers}-{args.petitions}{suffix}.sqlite3"
    if args.rebuild or not path.exists():
        print(f"Generating {path} ...", file=sys.stderr)
        t0 = time.perf_counter()
        build(path, args.dossiers, args.petitions)
        print(f"  built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    asyncio.run(bench(path, args.runs, args.sample))


if __name__ == "__main__":
    main()
