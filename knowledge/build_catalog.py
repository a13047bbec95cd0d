"""Build the shipped compact catalog from the raw source dumps.

Usage: python -m knowledge.build_catalog <catalog-sources dir> [output .jsonl.gz]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .catalog import DEFAULT_CATALOG, build_catalog_from_sources, dump_compact, load_compact
from .vocabulary import TextVocabulary


def main(argv: list[str] | None = None) -> int:
    """Build, write and re-load the catalog; print a short summary. Returns an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or len(args) > 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    sources = Path(args[0])
    out = Path(args[1]) if len(args) > 1 else DEFAULT_CATALOG
    if not (sources / "chatbot_tthc" / "tthc_bo_nganh.jsonl").exists():
        print(f"error: {sources}/chatbot_tthc/tthc_bo_nganh.jsonl not found", file=sys.stderr)
        return 1
    procs = build_catalog_from_sources(sources)
    dump_compact(procs, out)
    vocab_path = out.with_name("vocabulary.json.gz")
    TextVocabulary.from_procedures(procs).dump(vocab_path)
    t0 = time.perf_counter()
    loaded = load_compact(out)
    dt = time.perf_counter() - t0
    by_source: dict[str, int] = {}
    for p in procs:
        by_source[p.source] = by_source.get(p.source, 0) + 1
    print(f"procedures: {len(procs)} {by_source}")
    print(f"with channels: {sum(1 for p in procs if p.channels)}")
    channels = [ch for p in procs for ch in p.channels]
    bare = [ch for ch in channels if ch.time_value is not None and ch.time_unit is None]
    print(f"channel time limits without a unit: {len(bare)} of {len(channels)}")
    print(f"with documents: {sum(1 for p in procs if p.documents)}")
    print(f"with legal basis: {sum(1 for p in procs if p.legal_basis)}")
    print(f"with steps: {sum(1 for p in procs if p.steps)}")
    print(f"with results: {sum(1 for p in procs if p.results)}")
    print(f"written: {out} ({out.stat().st_size / 1e6:.2f} MB), reload {dt * 1000:.0f} ms")
    print(f"written: {vocab_path} ({vocab_path.stat().st_size / 1e6:.2f} MB)")
    if len(loaded) != len(procs):
        print("error: reloaded count differs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
