"""Command-line tools for dossiers: ``import-dossiers FILE`` and ``api-keys create|list|revoke``.

``import_dossiers`` is the whole import (the benchmark calls it too): it streams the file in
chunks, one transaction per chunk, so memory stays flat and a failure loses one chunk at most.
Bad rows are listed on stderr as ``line N: reason; reason``; good rows still load. Rows whose
receipt code the chat could not find as it is written (``chat_findable``) load too, and are
counted in one warning: ``N codes cannot be typed into the chat as they are: lines ...``.

Exit codes of ``import-dossiers``: 0 every row loaded, 1 some rows were rejected (the others
loaded), 2 the file is unreadable or not a dossier export.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from knowledge.dossier_records import (
    RecordError,
    RecordFileError,
    chat_findable,
    parse_row,
    read_records,
)

if TYPE_CHECKING:  # storage (SQLAlchemy, aiogram) is imported when a command runs, not before
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from bot.config import Settings
    from storage.repositories.dossiers import IngestResult

DEFAULT_BATCH = 5_000
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
    from storage.repositories.dossiers import DossierRepository

    async with session_factory() as session:
        result = await DossierRepository(session).upsert_rows(rows, source)
        await session.commit()
        return result


async def _sqlite_times(session_factory: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the database takes times as SQLite's text (asks nothing of the database)."""
    from storage.repositories.dossiers import DossierRepository

    async with session_factory() as session:
        return DossierRepository(session).sqlite_times


@dataclass(slots=True)
class _Chunk:
    """Parsed rows of one chunk: good records as ``parse_row`` tuples (in the driver's form:
    cheap to pickle to the writing process, nothing left to convert there), rejected rows,
    progress."""

    records: list[tuple[Any, ...]]
    rejected: list[tuple[int, str]]
    unfindable: list[int]  # lines of good records whose code the chat cannot find
    read: int  # rows in this chunk, good and bad
    bytes_read: int
    size: int


def parse_chunks(path: str | Path, batch: int, *, sqlite_times: bool = False) -> Iterator[_Chunk]:
    """Read and validate the file, ``batch`` good records per chunk, as ``parse_row`` gives
    them (``RecordFileError`` for a wrong file)."""
    with read_records(path) as reader:
        records: list[tuple[Any, ...]] = []
        rejected: list[tuple[int, str]] = []
        unfindable: list[int] = []
        read = 0
        for line, row, error in reader:
            read += 1
            if row is None:
                rejected.append((line, error or "unreadable row"))
                continue
            try:
                record = parse_row(row, sqlite_times=sqlite_times)
            except RecordError as bad:
                rejected.append((line, "; ".join(bad.reasons)))
                continue
            records.append(record)
            if not chat_findable(record[1]):  # the receipt code
                unfindable.append(line)
            if len(records) >= batch:
                yield _Chunk(records, rejected, unfindable, read, reader.bytes_read, reader.size)
                records, rejected, unfindable, read = [], [], [], 0
        yield _Chunk(records, rejected, unfindable, read, reader.size, reader.size)


def _parse_worker(path: str, batch: int, sqlite_times: bool, connection: Connection) -> None:
    """Child process: parse the file and send each chunk; then ``None`` (or the error)."""
    try:
        for chunk in parse_chunks(path, batch, sqlite_times=sqlite_times):
            connection.send(chunk)
        connection.send(None)
    except RecordFileError as error:
        connection.send(error)
    except BaseException as error:  # the parent reports it
        connection.send(RuntimeError(f"the parser process failed: {error!r}"))
    finally:
        connection.close()


