"""What a citizen reads about their dossier: status in plain words, dates, what to do next.

Only for a verified citizen (the lookup checked the second factor, or the chat follows the
dossier): the applicant's name is masked even then, and the phone and ID number never appear.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.formatting import format_date, format_number
from handlers.markup import quote, shorten
from knowledge.dossier import DossierChannel, Status, mask_name
from knowledge.models import Procedure
from knowledge.search import SearchIndex
from knowledge.timeliness import StatusEvent, Timeliness, classify
from knowledge.workdays import working_days_between
from storage.repositories.dossiers import DossierView

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Satisfaction levels of DOMAIN.md, best first (stored as 1..5).
RATING_LEVELS = (1, 2, 3, 4, 5)


def rating_label(level: int) -> str:
    labels = {
        1: _("😀 Very satisfied"),
        2: _("🙂 Satisfied"),
        3: _("😐 Neutral"),
        4: _("🙁 Dissatisfied"),
        5: _("😠 Very dissatisfied"),
    }
    return labels[level]


def status_label(status: int) -> str:
    """The status's name (the national portal's wording in Vietnamese)."""
    labels = {
        Status.REGISTERED: _("Newly registered"),
        Status.ACCEPTED: _("Accepted"),
        Status.NOT_ACCEPTED: _("Not accepted"),
        Status.PROCESSING: _("Being processed"),
        Status.SUPPLEMENT_REQUESTED: _("Additional documents requested"),
        Status.PAYMENT_REQUESTED: _("Fees or taxes to be paid"),
        Status.WITHDRAWN: _("Withdrawn at the applicant's request"),
        Status.STOPPED: _("Processing stopped"),
        Status.PROCESSED: _("Processed, result ready"),
        Status.RETURNED: _("Result returned"),
    }
    return labels.get(Status(status), str(status))


def status_explanation(status: int) -> str:
    """The status in plain words."""
    texts = {
        Status.REGISTERED: _(
            "Your dossier has been registered and is waiting for the centre to check and accept it."
        ),
        Status.ACCEPTED: _("The centre has accepted your dossier and passed it on for processing."),
        Status.NOT_ACCEPTED: _("Your dossier was not accepted."),
        Status.PROCESSING: _("The agency is processing your dossier."),
        Status.SUPPLEMENT_REQUESTED: _(
            "The agency needs more documents or corrections before it can continue."
        ),
        Status.PAYMENT_REQUESTED: _(
            "The agency is waiting for you to pay the fees or taxes of this procedure."
        ),
        Status.WITHDRAWN: _("The dossier was withdrawn at your request."),
        Status.STOPPED: _("The agency has stopped processing this dossier."),
        Status.PROCESSED: _("The agency has finished: your result is ready."),
        Status.RETURNED: _("The result has been handed over to you."),
    }
    return texts.get(Status(status), "")


def _local(value: datetime) -> datetime:
    return value.astimezone(LOCAL_TZ)


def _date(value: datetime | None) -> str:
    return format_date(_local(value).date()) if value is not None else _("not given")


def _tracking_number(tracking: str) -> str:
    return "<code>" + quote(tracking) + "</code>"


def _result_step(view: DossierView, status: Status, agency: str) -> str | None:
    """Where the result of a processed or returned dossier is: by post (with the tracking
    number) or at the counter; None once returned by hand."""
    tracking = view.postal_tracking
    if status is Status.RETURNED:
        if not tracking:
            return None
        return _("The result was sent by post. Postal tracking number: {number}").format(
            number=_tracking_number(tracking)
        )
    if view.channel == DossierChannel.POSTAL or tracking:
        text = _("The result will be sent to you by post.")
        if tracking:
            text += " " + _("Postal tracking number: {number}").format(
                number=_tracking_number(tracking)
            )
        return text
    return _(
        "Collect the result at the one-stop counter of {agency} on a working day, bringing "
        "your receipt and your identity card."
    ).format(agency=agency)


def next_step(view: DossierView, now: datetime) -> str | None:
    """What the citizen should do now, or None when there is nothing to do."""
    status = Status(view.status)
    agency = quote(view.agency)
    if status is Status.SUPPLEMENT_REQUESTED:
        note = next((e.note for e in reversed(view.events) if e.status == 5 and e.note), None)
        text = _(
            "Bring or send the documents the agency asks for to {agency}. The time limit is paused "
            "until you do."
        ).format(agency=agency)
        if note:
            text += "\n" + _("Requested: {note}").format(note=quote(shorten(note, 500)))
        return text
    if status is Status.PAYMENT_REQUESTED:
        return _(
            "Pay the fees or taxes shown in the notice (online on the public service portal or "
            "at {agency}); processing continues once they are paid."
        ).format(agency=agency)
    if status in (Status.PROCESSED, Status.RETURNED):
        return _result_step(view, status, agency)
    if status is Status.NOT_ACCEPTED:
        return _(
            "The refusal slip explains why. You may correct the dossier and submit it again, or "
            "ask {agency} for explanations."
        ).format(agency=agency)
    if status is Status.STOPPED:
        return _("Contact {agency} to learn why and what you can do.").format(agency=agency)
    if status in (Status.REGISTERED, Status.ACCEPTED, Status.PROCESSING):
        return _("Nothing to do for now: follow the dossier and I will tell you when it changes.")
    return None


def timeliness_of(view: DossierView, now: datetime) -> Timeliness:
    events = [StatusEvent(status=e.status, at=e.status_at) for e in view.events]
    if not events:
        events = [StatusEvent(status=view.status, at=view.status_at)]
    return classify(
        events,
        view.appointment_at,
        now,
        finished_at=view.finished_at,
        returned_at=view.returned_at,
    )


def _finished_line(timeliness: Timeliness) -> str | None:
    """Early, on time or late, for a finished dossier; None for any other kind."""
    kind = timeliness.kind
    days = timeliness.days_early_or_late
    if kind == "on_time":
        return _("✅ Finished on time.")
    if kind == "early":
        if not days:
            return _("✅ Finished before the appointment date.")
        template = ngettext(
            "✅ Finished early, {count} working day before the appointment date.",
            "✅ Finished early, {count} working days before the appointment date.",
            days,
        )
    elif kind == "late":
        if not days and timeliness.supplement_requests > 1:
            return _("⚠️ Counted as late: the agency asked for additional documents more than once.")
        if not days:
            return _("⚠️ Finished after the appointment date.")
        template = ngettext(
            "⚠️ Finished late, {count} working day after the appointment date.",
            "⚠️ Finished late, {count} working days after the appointment date.",
            days,
        )
    else:
        return None
    return template.format(count=format_number(days))


def _schedule_line(timeliness: Timeliness, now: datetime) -> str | None:
    """Overdue, or the working days left, for a dossier still in progress; None otherwise."""
    if timeliness.kind == "overdue":
        return _("⚠️ Overdue: the appointment date has passed and the result is not ready yet.")
    if timeliness.kind != "in_progress" or timeliness.appointment_at is None:
        return None
    left = working_days_between(_local(now).date(), _local(timeliness.appointment_at).date())
    if left <= 0:
        return _("⏳ On schedule: the result is due today.")
    return ngettext(
        "⏳ On schedule: {count} working day left until the appointment date.",
        "⏳ On schedule: {count} working days left until the appointment date.",
        left,
    ).format(count=format_number(left))


def timeliness_line(view: DossierView, timeliness: Timeliness, now: datetime) -> str | None:
    finished = _finished_line(timeliness)
    return finished if finished is not None else _schedule_line(timeliness, now)


def channel_name(channel: int | None) -> str | None:
    if channel == DossierChannel.DIRECT:
        return _("in person")
    if channel == DossierChannel.ONLINE:
        return _("online")
    if channel == DossierChannel.POSTAL:
        return _("by post")
    return None


def procedure_line(view: DossierView, procedure: Procedure | None) -> str | None:
    if procedure is not None:
        return quote(procedure.name) + " (" + quote(procedure.code) + ")"
    if view.procedure_code:
        return quote(view.procedure_code)
    return None


def procedure_of(index: SearchIndex, code: str | None) -> Procedure | None:
    """The catalog entry of a dossier's procedure code (exact, else its national base code)."""
    if not code:
        return None
    procedure = index.get(code)
    if procedure is None and code.count(".") > 1:
        procedure = index.get(".".join(code.split(".")[:2]))
    return procedure


