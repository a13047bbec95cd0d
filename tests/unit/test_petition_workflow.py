"""The petition life cycle's rules (knowledge.petition_workflow), without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from knowledge.dossier import Status, final_status_stays
from knowledge.petition_workflow import (
    CLOSED_STATUSES,
    OFFICIAL_STEPS,
    OPEN_STATUSES,
    STATUSES,
    OfficialRole,
    PetitionAction,
    PetitionError,
    PetitionStatus,
    Refusal,
    answering_agency,
    base_procedure_code,
    can_see_personal_data,
    invitation_refusal,
    inviter_still_entitled,
    public_copies,
    public_names,
    public_topic,
    reply_refusal,
    reroute_refusal,
    step_refusal,
)
from knowledge.petitions import REDACTED, due_soon_until


@dataclass
class Official:
    agency_id: int = 1
    active: bool = True
    role: str = OfficialRole.OFFICER


@dataclass
class Petition:
    agency_id: int = 1
    status: str = "received"
    sender_name: str = "Nguyễn Văn An"
    address: str = "12 Lê Lợi, phường Bến Thành, TP Hồ Chí Minh"
    phone: str | None = "0912 345 678"
    email: str | None = "an@example.com"


@dataclass
class Agency:
    code: str
    procedure_codes: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)


def test_values_are_the_stored_strings() -> None:
    assert [s.value for s in STATUSES] == [
        "received",
        "in_progress",
        "info_requested",
        "answered",
        "published",
        "refused",
    ]
    assert set(OPEN_STATUSES) | set(CLOSED_STATUSES) == set(STATUSES)
    assert PetitionStatus.INFO_REQUESTED == "info_requested"
    assert PetitionAction.INFO_REQUEST == "info_requested"
    assert PetitionAction.PUBLICATION == "published"
    assert f"{PetitionStatus.ANSWERED}" == "answered"
    assert OfficialRole.ADMIN == "admin"


def test_personal_data_only_for_the_active_officials_of_the_agency() -> None:
    petition = Petition(agency_id=1)
    assert can_see_personal_data(Official(agency_id=1), petition)
    assert not can_see_personal_data(Official(agency_id=2), petition)
    assert not can_see_personal_data(Official(agency_id=1, active=False), petition)
    assert not can_see_personal_data(None, petition)


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (PetitionAction.TAKEN, {"received"}),
        (PetitionAction.INFO_REQUEST, {"received", "in_progress"}),
        (PetitionAction.ANSWER, {"received", "in_progress", "info_requested"}),
        (PetitionAction.REFUSAL, {"received", "in_progress", "info_requested"}),
        (PetitionAction.PUBLICATION, {"answered"}),
    ],
)
def test_which_step_in_which_status(action: PetitionAction, allowed: set[str]) -> None:
    for status in STATUSES:
        refusal = step_refusal(Official(), Petition(status=status), action)
        assert refusal == (None if status in allowed else Refusal.WRONG_STATUS), status


def test_another_agency_is_refused_before_the_status() -> None:
    petition = Petition(agency_id=1, status="published")
    assert step_refusal(Official(agency_id=2), petition, PetitionAction.TAKEN) == "not_allowed"
    assert OFFICIAL_STEPS[PetitionAction.TAKEN].new_status == "in_progress"


def test_citizen_reply_only_while_information_is_requested() -> None:
    assert reply_refusal(Petition(status="info_requested")) is None
    assert reply_refusal(Petition(status="in_progress")) == Refusal.WRONG_STATUS


def test_reroute_rules() -> None:
    admin = Official(role=OfficialRole.ADMIN)
    open_petition = Petition(status="in_progress")
    assert reroute_refusal(admin, open_petition, 2) is None
    assert reroute_refusal(None, open_petition, 2) is None  # the command line
    assert reroute_refusal(Official(), open_petition, 2) == Refusal.NOT_ALLOWED
    assert reroute_refusal(Official(role="admin", agency_id=3), open_petition, 2) == "not_allowed"
    assert reroute_refusal(admin, Petition(status="answered"), 2) == Refusal.WRONG_STATUS
    assert reroute_refusal(admin, open_petition, 1) == Refusal.SAME_AGENCY


def test_invitations() -> None:
    admin = Official(role="admin", agency_id=1)
    assert invitation_refusal("officer", 1, None) is None
    assert invitation_refusal("officer", 1, admin) is None
    assert invitation_refusal("boss", 1, None) == Refusal.BAD_ROLE
    assert invitation_refusal("officer", 2, admin) == Refusal.NOT_ALLOWED
    assert invitation_refusal("officer", 1, Official()) == Refusal.NOT_ALLOWED
    assert inviter_still_entitled(admin, 1)
    assert not inviter_still_entitled(admin, 2)
    assert not inviter_still_entitled(Official(role="admin", active=False), 1)
    assert not inviter_still_entitled(None, 1)


def test_petition_error_keeps_a_plain_code() -> None:
    error = PetitionError(Refusal.WRONG_STATUS)
    assert error.code == "wrong_status" and type(error.code) is str
    assert str(error) == "wrong_status"


def test_public_copies_mask_the_sender() -> None:
    petition = Petition()
    content, answer = public_copies(
        petition, "Tôi là Nguyễn Văn An, ở 12 Lê Lợi, gọi 0912 345 678.", None
    )
    assert "Nguyễn Văn An" not in content and "0912" not in content and "12 Lê Lợi" not in content
    assert REDACTED in content
    assert answer == ""
    assert "an@example.com" in public_names(petition)
    assert public_topic("Nguyễn Văn An hỏi về đất", "Nguyễn Văn An").startswith(REDACTED)
    assert public_topic(None, None) == ""


def test_answering_agency() -> None:
    land = Agency("land", procedure_codes=["1.012753.H19"], sectors=["Đất đai"])
    roads = Agency("roads", sectors=["Giao thông  vận tải"])
    agencies = [land, roads]
    assert base_procedure_code("1.012753.H19") == "1.012753"
    assert answering_agency(agencies, "1.012753.h19", None) is land
    assert answering_agency(agencies, "1.012753.H20", None) is land  # national code
    assert answering_agency(agencies, None, "giao thông vận tải") is roads
    assert answering_agency(agencies, "9.9", "Y tế") is None


def test_final_dossier_status_stays() -> None:
    assert final_status_stays(Status.RETURNED, Status.PROCESSED)
    assert not final_status_stays(Status.PROCESSED, Status.RETURNED)
    assert not final_status_stays(Status.RETURNED, Status.WITHDRAWN)
    assert not final_status_stays(Status.PROCESSING, Status.SUPPLEMENT_REQUESTED)


def test_due_soon_until_is_one_working_day_ahead() -> None:
    assert due_soon_until(date(2026, 3, 2)) == date(2026, 3, 3)  # Monday -> Tuesday
    assert due_soon_until(date(2026, 3, 6)) == date(2026, 3, 9)  # Friday -> Monday
