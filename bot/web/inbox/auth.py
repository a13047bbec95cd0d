"""Signing in and out of the inbox: the one-time link's confirmation page, redeeming it into a
session cookie, the session check every request makes, and signing out."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.web.plumbing import client_key, same_origin_form
from knowledge.petition_workflow import AuditAction
from storage.repositories.agencies import AgencyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.inbox_tokens import SESSION_TTL, InboxTokenRepository

from .context import (
    PREFIX,
    SESSION_COOKIE,
    TOKEN_RE,
    VIA,
    Signed,
    View,
    forbidden,
    official_name,
    read_form,
    route,
    see_other,
)
from .csrf import check_post

logger = logging.getLogger(__name__)


async def signed_in(request: web.Request, session: AsyncSession, view: View) -> Signed | None:
    """The official of the session cookie, if the session is open and they are still active."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or not TOKEN_RE.fullmatch(token):
        return None
    official = await InboxTokenRepository(session).session_official(token, now=view.inbox.clock())
    if official is None:
        return None
    agency = await AgencyRepository(session).get(official.agency_id)
    if agency is None:
        return None
    view.signed = Signed(
        official, agency, token, name=official_name(view, official), agency_name=agency.name
    )
    return view.signed


def not_signed_in(request: web.Request, view: View) -> web.Response:
    response = view.message(view.t.not_signed_in_title, view.t.not_signed_in_text, status=401)
    if SESSION_COOKIE in request.cookies:
        response.del_cookie(SESSION_COOKIE, path=PREFIX)
    return response


async def signed_post(
    request: web.Request, session: AsyncSession, view: View, form: Mapping[str, str]
) -> Signed | web.Response:
    """The official of a POST, or the page refusing it: not signed in, or no valid CSRF token."""
    signed = await signed_in(request, session, view)
    if signed is None:
        return not_signed_in(request, view)
    if not check_post(request, form, session_token=signed.token, origin=view.inbox.origin):
        return forbidden(view)
    return signed


def _too_many(view: View) -> web.Response:
    response = view.message(view.t.too_many_title, view.t.too_many_text, status=429, css="warn")
    response.headers["Retry-After"] = "10"
    return response


def _link_invalid(view: View) -> web.Response:
    return view.message(view.t.link_invalid_title, view.t.link_invalid_text, status=403, css="bad")


@route
async def login_page(request: web.Request, view: View) -> web.StreamResponse:
    """The confirmation page: nothing is used up by fetching it."""
    inbox = view.inbox
    if not inbox.login_limiter.allow(client_key(request)):
        return _too_many(view)
    token = request.query.get("token", "")
    view.self_query = {"token": token} if TOKEN_RE.fullmatch(token) else {}
    if not TOKEN_RE.fullmatch(token):
        return _link_invalid(view)
    async with inbox.session_factory() as session:
        usable = await InboxRepository(session).link_is_usable(token, now=inbox.clock())
    if not usable:
        return _link_invalid(view)
    return view.page("login.html", view.t.login_title, token=token)


@route
async def login(request: web.Request, view: View) -> web.StreamResponse:
    """Redeem the link (once), open a session, audit "login", go to the list."""
    inbox = view.inbox
    if not inbox.login_limiter.allow(client_key(request)):
        return _too_many(view)
    form = await read_form(request)
    if not same_origin_form(request, (inbox.origin,)):
        return forbidden(view)
    token = form.get("token", "")
    if not TOKEN_RE.fullmatch(token):
        return _link_invalid(view)
    now = inbox.clock()
    async with inbox.session_factory() as session:
        tokens = InboxTokenRepository(session)
        official = await tokens.redeem_link(token, now=now)
        if official is None:
            await session.rollback()
            return _link_invalid(view)
        previous = request.cookies.get(SESSION_COOKIE)
        if previous and TOKEN_RE.fullmatch(previous):
            await tokens.end_session(previous, now=now)  # one browser, one session
        session_token = await tokens.issue(official, kind="session", ttl=SESSION_TTL, now=now)
        await AuditRepository(session).record(
            AuditAction.LOGIN,
            official=official,
            via=VIA,
            at=now,
            details={
                "address": client_key(request),
                "user_agent": request.headers.get("User-Agent", "")[:200],
            },
        )
        await session.commit()
    logger.info("inbox: official %d signed in", official.id)
    response = see_other(PREFIX)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(SESSION_TTL.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="Strict",
        secure=inbox.secure_cookies,
    )
    return response


@route
async def logout(request: web.Request, view: View) -> web.StreamResponse:
    inbox = view.inbox
    form = await read_form(request)
    async with inbox.session_factory() as session:
        signed = await signed_post(request, session, view, form)
        if isinstance(signed, web.Response):
            return signed
        now = inbox.clock()
        await InboxTokenRepository(session).end_session(signed.token, now=now)
        await AuditRepository(session).record(
            AuditAction.LOGOUT, official=signed.official, via=VIA, at=now
        )
        await session.commit()
    view.signed = None
    response = view.message(view.t.signed_out_title, view.t.signed_out_text, status=200)
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    return response
