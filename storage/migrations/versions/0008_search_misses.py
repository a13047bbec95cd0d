"""Learning from use: the search's misses (no personal data) and the phrasings officials mapped.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_misses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text_key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_misses")),
        sa.UniqueConstraint(
            "text_key", "kind", "channel", name=op.f("uq_search_misses_text_key_kind_channel")
        ),
    )
    with op.batch_alter_table("search_misses", schema=None) as batch_op:
        batch_op.create_index("ix_search_misses_open", ["resolved_at", "last_seen"], unique=False)

    op.create_table(
        "learned_phrasings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text_key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["official_id"],
            ["officials.id"],
            name=op.f("fk_learned_phrasings_official_id_officials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_phrasings")),
        sa.UniqueConstraint("text_key", "code", name=op.f("uq_learned_phrasings_text_key_code")),
    )


def downgrade() -> None:
    op.drop_table("learned_phrasings")
    with op.batch_alter_table("search_misses", schema=None) as batch_op:
        batch_op.drop_index("ix_search_misses_open")
    op.drop_table("search_misses")
