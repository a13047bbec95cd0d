"""The digest in the outbox: one message per official, and its renderer at send time.

``digest_messages`` makes the outbox rows of one agency's digest: the figures as JSON
(``Digest.to_payload``, a few KB) and the official's id, under the de-duplication key
``digest:<agency id>:<local date>:<official id>`` (``dedup_key``), so a day's digest never goes
twice. The renderer of kind ``digest`` (``create_digest_renderers``) turns them into the
official's language and, on Telegram, draws the chart again from them; ``digest_states`` counts
a day's digests by outbox state. A digest also carries the parameters of a message template
(a ZNS message outside Zalo's reply window): ``date`` and ``agency`` (its name, shortened).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import Rendered, Renderer, template_values
from handlers.digest.chart import chart_png
from handlers.digest.render import chart_labels, render_digest
from handlers.formatting import format_date
from knowledge.digest import Digest
from knowledge.outbox import OutboxKind
from storage.outbox import OutboxRow, OutgoingMessage
from storage.records import OfficialRecord
from storage.repositories.digest import DigestRepository
from storage.repositories.officials import OfficialRepository


def dedup_key(agency_id: int, day: date, official_id: int) -> str:
    return f"{OutboxKind.DIGEST}:{agency_id}:{day.isoformat()}:{official_id}"


def digest_messages(digest: Digest, officials: Sequence[OfficialRecord]) -> list[OutgoingMessage]:
    """One outbox message per official, in their language, de-duplicated per day."""
    payload = digest.to_payload()
    return [
        OutgoingMessage(
            channel=official.channel,
            chat_id=official.chat_id,
            kind=OutboxKind.DIGEST,
            payload={"official_id": official.id, "digest": payload},
            language=official.language,
            dedup_key=dedup_key(digest.agency_id, digest.periods.day, official.id),
        )
        for official in officials
    ]


def create_digest_renderers(i18n: I18n) -> dict[str, Renderer]:
    """The outbox renderer of kind ``digest`` (register it with the worker's renderers)."""

    async def render(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        digest = Digest.from_payload(row.payload["digest"])
        official = await OfficialRepository(session).get(int(row.payload["official_id"]))
        if official is None or not official.active or official.agency_id != digest.agency_id:
            return None  # left the agency since: the agency's figures are no longer theirs
        language = official.language or row.language
        locale = language if language in i18n.available_locales else i18n.default_locale
        with i18n.context(), i18n.use_locale(locale):
            text = render_digest(digest)
            labels = chart_labels()
            params = template_values(
                {"date": format_date(digest.periods.day), "agency": digest.agency_name}
            )
        photo = None
        if row.channel == "telegram":  # the web chat shows no photos
            photo = await asyncio.to_thread(chart_png, digest, labels, locale)
        return Rendered(
            text=text,
            photo=photo,
            photo_name=f"digest-{digest.periods.day.isoformat()}.png",
            template_data=params,
        )

    return {OutboxKind.DIGEST: render}


async def digest_states(
    session: AsyncSession, day: date, *, channel: str | None = None
) -> dict[str, int]:
    """Outbox states of the digests of ``day`` (of one channel, when given)."""
    return await DigestRepository(session).outbox_states(
        OutboxKind.DIGEST, f"{OutboxKind.DIGEST}:%:{day.isoformat()}:%", channel=channel
    )