def _next_step_lines(view: DossierView, now: datetime) -> list[str]:
    step = next_step(view, now)
    return ["", "👉 " + step] if step else []


def _push_header(view: DossierView, procedure: Procedure | None) -> list[str]:
    """The first lines of every message pushed to a follower: the code, the procedure."""
    lines = [
        "<b>"
        + _("🔔 News about your dossier {code}").format(code=quote(view.receipt_code))
        + "</b>"
    ]
    proc = procedure_line(view, procedure)
    if proc:
        lines.append(proc)
    lines.append("")
    return lines


def render_dossier(view: DossierView, procedure: Procedure | None, now: datetime) -> str:
    """The dossier card for its verified applicant (HTML)."""
    lines = ["<b>" + _("📄 Dossier {code}").format(code=quote(view.receipt_code)) + "</b>", ""]
    proc = procedure_line(view, procedure)
    if proc:
        lines.append(_("Procedure: {name}").format(name=proc))
    name = mask_name(view.applicant_name)
    if name:
        lines.append(_("Applicant: {name}").format(name=quote(name)))
    lines.append(_("Received by: {agency}").format(agency=quote(view.agency)))
    how = channel_name(view.channel)
    if how:
        lines.append(_("Submitted: {how}").format(how=how))
    lines.append(_("Received on: {date}").format(date=_date(view.received_at)))
    lines.append(_("Appointment date: {date}").format(date=_date(view.appointment_at)))
    lines.append("")
    lines.append("<b>" + _("Status: {status}").format(status=status_label(view.status)) + "</b>")
    lines.append(status_explanation(view.status))
    timeliness = timeliness_of(view, now)
    line = timeliness_line(view, timeliness, now)
    if line:
        lines.append(line)
    if view.new_appointment_at is not None:
        apology = _(
            "📨 The agency has sent you an apology letter and set a new appointment date: {date}."
        ).format(date=_date(view.new_appointment_at))
        if view.delay_reason:
            apology += "\n" + _("Reason: {reason}").format(
                reason=quote(shorten(view.delay_reason, 500))
            )
        lines.append(apology)
    lines.extend(_next_step_lines(view, now))
    return "\n".join(lines)


