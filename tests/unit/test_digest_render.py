"""The digest as officials read it: the centres' number formats ("30.407", "93,3%"), English,
Telegram's limits (4,096 characters, a 1,024-character caption holding the figures), escaping,
the JSON payload, and the chart (drawn with or without an installed font)."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.jobs.senders import CAPTION_LIMIT, split_caption
from handlers.digest import render as digest_render
from handlers.digest.chart import FONT_DIR, chart_png, draw_chart, nice_ceiling
from handlers.i18n import create_i18n
from handlers.markup import text_length
from knowledge.digest import (
    DEADLINE_ANSWER,
    DEADLINE_INFO,
    DEADLINE_PUBLISH,
    DEADLINE_REFUSE,
    Digest,
    DossierFigures,
    PetitionFigures,
    PetitionItem,
    Satisfaction,
    TrendDay,
    digest_periods,
    previous_working_day,
)
from knowledge.timeliness import StatusEvent
from knowledge.workdays import is_working_day

# The figures of a provincial centre's half-year report, used as a month's (DOMAIN.md, seed 000): received 30,407;
# resolved 28,375 (93.3%): early 27,448 (96.7%), on time 921, late 6; in progress 1,437 (4.7%).
REPORT = DossierFigures(
    early=27_448, on_time=921, late=6, in_progress=1_425, overdue=12, withdrawn=595
)
DAY = date(2026, 11, 16)


@pytest.fixture
def vi() -> Iterator[None]:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        yield


@pytest.fixture
def en() -> Iterator[None]:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        yield


def items(kind: str, count: int, state: str = "due_soon") -> tuple[PetitionItem, ...]:
    return tuple(
        PetitionItem(f"PAKN-2026-{100_000 + i:06d}", kind, DAY + timedelta(days=i % 3), state)
        for i in range(count)
    )


def digest(**overrides: object) -> Digest:
    periods = digest_periods(DAY)
    values: dict[str, object] = dict(
        agency_id=3,
        agency_code="so-tu-phap",
        agency_name="Sở Tư pháp tỉnh Sơn La",
        periods=periods,
        built_at=datetime(2026, 11, 16, 0, 30, tzinfo=UTC),
        petitions=PetitionFigures(
            new=35,
            new_items=items("new", 10, ""),
            month=1_204,
            open=57,
            deadline_overdue=3,
            deadline_due_soon=5,
            deadline_items=(
                PetitionItem("PAKN-2026-000100", DEADLINE_REFUSE, date(2026, 11, 11), "overdue"),
                PetitionItem("PAKN-2026-000101", DEADLINE_ANSWER, DAY, "due_soon"),
                PetitionItem("PAKN-2026-000102", DEADLINE_INFO, DAY, "due_soon"),
            ),
            awaiting_publication=4,
            publication_overdue=1,
            publication_due_soon=2,
            publication_items=(
                PetitionItem("PAKN-2026-000090", DEADLINE_PUBLISH, date(2026, 11, 12), "overdue"),
            ),
        ),
        dossiers_period=DossierFigures(
            early=28, on_time=2, in_progress=80, overdue=3, pending_other=7
        ),
        dossiers_month=REPORT,
        satisfaction_period=Satisfaction((12, 3, 0, 0, 0)),
        satisfaction_month=Satisfaction((2_587, 153, 0, 0, 0)),
        trend=tuple(
            TrendDay(
                periods.trend_start + timedelta(days=i),
                120 + i,
                100 + i,
                i % 4,
                is_working_day(periods.trend_start + timedelta(days=i)),
            )
            for i in range(14)
        ),
    )
    values.update(overrides)
    return Digest(**values)  # type: ignore[arg-type]


def test_vietnamese_figures_read_like_the_centres_reports(vi: None) -> None:
    text = digest_render.render_digest(digest())
    assert "Tiếp nhận: <b>30.407</b>" in text
    assert "Đã giải quyết: <b>28.375</b> (93,3%)" in text
    assert "trước hạn 27.448 (96,7%)" in text
    assert "đúng hạn 921 (3,2%)" in text
    assert "quá hạn 6 (0,02%)" in text  # a small share keeps two decimals
    assert "Đang giải quyết: <b>1.437</b> (4,7%), trong đó quá hạn 12" in text
    assert "Công dân rút hồ sơ: 595" in text
    # 2,740 ratings: 2,587 very satisfied and 153 satisfied (seed 001): all satisfied.
    assert "Đánh giá: 2.740 lượt, hài lòng 100%" in text
    assert "rất hài lòng 2.587 · hài lòng 153" in text
    assert "📊 <b>Báo cáo ngày 16/11/2026</b>" in text
    # Monday's digest covers Friday to Sunday.
    assert "<b>📁 Hồ sơ tiếp nhận từ 13/11/2026 đến 15/11/2026</b>" in text
    assert "<b>📁 Hồ sơ tiếp nhận từ 01/11/2026</b>" in text
    assert "Mới tiếp nhận từ 13/11/2026 đến 15/11/2026: <b>35</b>" in text
    assert "Tiếp nhận từ 01/11/2026: 1.204" in text
    assert (
        "<code>PAKN-2026-000100</code> — hạn tiếp nhận hoặc từ chối 11/11/2026 — ⚠️ quá hạn" in text
    )
    assert "hạn cuối đề nghị bổ sung thông tin 16/11/2026 — ⏰ sắp đến hạn" in text
    assert "+ 25 mục khác" in text  # 35 new, 10 listed


def test_english_figures(en: None) -> None:
    text = digest_render.render_digest(digest())
    assert "Received: <b>30,407</b>" in text
    assert "Resolved: <b>28,375</b> (93.3%)" in text
    assert "early 27,448 (96.7%) · on time 921 (3.2%) · late 6 (0.02%)" in text
    assert "In progress: <b>1,437</b> (4.7%), overdue 12" in text
    assert "<b>📁 Dossiers received from Nov 13, 2026 to Nov 15, 2026</b>" in text
    assert "+ 25 more" in text
    assert "answer by Nov 16, 2026 — ⏰ due soon" in text


def test_a_day_period_and_empty_figures(vi: None) -> None:
    tuesday = date(2026, 11, 17)
    text = digest_render.render_digest(
        digest(
            periods=digest_periods(tuesday),
            dossiers_period=DossierFigures(),
            satisfaction_period=Satisfaction(),
            petitions=PetitionFigures(),
        )
    )
    assert (
        "<b>📁 Hồ sơ tiếp nhận ngày 16/11/2026</b>\nTiếp nhận: <b>0</b>\nĐánh giá: chưa có" in text
    )
    assert "Mới tiếp nhận ngày 16/11/2026: <b>0</b>" in text
    assert "Phản ánh, kiến nghị mới" not in text  # nothing to list, no empty heading
    assert "Đã giải quyết" in text  # the month still has figures


def test_no_dossier_section_without_dossiers(vi: None) -> None:
    text = digest_render.render_digest(digest(dossiers_period=None, dossiers_month=None))
    assert "Hồ sơ tiếp nhận" not in text and "<b>📨 Phản ánh, kiến nghị</b>" in text


def test_shares_are_never_divided_by_zero(vi: None) -> None:
    assert digest_render.percent(0, 0) == "–"
    assert digest_render.percent(0, 5) == "0%"
    assert digest_render.percent(5, 5) == "100%"
    assert digest_render.percent(1, 3) == "33,3%"


def test_a_share_is_never_rounded_to_zero_or_to_the_whole(vi: None) -> None:
    """One late dossier among 40,000 is not "0%", and 2,999 early of 3,000 not "100%"."""
    assert digest_render.percent(6, 28_375) == "0,02%"  # the centres' "quá hạn 6 (0,02%)"
    # HTML (the digest goes in HTML parse mode: a bare "<" would be taken for a tag)
    assert digest_render.percent(1, 40_000) == "&lt;0,01%"
    assert digest_render.percent(2_999, 3_000) == "99,97%"
    assert digest_render.percent(39_999, 40_000) == "&gt;99,99%"
    assert digest_render.percent(27_448, 28_375) == "96,7%"


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_text_fits_telegram_and_the_caption_holds_the_figures(locale: str) -> None:
    hostile = '<b>Sở & "Ban"</b> ' + "Ủy ban nhân dân phường 🏛 " * 12  # 255 characters of name
    big = digest(
        agency_name=hostile[:255],
        petitions=PetitionFigures(
            new=123_456,
            new_items=items("new", 10, ""),
            month=987_654,
            open=54_321,
            deadline_overdue=40_000,
            deadline_due_soon=9_999,
            deadline_items=items(DEADLINE_ANSWER, 10, "overdue"),
            awaiting_publication=77_777,
            publication_overdue=5_555,
            publication_due_soon=2_222,
            publication_items=items(DEADLINE_PUBLISH, 10),
        ),
        dossiers_month=DossierFigures(
            early=2_345_678,
            on_time=123_456,
            late=98_765,
            resolved_other=4_321,
            in_progress=345_678,
            overdue=23_456,
            pending_other=1_234,
            withdrawn=5_678,
        ),
        satisfaction_month=Satisfaction((123_456, 23_456, 3_456, 456, 56)),
    )
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(locale):
        text = digest_render.render_digest(big)
        assert text_length(text) <= 4096
        assert "&lt;b&gt;Sở &amp;" in text and "<b>Sở &" not in text  # the name is escaped
        caption, rest = split_caption(text)
        assert 0 < text_length(caption) <= CAPTION_LIMIT
        # The caption carries the heading and the dossier figures; the codes come after it.
        assert "PAKN-" not in caption and "PAKN-" in rest
        assert caption.startswith("📊")
        # A tighter limit shortens the lists, never the figures.
        short = digest_render.render_digest(big, limit=1800)
        assert text_length(short) <= 1800
        assert digest_render.summary(big) in short
        listed = short.count("PAKN-")
        assert 0 < listed < 30


def test_the_payload_is_json_and_round_trips() -> None:
    original = digest()
    payload = json.loads(json.dumps(original.to_payload()))
    assert Digest.from_payload(payload) == original
    with pytest.raises(ValueError):
        Digest.from_payload({**payload, "v": 99})
    without = digest(dossiers_period=None, dossiers_month=None)
    assert Digest.from_payload(json.loads(json.dumps(without.to_payload()))) == without


def test_periods() -> None:
    assert previous_working_day(date(2026, 11, 16)) == date(2026, 11, 13)  # Monday -> Friday
    tuesday = digest_periods(date(2026, 11, 17))
    assert (tuesday.start, tuesday.end, tuesday.month_start) == (
        date(2026, 11, 16),
        date(2026, 11, 16),
        date(2026, 11, 1),
    )
    # After Tết (16-20 February 2026 off): from Friday 13th to Sunday 22nd.
    after_tet = digest_periods(date(2026, 2, 23))
    assert (after_tet.start, after_tet.end) == (date(2026, 2, 13), date(2026, 2, 22))
    # 2 January: the period runs from 31 December (the last working day) through New Year's
    # Day, and the month is December's, ending with it: "since 1 January" would hold only a
    # holiday, and 31 December would be in no month-to-date figure at all.
    january = digest_periods(date(2026, 1, 2))
    assert (january.start, january.end, january.month_start) == (
        date(2025, 12, 31),
        date(2026, 1, 1),
        date(2025, 12, 1),
    )
    assert january.first == date(2025, 12, 1)  # December's figures reach further than the chart
    assert january.trend_start == date(2025, 12, 19)
    # On the 1st of a month the report period is the month's last day, and the month is that one.
    first = digest_periods(date(2026, 12, 1))
    assert (first.start, first.end, first.month_start) == (
        date(2026, 11, 30),
        date(2026, 11, 30),
        date(2026, 11, 1),
    )
    assert len(tuesday.trend_days()) == 14 and tuesday.trend_days()[-1] == date(2026, 11, 16)


def test_the_month_holds_the_report_period_and_every_working_day_once() -> None:
    """Whatever weekends and holidays lie at a month's turn (2 March 2026 after Sunday the
    1st, 4 May after 30 April - 3 May, 3 September after National Day), the month-to-date
    figures contain the report period, and each working day's dossiers are in the month
    figures of the month it belongs to up to the month's last digest."""
    day = date(2025, 1, 2)
    while day < date(2028, 1, 1):
        if is_working_day(day):
            p = digest_periods(day)
            assert p.month_start.day == 1
            assert p.month_start <= p.start <= p.end < p.day
            # only non-working days after the last working day reported, so the month is
            # the one of the last working day the digest reports
            assert (p.month_start.year, p.month_start.month) == (p.start.year, p.start.month)
        day += timedelta(days=1)
    assert digest_periods(date(2026, 3, 2)).month_start == date(2026, 2, 1)
    assert digest_periods(date(2026, 5, 4)).month_start == date(2026, 4, 1)
    assert digest_periods(date(2026, 9, 3)).month_start == date(2026, 8, 1)
    assert digest_periods(date(2026, 9, 4)).month_start == date(2026, 9, 1)


