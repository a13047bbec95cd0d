"""HTML rendering of procedure cards and search results, split into Telegram-sized pages.

Everything from the catalog is escaped here. A card is built as sections of lines; each line is
a sequence of styled spans whose tags open and close on the same line, so a page break between
lines can never cut a tag or an entity. Lengths are measured both on the raw HTML and on the
visible text (UTF-16 code units, as Telegram counts them), and every page stays under both limits.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_date, format_duration, format_number
from handlers.markup import quote, shorten, text_length
from knowledge.models import Channel, Document, Procedure
from knowledge.workdays import expected_return_date

CARD_PAGE_BUDGET = 3500
"""Target size of one card page: under the limit with room to spare, and easier to read."""

_TOKEN_RE = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    style: str | None = None  # None, "b", "i", "code" or "a"
    href: str | None = None

    def html(self) -> str:
        body = quote(self.text)
        if self.style is None or not self.text:
            return body
        if self.style == "a":
            return f'<a href="{html.escape(self.href or "", quote=True)}">{body}</a>'
        return f"<{self.style}>{body}</{self.style}>"

    def overhead(self) -> int:
        """Characters the tags add around the escaped text."""
        return text_length(self.html()) - text_length(quote(self.text))


Line = tuple[Span, ...]
Item = tuple[Line, ...]  # lines kept together on one page when possible


def line_html(line: Line) -> str:
    return "".join(span.html() for span in line)


def line_plain(line: Line) -> str:
    return "".join(span.text for span in line)


def _line(*parts: str | Span) -> Line:
    return tuple(p if isinstance(p, Span) else Span(p) for p in parts if p)


@dataclass(slots=True)
class Section:
    heading: Line | None
    items: list[Item] = field(default_factory=list)


# --- splitting ------------------------------------------------------------------------------


def _split_line(line: Line, budget: int) -> list[Line]:
    """Break one over-long line into lines that fit `budget`, at word boundaries when possible."""
    pieces: list[Span] = []
    for span in line:
        for token in _TOKEN_RE.findall(span.text):
            # A "word" longer than a third of the budget (a URL, a pasted blob) is cut hard.
            step = max(1, budget // 3)
            for start in range(0, len(token), step):
                pieces.append(Span(token[start : start + step], span.style, span.href))
    out: list[Line] = []
    current: list[Span] = []
    plain = html_len = 0
    for piece in pieces:
        same_style = bool(current) and (current[-1].style, current[-1].href) == (
            piece.style,
            piece.href,
        )
        add_plain = text_length(piece.text)
        add_html = text_length(quote(piece.text)) + (0 if same_style else piece.overhead())
        if current and (plain + add_plain > budget or html_len + add_html > budget):
            out.append(_merge(current))
            current, plain, html_len = [], 0, 0
            add_html = text_length(quote(piece.text)) + piece.overhead()
        current.append(piece)
        plain += add_plain
        html_len += add_html
    if current:
        out.append(_merge(current))
    return out


def _merge(spans: list[Span]) -> Line:
    """Join neighbouring spans of the same style so the HTML stays compact."""
    merged: list[Span] = []
    for span in spans:
        if merged and (merged[-1].style, merged[-1].href) == (span.style, span.href):
            merged[-1] = Span(merged[-1].text + span.text, span.style, span.href)
        else:
            merged.append(span)
    return tuple(merged)


def _fits(lines: Sequence[Line], budget: int) -> bool:
    return (
        text_length("\n".join(line_plain(x) for x in lines)) <= budget
        and text_length("\n".join(line_html(x) for x in lines)) <= budget
    )


def paginate(sections: Iterable[Section], budget: int = CARD_PAGE_BUDGET) -> list[list[Line]]:
    """Pack sections into pages of at most `budget` characters (visible and HTML alike).

    A heading always travels with its first item; sections are separated by a blank line that is
    dropped at the top of a page.
    """
    chunks: list[tuple[bool, list[Line]]] = []  # (starts a section, lines)
    for section in sections:
        items = list(section.items) or [()]
        first = ([section.heading] if section.heading else []) + list(items[0])
        chunks.append((True, first))
        chunks.extend((False, list(item)) for item in items[1:])

    pages: list[list[Line]] = []
    page: list[Line] = []
    for starts_section, lines in chunks:
        if not lines:
            continue
        candidate = page + ([()] if starts_section and page else []) + lines
        if _fits(candidate, budget):
            page = candidate
            continue
        if page:
            pages.append(page)
            page = []
        if _fits(lines, budget):
            page = list(lines)
            continue
        # The chunk alone is too big: break its lines, filling pages one line at a time.
        for raw in lines:
            for part in _split_line(raw, budget) if not _fits([raw], budget) else [raw]:
                if page and not _fits(page + [part], budget):
                    pages.append(page)
                    page = []
                page.append(part)
    if page:
        pages.append(page)
    return pages or [[()]]


def render_lines(lines: Sequence[Line]) -> str:
    return "\n".join(line_html(x) for x in lines).strip("\n")


# --- the procedure card ---------------------------------------------------------------------


def channel_label(kind: str) -> str:
    if kind == "direct":
        return _("In person")
    if kind == "online":
        return _("Online")
    if kind == "postal":
        return _("By post")
    return kind


def channel_time(channel: Channel) -> str:
    if channel.time_value is not None:
        formatted = format_duration(channel.time_value, channel.time_unit)
        if formatted:
            return formatted
    raw = channel.time_limit.strip()
    if re.fullmatch(r"\d+(?:[.,]\d+)?", raw):
        # A bare number: the published record lost its unit; say so rather than guess.
        return _("{value} (unit not stated in the catalog)").format(value=raw)
    return raw or _("not published")


def _meaningful_quantity(quantity: str) -> bool:
    """ "0 bản chính" marks notes the portal lists among documents: no quantity to show."""
    digits = re.findall(r"\d+", quantity)
    return bool(quantity.strip()) and not (digits and all(int(d) == 0 for d in digits))


def _safe_url(url: str) -> str | None:
    url = url.strip()
    return url if re.match(r"^https?://[^\s<>\"']+$", url) else None


def portal_url(procedure: Procedure) -> str | None:
    return _safe_url(procedure.portal_url)


def _title_section(p: Procedure) -> Section:
    items: list[Item] = [
        (_line("📋 ", Span(p.name, "b")),),
        (_line(_("Procedure code: "), Span(p.code, "code")),),
    ]
    if p.sector:
        items.append((_line(_("Sector: "), p.sector),))
    if p.levels:
        items.append((_line(_("Level: "), ", ".join(p.levels)),))
    if p.audience:
        items.append((_line(_("Who can apply: "), shorten(p.audience, 600)),))
    if p.channels:  # without channel data the catalog says nothing either way
        online = _("yes") if p.channel("online") else _("no")
        postal = _("yes") if p.channel("postal") else _("no")
        items.append(
            (
                _line(
                    _("🌐 Online: {online} · ✉️ By post: {postal}").format(
                        online=online, postal=postal
                    )
                ),
            )
        )
    return Section(None, items)


_NOTE_PREFIXES = ("trường hợp", "lưu ý", "ghi chú", "+", "-", "*", "(*)", "đối với trường hợp")


def _is_note(doc: Document) -> bool:
    """The portal's document tables also hold notes ("Trường hợp ... thì ...", "+ ..."), usually
    with a quantity of 0: they are conditions to read, not papers to count."""
    name = doc.name.strip().lower()
    zero = bool(doc.quantity.strip()) and not _meaningful_quantity(doc.quantity)
    return zero or name.startswith(_NOTE_PREFIXES)


def _documents_section(p: Procedure) -> Section:
    section = Section(_line(Span(_("📎 Documents to bring"), "b")))
    if not p.documents:
        section.items.append(
            (_line(_("The catalog does not list the documents for this procedure.")),)
        )
        return section
    papers = [d for d in p.documents if not _is_note(d)] or list(p.documents)
    notes = [d for d in p.documents if _is_note(d) and d not in papers]
    show_groups = len({d.group for d in papers}) > 1
    last_group: str | None = None
    for number, doc in enumerate(papers, 1):
        if show_groups and doc.group != last_group and doc.group:
            section.items.append((_line(Span(doc.group, "i")),))
        last_group = doc.group
        lines: list[Line] = [_line(f"{format_number(number)}. ", doc.name)]
        if _meaningful_quantity(doc.quantity):
            lines.append(_line("    ", _("Quantity: {quantity}").format(quantity=doc.quantity)))
        if doc.template:
            lines.append(_line("    ", _("Form: "), Span(doc.template, "i")))
        section.items.append(tuple(lines))
    if notes:
        section.items.append((_line(Span(_("Notes on the documents:"), "i")),))
        for doc in notes:
            section.items.append((_line("• ", doc.name.lstrip("+-* ")),))
    return section


def _steps_section(p: Procedure) -> Section:
    section = Section(_line(Span(_("🪜 Steps"), "b")))
    if not p.steps:
        section.items.append((_line(_("The catalog does not describe the steps.")),))
    steps = [s.strip() for s in p.steps if s.strip()]
    # When the catalog numbers its own steps ("Bước 1: ...") its sub-items stay bullets:
    # inventing numbers for them would contradict the catalog's.
    numbered = any(s.lower().startswith(("bước", "step")) for s in steps)
    for i, step in enumerate(steps, 1):
        if step.lower().startswith(("bước", "step")):
            section.items.append((_line(step),))
        elif numbered:
            section.items.append((_line("• ", step),))
        else:
            section.items.append((_line(_("Step {n}: ").format(n=format_number(i)), step),))
    return section


def expected_return_line(channel: Channel, submitted: datetime) -> str | None:
    """ "If you submit today, the result is expected on 12/03/2026" (working days and public
    holidays counted), or None when the time limit has no usable unit."""
    due = expected_return_date(submitted, channel.time_value, channel.time_unit)
    if due is None:
        return None
    return _("Submitted today, the result is expected on {date}.").format(date=format_date(due))


def _channels_section(p: Procedure, now: datetime | None = None) -> Section:
    section = Section(_line(Span(_("⏱ How to apply, time limit and fees"), "b")))
    order = {"direct": 0, "online": 1, "postal": 2}
    submitted = now or datetime.now(UTC)
    for ch in sorted(p.channels, key=lambda c: order.get(c.kind, 9)):
        lines: list[Line] = [_line("• ", Span(channel_label(ch.kind), "b"))]
        lines.append(_line("    ", _("Time limit: {time}").format(time=channel_time(ch))))
        expected = expected_return_line(ch, submitted)
        if expected:
            lines.append(_line("    ", Span(expected, "i")))
        fee = ch.fee.strip() or _("not published")
        lines.append(_line("    ", _("Fees: {fee}").format(fee=fee)))
        if ch.description.strip():
            lines.append(_line("    ", Span(shorten(ch.description, 500), "i")))
        section.items.append(tuple(lines))
    if not p.channels:
        section.items.append((_line(_("The catalog does not list how to apply.")),))
        return section
    if p.channel("online"):
        section.items.append((_line(_("✅ You can apply online.")),))
    else:
        section.items.append((_line(_("❌ This procedure cannot be done online.")),))
    if p.channel("postal"):
        section.items.append(
            (_line(_("✅ You can send the dossier or receive the result by post.")),)
        )
    else:
        section.items.append((_line(_("❌ The catalog does not offer this procedure by post.")),))
    return section


def _agency_section(p: Procedure) -> Section | None:
    items: list[Item] = []
    for agency in p.agencies:
        items.append((_line("• ", agency),))
    if p.competent_agency and p.competent_agency not in p.agencies:
        items.append((_line(_("Competent agency: "), p.competent_agency),))
    if p.receiving_address:
        items.append((_line(_("📍 Where to submit: "), shorten(p.receiving_address, 800)),))
    if not items:
        return None
    return Section(_line(Span(_("🏛 Agency"), "b")), items)


def _conditions_section(p: Procedure) -> Section | None:
    if not p.conditions.strip():
        return None
    return Section(_line(Span(_("📌 Conditions"), "b")), [(_line(shorten(p.conditions, 1500)),)])


def _legal_section(p: Procedure) -> Section | None:
    if not p.legal_basis:
        return None
    section = Section(_line(Span(_("⚖️ Legal basis"), "b")))
    for basis in p.legal_basis:
        title = basis.title.strip()
        if basis.number and basis.number not in title:
            section.items.append((_line("• ", Span(basis.number, "b"), " — ", title),))
        else:
            section.items.append((_line("• ", title or basis.number),))
    return section


def _results_section(p: Procedure) -> Section | None:
    if not p.results:
        return None
    return Section(_line(Span(_("📄 Result"), "b")), [(_line("• ", r),) for r in p.results])


def _portal_section(p: Procedure) -> Section | None:
    url = portal_url(p)
    if url is None:
        return None
    return Section(
        None, [(_line("🔗 ", Span(_("Open on the National Public Service Portal"), "a", url)),)]
    )


def card_sections(p: Procedure, now: datetime | None = None) -> list[Section]:
    sections = [
        # what citizens ask first: how long, how much, where; then what to bring and the steps
        _title_section(p),
        _channels_section(p, now),
        _agency_section(p),
        _documents_section(p),
        _steps_section(p),
        _conditions_section(p),
        _results_section(p),
        _legal_section(p),
        _portal_section(p),
    ]
    return [s for s in sections if s is not None]


def _continuation_header(p: Procedure, page: int, total: int) -> str:
    label = _("page {current}/{total}").format(
        current=format_number(page), total=format_number(total)
    )
    return line_html(_line(Span(shorten(p.name, 80), "b"), " ", Span("(" + label + ")", "i")))


def render_card_pages(
    p: Procedure, budget: int = CARD_PAGE_BUDGET, *, now: datetime | None = None
) -> list[str]:
    """The card of one procedure as HTML pages, each within Telegram's limits; expected return
    dates count from `now` (default: the current time)."""
    reserve = text_length(_continuation_header(p, 999, 999)) + 2
    pages = paginate(card_sections(p, now), budget - reserve)
    rendered = []
    for i, lines in enumerate(pages):
        body = render_lines(lines)
        if i > 0:
            body = _continuation_header(p, i + 1, len(pages)) + "\n\n" + body
        rendered.append(body)
    return rendered


# --- search results -------------------------------------------------------------------------


def _echo(query: str) -> str:
    return quote(shorten(query, 100))


def truncation_note(max_chars: int) -> str:
    return _("Your message is long, so I searched with its first {count} characters only.").format(
        count=format_number(max_chars)
    )


def _procedure_list(
    heading: str, procedures: Sequence[Procedure], *, truncated_to: int | None = None
) -> str:
    lines = [heading, ""]
    for i, p in enumerate(procedures, 1):
        meta = " · ".join(x for x in (", ".join(p.levels), p.sector) if x)
        lines.append(f"{format_number(i)}. <b>{quote(shorten(p.name, 250))}</b>")
        lines.append(
            "    <code>{code}</code>{meta}".format(
                code=quote(p.code), meta=(" · " + quote(shorten(meta, 120))) if meta else ""
            )
        )
    lines.append("")
    lines.append(_("Tap a procedure below to see the documents, steps, time limit and fees."))
    if truncated_to:
        lines.append("")
        lines.append("<i>" + quote(truncation_note(truncated_to)) + "</i>")
    return "\n".join(lines)


def case_label(case: str) -> str:
    """A sibling's case as a button says it (the plain member: "the usual case")."""
    case = case.strip()
    return case[:1].upper() + case[1:] if case else _("The usual case")


