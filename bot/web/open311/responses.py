"""Open311 answers in the spec's two shapes: JSON, or the same document as XML for ``.xml``;
and the error answer, a list of ``{code, description}``."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.web.plumbing import json_response

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


_LIST_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
}


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID_RE.sub("", str(value))


def _xml_fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _xml_fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item_tag = _LIST_ITEMS.get(element.tag, "item")
        for child in value:
            _xml_fill(ET.SubElement(element, item_tag), child)
    elif value is not None:
        element.text = _xml_text(value)


def to_xml(root: str, payload: Any) -> bytes:
    """The spec's XML: a list becomes ``<root><item>...</item></root>`` (``services`` ->
    ``service``, ``service_requests`` -> ``request``, ``errors`` -> ``error``)."""
    element = ET.Element(root)
    _xml_fill(element, payload)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def respond(
    request: web.Request, root: str, payload: Any, status: int = 200, **headers: str
) -> web.Response:
    if request.match_info.get("fmt") == "xml":
        response = web.Response(
            body=to_xml(root, payload), status=status, content_type="text/xml", charset="utf-8"
        )
    else:
        response = json_response(payload, status=status)
    response.headers.update(_HEADERS)
    response.headers.update(headers)
    return response


class Open311Error(Exception):
    """An error answer: the HTTP status and the spec's list of ``{code, description}``."""

    def __init__(self, status: int, *descriptions: str, headers: Mapping[str, str] | None = None):
        super().__init__(descriptions[0] if descriptions else str(status))
        self.status = status
        self.descriptions = descriptions
        self.headers = dict(headers or {})


def error_response(request: web.Request, error: Open311Error) -> web.Response:
    body = [{"code": error.status, "description": d} for d in error.descriptions]
    return respond(request, "errors", body, error.status, **error.headers)
