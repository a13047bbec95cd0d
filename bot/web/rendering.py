"""The HTML pages' template environment: Jinja2 templates from ``bot/web/templates/`` with
autoescaping on, so that every value a page shows is escaped unless the code marks it safe.

Values are escaped with the standard library's ``html.escape`` (quotes included, ``None`` shown
as nothing), the same escaping the pages have always used, so an escaped value reads the same
(``&#x27;``, ``&quot;``) whichever page shows it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _escape(value: Any) -> Markup:
    """Every ``{{ value }}``: markup marked safe as it is, anything else escaped as text."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def create_environment() -> Environment:
    """The environment the pages render with (templates are read once, then cached)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        finalize=_escape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


ENVIRONMENT = create_environment()


def render(template: str, **context: Any) -> str:
    """The page ``template`` (a path under ``bot/web/templates/``) filled with ``context``."""
    return ENVIRONMENT.get_template(template).render(**context)
