"""A Zalo citizen for end-to-end tests: writes to the app's real webhook with events signed as
Zalo signs them, waits until the webhook has handled them, and reads what the bot sent back on
the stand-in Zalo server."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from bot.channels.zalo.setup import Zalo
from tests.tools.zalo_server import FakeZalo, SentMessage
from tests.tools.zalo_signing import follow_event, signed, submit_info_event, text_event

WEBHOOK = "/zalo/webhook"


async def settle(zalo: Zalo, *, timeout: float = 10.0) -> None:
    """Wait until the webhook has no event left to handle."""
    deadline = time.monotonic() + timeout
    await asyncio.sleep(0)
    while zalo.webhook.pending:
        if time.monotonic() > deadline:
            raise AssertionError(f"{zalo.webhook.pending} Zalo events still pending")
        await asyncio.sleep(0.01)


@dataclass
class ZaloCitizen:
    client: TestClient
    fake: FakeZalo
    zalo: Zalo
    user_id: str
    seen: int = 0
    last: list[SentMessage] = field(default_factory=list)

    async def post(self, body: dict[str, Any]) -> int:
        raw, headers = signed(body)
        response = await self.client.post(WEBHOOK, data=raw, headers=headers)
        return response.status

    async def send(self, body: dict[str, Any]) -> list[SentMessage]:
        """Post one event, wait for it to be handled, and return the new messages."""
        status = await self.post(body)
        assert status == 200, status
        await settle(self.zalo)
        return self.news()

    def news(self) -> list[SentMessage]:
        messages = self.fake.messages(self.user_id)
        self.last = messages[self.seen :]
        self.seen = len(messages)
        return self.last

    async def say(self, text: str) -> list[SentMessage]:
        return await self.send(text_event(self.user_id, text, datetime.now(UTC)))

    async def follow(self) -> list[SentMessage]:
        return await self.send(follow_event(self.user_id, datetime.now(UTC)))

    async def press(self, title: str) -> list[SentMessage]:
        """Tap a button of the bot's messages: Zalo sends its payload as the citizen's text."""
        buttons = [b for m in reversed(self.fake.messages(self.user_id)) for b in m.buttons]
        match = next((b for b in buttons if b["title"] == title), None)
        assert match is not None, f"no button {title!r} in {[b['title'] for b in buttons]}"
        assert match["type"] == "oa.query.show", match
        return await self.say(str(match["payload"]))

    async def submit_info(self, **info: str) -> list[SentMessage]:
        """Fill in and send the OA's "request user info" form (``phone``, ``name``...)."""
        return await self.send(submit_info_event(self.user_id, datetime.now(UTC), **info))

    def cards(self) -> list[dict[str, Any]]:
        """The "request user info" cards among the last messages."""
        return [m.request_user_info for m in self.last if m.request_user_info is not None]

    def text(self) -> str:
        return "\n".join(m.text or "" for m in self.last)

    def titles(self) -> list[str]:
        return [b["title"] for m in self.last for b in m.buttons]
