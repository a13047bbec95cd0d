"""Learning benchmark: how many officials' mappings (text -> procedure) the search absorbs
without losing elsewhere.

    python benchmarks/learning_bench.py [--mappings FILE.jsonl] [--from-db URL]
        [--queries LABELLED.jsonl ...] [--demo]

Mappings are JSON lines ``{"text": "...", "code": "1.001193"}`` (``--mappings``), the phrasings
officials stored (``--from-db``, the ``learned_phrasings`` table of a database), or, with
``--demo`` (the default when nothing else is given), a few everyday wordings derived from the
catalog itself: for each pair (administrative phrase, everyday wording) below, the procedure the
search ranks first for the administrative phrase, mapped from the everyday wording.

The mappings are applied one by one through ``knowledge.phrasings.apply_learned`` on the shipped
catalog's index. Reported: how many mapped texts ranked their code first before, right after their
own mapping, and once all are applied; and, on each labelled query file (lines ``{"q": ...,
"expect": [codes]}``), top-1 before and after, the queries gained and lost, and how many mappings
were applied before the first labelled query lost its right answer (the search "absorbs" that
many without losing elsewhere). The script never reads a query file unless given one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.catalog import load_default_catalog  # noqa: E402
from knowledge.phrasings import apply_learned  # noqa: E402
from knowledge.search import SearchIndex  # noqa: E402
from knowledge.vocabulary import load_default_vocabulary  # noqa: E402

# (the catalog's administrative wording, how citizens say it) — the demo's mappings
EVERYDAY = [
    ("đăng ký khai sinh", "làm giấy khai sinh cho em bé mới đẻ"),
    ("đăng ký kết hôn", "thủ tục lấy vợ"),
    ("đăng ký khai tử", "báo tin người nhà mất"),
    ("cấp hộ chiếu phổ thông", "làm passport đi nước ngoài"),
    ("cấp giấy phép xây dựng", "xin phép xây nhà"),
    ("cấp phiếu lý lịch tư pháp", "xin giấy chứng nhận không tiền án"),
    ("chứng thực bản sao từ bản chính", "công chứng photo giấy tờ"),
    ("đăng ký thường trú", "nhập hộ khẩu cho con"),
    ("cấp đổi giấy phép lái xe", "đổi bằng lái xe máy"),
    ("đăng ký hộ kinh doanh", "mở quán bán hàng cần giấy gì"),
    ("trợ cấp thất nghiệp", "mất việc được nhận tiền gì"),
    ("xác nhận tình trạng hôn nhân", "giấy độc thân"),
]


@dataclass(frozen=True)
class Mapping:
    text: str
    code: str


def load_jsonl(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def demo_mappings(index: SearchIndex) -> list[Mapping]:
    out = []
    for phrase, everyday in EVERYDAY:
        hits = index.search(phrase, 1)
        if hits:
            out.append(Mapping(everyday, hits[0].procedure.code))
    return out


async def db_mappings(url: str) -> list[Mapping]:
    # imported here: only this option needs the database layer
    from storage.db import create_engine, create_session_factory
    from storage.repositories.search_misses import LearnedPhrasingRepository

    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            rows = await LearnedPhrasingRepository(session).all()
    finally:
        await engine.dispose()
    return [Mapping(r.text, r.code) for r in rows]


def first(index: SearchIndex, text: str) -> str | None:
    hits = index.search(text, 1)
    return hits[0].procedure.code if hits else None


def top1_right(index: SearchIndex, queries: list[dict]) -> list[bool]:
    """For each answerable query: is the first hit one of its expected codes?"""
    return [first(index, q["q"]) in q["expect"] for q in queries]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mappings", type=Path, help="JSON lines {text, code}")
    parser.add_argument("--from-db", help="a database URL: its learned_phrasings")
    parser.add_argument("--demo", action="store_true", help="everyday wordings (default)")
    parser.add_argument("--queries", type=Path, action="append", default=[])
    args = parser.parse_args()

    started = time.perf_counter()
    index = SearchIndex.build(load_default_catalog(), None, load_default_vocabulary())
    print(f"index: {len(index)} procedures, built in {time.perf_counter() - started:.1f} s")
    mappings: list[Mapping] = []
    if args.mappings:
        mappings += [Mapping(str(m["text"]), str(m["code"])) for m in load_jsonl(args.mappings)]
    if args.from_db:
        mappings += asyncio.run(db_mappings(args.from_db))
    if args.demo or not mappings:
        mappings += demo_mappings(index)
    unknown = [m for m in mappings if index.get(m.code) is None]
    mappings = [m for m in mappings if index.get(m.code) is not None]
    if unknown:
        print(f"skipped {len(unknown)} mapping(s) to codes not in the catalog")
    if not hasattr(index, "learn"):
        print("note: SearchIndex.learn does not exist in this tree: apply_learned takes nothing")

    labelled = {}
    for path in args.queries:
        labelled[path.name] = [q for q in load_jsonl(path) if q.get("expect")]
    before = {name: top1_right(index, qs) for name, qs in labelled.items()}

    first_before = sum(first(index, m.text) == m.code for m in mappings)
    taken = right_away = 0
    absorbed_without_loss: dict[str, int | None] = dict.fromkeys(labelled)
    for n, mapping in enumerate(mappings, 1):
        taken += apply_learned(index, mapping.code, mapping.text)
        right_away += first(index, mapping.text) == mapping.code
        for name, qs in labelled.items():
            if absorbed_without_loss[name] is not None:
                continue
            now = top1_right(index, qs)
            if any(b and not a for b, a in zip(before[name], now)):
                absorbed_without_loss[name] = n - 1
    first_after = sum(first(index, m.text) == m.code for m in mappings)

    print(f"\n## {len(mappings)} mappings")
    print("| mapped texts ranking their code first | count | share |")
    print("|---|---|---|")
    total = max(1, len(mappings))
    for label, value in (
        ("before any mapping", first_before),
        ("right after their own mapping", right_away),
        ("once all are applied", first_after),
        ("taken by the index (apply_learned True)", taken),
    ):
        print(f"| {label} | {value} | {value / total:.0%} |")

    for name, qs in labelled.items():
        after = top1_right(index, qs)
        gained = sum(a and not b for b, a in zip(before[name], after))
        lost = sum(b and not a for b, a in zip(before[name], after))
        n = max(1, len(qs))
        kept = absorbed_without_loss[name]
        print(f"\n## {name}: {len(qs)} answerable queries")
        print(f"top-1 before {sum(before[name]) / n:.1%}, after {sum(after) / n:.1%}")
        print(f"gained {gained}, lost {lost}")
        if kept is None:
            print(f"absorbed without losing elsewhere: all {len(mappings)} mappings")
        else:
            print(f"absorbed without losing elsewhere: {kept} mappings (then a loss)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
