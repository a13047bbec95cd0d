"""``POST requests``: the submitted fields (form-encoded or JSON), the API key and idempotency
key they carry, and the petition draft they describe, checked by the petition rules."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from urllib.parse import parse_qsl

from aiogram.utils.i18n import I18n
from aiohttp import web

from handlers.petitions import publication_texts as texts
from knowledge.dossier import national_phone
from knowledge.models import Procedure
from knowledge.normalize import clean_text
from knowledge.petitions import classify_request, validate_petition
from knowledge.search import SearchIndex
from storage.records import PetitionRecord
from storage.repositories.api_keys import ApiKeyInfo
from storage.repositories.petitions import AttachmentDraft, PetitionDraft

from .responses import Open311Error
from .services import PROCEDURE_ATTRIBUTE, Service, ServiceList

MAX_FIELDS = 100


MAX_IDEMPOTENCY_KEY = 100


MAX_MEDIA_URL = 512


MAX_PROCEDURE_CODE = 64


_SURROGATES_RE = re.compile("[\ud800-\udfff]")


_IDEMPOTENCY_RE = re.compile(rf"[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY}}}")


_TEXT_FIELDS = (
    "api_key", "service_code", "description", "first_name", "last_name", "name", "email",
    "phone", "address_string", "media_url", "lat", "long", "jurisdiction_id", "device_id",
    "account_id", "address_id",
)  # fmt: skip


_ATTRIBUTE_FIELD = f"attribute[{PROCEDURE_ATTRIBUTE}]"


def parse_fields(request: web.Request, body: bytes) -> dict[str, str]:
    """The submitted fields as text (form-encoded or JSON; first value of a repeated field)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Open311Error(400, texts.error_bad_body()) from exc
    fields: dict[str, str] = {}
    if request.content_type == "application/json":
        try:
            payload = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise Open311Error(400, texts.error_bad_body()) from exc
        if not isinstance(payload, dict):
            raise Open311Error(400, texts.error_bad_body())
        attributes = payload.get("attribute")
        if isinstance(attributes, dict) and PROCEDURE_ATTRIBUTE in attributes:
            payload = {**payload, _ATTRIBUTE_FIELD: attributes[PROCEDURE_ATTRIBUTE]}
        for name in (*_TEXT_FIELDS, _ATTRIBUTE_FIELD):
            value = payload.get(name)
            if value is None:
                continue
            if (
                name in ("lat", "long")
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            ):
                value = repr(float(value))
            if not isinstance(value, str):
                raise Open311Error(400, texts.error_field_type(name))
            fields[name] = value
    else:
        try:
            pairs = parse_qsl(
                text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise Open311Error(400, texts.error_bad_body()) from exc
        for name, value in pairs:
            fields.setdefault(name, value)
    # lone surrogates (JSON "\ud800") cannot be stored: drop them with the other invisibles
    return {k: _SURROGATES_RE.sub("", v) for k, v in fields.items()}


def api_key_of(request: web.Request, fields: Mapping[str, str]) -> str:
    key = fields.get("api_key") or request.query.get("api_key", "")
    if not key.strip():
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            key = token
    key = key.strip()
    if not key:
        raise Open311Error(401, texts.error_api_key_missing())
    return key


def idempotency_key_of(request: web.Request, key: ApiKeyInfo) -> str | None:
    header = request.headers.get("Idempotency-Key")
    if header is None:
        return None
    header = header.strip()
    if not _IDEMPOTENCY_RE.fullmatch(header):
        raise Open311Error(400, texts.error_idempotency_key())
    return f"open311:{key.id}:{header}"


def _multiline(text: str) -> str:
    """Cleaned like ``clean_text`` line by line, keeping the paragraphs."""
    lines = [clean_text(line) for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _location(fields: Mapping[str, str]) -> tuple[float | None, float | None]:
    lat_text, long_text = fields.get("lat", "").strip(), fields.get("long", "").strip()
    if not lat_text and not long_text:
        return None, None
    try:
        lat, lon = float(lat_text), float(long_text)
    except ValueError as exc:
        raise Open311Error(400, texts.error_location()) from exc
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise Open311Error(400, texts.error_location())
    return lat, lon


def _media(fields: Mapping[str, str]) -> AttachmentDraft | None:
    url = clean_text(fields.get("media_url", ""))
    if not url:
        return None
    if (
        len(url) > MAX_MEDIA_URL
        or not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", url, re.IGNORECASE)
        or not url.isascii()
    ):
        raise Open311Error(400, texts.error_media_url())
    return AttachmentDraft(kind="url", file_id=url)


def _national_code(code: str) -> str:
    """A procedure code without its province suffix: 1.012753.H19 -> 1.012753."""
    parts = code.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 and parts[0].isdigit() else code


def _service(fields: Mapping[str, str], services: ServiceList) -> Service:
    code = fields.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, texts.error_service_code_missing())
    service = services.get(code)
    if service is None:
        raise Open311Error(400, texts.error_service_unknown(code[:64]))
    return service


def _procedure(
    code: str | None, service: Service, services: ServiceList, index: SearchIndex | None
) -> tuple[Procedure | None, list[str]]:
    """The catalog procedure of ``attribute[procedure_code]`` (None without the attribute or a
    catalog), and the problems with it: unknown, or of another service's sector."""
    if code is None:
        return None, []
    if len(code) > MAX_PROCEDURE_CODE:
        return None, [texts.error_procedure_unknown(code[:MAX_PROCEDURE_CODE])]
    if index is None:
        return None, []
    procedure = index.get(code) or index.get(_national_code(code))
    if procedure is None:
        return None, [texts.error_procedure_unknown(code)]
    if service.kind == "procedure":
        own = services.for_sector(procedure.sector)
        if own is not None and own.code != service.code:
            return procedure, [
                texts.error_procedure_sector(procedure.code, procedure.sector, own.code)
            ]
    return procedure, []


def _topic(service: Service, procedure: Procedure | None) -> tuple[str, str | None]:
    """The stored topic and sector of a petition to ``service`` (about ``procedure``)."""
    if service.kind == "procedure":
        return (procedure.name if procedure is not None else service.sector or ""), service.sector
    with _vietnamese():
        topic = service.name()
    return topic, procedure.sector if procedure is not None and service.kind == "service" else None


def draft_of(
    fields: Mapping[str, str], services: ServiceList, index: SearchIndex | None, locale: str
) -> PetitionDraft:
    """The petition the fields describe, or an Open311Error listing every problem."""
    service = _service(fields, services)
    content = _multiline(fields.get("description", ""))
    name = clean_text(fields.get("name", "")) or clean_text(
        f"{fields.get('first_name', '')} {fields.get('last_name', '')}"
    )
    phone = clean_text(fields.get("phone", "")) or None
    email = clean_text(fields.get("email", "")) or None
    address = clean_text(fields.get("address_string", ""))
    problems = [
        texts.problem_description(problem)
        for problem in validate_petition(content, name, phone, address, email)
    ]
    try:
        latitude, longitude = _location(fields)
    except Open311Error as error:
        problems += error.descriptions
        latitude = longitude = None
    try:
        media = _media(fields)
    except Open311Error as error:
        problems += error.descriptions
        media = None
    procedure_code = clean_text(fields.get(_ATTRIBUTE_FIELD, "")) or None
    procedure, procedure_problems = _procedure(procedure_code, service, services, index)
    problems += procedure_problems
    if problems:
        raise Open311Error(400, *problems)
    kind = classify_request(content)
    if kind.out_of_scope:
        raise Open311Error(400, texts.out_of_scope_description(kind.kind, kind.matched))
    topic, sector = _topic(service, procedure)
    return PetitionDraft(
        topic_kind=service.kind,
        topic=topic,
        content=content,
        sender_name=name,
        address=address,
        phone=("0" + national_phone(phone)) if phone else None,
        email=email,
        procedure_code=procedure.code if procedure is not None else procedure_code,
        sector=sector,
        source="open311",
        language=locale,
        latitude=latitude,
        longitude=longitude,
        attachments=(media,) if media is not None else (),
    )


@contextlib.contextmanager
def _vietnamese() -> Iterator[None]:
    """Stored topics are Vietnamese whatever the caller's locale (officials read them)."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        yield
        return
    with i18n.use_locale("vi"):
        yield


def same_petition(stored: PetitionRecord, draft: PetitionDraft) -> bool:
    return (
        stored.content == draft.content
        and stored.sender_name == draft.sender_name
        and stored.source == "open311"
    )
