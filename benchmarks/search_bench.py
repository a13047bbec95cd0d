"""Search benchmark: quality against baselines, latency, memory and start-up, in one run.

    python benchmarks/search_bench.py [--queries ../shared/data/queries-dev.jsonl] [--synthetic 100000]

Quality: top-1 / top-3 and the share of queries answered with nothing, on the labelled queries
against the real shipped catalog, for our search and baselines measured in the same run on the
same catalog: a plain rapidfuzz WRatio scan over the folded names, SQLite FTS5 ranked by BM25 over
the folded names, and tantivy (BM25 over the folded names, each word also matched within edit
distance 1; `pip install tantivy==0.27.0`, the row is skipped without it). Queries expecting
nothing (``"expect": []``, out of scope) count as right when nothing is answered, and are
reported apart.
Latency: every query timed through `SearchIndex.search` (the real code path), pinned to one core,
on the real catalog and on a synthetic catalog of province-style variants of the real procedures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from handlers.procedures.search import resolve  # noqa: E402
from knowledge.catalog import load_default_catalog  # noqa: E402
from knowledge.models import Procedure  # noqa: E402
from knowledge.normalize import fold  # noqa: E402
from knowledge.search import SearchIndex  # noqa: E402
from knowledge.vocabulary import load_default_vocabulary  # noqa: E402

PROVINCES = [
    "Hà Nội",
    "Hồ Chí Minh",
    "Hải Phòng",
    "Đà Nẵng",
    "Cần Thơ",
    "Huế",
    "Lai Châu",
    "Điện Biên",
    "Sơn La",
    "Lạng Sơn",
    "Quảng Ninh",
    "Thanh Hóa",
    "Nghệ An",
    "Hà Tĩnh",
    "Cao Bằng",
    "Tuyên Quang",
    "Lào Cai",
    "Thái Nguyên",
    "Phú Thọ",
    "Bắc Ninh",
    "Hưng Yên",
    "Ninh Bình",
    "Quảng Trị",
    "Quảng Ngãi",
    "Gia Lai",
    "Khánh Hòa",
    "Lâm Đồng",
    "Đắk Lắk",
    "Đồng Nai",
    "Tây Ninh",
    "Vĩnh Long",
    "Đồng Tháp",
    "Cà Mau",
    "An Giang",
]


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def pin_one_core() -> str:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return "pinned to one core"
    except (AttributeError, OSError):
        return "not pinned"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def quality(rank, queries: list[dict]) -> tuple[float, float, float, float]:
    """top-1, top-3 and empty-answer shares over the answerable queries, and the share of
    out-of-scope queries (expecting nothing) answered with nothing."""
    answerable = [q for q in queries if q["expect"]]
    out_of_scope = [q for q in queries if not q["expect"]]
    top1 = top3 = empty = 0
    for q in answerable:
        codes = rank(q["q"])
        top1 += bool(codes[:1]) and codes[0] in q["expect"]
        top3 += any(c in q["expect"] for c in codes[:3])
        empty += not codes
    refused = sum(not rank(q["q"]) for q in out_of_scope)
    n = max(1, len(answerable))
    return top1 / n, top3 / n, empty / n, (refused / len(out_of_scope) if out_of_scope else -1.0)


def wratio_ranker(procs: list[Procedure]):
    names = [fold(p.name) for p in procs]

    def rank(query: str) -> list[str]:
        hits = process.extract(fold(query), names, scorer=fuzz.WRatio, limit=3)
        return [procs[i].code for _, _, i in hits]

    return rank


def fts5_ranker(procs: list[Procedure]):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE names USING fts5(code UNINDEXED, name)")
    db.executemany("INSERT INTO names VALUES (?, ?)", [(p.code, fold(p.name)) for p in procs])

    def rank(query: str) -> list[str]:
        tokens = [t for t in fold(query).split() if t.isalnum()]
        if not tokens:
            return []
        match = " OR ".join(f'"{t}"' for t in tokens)
        rows = db.execute(
            "SELECT code FROM names WHERE names MATCH ? ORDER BY bm25(names) LIMIT 3", (match,)
        ).fetchall()
        return [r[0] for r in rows]

    return rank


def tantivy_ranker(procs: list[Procedure]):
    """tantivy over the folded names: each word a BM25 term query, or-ed with the same word
    within Levenshtein distance 1 (transpositions count 1), so typos still match."""
    try:
        import tantivy
    except ImportError:
        return None
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("code", stored=True, tokenizer_name="raw")
    builder.add_text_field("name", stored=False)
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer()
    for p in procs:
        writer.add_document(tantivy.Document(code=p.code, name=fold(p.name)))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    should = tantivy.Occur.Should

    def rank(query: str) -> list[str]:
        words = [t for t in fold(query).split() if t.isalnum()]
        if not words:
            return []
        clauses = []
        for word in words:
            clauses.append((should, tantivy.Query.term_query(schema, "name", word)))
            clauses.append(
                (should, tantivy.Query.fuzzy_term_query(schema, "name", word, distance=1))
            )
        hits = searcher.search(tantivy.Query.boolean_query(clauses), 3).hits
        return [searcher.doc(address)["code"][0] for _, address in hits]

    return rank


def synthetic_catalog(real: list[Procedure], size: int) -> list[Procedure]:
    """Province-style variants of the real procedures: suffixed codes, local agencies, and some
    names carrying the province, as provinces publish their own copies of the national catalog."""
    rng = random.Random(42)
    out = list(real)
    i = 0
    while len(out) < size:
        base = real[i % len(real)]
        province = PROVINCES[(i // len(real)) % len(PROVINCES)]
        suffix = f"H{(i // len(real)) % 63 + 1:02d}"
        name = base.name if rng.random() < 0.8 else f"{base.name} - {province}"
        out.append(
            replace(
                base,
                code=f"{base.code}.{suffix}",
                name=name,
                agencies=(f"UBND tỉnh {province}",) + base.agencies,
            )
        )
        i += 1
    return out


def latency(index: SearchIndex, queries: list[str], rounds: int) -> dict[str, float]:
    for q in queries:  # warm caches the way a running bot has them
        index.search(q)
    samples: list[float] = []
    gc.disable()
    try:
        for _ in range(rounds):
            for q in queries:
                t0 = time.perf_counter()
                index.search(q)
                samples.append((time.perf_counter() - t0) * 1000)
    finally:
        gc.enable()
    return {
        "n": len(samples),
        "p50": statistics.median(samples),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
        "max": max(samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--queries",
        type=Path,
        nargs="+",
        default=[
            p
            for p in (
                ROOT.parent / "shared" / "data" / "queries-dev.jsonl",
                ROOT / "benchmarks" / "queries-holdout.jsonl",
                ROOT / "benchmarks" / "queries-blind.jsonl",
                ROOT / "benchmarks" / "queries-blind2.jsonl",
            )
            if p.exists()
        ],
        help="labelled query files (JSON lines with q and expect)",
    )
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(f"# search benchmark ({pin_one_core()}, Python {sys.version.split()[0]})")

    rss0 = rss_mb()
    t0 = time.perf_counter()
    real = load_default_catalog()
    vocab = load_default_vocabulary()
    t1 = time.perf_counter()
    index = SearchIndex.build(real, vocabulary=vocab)
    t2 = time.perf_counter()
    first = index.search("đăng ký khai sinh")
    t3 = time.perf_counter()
    assert first, "the first query found nothing"
    print(
        f"start-up on the real catalog ({len(real)} procedures): load {t1 - t0:.2f} s, "
        f"index {t2 - t1:.2f} s, first answer after {t3 - t0:.2f} s; "
        f"RSS +{rss_mb() - rss0:.0f} MB"
    )

    tantivy_rank = tantivy_ranker(real)
    rows = [
        ("rapidfuzz WRatio scan over folded names (baseline)", wratio_ranker(real)),
        ("SQLite FTS5 BM25 over folded names (baseline)", fts5_ranker(real)),
        *(
            [("tantivy 0.27 BM25 + fuzzy distance 1, folded names (baseline)", tantivy_rank)]
            if tantivy_rank is not None
            else []
        ),
        (
            "this project (knowledge.search)",
            lambda q: [h.procedure.code for h in index.search(q, 3)],
        ),
        (
            'this project, as the citizen sees it (answers, else "did you mean")',
            lambda q: [p.code for p in resolve(index, q, limit=3).procedures],
        ),
    ]
    texts: list[str] = []
    for path in args.queries:
        queries = [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        texts += [q["q"] for q in queries]
        answerable = sum(1 for q in queries if q["expect"])
        print(
            f"\n## quality on {path.name} ({answerable} answerable queries"
            f", {len(queries) - answerable} out of scope)"
        )
        print("| method | top-1 | top-3 | answered nothing | out of scope refused |")
        print("|---|---|---|---|---|")
        for label, rank in rows:
            top1, top3, empty, refused = quality(rank, queries)
            shown = f"{refused:.0%}" if refused >= 0 else "-"
            print(f"| {label} | {top1:.1%} | {top3:.1%} | {empty:.1%} | {shown} |")

    print(f"\n## latency per query, ms ({args.rounds} rounds of all {len(texts)} queries)")
    print("| catalog | procedures | p50 | p95 | p99 | max | index build | RSS of index |")
    print("|---|---|---|---|---|---|---|---|")
    stats = latency(index, texts, args.rounds)
    print(
        f"| real | {len(real):,} | {stats['p50']:.2f} | {stats['p95']:.2f} | {stats['p99']:.2f} | "
        f"{stats['max']:.2f} | {t2 - t1:.2f} s | - |"
    )
    rows.clear()  # drop the real index before building the large one
    index = None  # noqa: F841
    gc.collect()

    if args.synthetic:
        synthetic = synthetic_catalog(real, args.synthetic)
        rss1 = rss_mb()
        t0 = time.perf_counter()
        big = SearchIndex.build(synthetic, vocabulary=vocab)
        build = time.perf_counter() - t0
        mem = rss_mb() - rss1
        stats = latency(big, texts, max(3, args.rounds // 4))
        print(
            f"| synthetic province variants | {len(synthetic):,} | {stats['p50']:.2f} | "
            f"{stats['p95']:.2f} | {stats['p99']:.2f} | {stats['max']:.2f} | {build:.1f} s | "
            f"+{mem:.0f} MB |"
        )
        names = [fold(p.name) for p in synthetic]
        sample = texts[:10]
        times = []
        for q in sample:
            t0 = time.perf_counter()
            process.extract(fold(q), names, scorer=fuzz.WRatio, limit=5)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"| baseline: rapidfuzz WRatio scan, synthetic | {len(synthetic):,} | "
            f"{statistics.median(times):.0f} | - | - | {max(times):.0f} | - | - |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
