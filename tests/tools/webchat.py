"""The web chat's counterpart of `feed_handled`: a test that drives the web chat fails when an
update it fed was taken by no router.

`WebChatChannel` records such updates (`unhandled_updates`); a fixture calls
`assert_all_handled` on its channel (or on the app that holds it) when the test is over, and a
test that sends an unhandled update on purpose takes it with `take_unhandled` first. A chat
served by `python -m bot` in a subprocess is checked through its log (`assert_none_logged`).
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.channels.webchat.channel import UNHANDLED_LOG, Unhandled, WebChatChannel
from bot.channels.webchat.routes import WEBCHAT_CHANNEL_KEY

_LOGGED = re.compile(re.escape(UNHANDLED_LOG % ("web chat", "ANY", "ANY")).replace("ANY", r"\S+"))


def channel_of(target: WebChatChannel | web.Application) -> WebChatChannel:
    """The channel itself, or the one an app built by `create_web_app`/`create_app` holds."""
    if isinstance(target, web.Application):
        return target[WEBCHAT_CHANNEL_KEY]
    return target


def assert_all_handled(target: WebChatChannel | web.Application) -> None:
    """Insist that a router took every update the web chat fed (and not yet taken)."""
    channel = channel_of(target)
    left = list(channel.unhandled_updates)
    assert not left, f"no handler took web chat updates {left}"


def take_unhandled(target: WebChatChannel | web.Application) -> list[Unhandled]:
    """The unhandled updates so far, removed from the record (a test that sent them on purpose
    asserts on them, so the end-of-test check passes)."""
    channel = channel_of(target)
    taken = list(channel.unhandled_updates)
    channel.unhandled_updates.clear()
    return taken


def assert_none_logged(log: str) -> None:
    """Insist that a process's log (at INFO) says no web chat update went unhandled."""
    found = [m.group(0) for m in _LOGGED.finditer(log)]
    assert not found, f"web chat updates not handled: {found}"
