"""Texts of the public faces of petitions: the Open311 GeoReport v2 API (service names, notices,
error descriptions) and the page of published answers (``/cong-khai``).

They live under ``handlers/`` because that is where the gettext catalogs are extracted from; the
web modules (``bot/web/open311/``, ``bot/web/publication.py``) call these functions inside
``i18n.context()`` and ``i18n.use_locale(...)``. Everything here is plain text: the page escapes
it (and every value put into it) before it becomes HTML.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from knowledge.petitions import Problem, RequestKind

# --- Open311: services ------------------------------------------------------------------------


def centre_service_name() -> str:
    return _("Service at a public service centre")


def centre_service_description() -> str:
    return _(
        "How dossiers are received and results returned at a public service centre or one-stop "
        "office: waiting times, conduct of the staff, requests for documents the rules do not ask for."
    )


def other_service_name() -> str:
    return _("Other administrative regulation")


def other_service_description() -> str:
    return _("Petitions about an administrative regulation that fits none of the other services.")


def sector_service_description(sector: str) -> str:
    return _(
        "Petitions about the administrative regulations and procedures of the sector “{sector}”."
    ).format(sector=sector)


def group_public_service() -> str:
    return _("Public service centres")


def group_other() -> str:
    return _("Other petitions")


def procedure_attribute_description() -> str:
    return _("Code of the administrative procedure the petition is about (optional)")


def procedure_attribute_datatype() -> str:
    return _("A national procedure code such as 1.001193, with or without a province suffix")


# --- Open311: requests ------------------------------------------------------------------------


def submitted_notice(answer_by: str, page_url: str) -> str:
    return _(
        "The petition was received. The agency answers by {date}; the answer is published with "
        "personal data removed at {url}."
    ).format(date=answer_by, url=page_url)


def open_notice(answer_by: str) -> str:
    return _("To be answered by {date}.").format(date=answer_by)


def published_notice(page_url: str) -> str:
    return _("The answer is published at {url}.").format(url=page_url)


def status_note(status: str) -> str | None:
    """The status note of a petition without a public answer or refusal reason."""
    notes = {
        "received": _("Received; waiting to be handled."),
        "in_progress": _("Being handled by the agency."),
        "info_requested": _("The agency asked the sender for more information."),
        "answered": _("Answered; the answer is being prepared for publication."),
    }
    return notes.get(status)


def refusal_note(reason: str) -> str:
    return _("Not accepted: {reason}").format(reason=reason)


# --- Open311: errors --------------------------------------------------------------------------


def error_api_key_missing() -> str:
    return _("api_key is required to submit a petition.")


def error_api_key_invalid() -> str:
    return _("The api_key is unknown, revoked or not allowed to submit petitions (scope open311).")


def error_too_many_requests() -> str:
    return _("Too many requests; wait a moment and try again.")


def error_body_too_large(limit: int) -> str:
    return _("The request body exceeds {limit} bytes.").format(limit=limit)


def error_media_type() -> str:
    return _(
        "Send the fields form-encoded (application/x-www-form-urlencoded) or as a JSON object "
        "(application/json); attach media as a link in media_url."
    )


def error_bad_body() -> str:
    return _("The request body is not valid UTF-8 form data or a JSON object.")


def error_field_type(field: str) -> str:
    return _("The field {field} must be text.").format(field=field)


def error_service_code_missing() -> str:
    return _("service_code is required; see services.json for the codes.")


def error_service_unknown(code: str) -> str:
    return _("There is no service with the code “{code}”; see services.json.").format(code=code)


def error_location() -> str:
    return _("lat and long must be given together, as decimal degrees (-90 to 90, -180 to 180).")


def error_media_url() -> str:
    return _("media_url must be an http or https link of at most 512 characters.")


def error_procedure_unknown(code: str) -> str:
    return _("There is no procedure with the code “{code}” (attribute[procedure_code]).").format(
        code=code
    )


def error_procedure_sector(code: str, sector: str, service_code: str) -> str:
    return _(
        "Procedure {code} belongs to the sector “{sector}”: use the service_code “{service}”."
    ).format(code=code, sector=sector, service=service_code)


def error_idempotency_key() -> str:
    return _("The Idempotency-Key header must be 1 to 100 visible ASCII characters.")


def error_idempotency_conflict() -> str:
    return _("This Idempotency-Key was already used for a different petition.")


def error_request_id(value: str) -> str:
    return _("“{value}” is not a tracking code such as PAKN-2026-000123.").format(value=value)


def error_too_many_ids(limit: int) -> str:
    return _("Ask for at most {limit} service_request_id values at once.").format(limit=limit)


def error_date(field: str) -> str:
    return _(
        "{field} must be an ISO 8601 date or date-time, such as 2026-03-01 or "
        "2026-03-01T08:00:00+07:00."
    ).format(field=field)


def error_date_order() -> str:
    return _("end_date is before start_date.")


def error_status() -> str:
    return _("status must be open or closed.")


def error_request_not_found(code: str) -> str:
    return _("There is no petition with the code {code}.").format(code=code)


def error_not_found() -> str:
    return _(
        "Unknown path or method. The API offers GET services.json, GET services/{code}.json, "
        "GET and POST requests.json and GET requests/{id}.json under /open311/v2/."
    )


def error_internal() -> str:
    return _("The server failed to handle the request; try again later.")


def problem_description(problem: Problem) -> str:
    """What is wrong with one field of a submitted petition (``validate_petition`` codes)."""
    texts = {
        "content_empty": _("description is required: what is the problem and what do you propose?"),
        "content_too_long": _("description is too long: at most 5,000 characters."),
        "content_unclear": _(
            "description must be written in words, not only symbols or repeated characters."
        ),
        "content_too_short": _("description is too short: at least 20 characters and 4 words."),
        "content_not_vietnamese": _("description must be written in Vietnamese."),
        "name_missing": _("first_name and last_name are required: the sender's full name."),
        "name_invalid": _(
            "first_name and last_name must form a full name of 2 to 100 letters, at least two words."
        ),
        "phone_invalid": _("phone is not a Vietnamese phone number (e.g. 0912 345 678)."),
        "email_invalid": _("email is not a valid e-mail address."),
        "contact_missing": _("phone or email is required so that the agency can reach the sender."),
        "address_missing": _("address_string is required: the sender's address."),
        "address_too_short": _("address_string is too short: at least 10 characters."),
        "address_too_long": _("address_string is too long: at most 300 characters."),
        "address_invalid": _("address_string must contain words, not only numbers."),
    }
    return texts.get(problem.code, _("{field} is invalid.").format(field=problem.field))


def out_of_scope_description(kind: RequestKind, matched: str | None) -> str:
    """Why a complaint, denunciation or legal-advice request is not accepted as a petition."""
    words = matched or ""
    if kind is RequestKind.COMPLAINT:
        return _(
            "This looks like a complaint (“{words}”), which is not a petition: send it to the "
            "agency or person whose administrative decision or act it is about, under the Law on "
            "Complaints. If it is feedback on a regulation or its handling, rephrase it."
        ).format(words=words)
    if kind is RequestKind.DENUNCIATION:
        return _(
            "This looks like a denunciation (“{words}”), which is not a petition: send it to the "
            "competent authority under the Law on Denunciations (for corruption, to the "
            "inspectorate or the police). If it is feedback on a regulation, rephrase it."
        ).format(words=words)
    return _(
        "This looks like a request for legal advice (“{words}”), which is not a petition: ask a "
        "state legal aid centre or a lawyer. If it is feedback on a regulation, rephrase it."
    ).format(words=words)


# --- the page of published answers ---------------------------------------------------------


def page_title() -> str:
    return _("Published answers to petitions")


def page_intro() -> str:
    return _(
        "Answers of the agencies to citizens' petitions about administrative regulations. The "
        "senders' personal data are removed before publication."
    )


def search_label() -> str:
    return _("Search by tracking code or words")


def search_placeholder() -> str:
    return _("e.g. PAKN-2026-000123 or birth registration")


def search_button() -> str:
    return _("Search the answers")


def count_all(count: int, formatted: str) -> str:
    return ngettext("{count} published answer", "{count} published answers", count).format(
        count=formatted
    )


def count_found(count: int, formatted: str, query: str) -> str:
    return ngettext(
        "{count} answer matches “{query}”", "{count} answers match “{query}”", count
    ).format(count=formatted, query=query)


def nothing_found(query: str) -> str:
    return _("No published answer matches “{query}”.").format(query=query)


def nothing_published() -> str:
    return _("No answer has been published yet.")


def label_code() -> str:
    return _("Petition tracking code")


def label_received() -> str:
    return _("Petition received on")


def label_published() -> str:
    return _("Answer published on")


def label_agency() -> str:
    return _("Answering agency")


def label_topic() -> str:
    return _("Petition topic")


def label_petition() -> str:
    return _("Content of the petition")


def label_answer() -> str:
    return _("Answer of the agency")


def read_more() -> str:
    return _("Read the whole answer")


def back_to_list() -> str:
    return _("Back to the published answers")


def previous_page() -> str:
    return _("Previous page of answers")


def next_page() -> str:
    return _("Next page of answers")


def page_of(page: str, pages: str) -> str:
    return _("Page {page} of {pages}").format(page=page, pages=pages)


def detail_not_found(code: str) -> str:
    return _("No published answer has the code {code}.").format(code=code)


def not_found_title() -> str:
    return _("Published answer not found")


def too_many_requests_page() -> str:
    return _("Too many requests; wait a moment and reload the page.")


def other_language_link() -> str:
    """The link to the page in the other language, written in that language (the English
    catalog says "Tiếng Việt", the Vietnamese one "English")."""
    return _("Other language")


def privacy_note() -> str:
    return _(
        "Phone numbers, e-mail addresses, ID numbers, house numbers and the senders' names are "
        "masked (***) in the published texts."
    )