def render_results(
    query: str,
    procedures: Sequence[Procedure],
    *,
    truncated_to: int | None = None,
    cases: Sequence[str] = (),
) -> str:
    """The results; with ``cases`` (the first results are variants of one procedure, see
    ``siblings.py``) the heading asks which case is the citizen's."""
    heading = _("🔎 Procedures matching “{query}”:").format(query=_echo(query))
    if cases:
        which = " / ".join(quote(case_label(c)) for c in cases)
        heading += "\n" + _("🔀 Which is your case? {cases}").format(cases=which)
    return _procedure_list(heading, procedures, truncated_to=truncated_to)


def render_maybe(
    query: str, procedures: Sequence[Procedure], *, truncated_to: int | None = None
) -> str:
    """Candidates the search is not sure of: asked as a question, not shown as an answer."""
    heading = _("🤔 I am not sure what “{query}” is about. Did you mean one of these?").format(
        query=_echo(query)
    )
    return _procedure_list(heading, procedures, truncated_to=truncated_to)


def search_examples() -> str:
    return "\n".join(
        [
            _("You can ask in your own words, for example:"),
            "• " + quote(_("“register a birth for my child”")),
            "• " + quote(_("“lost my land use certificate”")),
            "• " + quote(_("“renew driving licence”")),
            "• " + _("a procedure code, e.g. <code>1.001193</code>"),
        ]
    )


def render_no_results(
    query: str, suggestions: Sequence[str], *, truncated_to: int | None = None
) -> str:
    parts = [_("😔 I could not find a procedure for “{query}”.").format(query=_echo(query))]
    if suggestions:
        parts.append(_("Did you mean one of these? Tap to search again."))
    parts.append(search_examples())
    if truncated_to:
        parts.append("<i>" + quote(truncation_note(truncated_to)) + "</i>")
    return "\n\n".join(parts)
