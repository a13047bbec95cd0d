"""Logging set-up: one format, and secrets (tokens) masked in every record, tracebacks included."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse


class RedactSecrets(logging.Filter):
    """Replaces each secret by *** in the message and the traceback of every record.

    Telegram puts the bot token in every API URL, so a client error can quote it; this filter is
    the last line of defence behind not logging URLs in the first place.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        """One more secret to mask (a token that arrived at run time)."""
        if secret and len(secret) >= 6 and secret not in self.secrets:
            self.secrets = sorted([*self.secrets, secret], key=len, reverse=True)

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True


class PathOnlyAccessLogger(AbstractAccessLogger):
    """The web server's access log without query strings, Referer or User-Agent: the inbox's
    one-time sign-in links (``/inbox/login?token=...``), Open311 keys (``?api_key=...``) and
    searches for a sender's name or phone (``/inbox?q=...``) travel in URLs."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote or "-",
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def redact_from_now_on(secret: str) -> None:
    """Mask ``secret`` in every record from now on (the root handlers' redaction filters)."""
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, RedactSecrets):
                found.add(secret)
