"""Every text of the officials' inbox web page (``bot/web/inbox/``), in the current locale.

They live under ``handlers/`` so that the catalog sync extracts them with the dialogs' texts.
Plain text, not HTML: the page escapes them (placeholders are filled with escaped values there).
The page calls :func:`texts` (and the label functions) inside ``I18n.context()`` and
``use_locale(...)``: Vietnamese by default, English with ``?lang=en``.

Officials read these, so the Vietnamese is the administrative register ("đồng chí" is not used;
the page speaks neutrally), while the answers they write go to citizens.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

# Language names are written in their own language, never translated.
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


@dataclass(frozen=True)
class InboxTexts:
    app_title: str
    signed_in_as: str  # {name}, {agency}
    official_fallback: str  # {id}
    sign_out: str
    nav_petitions: str
    nav_misses: str
    # sign-in
    login_title: str
    login_intro: str
    login_button: str
    login_note: str
    link_invalid_title: str
    link_invalid_text: str
    not_signed_in_title: str
    not_signed_in_text: str
    signed_out_title: str
    signed_out_text: str
    too_many_title: str
    too_many_text: str
    forbidden_title: str
    forbidden_text: str
    not_found_title: str
    not_found_text: str
    error_title: str
    error_text: str
    # list
    list_heading: str  # {agency}
    filter_status: str
    filter_all_statuses: str
    filter_open: str
    filter_search: str
    filter_search_hint: str
    filter_from: str
    filter_to: str
    filter_due: str
    filter_due_any: str
    filter_due_overdue: str
    filter_due_soon: str
    filter_apply: str
    filter_clear: str
    export_csv: str
    bad_date: str  # {value}
    bad_range: str
    search_too_long: str  # {max}
    no_results: str
    page_of: str  # {page}, {pages}
    previous_page: str
    next_page: str
    col_code: str
    col_received: str
    col_topic: str
    col_status: str
    col_deadline: str
    col_assigned: str
    not_assigned: str
    summary_open: str  # {count}
    summary_overdue: str  # {count}
    # detail
    petition_heading: str  # {code}
    back_to_list: str
    section_petition: str
    section_sender: str
    section_deadlines: str
    section_attachments: str
    section_history: str
    section_actions: str
    personal_data_note: str
    field_status: str
    field_received: str
    field_source: str
    field_topic_kind: str
    field_topic: str
    field_procedure: str
    field_sector: str
    field_content: str
    field_name: str
    field_phone: str
    field_email: str
    field_address: str
    field_location: str
    field_assigned: str
    field_answer: str
    field_refusal_reason: str
    field_taken: str
    field_answered: str
    field_published: str
    field_refused: str
    field_public_content: str
    field_public_answer: str
    deadline_refuse: str
    deadline_info: str
    deadline_answer: str
    deadline_publish: str
    attachment_name: str
    attachment_type: str
    attachment_size: str
    attachment_unnamed: str
    attachment_open: str
    no_attachments: str
    attachments_note: str
    history_when: str
    history_what: str
    history_who: str
    history_note: str
    actor_citizen: str
    actor_system: str
    action_take_title: str
    action_take_button: str
    action_info_title: str
    action_info_button: str
    action_answer_title: str
    action_answer_button: str
    action_refuse_title: str
    action_refuse_button: str
    action_publish_title: str
    action_publish_preview: str
    action_publish_button: str
    no_actions: str
    text_limit: str  # {max}
    # results of actions
    done_take: str
    done_info: str
    done_answer: str
    done_refuse: str
    done_publish: str
    error_empty_text: str
    error_too_long: str  # {max}
    error_wrong_status: str  # {status}
    error_not_allowed: str
    # export
    export_too_many: str  # {count}, {max}


def texts() -> InboxTexts:
    """All fixed texts of the page in the current locale."""
    return InboxTexts(
        **_page_texts(),
        **_sign_in_texts(),
        **_list_texts(),
        **_detail_texts(),
        **_result_texts(),
    )


def _page_texts() -> dict[str, str]:
    """The header of every page."""
    return dict(
        app_title=_("Petition inbox"),
        signed_in_as=_("Signed in as {name}, {agency}"),
        official_fallback=_("official no. {id}"),
        sign_out=_("Sign out"),
        nav_petitions=_("Petitions"),
        nav_misses=_("Unanswered questions"),
    )


def _sign_in_texts() -> dict[str, str]:
    """Signing in and out, and the pages that refuse a request."""
    return dict(
        login_title=_("Sign in to the petition inbox"),
        login_intro=_(
            "You opened a sign-in link that the assistant sent you in the chat. Press the button "
            "to sign in on this device."
        ),
        login_button=_("Sign in"),
        login_note=_(
            "The link works once and only for a few minutes. If you did not ask for it, close "
            "this page."
        ),
        link_invalid_title=_("This sign-in link cannot be used"),
        link_invalid_text=_(
            "The link has already been used, has expired or is incomplete. Send /inbox to the "
            "assistant in the chat to get a new link."
        ),
        not_signed_in_title=_("Please sign in"),
        not_signed_in_text=_(
            "You are not signed in, or your session has ended. Send /inbox to the assistant in "
            "the chat to get a sign-in link."
        ),
        signed_out_title=_("You have signed out"),
        signed_out_text=_("To sign in again, send /inbox to the assistant in the chat."),
        too_many_title=_("Too many attempts"),
        too_many_text=_("Wait a minute, then try again."),
        forbidden_title=_("The form could not be accepted"),
        forbidden_text=_(
            "The page was open for too long or the form came from another site. Reload the page "
            "and try again."
        ),
        not_found_title=_("Petition not found"),
        not_found_text=_("There is no petition with this code in your agency's inbox."),
        error_title=_("Something went wrong"),
        error_text=_("Nothing was changed. Please try again in a moment."),
    )


def _list_texts() -> dict[str, str]:
    """The list of petitions: filters, columns, counts."""
    return dict(
        list_heading=_("Petitions of {agency}"),
        filter_status=_("Status"),
        filter_all_statuses=_("All statuses"),
        filter_open=_("Open (not yet answered)"),
        filter_search=_("Search"),
        filter_search_hint=_("Code, topic, content, name, phone"),
        filter_from=_("Received from"),
        filter_to=_("Received until"),
        filter_due=_("Deadline"),
        filter_due_any=_("Any"),
        filter_due_overdue=_("Overdue"),
        filter_due_soon=_("Due soon"),
        filter_apply=_("Filter"),
        filter_clear=_("Clear filters"),
        export_csv=_("Download CSV"),
        bad_date=_("The date “{value}” was ignored: write it as dd/mm/yyyy."),
        bad_range=_("The start date is after the end date: no petition can match."),
        search_too_long=_("The search text was shortened to {max} characters."),
        no_results=_("No petitions match these filters."),
        page_of=_("Page {page} of {pages}"),
        previous_page=_("‹ Previous"),
        next_page=_("Next ›"),
        col_code=_("Code"),
        col_received=_("Received on"),
        col_topic=_("Topic"),
        col_status=_("Status"),
        col_deadline=_("Deadline"),
        col_assigned=_("Assigned to"),
        not_assigned=_("Not assigned"),
        summary_open=_("Open: {count}"),
        summary_overdue=_("Overdue: {count}"),
    )


def _detail_texts() -> dict[str, str]:
    """One petition: its fields, deadlines, attachments, history and the action forms."""
    return dict(
        petition_heading=_("Petition {code}"),
        back_to_list=_("‹ Back to the list"),
        section_petition=_("Petition"),
        section_sender=_("Sender"),
        section_deadlines=_("Deadlines"),
        section_attachments=_("Attachments"),
        section_history=_("History"),
        section_actions=_("What to do"),
        personal_data_note=_(
            "Personal data: for handling this petition only. Every view is recorded."
        ),
        field_status=_("Status"),
        field_received=_("Received on"),
        field_source=_("Sent through"),
        field_topic_kind=_("Type of topic"),
        field_topic=_("Topic"),
        field_procedure=_("Procedure"),
        field_sector=_("Sector"),
        field_content=_("Content"),
        field_name=_("Full name"),
        field_phone=_("Phone"),
        field_email=_("E-mail"),
        field_address=_("Address"),
        field_location=_("Location"),
        field_assigned=_("Assigned to"),
        field_answer=_("Answer"),
        field_refusal_reason=_("Reason for refusal"),
        field_taken=_("Taken on"),
        field_answered=_("Answered on"),
        field_published=_("Published on"),
        field_refused=_("Refused on"),
        field_public_content=_("Published content (personal data removed)"),
        field_public_answer=_("Published answer (personal data removed)"),
        deadline_refuse=_("Refuse by"),
        deadline_info=_("First request for information by"),
        deadline_answer=_("Answer by"),
        deadline_publish=_("Publish by"),
        attachment_name=_("Name"),
        attachment_type=_("Type"),
        attachment_size=_("Size"),
        attachment_unnamed=_("(no name)"),
        attachment_open=_("Open the link"),
        no_attachments=_("No attachments."),
        attachments_note=_(
            "The files stay in the chat app; open them from the petition's notification in the "
            "chat."
        ),
        history_when=_("When"),
        history_what=_("What"),
        history_who=_("Who"),
        history_note=_("Note"),
        actor_citizen=_("Sender"),
        actor_system=_("System"),
        action_take_title=_(
            "Take this petition: it becomes yours and the sender is told it is being handled."
        ),
        action_take_button=_("Take the petition"),
        action_info_title=_("Ask the sender for more information"),
        action_info_button=_("Send the question"),
        action_answer_title=_("The agency's answer to the sender"),
        action_answer_button=_("Save the answer"),
        action_refuse_title=_("Refuse the petition (the sender is given the reason)"),
        action_refuse_button=_("Refuse the petition"),
        action_publish_title=_("Publish the answer"),
        action_publish_preview=_("What will be published (personal data removed):"),
        action_publish_button=_("Publish the answer"),
        no_actions=_("This petition is closed: nothing more to do."),
        text_limit=_("At most {max} characters."),
    )


def _result_texts() -> dict[str, str]:
    """What an action did, or why it did not; why an export was refused."""
    return dict(
        done_take=_("The petition is now yours; the sender is told it is being handled."),
        done_info=_("Your question was sent to the sender."),
        done_answer=_("The answer is saved. Publish it within 2 working days."),
        done_refuse=_("The petition is refused; the sender is told the reason."),
        done_publish=_("The answer is published without personal data; the sender is told."),
        error_empty_text=_("Write the text first."),
        error_too_long=_("The text is too long: at most {max} characters."),
        error_wrong_status=_(
            "This petition has changed meanwhile (now: {status}); nothing was done."
        ),
        error_not_allowed=_("You are not allowed to do this."),
        export_too_many=_(
            "{count} petitions match: too many for one file (at most {max}). Narrow the dates."
        ),
    )


def count_text(count: int) -> str:
    """The "12 petitions" line above the list."""
    return ngettext("{count} petition", "{count} petitions", count).format(count=count)


def status_label(status: str) -> str:
    labels = {
        "received": _("Received"),
        "in_progress": _("Being handled"),
        "info_requested": _("Waiting for information"),
        "answered": _("Answered, not yet published"),
        "published": _("Answer published"),
        "refused": _("Refused"),
    }
    return labels.get(status, status)


def event_label(action: str) -> str:
    labels = {
        "submitted": _("Submitted"),
        "taken": _("Taken"),
        "info_requested": _("More information requested"),
        "info_provided": _("Information provided"),
        "answered": _("Answered"),
        "refused": _("Refused"),
        "published": _("Answer published"),
        "rerouted": _("Sent to another agency"),
    }
    return labels.get(action, action)


def deadline_state_label(state: str) -> str:
    labels = {
        "overdue": _("overdue"),
        "due_soon": _("due soon"),
        "ok": _("on time"),
    }
    return labels.get(state, state)


def topic_kind_label(kind: str) -> str:
    labels = {
        "procedure": _("Administrative procedure"),
        "service": _("Public service"),
        "other": _("Other"),
    }
    return labels.get(kind, kind)


def source_label(source: str, channel: str | None) -> str:
    if source == "open311":
        return _("Another system (Open311)")
    if channel == "telegram":
        return _("Telegram chat")
    if channel == "web":
        return _("Web chat")
    if channel == "zalo":
        return _("Zalo chat")
    return channel or source


def attachment_kind_label(kind: str) -> str:
    labels = {"photo": _("Photo"), "document": _("Document"), "url": _("Link")}
    return labels.get(kind, kind)


def csv_headers() -> list[str]:
    """Column titles of the CSV export, in the order of ``bot.web.inbox.export.csv_row``'s values."""
    return [
        _("Tracking code"),
        _("Received on"),
        _("Status"),
        _("Type of topic"),
        _("Topic"),
        _("Procedure"),
        _("Sector"),
        _("Refuse by"),
        _("First request for information by"),
        _("Answer by"),
        _("Publish by"),
        _("Deadline status"),
        _("Assigned to"),
        _("Taken on"),
        _("Answered on"),
        _("Published on"),
        _("Refused on"),
        _("Full name"),
        _("Phone"),
        _("E-mail"),
        _("Address"),
        _("Content"),
        _("Answer"),
        _("Reason for refusal"),
    ]
