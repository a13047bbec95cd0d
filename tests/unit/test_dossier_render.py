"""The dossier card and pushes: plain words, dates, next steps, timeliness, and no personal data."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.dossiers import render as dossier_render
from handlers.i18n import create_i18n
from knowledge.dossier import DossierChannel, Status
from storage.repositories.dossiers import DossierApologyView, DossierEventView, DossierView

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN).astimezone(UTC)


def view(**overrides: object) -> DossierView:
    base: dict[str, object] = dict(
        id=7,
        receipt_code="000.00.17.H12-260302-0042",
        lookup_key="0000017H122603020042",
        procedure_code="1.001193",
        agency="UBND phường Bến Nghé",
        applicant_name="Nguyễn Văn An",
        applicant_phone="0912345678",
        applicant_id_number="079123456789",
        channel=DossierChannel.DIRECT,
        received_at=local(2026, 3, 2, 9, 0),
        appointment_at=local(2026, 3, 5, 17, 0),
        status=Status.PROCESSING,
        status_at=local(2026, 3, 2, 10, 0),
        finished_at=None,
        returned_at=None,
        new_appointment_at=None,
        delay_reason=None,
        postal_tracking=None,
        source="test",
        created_at=local(2026, 3, 2, 9, 0),
        updated_at=local(2026, 3, 2, 10, 0),
        events=(
            DossierEventView(Status.ACCEPTED, local(2026, 3, 2, 9, 0), None),
            DossierEventView(Status.PROCESSING, local(2026, 3, 2, 10, 0), None),
        ),
        apologies=(),
    )
    base.update(overrides)
    return DossierView(**base)  # type: ignore[arg-type]


@pytest.fixture(params=["vi", "en"])
def locale(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def render(v: DossierView, now: datetime, locale: str = "vi") -> str:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(locale):
        return dossier_render.render_dossier(v, None, now)


def test_card_never_shows_phone_id_or_full_name(locale: str) -> None:
    text = render(view(), local(2026, 3, 3, 9, 0), locale)
    assert "Nguyễn V. A." in text
    assert "Văn An" not in text
    for secret in ("0912345678", "345678", "079123456789", "456789"):
        assert secret not in text
    assert "000.00.17.H12-260302-0042" in text


def test_in_progress_dossier_counts_working_days_left() -> None:
    # Tuesday 3 March 2026; the appointment is Thursday 5 March: 2 working days left.
    text = render(view(), local(2026, 3, 3, 9, 0))
    assert "Trạng thái: Đang xử lý" in text
    assert "Ngày hẹn trả: 05/03/2026" in text
    assert "còn 2 ngày làm việc" in text
    assert "Hình thức nộp: trực tiếp" in text


def test_overdue_dossier_shows_the_apology_and_new_date() -> None:
    overdue = view(
        new_appointment_at=local(2026, 3, 10, 17, 0),
        delay_reason="Chờ xác minh của cơ quan khác",
        apologies=(DossierApologyView(local(2026, 3, 10, 17, 0), "Chờ xác minh"),),
    )
    text = render(overdue, local(2026, 3, 6, 9, 0))
    assert "Quá hạn" in text
    assert "phiếu xin lỗi" in text and "10/03/2026" in text
    assert "Chờ xác minh của cơ quan khác" in text


def test_finished_early_on_time_and_late() -> None:
    def finished(at: datetime) -> DossierView:
        return view(
            status=Status.PROCESSED,
            status_at=at,
            finished_at=at,
            events=(
                DossierEventView(Status.PROCESSING, local(2026, 3, 2, 10, 0), None),
                DossierEventView(Status.PROCESSED, at, None),
            ),
        )

    now = local(2026, 3, 20, 9, 0)
    early = render(finished(local(2026, 3, 3, 15, 0)), now)
    assert "trước hạn 2 ngày làm việc" in early
    assert "nhận kết quả tại bộ phận một cửa của UBND phường Bến Nghé" in early
    on_time = render(finished(local(2026, 3, 5, 16, 0)), now)
    assert "đúng hạn" in on_time
    late = render(finished(local(2026, 3, 9, 9, 0)), now)
    assert "quá hạn 2 ngày làm việc" in late


def test_supplement_request_says_what_to_bring() -> None:
    waiting = view(
        status=Status.SUPPLEMENT_REQUESTED,
        events=(
            DossierEventView(Status.PROCESSING, local(2026, 3, 2, 10, 0), None),
            DossierEventView(
                Status.SUPPLEMENT_REQUESTED, local(2026, 3, 3, 10, 0), "Bản sao giấy chứng sinh"
            ),
        ),
    )
    text = render(waiting, local(2026, 3, 3, 11, 0))
    assert "Yêu cầu bổ sung giấy tờ" in text
    assert "Bản sao giấy chứng sinh" in text
    assert "tạm dừng" in text


def test_postal_result_gives_the_tracking_number() -> None:
    posted = view(
        status=Status.RETURNED,
        channel=DossierChannel.POSTAL,
        postal_tracking="EB123456789VN",
        returned_at=local(2026, 3, 4, 10, 0),
    )
    text = render(posted, local(2026, 3, 4, 11, 0), "en")
    assert "EB123456789VN" in text and "post" in text


def test_markup_in_agency_names_is_escaped() -> None:
    text = render(view(agency="<b>Sở</b> & Co"), local(2026, 3, 3, 9, 0))
    assert "&lt;b&gt;Sở&lt;/b&gt; &amp; Co" in text


def test_every_status_has_plain_words_in_both_languages(locale: str) -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(locale):
        seen = set()
        for status in Status:
            label = dossier_render.status_label(status)
            words = dossier_render.status_explanation(status)
            assert label and words and label != str(int(status))
            seen.add(label)
        assert len(seen) == len(Status)
        if locale == "vi":
            assert dossier_render.status_label(Status.RETURNED) == "Đã trả kết quả"


def test_push_for_an_older_event_does_not_claim_the_current_timeliness() -> None:
    current = view(status=Status.RETURNED, returned_at=local(2026, 3, 4, 10, 0))
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = dossier_render.render_status_push(
            current, None, int(Status.PROCESSING), local(2026, 3, 4, 11, 0)
        )
    assert "Trạng thái mới: Đang xử lý" in text
    assert "👉" not in text  # the next step belongs to the current status only


def test_rating_labels_are_the_five_domain_levels() -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        labels = [dossier_render.rating_label(level) for level in dossier_render.RATING_LEVELS]
    expected = ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng", "Rất không hài lòng"]
    assert [label.split(" ", 1)[1] for label in labels] == expected


def test_view_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        view().status = Status.RETURNED  # type: ignore[misc]


def test_apology_push_gives_the_new_date_and_reason(locale: str) -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(locale):
        text = dossier_render.render_apology_push(
            view(), None, local(2026, 3, 12, 17, 0), "Chờ <ý kiến> của Sở"
        )
    assert "000.00.17.H12-260302-0042" in text
    assert ("12/03/2026" if locale == "vi" else "Mar 12, 2026") in text
    assert "Chờ &lt;ý kiến&gt; của Sở" in text
    assert "0912345678" not in text and "Văn An" not in text
