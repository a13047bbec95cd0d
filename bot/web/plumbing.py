"""What every HTTP app of the assistant shares: the client's key, rate limits per key, a body
reader that stops at a limit, the same-origin checks against cross-site requests, the JSON
answers with the ``{"error": code, "detail": message}`` shape, and the keys and headers the apps
read from one another (settings, the pages' security headers)."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import Settings

SETTINGS_KEY = web.AppKey("settings", Settings)

FAVICON = Path(__file__).parent / "static" / "favicon.svg"  # the site's icon, on every page

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
"""The web chat's and the publication page's headers: scripts and styles from this origin only."""


class RateLimiter:
    """Token buckets per client address, bounded in memory (least recently seen dropped)."""

    def __init__(
        self,
        *,
        burst: float,
        per_second: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, client: str) -> bool:
        now = self._clock()
        tokens, seen = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - seen) * self.per_second)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return allowed


def client_key(request: web.Request) -> str:
    """The calling address, as rate limits and audit records key it."""
    return request.remote or "unknown"


class BodyTooLarge(Exception):
    """The request body is over the reader's limit (each app answers 413 in its own shape)."""


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, read no further than ``limit`` bytes (a lying or missing
    Content-Length cannot make the server buffer more); raises :class:`BodyTooLarge`."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    body = bytearray()
    while chunk := await request.content.read(limit + 1 - len(body)):
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased; None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _is_ours(request: web.Request, url: str, allowed: Collection[str]) -> bool:
    """An Origin or Referer of this site: an allowed origin, or the host this request reached
    (behind a TLS-terminating proxy the scheme seen here may differ); a cross-site page cannot
    set either to ours."""
    if url in allowed:
        return True
    origin = origin_of(url)
    if origin is None:
        return False
    return origin in allowed or urlsplit(origin).netloc == request.host.lower()


def same_origin_fetch(request: web.Request, allowed: Collection[str]) -> bool:
    """CSRF guard of a JSON API: a browser's cross-site fetch carries a foreign Origin (or
    Sec-Fetch-Site); a request without either is not a browser's and passes."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin in allowed or (origin != "null" and _is_ours(request, origin, allowed))
    fetch_site = request.headers.get("Sec-Fetch-Site")
    return fetch_site is None or fetch_site in ("same-origin", "none")


def same_origin_form(request: web.Request, allowed: Collection[str]) -> bool:
    """Did this form POST come from a page of this site? The Origin header, else the Referer,
    else Sec-Fetch-Site (a form posted under ``Referrer-Policy: no-referrer`` may say
    ``Origin: null`` and no Referer); a request with none of them is refused."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        return _is_ours(request, origin, allowed)
    referer = request.headers.get("Referer")
    if referer:
        return _is_ours(request, referer, allowed)
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def json_response(
    payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """JSON with the non-ASCII text as it is (Vietnamese stays readable)."""
    response = web.json_response(
        payload, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )
    response.headers.update(headers or {})
    return response


def json_error(
    status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The APIs' error answer: ``{"error": code, "detail": message}``."""
    return json_response({"error": code, "detail": detail}, status=status, headers=headers)


def file_response(
    body: bytes, content_type: str, *, headers: Mapping[str, str], cache_control: str
) -> web.Response:
    """A static file (a page, a script, a style sheet, an icon) with the app's security headers."""
    response = web.Response(body=body, content_type=content_type, charset="utf-8")
    response.headers.update(headers)
    response.headers["Cache-Control"] = cache_control
    return response
