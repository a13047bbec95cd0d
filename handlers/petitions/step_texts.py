"""Texts of the petition form's steps: each step's question, the answers to what was typed or
sent at a step, and the explanations of a validation problem or a redirect (complaints,
denunciations, legal advice). A citizen's text is escaped before it goes into HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_number
from handlers.markup import quote, shorten
from knowledge.petitions import (
    ADDRESS_MAX_CHARS,
    ADDRESS_MIN_CHARS,
    CONTENT_MAX_CHARS,
    CONTENT_MIN_WORDS,
    Classification,
    Problem,
    RequestKind,
)

from .form_data import ADDRESS, CONTACT, CONTENT, FILES, NAME, TOPIC, FormData, steps_for
from .labels import file_label, topic_label
from .rules import MAX_FILE_BYTES, MAX_FILES


def step_line(step: str, channel: str) -> str:
    steps = steps_for(channel)
    number = steps.index(step) + 1 if step in steps else len(steps)
    return (
        "<i>"
        + _("Step {step} of {total}").format(
            step=format_number(number), total=format_number(len(steps))
        )
        + "</i>"
    )


def ask_topic_text(channel: str) -> str:
    return "\n\n".join(
        [
            step_line(TOPIC, channel),
            "<b>" + _("What is your feedback about?") + "</b>",
            _(
                "Type the name of the administrative procedure (for example “đăng ký khai sinh”) "
                "and pick it from the list, or choose one of the options below."
            ),
        ]
    )


def topic_results_text(query: str, count: int, channel: str) -> str:
    if count:
        body = _("Procedures matching “{query}”: tap the one your feedback is about.").format(
            query=quote(shorten(query, 80))
        )
    else:
        body = _(
            "I found no procedure matching “{query}”. Try other words, or choose one of the "
            "options below."
        ).format(query=quote(shorten(query, 80)))
    return step_line(TOPIC, channel) + "\n\n" + body


def topic_chosen_line(form: FormData) -> str:
    return _("Topic: {topic}").format(
        topic="<b>" + quote(topic_label(form.topic_kind, form.topic)) + "</b>"
    )


def ask_content_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(CONTENT, channel),
        topic_chosen_line(form),
        "<b>" + _("Describe your feedback") + "</b>",
        _(
            "In one message, in Vietnamese: what happened (where and when), what the problem "
            "with the procedure or regulation is, and what you propose. At least {words} words, "
            "at most {limit} characters."
        ).format(words=format_number(CONTENT_MIN_WORDS), limit=format_number(CONTENT_MAX_CHARS)),
    ]
    if form.content:
        parts.append(
            _("Your current text (send a new one to replace it):")
            + "\n<i>"
            + quote(shorten(form.content, 300))
            + "</i>"
        )
    return "\n\n".join(parts)


def ask_files_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(FILES, channel),
        "<b>" + _("Photos or documents (optional)") + "</b>",
        _(
            "You can attach up to {count} photos or files (JPG, PNG, PDF, DOC(X), XLS(X), up to "
            "{size} MB each). Send them now, or skip this step."
        ).format(
            count=format_number(MAX_FILES), size=format_number(MAX_FILE_BYTES // (1024 * 1024))
        ),
    ]
    if form.files:
        parts.append(attached_list(form.files))
    return "\n\n".join(parts)


def attached_list(files: Sequence[dict[str, Any]]) -> str:
    lines = [
        _("Attached ({count} of {limit}):").format(
            count=format_number(len(files)), limit=format_number(MAX_FILES)
        )
    ]
    lines += [f"{format_number(i)}. {quote(file_label(f))}" for i, f in enumerate(files, 1)]
    return "\n".join(lines)


def file_added_text(files: Sequence[dict[str, Any]]) -> str:
    text = "📎 " + attached_list(files)
    if len(files) < MAX_FILES:
        text += "\n\n" + _("Send more, or tap “Done”.")
    return text


def files_text_hint() -> str:
    return _("Please send a photo or a file, or tap the button below to continue without one.")


def attachment_problem_text(code: str) -> str:
    if code == "too_many":
        return _("You have already attached {count} files, the most a petition can have.").format(
            count=format_number(MAX_FILES)
        )
    if code == "too_big":
        return _("This file is larger than {size} MB. Please send a smaller file.").format(
            size=format_number(MAX_FILE_BYTES // (1024 * 1024))
        )
    return _(
        "I cannot attach this kind of file. Please send photos or files in JPG, PNG, PDF, "
        "DOC(X) or XLS(X) format, up to {size} MB each."
    ).format(size=format_number(MAX_FILE_BYTES // (1024 * 1024)))


def ask_name_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(NAME, channel),
        "<b>" + _("Your full name") + "</b>",
        _("As on your ID card, for example Nguyễn Văn An. The agency needs it to answer you."),
    ]
    if form.name:
        parts.append(_("Now: {value}").format(value=quote(form.name)))
    return "\n\n".join(parts)


def ask_contact_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(CONTACT, channel),
        "<b>" + _("Your phone number or e-mail") + "</b>",
        _("Type a Vietnamese phone number (for example 0912 345 678) or an e-mail address."),
    ]
    if channel == "telegram":
        parts.append(_("Or tap “Share my phone number” below."))
    if form.phone or form.email:
        parts.append(_("Now: {value}").format(value=quote(form.phone or form.email or "")))
    parts.append(
        "🔐 " + _("Only the agency handling your petition sees it; it is never published.")
    )
    return "\n\n".join(parts)


def contact_saved_text(value: str) -> str:
    return _("✅ Contact saved: {value}").format(value=quote(value))


def not_own_contact_text() -> str:
    return _("Please share your own phone number with the button, not someone else's contact.")


def ask_address_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(ADDRESS, channel),
        "<b>" + _("Your address") + "</b>",
        _(
            "House number, street, ward or commune, district, province — where the agency can "
            "send you a written answer."
        ),
    ]
    if form.address:
        parts.append(_("Now: {value}").format(value=quote(form.address)))
    return "\n\n".join(parts)


def text_expected() -> str:
    return _("Please type your answer as text.")


def photo_too_early_text() -> str:
    return _(
        "Please type the requested information first; you can attach photos and files in a later step."
    )


def files_step_passed_text(*, at_review: bool) -> str:
    """A photo or a file sent after the attachments step: say how to add it (never "later")."""
    if at_review:
        return _("To add photos or files, tap “Edit a field”, then “Attachments”.")
    return _(
        "Please type the requested information first. You can add photos and files when you "
        "check your petition at the end: “Edit a field”, then “Attachments”."
    )


def review_hint_text() -> str:
    return _("Please use the buttons: submit the petition, edit a field, or cancel.")


def edit_prompt_text() -> str:
    return _("Which field do you want to change?")


def problem_text(problem: Problem) -> str:
    """A helpful explanation of one validation problem (knowledge.petitions codes)."""
    code = problem.code
    if code == "content_empty":
        return _("Your message has no text. Please describe your feedback in words.")
    if code == "content_too_long":
        return _("Your text is too long. Please keep it under {limit} characters.").format(
            limit=format_number(CONTENT_MAX_CHARS)
        )
    if code == "content_unclear":
        return _(
            "I could not read a clear content in your message. Please describe in words what "
            "happened and what you propose."
        )
    if code == "content_too_short":
        return _(
            "Please describe it in a little more detail (at least {words} words): what "
            "happened, where, and what you propose."
        ).format(words=format_number(CONTENT_MIN_WORDS))
    if code == "content_not_vietnamese":
        return _(
            "Petitions are received in Vietnamese only. Please write your text in Vietnamese "
            "(typing without accents is fine)."
        )
    if code in ("name_missing", "name_invalid"):
        return _(
            "Please type your full name: at least two words, letters only, for example "
            "Nguyễn Văn An."
        )
    if code == "phone_invalid":
        return _(
            "This is not a valid Vietnamese phone number. Please type a number such as "
            "0912 345 678, or an e-mail address."
        )
    if code == "email_invalid":
        return _(
            "This e-mail address does not look right. Please check it, or type a phone number "
            "instead."
        )
    if code == "contact_missing":
        return _("Please type a phone number or an e-mail address.")
    if code == "address_too_long":
        return _("The address is too long. Please keep it under {limit} characters.").format(
            limit=format_number(ADDRESS_MAX_CHARS)
        )
    return _(
        "Please type your full address (house number, street, ward or commune, district, "
        "province), at least {count} characters."
    ).format(count=format_number(ADDRESS_MIN_CHARS))


def redirect_text(classification: Classification) -> str:
    """Why a complaint, a denunciation or a legal-advice request is not taken as a petition,
    and where to go instead (Decree 20/2008, as amended by Decree 92/2017)."""
    words = quote(shorten(classification.matched or "", 60))
    if classification.kind is RequestKind.COMPLAINT:
        head = _("⚖️ Your text looks like a complaint (khiếu nại): you wrote “{words}”.").format(
            words=words
        )
        where = _(
            "A complaint about a decision or an act of an agency or an official follows the Law "
            "on Complaints (Luật Khiếu nại), not the petition procedure. Please send it in "
            "writing, or bring it in person, to the citizen reception office (Ban tiếp công dân) "
            "of the agency that made the decision or employs the official."
        )
    elif classification.kind is RequestKind.DENUNCIATION:
        head = _("⚖️ Your text looks like a denunciation (tố cáo): you wrote “{words}”.").format(
            words=words
        )
        where = _(
            "Reporting a violation of the law by an official follows the Law on Denunciations "
            "(Luật Tố cáo), not the petition procedure. Please send it to the citizen reception "
            "office (Ban tiếp công dân) or the inspectorate (thanh tra) of the agency that "
            "manages the person concerned. Your identity is protected by that law."
        )
    else:
        head = _("⚖️ Your text looks like a request for legal advice: you wrote “{words}”.").format(
            words=words
        )
        where = _(
            "Agencies do not give legal advice through petitions. For free legal aid, please "
            "contact the state legal aid centre (Trung tâm trợ giúp pháp lý nhà nước) or the "
            "Department of Justice (Sở Tư pháp) of your province."
        )
    return "\n\n".join(
        [
            head,
            where,
            _(
                "Your text was not sent. If your feedback is about an administrative procedure "
                "or regulation, or the service you received, tap “Rewrite my text” and describe "
                "it that way."
            ),
        ]
    )
