"""Numbers, dates and durations for citizens, through Babel, in the current locale.

The one place where numbers and dates become text: handlers and renderers never call
`str(number)` or `strftime` on something a citizen reads.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aiogram.utils.i18n import I18n, ngettext
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import format_decimal as _babel_format_decimal
from babel.numbers import format_percent as _babel_format_percent

FALLBACK_LOCALE = "vi"


def current_locale() -> str:
    """The locale of the event being handled (set by the i18n middleware), else Vietnamese."""
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else FALLBACK_LOCALE


def format_number(value: int | float | Decimal, locale: str | None = None) -> str:
    """30407 -> "30.407" (vi) / "30,407" (en); 93.3 -> "93,3" (vi)."""
    return _babel_format_decimal(value, locale=locale or current_locale())


def format_percent(value: float | Decimal, locale: str | None = None, digits: int = 1) -> str:
    """0.933 -> "93,3%" (vi) / "93.3%" (en)."""
    fmt = "#,##0" + ("." + "#" * digits if digits else "") + "%"
    return _babel_format_percent(value, format=fmt, locale=locale or current_locale())


def format_date(value: dt.date, locale: str | None = None) -> str:
    """A date as Vietnamese citizens write it ("15/06/2022"), or the English medium form."""
    loc = locale or current_locale()
    if loc.startswith("vi"):
        return _babel_format_date(value, format="dd/MM/yyyy", locale=loc)
    return _babel_format_date(value, format="medium", locale=loc)


def format_datetime(value: dt.datetime, locale: str | None = None) -> str:
    loc = locale or current_locale()
    if loc.startswith("vi"):
        return _babel_format_datetime(value, format="HH:mm dd/MM/yyyy", locale=loc)
    return _babel_format_datetime(value, format="medium", locale=loc)


def format_duration(value: float, unit: str | None) -> str | None:
    """(5.0, "working_day") -> "5 ngày làm việc" / "5 working days"; None for unknown units."""
    if value != value or value < 0:  # NaN or negative: nothing sensible to say
        return None
    count = format_number(int(value) if float(value).is_integer() else value)
    n = int(value) if float(value).is_integer() else 2  # fractions read as plural in English
    if unit == "working_day":
        template = ngettext("{count} working day", "{count} working days", n)
    elif unit == "day":
        template = ngettext("{count} day", "{count} days", n)
    elif unit == "hour":
        template = ngettext("{count} hour", "{count} hours", n)
    elif unit == "month":
        template = ngettext("{count} month", "{count} months", n)
    elif unit == "year":
        template = ngettext("{count} year", "{count} years", n)
    else:
        return None
    return template.format(count=count)
