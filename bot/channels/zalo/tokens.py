"""The Zalo OA's tokens: the access token every call carries (it lasts about 25 hours) and the
single-use refresh token that buys the next pair, kept in the database (``zalo_tokens``) so that
every process of the assistant shares them.

**A refresh token is spent once, by one process.** A refresh runs inside one database
transaction that holds the token row's lock while the OAuth call runs
(``ZaloTokenRepository.lock_for_refresh``: PostgreSQL's row lock, SQLite's write lock); under the
lock it reads the pair again, and when another process has refreshed meanwhile it takes that
process's new access token instead of spending the refresh token a second time. Within one
process an ``asyncio.Lock`` makes concurrent callers wait for the one refresh. If the OAuth call
fails, the transaction rolls back and the old pair stays. (On SQLite the write lock is the whole
database's: other writers wait, up to the busy timeout, for the OAuth call — about once a day.)

Refresh: ``POST {oauth_base}/v4/oa/access_token``, header ``secret_key: <app secret>``, form
``app_id``, ``grant_type=refresh_token``, ``refresh_token``; the answer is ``{"access_token",
"refresh_token", "expires_in"}`` (``expires_in`` a string of seconds), or ``{"error",
"error_name", "error_description", ...}``.

No token or secret is ever logged or put in an exception; ``on_new_secret`` hands each token
this manager comes to know to the log redaction (``bot.logs.RedactSecrets``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.workdays import utcnow
from storage.records import ZaloTokenRecord
from storage.repositories.zalo_tokens import ZaloTokenRepository

log = logging.getLogger(__name__)

OAUTH_BASE = "https://oauth.zaloapp.com"
OAUTH_PATH = "/v4/oa/access_token"
REFRESH_MARGIN = timedelta(minutes=30)
ACCESS_LIFETIME = 90_000
"""Seconds an access token lasts (25 h): what to seed with when the real figure is unknown (the
tokens in the settings); if the token dies sooner, Zalo's -216 triggers the refresh."""
FALLBACK_LIFETIME = 3600  # seconds assumed when a successful refresh has no usable expires_in


