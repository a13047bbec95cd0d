"""The dossier import: a CSV or JSON Lines export streamed into the database in chunks.

``import_dossiers`` is the whole import (``python -m bot import-dossiers``, the benchmark and the
tests call it): one transaction per chunk, so memory stays flat and a failure loses one chunk at
most. Bad rows are listed as ``line N: reason; reason``; good rows still load. Rows whose receipt
code the chat could not find as it is written (``chat_findable``) load too, and are counted in
one warning: ``N codes cannot be typed into the chat as they are: lines ...``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli.dossier_reading import chunks_in_child_process, chunks_in_this_process
from bot.cli.parser import DEFAULT_BATCH
from knowledge.dossier_records import read_records
from storage.repositories.dossiers import DossierRepository, IngestResult

MAX_LISTED_ERRORS = 100
MAX_LISTED_WARNINGS = 10  # line numbers shown in the warning about codes the chat cannot find
PROGRESS_EVERY_SECONDS = 0.2
PROGRESS_WIDTH = 30
# Below this a second process costs more (about 0.2 s to start) than it saves.
PARALLEL_MIN_BYTES = 4_000_000


@dataclass(slots=True)
class ImportSummary:
    """What an import did."""

    read: int = 0  # data rows seen (good and bad)
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    events_added: int = 0
    notified: int = 0
    unfindable: int = 0  # loaded rows whose code the chat cannot find as it is written
    unfindable_lines: list[int] = field(default_factory=list)  # the first few of them
    seconds: float = 0.0

    def add(self, result: IngestResult) -> None:
        """Count one chunk's result."""
        self.inserted += result.inserted
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.events_added += result.events_added
        self.notified += result.notified

    @property
    def rate(self) -> float:
        """Rows per second."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def line(self, name: str) -> str:
        """The one-line summary the command prints."""
        return (
            f"{name}: {self.read} read, {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected; {self.events_added} history "
            f"entries, {self.notified} notifications; {self.seconds:.1f} s ({self.rate:,.0f}/s)"
        )


def unfindable_warning(summary: ImportSummary) -> str:
    """The warning about loaded codes the chat cannot find as they are written."""
    count = summary.unfindable
    lines = ", ".join(map(str, summary.unfindable_lines))
    more = ", ..." if count > len(summary.unfindable_lines) else ""
    noun = "code cannot" if count == 1 else "codes cannot"
    return (
        f"warning: {count} {noun} be typed into the chat as they are: "
        f"line{'s' if count > 1 else ''} {lines}{more}"
    )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


class _Progress:
    """A one-line progress bar on a terminal: bytes read of the file's size, rows per second."""

    def __init__(self, stream: TextIO, size: int, enabled: bool) -> None:
        self.stream = stream
        self.size = max(size, 1)
        self.enabled = enabled
        self.started = time.perf_counter()
        self.shown = 0.0

    def update(self, done_bytes: int, rows: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.shown < PROGRESS_EVERY_SECONDS:
            return
        self.shown = now
        fraction = min(done_bytes / self.size, 1.0)
        filled = int(fraction * PROGRESS_WIDTH)
        rate = rows / (now - self.started) if now > self.started else 0.0
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (PROGRESS_WIDTH - filled)}] {fraction:4.0%} "
            f"{_megabytes(done_bytes)}/{_megabytes(self.size)} {rows:,} rows {rate:,.0f}/s "
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


async def _store(
    session_factory: async_sessionmaker[AsyncSession], rows: list[tuple[Any, ...]], source: str
) -> IngestResult:
    async with session_factory() as session:
        result = await DossierRepository(session).upsert_rows(rows, source)
        await session.commit()
        return result


async def _sqlite_times(session_factory: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the database takes times as SQLite's text (asks nothing of the database)."""
    async with session_factory() as session:
        return DossierRepository(session).sqlite_times


async def import_dossiers(
    session_factory: async_sessionmaker[AsyncSession],
    path: str | Path,
    *,
    source: str | None = None,
    batch: int = DEFAULT_BATCH,
    errors: TextIO | None = None,
    progress: bool | None = None,
    max_listed: int = MAX_LISTED_ERRORS,
    parallel: bool | None = None,
) -> ImportSummary:
    """Load a CSV or JSON Lines dossier export, ``batch`` records per transaction.

    Bad rows are written to ``errors`` (default stderr) as ``line N: reason; reason``, the first
    ``max_listed`` of them, then a count; then one warning counting the loaded rows whose
    code the chat cannot find as it is written, with the first line numbers. The progress bar is shown when ``progress`` is true
    (default: when ``errors`` is a terminal). With ``parallel`` (default: for files over
    ``PARALLEL_MIN_BYTES`` on a machine with more than one core) a child process reads and
    validates the file while this one writes to the database. Raises ``RecordFileError`` for a
    wrong file.
    """
    errors = errors if errors is not None else sys.stderr
    path = Path(path)
    label = source or f"file:{path.name}"
    summary = ImportSummary()
    started = time.perf_counter()
    listed = 0
    read_records(path).close()  # a wrong file fails here, before any process starts
    size = path.stat().st_size
    if parallel is None:
        parallel = size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
    show = progress if progress is not None else errors.isatty()
    bar = _Progress(errors, size, bool(show))
    sqlite_times = await _sqlite_times(session_factory)
    chunks = (
        chunks_in_child_process(path, batch, sqlite_times)
        if parallel
        else chunks_in_this_process(path, batch, sqlite_times)
    )
    async with contextlib.aclosing(chunks):  # stops the parser process on any error
        async for chunk in chunks:
            summary.read += chunk.read
            for line, reason in chunk.rejected:
                summary.rejected += 1
                if listed < max_listed:
                    errors.write(f"line {line}: {reason}\n")
                    listed += 1
            if chunk.unfindable:
                summary.unfindable += len(chunk.unfindable)
                room = MAX_LISTED_WARNINGS - len(summary.unfindable_lines)
                summary.unfindable_lines.extend(chunk.unfindable[: max(room, 0)])
            if chunk.records:
                summary.add(await _store(session_factory, chunk.records, label))
            bar.update(chunk.bytes_read, summary.read)
    bar.update(size, summary.read, force=True)
    bar.finish()
    if summary.rejected > listed:
        errors.write(f"... and {summary.rejected - listed} more rejected rows\n")
    if summary.unfindable:
        errors.write(unfindable_warning(summary) + "\n")
    summary.seconds = time.perf_counter() - started
    return summary
