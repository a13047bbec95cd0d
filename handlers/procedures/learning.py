"""Learning from use, the dialog's side: which answers were misses (``knowledge.misses``).

After the answer is sent, ``after_question`` counts a question answered with nothing or with a
weak best result, and one asked within ``ASKED_AGAIN_SECONDS`` of a list the citizen pressed
nothing of (that earlier question is the miss); ``after_pick`` counts a list whose result #2 or
lower was pressed. The last list of each chat is remembered in memory only (``RecentResults``:
the question as it would be stored, redacted, and the codes listed, for two minutes): nothing of
who asked reaches the database. Counting never fails the answer, and waits at most
``RECORD_TIMEOUT`` seconds for the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.i18n import channel_of
from knowledge.misses import ASKED_AGAIN_SECONDS, MissKind, miss_kind_of, miss_text
from storage.repositories.search_misses import SearchMissRepository

from .search import Outcome, Resolution

logger = logging.getLogger(__name__)

RECORD_TIMEOUT = 2.0
MAX_REMEMBERED_CHATS = 10_000

ChatKey = tuple[str, int, int]  # channel, chat id, user id: in memory only


@dataclass(frozen=True, slots=True)
class Shown:
    text: str  # already redacted (knowledge.misses.miss_text)
    codes: tuple[str, ...]
    at: float


class RecentResults:
    """The last list of results each chat was shown, for ``ttl`` seconds (in memory; the
    oldest chats are forgotten beyond ``max_chats``)."""

    def __init__(
        self,
        ttl: float = ASKED_AGAIN_SECONDS,
        max_chats: int = MAX_REMEMBERED_CHATS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_chats = max_chats
        self.clock = clock
        self._shown: OrderedDict[ChatKey, Shown] = OrderedDict()

    def remember(self, key: ChatKey, text: str, codes: Sequence[str]) -> None:
        self._shown.pop(key, None)
        self._shown[key] = Shown(text, tuple(codes), self.clock())
        while len(self._shown) > self.max_chats:
            self._shown.popitem(last=False)

    def take(self, key: ChatKey) -> Shown | None:
        """The chat's last list, forgotten now; None when there is none or it is too old."""
        shown = self._shown.pop(key, None)
        if shown is None or self.clock() - shown.at > self.ttl:
            return None
        return shown

    def __len__(self) -> int:
        return len(self._shown)


_PENDING: set[asyncio.Task[None]] = set()  # counts being written (kept from the collector)


async def settle_pending(timeout: float = RECORD_TIMEOUT + 1.0) -> None:
    """Let the counts being written end (cancel them after ``timeout`` seconds): call it
    before the database engine is closed, so that no count is cut off mid-transaction."""
    pending = [task for task in _PENDING if task.get_loop() is asyncio.get_running_loop()]
    if not pending:
        return
    _done, late = await asyncio.wait(pending, timeout=timeout)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)


def _key(bot: Bot | None, chat_id: int, user_id: int | None) -> ChatKey:
    return (channel_of(bot), chat_id, user_id or 0)


async def record_misses(
    session_factory: async_sessionmaker[AsyncSession] | None,
    channel: str,
    misses: Sequence[tuple[str, MissKind]],
) -> None:
    """Count ``misses`` (text, kind) in one transaction, in the background (at most
    ``RECORD_TIMEOUT`` seconds); a failure is logged, never raised."""
    if not misses or session_factory is None:
        return

    async def write() -> None:
        async with session_factory() as session:
            repo = SearchMissRepository(session)
            for text, kind in misses:
                await repo.record(text, kind.value, channel)
            await session.commit()

    async def write_or_log() -> None:
        try:
            await asyncio.wait_for(write(), RECORD_TIMEOUT)
        except Exception:  # the citizen has the answer already: a lost count is only logged
            logger.warning("Could not count %d search miss(es)", len(misses), exc_info=True)

    # in the background: the web chat answers its request only once the update is handled,
    # so a slow database must not hold the answer (nor the visitor's lock) for the count
    task = asyncio.create_task(write_or_log(), name="search-miss")
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


async def after_question(
    message: Message,
    query_text: str,
    resolution: Resolution | None,
    *,
    session_factory: async_sessionmaker[AsyncSession] | None,
    memory: RecentResults | None,
    bot: Bot | None,
) -> None:
    """What the answer to a citizen's question teaches (see the module's docstring)."""
    try:
        key = _key(bot, message.chat.id, message.from_user.id if message.from_user else None)
        misses: list[tuple[str, MissKind]] = []
        earlier = memory.take(key) if memory is not None and resolution is not None else None
        if earlier is not None:
            misses.append((earlier.text, MissKind.ASKED_AGAIN))
        if resolution is not None and resolution.outcome is not Outcome.CARD:
            listed = resolution.outcome in (Outcome.RESULTS, Outcome.MAYBE)  # a list shown
            kind = (
                MissKind.LOW_CONFIDENCE  # only "did you mean" candidates: low, whatever the score
                if resolution.outcome is Outcome.MAYBE
                else miss_kind_of(resolution.top_score, listed=listed)
            )
            if kind is not None:
                misses.append((query_text, kind))
            if listed and memory is not None:
                stored = miss_text(query_text)
                if stored:
                    memory.remember(key, stored, [p.code for p in resolution.procedures])
    except Exception:
        logger.warning("Could not tell whether the answer was a miss", exc_info=True)
        return
    await record_misses(session_factory, key[0], misses)


async def after_pick(
    callback: CallbackQuery,
    code: str,
    *,
    session_factory: async_sessionmaker[AsyncSession] | None,
    memory: RecentResults | None,
    bot: Bot | None,
) -> None:
    """A result pressed: a miss when it was not the first of the chat's last list."""
    if memory is None or callback.message is None:
        return
    key = _key(bot, callback.message.chat.id, callback.from_user.id)
    shown = memory.take(key)
    if shown is None or code not in shown.codes:
        return
    if shown.codes.index(code) >= 1:
        await record_misses(session_factory, key[0], [(shown.text, MissKind.LOWER_PICK)])
