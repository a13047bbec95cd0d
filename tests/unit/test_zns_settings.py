"""ZNS configuration (``ZALO_ZNS_TEMPLATES``) and the template parameters renderers give."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings
from handlers.contracts import TEMPLATE_VALUE_LIMIT, template_values


def test_templates_are_read_as_json_by_outbox_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ZALO_ZNS_TEMPLATES", '{"dossier_status": "231234", "petition_update": 231235}'
    )
    assert Settings().zalo_zns_templates == {
        "dossier_status": "231234",
        "petition_update": "231235",
    }


@pytest.mark.parametrize("value", [None, "", "  "])
def test_no_templates_by_default_or_when_empty(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("ZALO_ZNS_TEMPLATES", value)
    assert Settings().zalo_zns_templates == {}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('{"petition_answer": "1"}', "unknown outbox kind 'petition_answer'"),
        ('{"dossier_status": ""}', "needs a template id"),
        ("dossier_status=1", "must be a JSON object"),
        ('["dossier_status"]', "must be a JSON object"),
    ],
)
def test_a_mistyped_configuration_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("ZALO_ZNS_TEMPLATES", value)
    with pytest.raises(ValidationError, match=says):
        Settings()


def test_template_values_are_short_and_blanks_left_out() -> None:
    params = template_values(
        {
            "receipt_code": "000.00.17.H12-260302-0042",
            "status": "Đã tiếp nhận   hồ sơ\n",
            "agency": "Trung tâm Phục vụ hành chính công tỉnh Khánh Hòa",
            "date": None,
            "note": " ",
        }
    )
    assert params == {
        "receipt_code": "000.00.17.H12-260302-0042",
        "status": "Đã tiếp nhận hồ sơ",
        "agency": "Trung tâm Phục vụ hành chính…",
    }
    assert len(params["agency"]) <= TEMPLATE_VALUE_LIMIT
    assert template_values({"code": "x" * 40}) == {"code": "x" * 29 + "…"}
