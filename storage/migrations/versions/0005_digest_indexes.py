"""indexes for the officials' daily digest

- ix_dossiers_agency_received: an agency's dossiers received in a period, in one range scan
  of the index alone (it carries every column the digest reads: about 160 bytes a dossier);
- ix_dossier_events_irregular (partial): the few dossiers whose history the digest must read
  (supplement requests, refusals, withdrawals, stops, statuses without a time);
- ix_service_ratings_agency_created: an agency's ratings given in a period.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same text as storage.repositories.digest's query (IRREGULAR_EVENT_STATUSES), so that both SQLite and
# PostgreSQL can prove the partial index applies to it.
IRREGULAR = "status IN (3, 5, 7, 8) OR status_at IS NULL"
DOSSIER_COLUMNS = (
    "agency",
    "received_at",
    "finished_at",
    "appointment_at",
    "status",
    "status_at",
    "returned_at",
)


def upgrade() -> None:
    op.create_index("ix_dossiers_agency_received", "dossiers", list(DOSSIER_COLUMNS), unique=False)
    op.create_index(
        "ix_dossier_events_irregular",
        "dossier_events",
        ["dossier_id"],
        unique=False,
        sqlite_where=sa.text(IRREGULAR),
        postgresql_where=sa.text(IRREGULAR),
    )
    op.create_index(
        "ix_service_ratings_agency_created",
        "service_ratings",
        ["agency", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_service_ratings_agency_created", table_name="service_ratings")
    op.drop_index("ix_dossier_events_irregular", table_name="dossier_events")
    op.drop_index("ix_dossiers_agency_received", table_name="dossiers")
