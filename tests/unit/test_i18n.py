"""The gettext catalogs: complete, compiled, and consistent with the source code."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import DOMAIN, LOCALES_DIR, SUPPORTED_LOCALES, create_i18n

HANDLERS_DIR = LOCALES_DIR.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "__": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z]+>")


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fp:
        return read_po(fp, locale=locale)


def _messages(locale: str) -> list:  # type: ignore[type-arg]
    return [m for m in _catalog(locale) if m.id]


def _source_msgids() -> set[object]:
    found: set[object] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(HANDLERS_DIR), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_msgid_has_a_translation(locale: str) -> None:
    messages = _messages(locale)
    assert len(messages) > 50
    for m in messages:
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert strings and all(s.strip() for s in strings), f"{locale}: untranslated {m.id!r}"
        assert "fuzzy" not in m.flags, f"{locale}: fuzzy {m.id!r}"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_translations_keep_placeholders_and_tags(locale: str) -> None:
    messages = _messages(locale)
    assert len(messages) > 50
    for m in messages:
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == set(PLACEHOLDER.findall(ids[0])), m.id
            assert sorted(TAG.findall(s)) == sorted(TAG.findall(ids[0])), m.id


def test_catalogs_cover_the_source_and_nothing_stale() -> None:
    source = _source_msgids()
    assert len(source) > 50, "no msgids extracted from the handlers"
    for locale in SUPPORTED_LOCALES:
        in_po = {m.id if isinstance(m.id, str) else tuple(m.id) for m in _messages(locale)}
        assert source - in_po == set(), (
            f"{locale}: msgids missing from the .po (run pybabel update)"
        )
        assert in_po - source == set(), f"{locale}: obsolete msgids in the .po"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_mo_files_are_up_to_date(locale: str) -> None:
    mo_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po_path = mo_path.with_suffix(".po")
    assert mo_path.stat().st_size > 0
    with mo_path.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    messages = _messages(locale)
    assert len(messages) > 50
    for m in messages:
        if isinstance(m.id, tuple):
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            for n, expected in ((1, strings[0]), (2, strings[-1])):
                assert compiled.ngettext(m.id[0], m.id[1], n) == expected, f"stale .mo: {po_path}"
        else:
            assert compiled.gettext(m.id) == m.string, (
                f"stale .mo for {m.id!r}: run pybabel compile"
            )


def test_i18n_loads_both_locales_and_defaults_to_vietnamese() -> None:
    i18n = create_i18n()
    assert set(i18n.available_locales) == set(SUPPORTED_LOCALES)
    assert i18n.default_locale == "vi"
    assert i18n.gettext("Next ›", locale="vi") == "Tiếp ›"
    assert i18n.gettext("‹ Previous", locale="vi") == "‹ Trước"
    assert i18n.gettext("Next ›", locale="en") == "Next ›"


def test_no_fstrings_inside_gettext() -> None:
    pattern = re.compile(r"\b(_|gettext|ngettext|__)\(\s*f[\"']")
    paths = list(Path(HANDLERS_DIR).rglob("*.py"))
    assert len(paths) > 10, f"no handler modules under {HANDLERS_DIR}"
    for path in paths:
        assert not pattern.search(path.read_text(encoding="utf-8")), path
