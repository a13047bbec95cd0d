"""Cross-site request forgery: every inbox POST carries the session's form token and comes from
this site (``bot.web.plumbing.same_origin_form``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from aiohttp import web

from bot.web.plumbing import same_origin_form


def csrf_token(session_token: str) -> str:
    """The session's form token: an HMAC of the session cookie (which the page never shows, and
    which this cannot be reversed to)."""
    return hmac.new(session_token.encode(), b"inbox-csrf", hashlib.sha256).hexdigest()


def check_post(
    request: web.Request, form: Mapping[str, str], *, session_token: str, origin: str
) -> bool:
    """CSRF: the session's token in the form AND a same-origin request."""
    given = form.get("csrf", "")
    return hmac.compare_digest(
        given.encode(), csrf_token(session_token).encode()
    ) and same_origin_form(request, (origin,))
