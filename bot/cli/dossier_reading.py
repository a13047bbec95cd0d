"""Reading a dossier export in chunks of validated rows, in this process or in a child.

``parse_chunks`` reads and validates the file (``knowledge.dossier_records``), ``batch`` good
records per chunk, with the rejected rows and the lines whose code the chat cannot find. For a
big file ``chunks_in_child_process`` runs it in a second process (the second core) while this
one writes. The module imports only ``knowledge``: the child process starts without SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from knowledge.dossier_records import (
    RecordError,
    RecordFileError,
    chat_findable,
    parse_row,
    read_records,
)


@dataclass(slots=True)
class Chunk:
    """Parsed rows of one chunk: good records as ``parse_row`` tuples (in the driver's form:
    cheap to pickle to the writing process, nothing left to convert there), rejected rows,
    progress."""

    records: list[tuple[Any, ...]]
    rejected: list[tuple[int, str]]
    unfindable: list[int]  # lines of good records whose code the chat cannot find
    read: int  # rows in this chunk, good and bad
    bytes_read: int
    size: int


def parse_chunks(path: str | Path, batch: int, *, sqlite_times: bool = False) -> Iterator[Chunk]:
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
                yield Chunk(records, rejected, unfindable, read, reader.bytes_read, reader.size)
                records, rejected, unfindable, read = [], [], [], 0
        yield Chunk(records, rejected, unfindable, read, reader.size, reader.size)


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


async def chunks_in_child_process(
    path: Path, batch: int, sqlite_times: bool
) -> AsyncGenerator[Chunk, None]:
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

    def receive() -> Chunk | BaseException | None:
        # In a thread: waits for the child and unpickles while the event loop writes.
        try:
            message: Chunk | BaseException | None = receiver.recv()
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


async def chunks_in_this_process(
    path: Path, batch: int, sqlite_times: bool
) -> AsyncGenerator[Chunk, None]:
    for chunk in parse_chunks(path, batch, sqlite_times=sqlite_times):
        yield chunk