def render_dossier_card(view: DossierView, index: SearchIndex, now: datetime) -> str:
    """`render_dossier` with the dossier's procedure looked up in the catalog."""
    return render_dossier(view, procedure_of(index, view.procedure_code), now)


def render_status_push(
    view: DossierView, procedure: Procedure | None, status: int, now: datetime
) -> str:
    """The message a follower gets when the dossier's status changes (HTML)."""
    lines = _push_header(view, procedure)
    lines.append("<b>" + _("New status: {status}").format(status=status_label(status)) + "</b>")
    lines.append(status_explanation(status))
    if status == view.status:
        line = timeliness_line(view, timeliness_of(view, now), now)
        if line:
            lines.append(line)
        if view.new_appointment_at is not None and status not in (9, 10):
            lines.append(
                _("📨 New appointment date: {date}.").format(date=_date(view.new_appointment_at))
            )
        lines.extend(_next_step_lines(view, now))
    return "\n".join(lines)


def render_apology_push(
    view: DossierView, procedure: Procedure | None, new_date: datetime, reason: str | None
) -> str:
    """The message a follower gets when the agency issues an apology letter (form 04) with a
    new appointment date (HTML)."""
    lines = _push_header(view, procedure)
    lines.append(
        _(
            "📨 The agency apologises for the delay and has set a new appointment date: {date}."
        ).format(date="<b>" + _date(new_date) + "</b>")
    )
    if reason:
        lines.append(_("Reason: {reason}").format(reason=quote(shorten(reason, 500))))
    return "\n".join(lines)


def render_rating_prompt(view: DossierView, procedure: Procedure | None) -> str:
    lines = [
        "<b>" + _("⭐ How was the service?") + "</b>",
        _(
            "Your dossier {code} has been completed. How satisfied are you with how {agency} "
            "handled it? Your answer counts in the centre's satisfaction figures."
        ).format(code=quote(view.receipt_code), agency=quote(view.agency)),
    ]
    return "\n".join(lines)
