"""The records the repositories hand out mirror their tables: a column added to a table is either
in its record or listed here as deliberately left out."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime

import pytest

from storage import models
from storage.records import (
    AgencyRecord,
    AttachmentRecord,
    AuditRecord,
    EventRecord,
    InvitationRecord,
    LearnedPhrasingRecord,
    OfficialRecord,
    PetitionRecord,
    SearchMissRecord,
    ZaloTokenRecord,
    ZaloUserRecord,
)

MIRRORS = [
    (PetitionRecord, models.Petition, set()),
    (OfficialRecord, models.Official, set()),
    (AgencyRecord, models.Agency, {"created_at"}),
    (EventRecord, models.PetitionEvent, set()),
    (AttachmentRecord, models.PetitionAttachment, set()),
    (AuditRecord, models.AuditEntry, set()),
    # the hash of the code never leaves the repository
    (InvitationRecord, models.OfficialInvitation, {"code_hash"}),
    (ZaloTokenRecord, models.ZaloToken, set()),
    (ZaloUserRecord, models.ZaloUser, set()),
    (SearchMissRecord, models.SearchMiss, set()),
    (LearnedPhrasingRecord, models.LearnedPhrasing, set()),
]


@pytest.mark.parametrize(("record", "model", "left_out"), MIRRORS)
def test_a_record_has_every_column_of_its_table(
    record: type, model: type[models.Base], left_out: set[str]
) -> None:
    columns = {c.key for c in model.__table__.columns}
    assert {f.name for f in fields(record)} == columns - left_out
    assert left_out <= columns


def test_of_copies_the_row_and_the_record_cannot_be_changed() -> None:
    now = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    row = models.Agency(
        id=3,
        code="so-tu-phap",
        name="Sở Tư pháp",
        sectors=["Hộ tịch"],
        procedure_codes=["1.001193"],
        dossier_agency=None,
        is_default=False,
        created_at=now,
    )
    agency = AgencyRecord.of(row)
    assert agency.sectors == ("Hộ tịch",) and agency.procedure_codes == ("1.001193",)
    row.sectors.append("Chứng thực")  # the row changing later does not reach the record
    assert agency.sectors == ("Hộ tịch",)
    with pytest.raises(FrozenInstanceError):
        agency.name = "other"  # type: ignore[misc]
    event = EventRecord.of(
        models.PetitionEvent(
            id=1, petition_id=2, action="taken", actor="official", official_id=4, note=None, at=now
        )
    )
    assert (event.petition_id, event.official_id, event.at) == (2, 4, now)
