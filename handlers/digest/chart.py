"""The digest's 14-day chart as a PNG (Pillow), drawn again at send time from the figures.

Dossiers received and, of them, resolved are bars on the left axis; petitions received a line on
the right axis; one column a day, days off shaded. The texts come from
``handlers.digest.render.chart_labels`` in the official's language; without DejaVu Sans (which
has the Vietnamese letters) they are drawn without diacritics in Pillow's built-in font.
"""

from __future__ import annotations

import contextlib
import io
import logging
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from PIL import Image, ImageDraw, ImageFont

from knowledge.digest import Digest, TrendDay

logger = logging.getLogger(__name__)

CHART_SIZE = (900, 450)
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

Colour = tuple[int, int, int]
INK: Colour = (40, 40, 40)
GRID: Colour = (225, 225, 225)
SHADE: Colour = (243, 243, 243)
RECEIVED_COLOUR: Colour = (158, 202, 225)
RESOLVED_COLOUR: Colour = (33, 113, 181)
PETITION_COLOUR: Colour = (230, 85, 13)


def _font(size: int, bold: bool = False, font_dir: Path | None = FONT_DIR) -> Any:
    """DejaVu Sans (Vietnamese diacritics) when installed, else Pillow's built-in font."""
    if font_dir is not None:
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        with contextlib.suppress(OSError):
            return ImageFont.truetype(str(font_dir / name), size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # an old Pillow without sizes
        return ImageFont.load_default()


def has_font(font_dir: Path | None = FONT_DIR) -> bool:
    """Is DejaVu Sans (which has the Vietnamese letters) installed in ``font_dir``?"""
    if font_dir is None:
        return False
    try:
        ImageFont.truetype(str(font_dir / "DejaVuSans.ttf"), 12)
    except OSError:
        return False
    return True


_VIETNAMESE_LETTERS = str.maketrans({"đ": "d", "Đ": "D"})


def without_diacritics(text: str) -> str:
    """``text`` in plain ASCII ("Hồ sơ tiếp nhận" -> "Ho so tiep nhan"): Pillow's built-in
    font has no glyph for most Vietnamese letters and would draw boxes instead."""
    decomposed = unicodedata.normalize("NFD", text.translate(_VIETNAMESE_LETTERS))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.encode("ascii", "replace").decode("ascii")


def nice_ceiling(value: float) -> tuple[float, float]:
    """(top, step) of an axis showing ``value``: steps of 1, 2 or 5 times a power of ten,
    about five of them."""
    if value <= 0:
        return 5.0, 1.0
    raw = value / 5
    power = 10 ** int(f"{raw:e}".split("e")[1])
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    top = step * -(-value // step)
    return float(top), float(step)


def format_decimal_safe(value: float, locale: str) -> str:
    """An axis value in the locale's digits ("1.000" in Vietnamese), integers without ".0"."""
    return format_decimal(int(value) if float(value).is_integer() else value, locale=locale)


def _as_is(text: str) -> str:
    return text


@dataclass
class _Canvas:
    """The image being drawn, its fonts and its plot area (left/right axes, top, bottom)."""

    image: Any
    draw: Any
    small: Any
    normal: Any
    title_font: Any
    legible: Callable[[str], str]  # what the chosen font can draw of a text
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @classmethod
    def create(cls, size: tuple[int, int], font_dir: Path | None) -> _Canvas:
        width, height = size
        image = Image.new("RGB", size, "white")
        return cls(
            image=image,
            draw=ImageDraw.Draw(image),
            small=_font(12, font_dir=font_dir),
            normal=_font(13, font_dir=font_dir),
            title_font=_font(16, bold=True, font_dir=font_dir),
            legible=_as_is if has_font(font_dir) else without_diacritics,
            width=width,
            height=height,
            left=72,
            right=width - 72,
            top=48,
            bottom=height - 92,
        )

    def text_size(self, text: str, font: Any) -> tuple[int, int]:
        box = self.draw.textbbox((0, 0), text, font=font)
        return box[2] - box[0], box[3] - box[1]

    def y_of(self, value: float, axis_top: float) -> float:
        return self.bottom - (self.bottom - self.top) * (value / axis_top)

    def vertical_label(self, text: str, x: float, colour: Colour) -> None:
        w, h = self.text_size(text, self.normal)
        layer = Image.new("RGBA", (w + 4, h + 8), (255, 255, 255, 0))
        ImageDraw.Draw(layer).text((2, 0), text, fill=colour, font=self.normal)
        rotated = layer.rotate(90, expand=True)
        y = int((self.top + self.bottom - rotated.height) / 2)
        self.image.paste(rotated, (int(x), y), rotated)

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()


def _shade_days_off(canvas: _Canvas, trend: Sequence[TrendDay], slot: float) -> None:
    for i, day in enumerate(trend):
        if not day.working_day:
            canvas.draw.rectangle(
                (canvas.left + i * slot, canvas.top, canvas.left + (i + 1) * slot, canvas.bottom),
                fill=SHADE,
            )


def _draw_axes(
    canvas: _Canvas,
    labels: Mapping[str, str],
    locale: str,
    axis_tops: tuple[tuple[float, float], tuple[float, float]],
    show_dossiers: bool,
) -> None:
    """Grid lines and ticks of the dossiers (left) and petitions (right), the frame, the axis
    titles."""
    draw, small = canvas.draw, canvas.small
    (d_top, d_step), (p_top, p_step) = axis_tops
    tick = 0.0
    while tick <= d_top + 1e-9:  # left axis: dossiers
        y = canvas.y_of(tick, d_top)
        draw.line((canvas.left, y, canvas.right, y), fill=GRID)
        label = canvas.legible(format_decimal_safe(tick, locale))
        w, h = canvas.text_size(label, small)
        if show_dossiers:
            draw.text((canvas.left - 6 - w, y - h / 2 - 2), label, fill=INK, font=small)
        tick += d_step
    tick = 0.0
    while tick <= p_top + 1e-9:  # right axis: petitions
        y = canvas.y_of(tick, p_top)
        label = canvas.legible(format_decimal_safe(tick, locale))
        w, h = canvas.text_size(label, small)
        draw.text((canvas.right + 6, y - h / 2 - 2), label, fill=PETITION_COLOUR, font=small)
        tick += p_step
    draw.line((canvas.left, canvas.top, canvas.left, canvas.bottom), fill=INK)
    draw.line((canvas.right, canvas.top, canvas.right, canvas.bottom), fill=INK)
    draw.line((canvas.left, canvas.bottom, canvas.right, canvas.bottom), fill=INK)
    if show_dossiers:
        canvas.vertical_label(labels.get("left", ""), 6, INK)
    canvas.vertical_label(labels.get("right", ""), canvas.width - 26, PETITION_COLOUR)


def _draw_bars(canvas: _Canvas, day: TrendDay, centre: float, slot: float, d_top: float) -> None:
    """The day's dossiers received (wide bar) and resolved (narrow bar inside it)."""
    bar = slot * 0.62
    canvas.draw.rectangle(
        (
            centre - bar / 2,
            canvas.y_of(day.dossiers_received, d_top),
            centre + bar / 2,
            canvas.bottom,
        ),
        fill=RECEIVED_COLOUR,
    )
    inner = slot * 0.34
    if day.dossiers_resolved:
        canvas.draw.rectangle(
            (
                centre - inner / 2,
                canvas.y_of(day.dossiers_resolved, d_top),
                centre + inner / 2,
                canvas.bottom,
            ),
            fill=RESOLVED_COLOUR,
        )


def _draw_days(
    canvas: _Canvas,
    trend: Sequence[TrendDay],
    labels: Mapping[str, str],
    locale: str,
    axis_tops: tuple[float, float],
    show_dossiers: bool,
) -> None:
    """Per day: the bars, the date under the axis; then the petitions' line through the days."""
    d_top, p_top = axis_tops
    slot = (canvas.right - canvas.left) / max(len(trend), 1)
    points: list[tuple[float, float]] = []
    day_format = labels.get("day_format", "dd/MM")
    for i, day in enumerate(trend):
        centre = canvas.left + (i + 0.5) * slot
        if show_dossiers:
            _draw_bars(canvas, day, centre, slot, d_top)
        points.append((centre, canvas.y_of(day.petitions_received, p_top)))
        label = canvas.legible(format_date(day.day, format=day_format, locale=locale))
        w, _h = canvas.text_size(label, canvas.small)
        canvas.draw.text((centre - w / 2, canvas.bottom + 6), label, fill=INK, font=canvas.small)
    if len(points) > 1:
        canvas.draw.line(points, fill=PETITION_COLOUR, width=3)
    for x, y in points:
        canvas.draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=PETITION_COLOUR)


def _draw_legend(canvas: _Canvas, labels: Mapping[str, str], show_dossiers: bool) -> None:
    x, y = canvas.left, canvas.height - 50
    entries = [("petitions", PETITION_COLOUR)]
    if show_dossiers:
        entries = [("received", RECEIVED_COLOUR), ("resolved", RESOLVED_COLOUR), *entries]
    for key, colour in entries:
        text = labels.get(key, key)
        canvas.draw.rectangle((x, y + 2, x + 14, y + 16), fill=colour)
        canvas.draw.text((x + 20, y), text, fill=INK, font=canvas.normal)
        x += 20 + canvas.text_size(text, canvas.normal)[0] + 28


def draw_chart(
    trend: Sequence[TrendDay],
    labels: Mapping[str, str],
    locale: str,
    *,
    show_dossiers: bool = True,
    font_dir: Path | None = FONT_DIR,
    size: tuple[int, int] = CHART_SIZE,
) -> bytes:
    """The trend as a PNG: dossiers received and, of them, resolved (bars, left axis), and
    petitions received (line, right axis), one column a day, days off shaded."""
    canvas = _Canvas.create(size, font_dir)
    labels = {key: canvas.legible(value) for key, value in labels.items()}
    canvas.draw.text((canvas.left, 14), labels.get("title", ""), fill=INK, font=canvas.title_font)
    _shade_days_off(canvas, trend, (canvas.right - canvas.left) / max(len(trend), 1))
    dossiers_axis = nice_ceiling(max((t.dossiers_received for t in trend), default=0))
    petitions_axis = nice_ceiling(max((t.petitions_received for t in trend), default=0))
    _draw_axes(canvas, labels, locale, (dossiers_axis, petitions_axis), show_dossiers)
    _draw_days(canvas, trend, labels, locale, (dossiers_axis[0], petitions_axis[0]), show_dossiers)
    _draw_legend(canvas, labels, show_dossiers)
    return canvas.png()


def chart_png(
    digest: Digest, labels: Mapping[str, str], locale: str, **options: Any
) -> bytes | None:
    """The digest's chart, or None when drawing fails (the text still goes)."""
    if not digest.trend:
        return None
    try:
        return draw_chart(
            digest.trend, labels, locale, show_dossiers=digest.has_dossiers, **options
        )
    except Exception:
        logger.exception("Digest chart failed; sending the text alone")
    return None
