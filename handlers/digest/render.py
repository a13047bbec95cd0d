"""The officials' daily digest as text, in the official's language (rendered at send time).

The numbers come first, the lists of tracking codes last: when the digest goes with its chart,
Telegram's 1,024-character caption holds the figures and the lists follow in a second message
(``bot.jobs.senders.split_caption`` cuts at a paragraph break). The whole text stays within 4,096
characters: the lists are shortened ("+ 25 more") until it fits.

Figures are formatted like the centres' own reports: "30.407", "93,3%" in Vietnamese; "30,407",
"93.3%" in English. No personal data appears: petitions are named by their tracking code only.
``plain_text`` is the same text as a terminal shows it (``python -m bot digest --dry-run``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.formatting import current_locale, format_date, format_number, format_percent
from handlers.markup import TELEGRAM_TEXT_LIMIT, quote, shorten, text_length
from knowledge.digest import (
    DEADLINE_ANSWER,
    DEADLINE_INFO,
    DEADLINE_PUBLISH,
    DEADLINE_REFUSE,
    Digest,
    DossierFigures,
    MissItem,
    PetitionItem,
    Satisfaction,
    share,
)

SEPARATOR = " · "
MISS_TEXT_LIMIT = 100  # characters of a citizen's question in the digest


def number(value: int) -> str:
    return format_number(value)


def percent(part: int, whole: int) -> str:
    """The share ``part / whole`` like the centres write it: "93,3%" (vi), "93.3%" (en); two
    decimals for a small non-zero share ("0,02%") or one just short of the whole ("99,97%"),
    "–" when there is nothing to divide by. A share is never rounded to nothing or to the
    whole: one late dossier among 40,000 reads "<0,01%", not "0%"."""
    value = share(part, whole)
    if value is None:
        return "–"
    if 0 < value < 0.001:
        text = format_percent(value, digits=2)
        if text == format_percent(0, digits=2):
            return quote("<" + format_percent(0.0001, digits=2))  # HTML parse mode
        return text
    text = format_percent(value, digits=1)
    if value < 1 and text == format_percent(1, digits=1):
        text = format_percent(value, digits=2)
        if text == format_percent(1, digits=2):
            return quote(">" + format_percent(0.9999, digits=2))
    return text


def period_label(start: date, end: date) -> str:
    if start == end:
        return _("on {date}").format(date=format_date(start))
    return _("from {start} to {end}").format(start=format_date(start), end=format_date(end))


# --- dossiers -----------------------------------------------------------------------------------


def dossier_lines(figures: DossierFigures, satisfaction: Satisfaction) -> list[str]:
    """The centres' sentence, one fact a line: received; resolved (share), early / on time /
    late (shares of resolved); open (share), overdue among them; ratings."""
    received = figures.received
    lines = [_("Received: <b>{count}</b>").format(count=number(received))]
    if received:
        resolved = figures.resolved
        lines.append(
            _("Resolved: <b>{count}</b> ({share})").format(
                count=number(resolved), share=percent(resolved, received)
            )
        )
        if resolved:
            lines.append(
                "   "
                + SEPARATOR.join(
                    (
                        _("early {count} ({share})").format(
                            count=number(figures.early), share=percent(figures.early, resolved)
                        ),
                        _("on time {count} ({share})").format(
                            count=number(figures.on_time),
                            share=percent(figures.on_time, resolved),
                        ),
                        _("late {count} ({share})").format(
                            count=number(figures.late), share=percent(figures.late, resolved)
                        ),
                    )
                )
            )
        if figures.resolved_other:
            lines.append(
                "   "
                + _("without an appointment date to score: {count}").format(
                    count=number(figures.resolved_other)
                )
            )
        lines.append(
            _("In progress: <b>{count}</b> ({share}), overdue {overdue}").format(
                count=number(figures.open),
                share=percent(figures.open, received),
                overdue=number(figures.overdue),
            )
        )
        if figures.withdrawn:
            lines.append(
                _("Withdrawn by the applicant: {count}").format(count=number(figures.withdrawn))
            )
    lines.append(satisfaction_line(satisfaction))
    return lines


def satisfaction_line(satisfaction: Satisfaction) -> str:
    total = satisfaction.total
    if not total:
        return _("Ratings: none")
    levels = satisfaction.levels
    details = SEPARATOR.join(
        label.format(count=number(count))
        for label, count in (
            (_("very satisfied {count}"), levels[0]),
            (_("satisfied {count}"), levels[1]),
            (_("neutral {count}"), levels[2]),
            (_("dissatisfied {count}"), levels[3]),
            (_("very dissatisfied {count}"), levels[4]),
        )
        if count
    )
    return _("Ratings: {count}, satisfied {share} ({details})").format(
        count=number(total), share=percent(satisfaction.satisfied, total), details=details
    )


# --- petitions --------------------------------------------------------------------------------


def petition_lines(digest: Digest) -> list[str]:
    pet = digest.petitions
    periods = digest.periods
    lines = [
        _("New {period}: <b>{count}</b>").format(
            period=period_label(periods.start, periods.end), count=number(pet.new)
        ),
        _("Open now: {count}").format(count=number(pet.open)),
        _("Deadlines: <b>{overdue}</b> overdue, {due_soon} due within a working day").format(
            overdue=number(pet.deadline_overdue), due_soon=number(pet.deadline_due_soon)
        ),
        _("Answers awaiting publication: {count} ({overdue} overdue, {due_soon} due soon)").format(
            count=number(pet.awaiting_publication),
            overdue=number(pet.publication_overdue),
            due_soon=number(pet.publication_due_soon),
        ),
        _("Received since {date}: {count}").format(
            date=format_date(periods.month_start), count=number(pet.month)
        ),
    ]
    return lines


def deadline_label(item: PetitionItem) -> str:
    when = format_date(item.deadline) if item.deadline else "–"
    if item.kind == DEADLINE_REFUSE:
        text = _("accept or refuse by {date}").format(date=when)
    elif item.kind == DEADLINE_INFO:
        text = _("last day to ask for more information: {date}").format(date=when)
    elif item.kind == DEADLINE_ANSWER:
        text = _("answer by {date}").format(date=when)
    elif item.kind == DEADLINE_PUBLISH:
        text = _("publish by {date}").format(date=when)
    else:
        text = when
    if item.state == "overdue":
        return text + " — " + _("⚠️ overdue")
    if item.state == "due_soon":
        return text + " — " + _("⏰ due soon")
    return text


def more_line(count: int) -> str:
    return ngettext("+ {count} more", "+ {count} more", count).format(count=number(count))


def _code(code: str) -> str:
    return f"<code>{quote(code)}</code>"


def list_sections(digest: Digest) -> list[str]:
    """The tracking codes, section by section ("" when there is nothing to list)."""
    pet = digest.petitions
    sections: list[str] = []
    if pet.new_items:
        codes = ", ".join(_code(item.code) for item in pet.new_items)
        rest = pet.new - len(pet.new_items)
        body = codes + (f" {more_line(rest)}" if rest > 0 else "")
        sections.append(_("<b>New petitions</b>") + "\n" + body)
    if pet.deadline_items:
        lines = [f"{_code(i.code)} — {deadline_label(i)}" for i in pet.deadline_items]
        rest = pet.deadline_total - len(pet.deadline_items)
        if rest > 0:
            lines.append(more_line(rest))
        sections.append(_("<b>Deadlines</b>") + "\n" + "\n".join(lines))
    if pet.publication_items:
        lines = [f"{_code(i.code)} — {deadline_label(i)}" for i in pet.publication_items]
        rest = pet.awaiting_publication - len(pet.publication_items)
        if rest > 0:
            lines.append(more_line(rest))
        sections.append(_("<b>Awaiting publication</b>") + "\n" + "\n".join(lines))
    if digest.misses:
        sections.append(misses_section(digest.misses, digest.misses_url))
    return sections


def misses_section(misses: Sequence[MissItem], url: str) -> str:
    """The questions citizens asked that the search did not answer well (their texts were
    redacted before being stored), most asked first, and where to map them."""
    lines = [_("<b>❓ Citizens' questions not answered</b>")]
    for item in misses:
        times = ngettext("{count} time", "{count} times", item.count).format(
            count=number(item.count)
        )
        lines.append(f"• “{quote(shorten(item.text, MISS_TEXT_LIMIT))}” — {times}")
    if url:
        lines.append(_("Map them to procedures in the inbox: {url}").format(url=quote(url)))
    return "\n".join(lines)


# --- the whole digest -----------------------------------------------------------------------------


def _block(title: str, lines: Sequence[str]) -> str:
    return "\n".join([title, *lines])


def summary(digest: Digest) -> str:
    """Heading and figures (what the chart's caption shows)."""
    periods = digest.periods
    blocks = [
        _("📊 <b>Daily digest, {date}</b>").format(date=format_date(periods.day))
        + "\n"
        + f"🏛 {quote(digest.agency_name)}"
    ]
    if digest.dossiers_period is not None and digest.dossiers_month is not None:
        blocks.append(
            _block(
                _("<b>📁 Dossiers received {period}</b>").format(
                    period=period_label(periods.start, periods.end)
                ),
                dossier_lines(digest.dossiers_period, digest.satisfaction_period),
            )
        )
        blocks.append(
            _block(
                _("<b>📁 Dossiers received since {date}</b>").format(
                    date=format_date(periods.month_start)
                ),
                dossier_lines(digest.dossiers_month, digest.satisfaction_month),
            )
        )
    blocks.append(_block(_("<b>📨 Petitions</b>"), petition_lines(digest)))
    return "\n\n".join(blocks)


def render_digest(digest: Digest, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """The digest's HTML text, at most ``limit`` characters (Telegram counts UTF-16 units)."""
    head = summary(digest)
    longest = max(
        len(digest.petitions.new_items),
        len(digest.petitions.deadline_items),
        len(digest.petitions.publication_items),
        len(digest.misses),
    )
    for keep in range(longest, -1, -1):
        text = "\n\n".join([head, *list_sections(digest.with_lists_cut(keep))])
        if text_length(text) <= limit:
            return text
    return head  # the figures alone are far below the limit (the agency name is <= 255 chars)


def chart_labels() -> dict[str, str]:
    """The chart's texts in the current language (``handlers.digest.chart.draw_chart`` draws them)."""
    return {
        "title": _("Last 14 days, by day of reception"),
        "left": _("Dossiers"),
        "right": _("Petitions"),
        "received": _("Dossiers received"),
        "resolved": _("of which resolved"),
        "petitions": _("Petitions received"),
        "day_format": "dd/MM" if current_locale().startswith("vi") else "MMM d",
    }


_TAG_RE = re.compile(r"<[^<>]+>")


def plain_text(markup: str) -> str:
    """The HTML of a message as a terminal shows it."""
    return html.unescape(_TAG_RE.sub("", markup))