# --- the chart --------------------------------------------------------------------------------


def _image(png: bytes):  # type: ignore[no-untyped-def]
    from PIL import Image

    return Image.open(io.BytesIO(png))


@pytest.mark.parametrize("font_dir", ["installed", None])
def test_the_chart_is_a_png_with_or_without_a_font(font_dir: str | None, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("PIL")

    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        labels = digest_render.chart_labels()
    # None: Pillow's built-in font (a missing directory would not do: ImageFont.truetype
    # then finds DejaVuSans.ttf among the system's fonts by its name).
    chosen = FONT_DIR if font_dir == "installed" else None
    png = draw_chart(digest().trend, labels, "vi", font_dir=chosen)
    image = _image(png)
    assert (image.format, image.size) == ("PNG", (900, 450))
    # Something was drawn in the bar colours and the petition line colour.
    colours = {c for _n, c in image.convert("RGB").getcolors(maxcolors=1_000_000)}
    assert (158, 202, 225) in colours and (33, 113, 181) in colours and (230, 85, 13) in colours
    assert len(png) < 200_000


@pytest.mark.parametrize("font_dir", ["installed", None])
def test_the_charts_vietnamese_is_legible_without_a_font(font_dir: str | None, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Pillow's built-in font has no glyphs for Vietnamese letters ("Hồ sơ" came out as
    "H\ufffd s\ufffd"): without DejaVu the labels are drawn without their diacritics."""
    pytest.importorskip("PIL")
    from PIL import ImageDraw

    drawn: list[str] = []
    original = ImageDraw.ImageDraw.text

    def recording(self, xy, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        drawn.append(text)
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recording)
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        labels = digest_render.chart_labels()
    chosen = FONT_DIR if font_dir == "installed" else None
    draw_chart(digest().trend, labels, "vi", font_dir=chosen)
    if font_dir == "installed":
        assert labels["title"] in drawn and "Hồ sơ tiếp nhận" in drawn
    else:
        assert "Ho so tiep nhan" in drawn and "Phan anh, kien nghi" in drawn
        assert all(text.isascii() for text in drawn), [t for t in drawn if not t.isascii()]


def test_the_chart_of_an_empty_fortnight_and_of_an_agency_without_dossiers() -> None:
    pytest.importorskip("PIL")
    empty = digest(
        trend=tuple(TrendDay(DAY - timedelta(days=14 - i), 0, 0, 0, True) for i in range(14))
    )
    labels = {
        "title": "t",
        "left": "l",
        "right": "r",
        "received": "a",
        "resolved": "b",
        "petitions": "c",
    }
    assert _image(chart_png(empty, labels, "en")).size == (900, 450)  # type: ignore[arg-type]
    no_dossiers = digest(dossiers_period=None, dossiers_month=None)
    image = _image(chart_png(no_dossiers, labels, "vi"))  # type: ignore[arg-type]
    colours = {c for _n, c in image.convert("RGB").getcolors(maxcolors=1_000_000)}
    assert (158, 202, 225) not in colours  # no dossier bars
    assert chart_png(digest(trend=()), labels, "vi") is None


def test_nice_axis_tops() -> None:
    assert nice_ceiling(0) == (5.0, 1.0)
    assert nice_ceiling(3) == (3.0, 1.0)
    assert nice_ceiling(133) == (150.0, 50.0)
    assert nice_ceiling(30_407) == (40_000.0, 10_000.0)  # at most five steps


# --- the national rule, bucket only -------------------------------------------------------------


def test_working_days_by_prefix_sums_match_the_calendar() -> None:
    from knowledge.digest import count_working_days
    from knowledge.workdays import working_days_between

    rng = random.Random(3)
    for _ in range(3_000):
        a = date(2024, 1, 1) + timedelta(days=rng.randrange(1_200))
        b = a + timedelta(days=rng.randrange(-400, 400))
        assert count_working_days(a, b) == working_days_between(a, b), (a, b)
    assert count_working_days(date(1999, 12, 30), date(2000, 1, 4)) == working_days_between(
        date(1999, 12, 30), date(2000, 1, 4)
    )


def random_history(rng: random.Random) -> tuple[list[StatusEvent], datetime | None, dict[str, Any]]:
    """Histories in any order with every oddity classify handles: untimed statuses, repeated
    and consecutive supplement requests, stops before and after processing, 9s and 10s with
    and without the row's own times, appointments missing, over weekends and Tết."""
    start = datetime(2026, 1, 20, 8, 0, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 60))
    t = start
    events = [StatusEvent(2, start)]
    for _ in range(rng.randrange(0, 7)):
        t += timedelta(hours=rng.uniform(0, 120))
        status = rng.choice((4, 4, 5, 5, 5, 6, 9, 10, 3, 7, 8))
        events.append(StatusEvent(status, None if rng.random() < 0.08 else t))
    rng.shuffle(events)
    appointment = None if rng.random() < 0.1 else start + timedelta(days=rng.randrange(0, 20))
    extra: dict[str, Any] = {}
    if rng.random() < 0.3:
        extra["finished_at"] = start + timedelta(hours=rng.uniform(0, 400))
    if rng.random() < 0.3:
        extra["returned_at"] = start + timedelta(hours=rng.uniform(0, 500))
    return events, appointment, extra


def test_the_fast_bucket_is_the_national_rule() -> None:
    from knowledge.digest import bucket_of, timeliness_bucket
    from knowledge.timeliness import classify

    rng = random.Random(11)
    seen: Counter[str] = Counter()
    for _ in range(6_000):
        events, appointment, extra = random_history(rng)
        now = datetime(2026, 1, 20, tzinfo=UTC) + timedelta(days=rng.randrange(0, 90))
        expected = bucket_of(classify(events, appointment, now, **extra), events)
        assert timeliness_bucket(events, appointment, now, **extra) == expected, (
            events,
            appointment,
            now,
            extra,
        )
        seen[expected] += 1
    assert set(seen) == {
        "early",
        "on_time",
        "late",
        "resolved_other",
        "in_progress",
        "overdue",
        "pending_other",
        "withdrawn",
    }, seen
