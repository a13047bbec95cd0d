"""Bring the catalogs in line with the code in one locked step: extract, update, translate, compile.

    python -m handlers.locales.sync [TRANSLATIONS.json ...]

Each JSON file maps an English msgid to its Vietnamese text (a plural msgid, keyed by its
singular, maps to a list with one Vietnamese form), or to ``{"vi": ..., "en": ...}`` when the
English text differs from the msgid. New English entries get the msgid itself (both forms for
plurals). Existing translations are kept unless a JSON file gives a new one; msgids no
longer in the code are dropped. The whole run holds an exclusive lock on
``handlers/locales/.lock``, so several people (or agents) working at once never overwrite each
other's catalogs. Prints the msgids still lacking a Vietnamese translation; exits 1 if any.
"""

from __future__ import annotations

import fcntl
import json
import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

LOCALES_DIR = Path(__file__).resolve().parent
HANDLERS_DIR = LOCALES_DIR.parent
DOMAIN = "messages"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "__": None, "lazy_gettext": None}
HEADER = "# Dialog texts of the citizen assistant ({locale}).\n# Source of truth: edit here, then compile (see handlers/locales/README.md).\n"


def _strings(value: object) -> tuple[str, ...]:
    """A catalog message's translation(s) as a tuple of strings (plural forms or one)."""
    if isinstance(value, tuple | list):
        return tuple(str(v or "") for v in value)
    return (str(value or ""),)


def _template() -> Catalog:
    template = Catalog(project="citizen-assistant", version="0.1.0")
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(HANDLERS_DIR), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        template.add(message, context=context)
    return template


def _read(locale: str) -> Catalog:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def _write(locale: str, catalog: Catalog) -> None:
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    buffer = BytesIO()
    write_po(buffer, catalog, omit_header=False, no_location=True, width=100)
    text = buffer.getvalue().decode("utf-8")
    # keep our own two-line header comment instead of Babel's boilerplate
    body = text[text.index('msgid ""') :]
    po_path.write_text(HEADER.format(locale=locale) + body, encoding="utf-8")
    mo = BytesIO()
    write_mo(mo, catalog)
    po_path.with_suffix(".mo").write_bytes(mo.getvalue())


def sync(translation_files: list[Path]) -> list[str]:
    extra: dict[str, object] = {}
    for path in translation_files:
        extra.update(json.loads(path.read_text(encoding="utf-8")))
    missing: list[str] = []
    for locale in ("vi", "en"):
        # A template of its own per locale: Catalog.update adopts the template's new Message
        # objects, so a shared template would carry the Vietnamese texts into the English catalog.
        template = _template()
        catalog = _read(locale)
        template.creation_date = catalog.creation_date  # no header churn on every run
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
            given = extra.get(key)
            if isinstance(given, dict):  # {"vi": ..., "en": ...}
                given = given.get(locale)
            elif locale == "en":
                given = None  # a plain string is the Vietnamese text
            if locale == "en":
                strings = _strings(message.string)
                if given is not None:
                    message.string = str(given)
                elif not strings or not all(s.strip() for s in strings):
                    message.string = (
                        tuple(message.id) if isinstance(message.id, (tuple, list)) else message.id
                    )
                message.flags.discard("fuzzy")
                continue
            if given is not None:
                if isinstance(message.id, (tuple, list)):
                    forms = given if isinstance(given, list) else [given]
                    message.string = tuple(str(f) for f in forms[:1])
                else:
                    message.string = str(given[0] if isinstance(given, list) else given)
            strings = _strings(message.string)
            if not strings or not all(s.strip() for s in strings):
                missing.append(key)
            message.flags.discard("fuzzy")
        _write(locale, catalog)
    return missing


def main(argv: list[str]) -> int:
    lock_path = LOCALES_DIR / ".lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = sync([Path(a) for a in argv])
    for key in missing:
        print(f"untranslated (vi): {key!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