async def _chunks_from_worker(
    path: Path, batch: int, sqlite_times: bool
) -> AsyncIterator[_Chunk]:
    """Chunks parsed by a child process (the second core) while this one writes."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(
        target=_parse_worker,
        args=(str(path), batch, sqlite_times, sender),
        name="dossier-parser",
        daemon=True,
    )
    worker.start()
    sender.close()
    loop = asyncio.get_running_loop()

    def receive() -> _Chunk | BaseException | None:
        # In a thread: waits for the child and unpickles while the event loop writes.
        try:
            message: _Chunk | BaseException | None = receiver.recv()
        except EOFError:
            return RuntimeError("the parser process ended unexpectedly")
        return message

    pending = loop.run_in_executor(None, receive)
    try:
        while True:
            message = await pending
            if message is None:
                return
            if isinstance(message, BaseException):
                raise message
            pending = loop.run_in_executor(None, receive)  # the next chunk, meanwhile
            yield message
    finally:
        if worker.is_alive():
            worker.join(timeout=0.1)
        if worker.is_alive():
            worker.terminate()
        if not pending.done():
            await asyncio.wait([pending])  # the child's end closed: recv returns
        receiver.close()
        worker.join()


async def _chunks_here(path: Path, batch: int, sqlite_times: bool) -> AsyncIterator[_Chunk]:
    for chunk in parse_chunks(path, batch, sqlite_times=sqlite_times):
        yield chunk


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
        _chunks_from_worker(path, batch, sqlite_times)
        if parallel
        else _chunks_here(path, batch, sqlite_times)
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


# --- commands --------------------------------------------------------------------------------


async def _open(
    settings: Settings,
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade

    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    return engine, create_session_factory(engine)


async def cmd_import_dossiers(settings: Settings, args: argparse.Namespace) -> int:
    """``python -m bot import-dossiers FILE [--source LABEL] [--batch N]``."""
    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    if args.batch < 1:
        print("error: --batch must be at least 1", file=sys.stderr)
        return 2
    try:
        read_records(path).close()  # a wrong file fails before the database is touched
    except RecordFileError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    engine, session_factory = await _open(settings)
    try:
        summary = await import_dossiers(
            session_factory, path, source=args.source, batch=args.batch
        )
    except RecordFileError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(summary.line(path.name))
    return 1 if summary.rejected else 0


API_KEY_SCOPES = ("dossiers", "open311")
"""What a key may be for: pushing dossiers, filing petitions through Open311."""


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else "-"


async def cmd_api_keys(settings: Settings, args: argparse.Namespace) -> int:
    """``python -m bot api-keys create AGENCY [--label L] | list | revoke PREFIX``."""
    if args.action is None:
        print("usage: python -m bot api-keys {create,list,revoke}", file=sys.stderr)
        return 2
    from storage.repositories.api_keys import ApiKeyRepository

    engine, session_factory = await _open(settings)
    try:
        async with session_factory() as session:
            keys = ApiKeyRepository(session)
            if args.action == "create":
                unknown = sorted(set(args.scopes.split()) - set(API_KEY_SCOPES))
                if unknown:
                    print(
                        f"error: unknown scope {' '.join(unknown)!r}; known: "
                        + ", ".join(API_KEY_SCOPES),
                        file=sys.stderr,
                    )
                    return 2
                try:
                    info, plaintext = await keys.create(args.agency, args.label or "", args.scopes)
                except ValueError as error:
                    print(f"error: {error}", file=sys.stderr)
                    return 2
                await session.commit()
                print(plaintext)
                print(
                    f"created key {info.prefix}… (id {info.id}) for {info.agency!r}, scopes "
                    f"{' '.join(info.scopes)}. Store it now: it is not kept and cannot be shown "
                    "again.",
                    file=sys.stderr,
                )
                return 0
            if args.action == "list":
                rows = await keys.list()
                if not rows:
                    print("no API keys")
                for info in rows:
                    state = "revoked " + _when(info.revoked_at) if info.revoked_at else "active"
                    print(
                        f"{info.id:>4}  {info.prefix}…  {state:<28} last used "
                        f"{_when(info.last_used_at):<21} {info.agency}"
                        + (f"  ({info.label})" if info.label else "")
                    )
                return 0
            try:
                revoked = await keys.revoke(args.prefix)
            except ValueError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            if revoked is None:
                print(f"error: no active key matches {args.prefix!r}", file=sys.stderr)
                return 1
            await session.commit()
            print(f"revoked key {revoked.prefix}… (id {revoked.id}) of {revoked.agency!r}")
            return 0
    finally:
        await engine.dispose()


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``import-dossiers`` and ``api-keys`` to ``python -m bot``'s subcommands."""
    p = sub.add_parser(
        "import-dossiers", help="load dossiers from the one-door system (CSV or JSON Lines)"
    )
    p.add_argument("file")
    p.add_argument("--source", help="label stored with the dossiers (default: file:<name>)")
    p.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help="records per transaction (default 5000)"
    )
    p = sub.add_parser(
        "api-keys",
        help="manage the keys of other systems: dossier ingest and Open311 petitions",
    )
    keys = p.add_subparsers(dest="action")
    q = keys.add_parser("create", help="create a key for an agency (printed once)")
    q.add_argument("agency", help="the agency name exactly as its dossiers carry it")
    q.add_argument("--label", help="a note to recognise the key by (e.g. the system using it)")
    q.add_argument(
        "--scopes",
        default="dossiers",
        help="space-separated: dossiers (POST /api/v1/dossiers), open311 (POST "
        "/open311/v2/requests.json); default: dossiers",
    )
    keys.add_parser("list", help="list keys (prefixes only; keys are never shown)")
    q = keys.add_parser("revoke", help="revoke a key by its prefix (vnd_XXXXXXXX) or id")
    q.add_argument("prefix")