class ZaloTokenError(Exception):
    """No usable token pair: none stored, or Zalo's OAuth server refused or did not answer the
    refresh (``retryable`` then). The message never holds a token or a secret."""

    def __init__(self, message: str, *, code: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class _Pair:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int


def _seconds(value: object) -> int | None:
    """``expires_in`` as Zalo sends it (a string of seconds, or a number)."""
    try:
        seconds = int(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds > 0 else None


class ZaloTokens:
    """The token manager: a fresh access token for :class:`~bot.channels.zalo.api.ZaloApi`, and
    one refresh at a time across processes."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: aiohttp.ClientSession,
        *,
        app_id: str,
        app_secret: str,
        oauth_base: str = OAUTH_BASE,
        margin: timedelta = REFRESH_MARGIN,
        on_new_secret: Callable[[str], None] | None = None,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.app_id = app_id
        self._app_secret = app_secret
        self.oauth_url = oauth_base.rstrip("/") + OAUTH_PATH
        self.margin = margin
        self.on_new_secret = on_new_secret
        # Long on purpose: a refresh cut short may still have spent the refresh token at Zalo.
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self._lock = asyncio.Lock()
        self._record: ZaloTokenRecord | None = None
        self._reported: set[str] = set()
        self._report(app_secret)

    # --- what the API asks for -----------------------------------------------------------------

    async def access_token(self) -> str:
        """The stored access token, refreshed first when it expires within the margin.

        It is kept in memory between calls: when another process has refreshed meanwhile (Zalo
        then refuses the old token), the API's -216 leads to :meth:`refresh`, which finds the
        other process's token in the database and spends nothing."""
        record = self._record
        if record is None or self._expiring(record):
            async with self._lock:
                record = self._record
                if record is None:
                    record = await self._load()
                if self._expiring(record):
                    record = await self._refresh_stored(stale=record.access_token)
        return record.access_token

    async def refresh(self, stale: str) -> str:
        """A new access token after Zalo refused ``stale`` (-216): refreshed only if ``stale`` is
        still the stored one; otherwise someone (here or in another process) already did, and
        the stored new token is returned."""
        async with self._lock:
            record = self._record
            if record is not None and record.access_token != stale and not self._expiring(record):
                return record.access_token
            record = await self._refresh_stored(stale=stale)
        return record.access_token

    async def seed(
        self, access_token: str, refresh_token: str, expires_in: int, *, replace: bool = True
    ) -> bool:
        """Store a first pair: from the settings on the first start (``replace=False``: a stored
        pair wins; pass :data:`ACCESS_LIFETIME` when the expiry is unknown), or a new
        authorisation from the CLI (``replace=True``). Whether the pair was stored."""
        self._report(access_token)
        self._report(refresh_token)
        expires_at = self.clock() + timedelta(seconds=expires_in)
        async with self._lock:
            for _attempt in range(2):
                try:
                    async with self.sessions() as db, db.begin():
                        record = await ZaloTokenRepository(db).seed(
                            self.app_id,
                            access_token=access_token,
                            refresh_token=refresh_token,
                            access_expires_at=expires_at,
                            replace=replace,
                        )
                except IntegrityError:  # another process stored the first pair just now
                    if not replace:
                        return False
                    continue
                if record is None:
                    return False
                self._keep(record)
                log.info("zalo tokens: seeded (version %s)", record.version)
                return True
        raise ZaloTokenError("the Zalo token pair could not be stored")

    # --- inside -------------------------------------------------------------------------------

    def _expiring(self, record: ZaloTokenRecord) -> bool:
        return record.access_expires_at - self.clock() <= self.margin

    def _report(self, secret: str) -> None:
        if secret and secret not in self._reported:
            self._reported.add(secret)
            if self.on_new_secret is not None:
                self.on_new_secret(secret)

    def _keep(self, record: ZaloTokenRecord) -> None:
        self._report(record.access_token)
        self._report(record.refresh_token)
        self._record = record

    async def _load(self) -> ZaloTokenRecord:
        async with self.sessions() as db:
            record = await ZaloTokenRepository(db).get(self.app_id)
        if record is None:
            raise ZaloTokenError("no Zalo tokens are stored: seed them first")
        self._keep(record)
        return record

    async def _refresh_stored(self, stale: str) -> ZaloTokenRecord:
        """Refresh under the row's lock, unless the stored pair is already newer than ``stale``
        (then that pair). The old pair stays when anything fails before the commit."""
        refreshed = False
        async with self.sessions() as db, db.begin():
            tokens = ZaloTokenRepository(db)
            current = await tokens.lock_for_refresh(self.app_id)
            if current is None:
                raise ZaloTokenError("no Zalo tokens are stored: seed them first")
            self._keep(current)
            record = current
            if current.access_token == stale or self._expiring(current):
                pair = await self._spend(current.refresh_token)
                record = await tokens.save_refreshed(
                    self.app_id,
                    expected_version=current.version,
                    access_token=pair.access_token,
                    refresh_token=pair.refresh_token,
                    access_expires_at=self.clock() + timedelta(seconds=pair.expires_in),
                )
                refreshed = True
        self._keep(record)
        if refreshed:
            log.info(
                "zalo tokens: refreshed (version %s, expires in %s s)",
                record.version,
                int((record.access_expires_at - self.clock()).total_seconds()),
            )
        else:
            log.info("zalo tokens: already refreshed elsewhere (version %s)", record.version)
        return record

    async def _spend(self, refresh_token: str) -> _Pair:
        """The OAuth call that spends ``refresh_token``."""
        form = {
            "app_id": self.app_id,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        try:
            async with self.http.post(
                self.oauth_url,
                data=form,
                headers={"secret_key": self._app_secret},
                timeout=self.timeout,
            ) as response:
                status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("zalo tokens: the OAuth server did not answer (%s)", type(exc).__name__)
            raise ZaloTokenError(
                f"Zalo's OAuth server did not answer ({type(exc).__name__})", retryable=True
            ) from None
        return self._pair(status, raw, refresh_token)

    def _pair(self, status: int, raw: bytes, spent: str) -> _Pair:
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            log.warning("zalo tokens: the OAuth server answered HTTP %s without JSON", status)
            raise ZaloTokenError(
                f"Zalo's OAuth server answered HTTP {status}", retryable=status >= 500
            )
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        if not (isinstance(access, str) and access):
            raise self._refusal(answer, status, spent)
        if not (isinstance(refresh, str) and refresh):
            log.error("zalo tokens: the refresh answer has no refresh token; keeping the old one")
            refresh = spent
        self._report(access)
        self._report(refresh)
        expires_in = _seconds(answer.get("expires_in"))
        if expires_in is None:
            log.warning("zalo tokens: the refresh answer has no usable expires_in")
            expires_in = FALLBACK_LIFETIME
        return _Pair(access, refresh, expires_in)

    def _refusal(self, answer: dict[str, object], status: int, spent: str) -> ZaloTokenError:
        code = answer.get("error")
        name = str(answer.get("error_name") or answer.get("message") or "no reason given")[:120]
        for secret in (spent, self._app_secret):
            if secret:
                name = name.replace(secret, "***")
        log.warning("zalo tokens: the refresh was refused (error %s, HTTP %s)", code, status)
        return ZaloTokenError(
            f"Zalo refused the token refresh: error {code} ({name})",
            code=code if isinstance(code, int) else None,
            retryable=status >= 500,
        )
