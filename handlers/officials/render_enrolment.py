"""What officials read about their access: enrolment with a one-time code, their status,
invitations for new officials, and the inbox sign-in link."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from handlers.markup import quote
from storage.records import AgencyRecord, OfficialRecord

from .render_words import local_time, role_label


def _with_role(text: str, official: OfficialRecord, agency: AgencyRecord) -> str:
    """``text`` with the official's role and agency filled in."""
    return text.format(role=role_label(official.role), agency=quote(agency.name))


def enrol_prompt() -> str:
    return _(
        "🔑 Please send the one-time official code you were given (for example "
        "<code>MOI-ABCD-EFGH-JKLM</code>). /cancel to stop."
    )


def enrolled_text(official: OfficialRecord, agency: AgencyRecord) -> str:
    welcome = _(
        "✅ Welcome! You are now enrolled as {role} of <b>{agency}</b>.\n\n"
        "/petitions — your agency's open petitions\n"
        "/inbox — a sign-in link for the inbox web page\n"
        "You can also type a tracking code such as <code>PAKN-2026-000123</code>; new petitions "
        "are announced here."
    )
    return _with_role(welcome, official, agency)


def enrol_failed_text() -> str:
    return _(
        "❌ This code is not valid: it may be mistyped, already used or expired. Please check it, "
        "or ask your administrator for a new one."
    )


def enrol_locked_text(until: datetime) -> str:
    return _("🔒 Too many wrong codes from this chat. Please try again after {time}.").format(
        time=local_time(until)
    )


def private_only_text() -> str:
    return _("🔐 For security, this works only in a private chat with me.")


def official_status_text(official: OfficialRecord, agency: AgencyRecord) -> str:
    status = _(
        "👤 You are enrolled as {role} of <b>{agency}</b>.\n"
        "/petitions — open petitions · /inbox — inbox sign-in link"
    )
    return _with_role(status, official, agency)


def invite_usage_text() -> str:
    return _(
        "Usage: <code>/invite officer</code> or <code>/invite admin</code>: a one-time code for "
        "a new official of your agency."
    )


def invitation_text(code: str, role: str, agency: AgencyRecord, expires_at: datetime) -> str:
    return _(
        "🎟 One-time code for a new {role} of <b>{agency}</b>:\n\n<code>{code}</code>\n\n"
        "They send <code>/official {code}</code> to me in a private chat. Valid until {when}; "
        "it works once. Share it privately."
    ).format(
        role=role_label(role),
        agency=quote(agency.name),
        code=code,
        when=local_time(expires_at),
    )


def inbox_link_text(url: str, minutes: int) -> str:
    return _(
        "🔗 Your sign-in link to the inbox (valid {minutes} minutes, works once, do not share "
        "it):\n{link}"
    ).format(minutes=minutes, link=f'<a href="{quote(url)}">{quote(url)}</a>')
