"""petitions, agencies, officials, audit log, inbox tokens, processed updates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("procedure_codes", sa.JSON(), nullable=False),
        sa.Column("dossier_agency", sa.String(length=255), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("code", name=op.f("uq_agencies_code")),
    )
    op.create_table(
        "petition_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_petition_counters")),
    )
    op.create_table(
        "processed_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bot_id", sa.String(length=32), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_updates")),
        sa.UniqueConstraint(
            "bot_id", "update_id", name=op.f("uq_processed_updates_bot_id_update_id")
        ),
    )
    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processed_updates_at"), ["at"], unique=False)

    op.create_table(
        "officials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_officials_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officials")),
        sa.UniqueConstraint("channel", "chat_id", name=op.f("uq_officials_channel_chat_id")),
    )
    with op.batch_alter_table("officials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_officials_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "inbox_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["official_id"],
            ["officials.id"],
            name=op.f("fk_inbox_tokens_official_id_officials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_inbox_tokens_token_hash")),
    )
    op.create_table(
        "official_invitations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_official_invitations_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["officials.id"],
            name=op.f("fk_official_invitations_created_by_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["used_by"], ["officials.id"], name=op.f("fk_official_invitations_used_by_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official_invitations")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_official_invitations_code_hash")),
    )
    op.create_table(
        "petitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tracking_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("chat_id", sa.String(length=128), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("topic_kind", sa.String(length=16), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("sector", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=500), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sender_name", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refuse_by", sa.Date(), nullable=False),
        sa.Column("info_by", sa.Date(), nullable=False),
        sa.Column("answer_by", sa.Date(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("publish_by", sa.Date(), nullable=True),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("public_content", sa.Text(), nullable=True),
        sa.Column("public_answer", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_petitions_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["officials.id"], name=op.f("fk_petitions_assigned_to_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_petitions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_petitions_idempotency_key")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_petitions_tracking_code")),
        sa.UniqueConstraint("year", "seq", name=op.f("uq_petitions_year_seq")),
    )
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_petitions_agency_received", ["agency_id", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_petitions_agency_status",
            ["agency_id", "status", "answer_by", "refuse_by", "info_by", "publish_by"],
            unique=False,
        )
        batch_op.create_index("ix_petitions_published", ["published_at"], unique=False)
        batch_op.create_index(
            "ix_petitions_sender", ["channel", "chat_id", "received_at"], unique=False
        )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_audit_log_official_id_officials")
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petitions.id"],
            name=op.f("fk_audit_log_petition_id_petitions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_official", ["official_id", "at"], unique=False)
        batch_op.create_index("ix_audit_log_petition", ["petition_id", "at"], unique=False)

    op.create_table(
        "petition_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_id", sa.String(length=512), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petitions.id"],
            name=op.f("fk_petition_attachments_petition_id_petitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_petition_attachments")),
    )
    with op.batch_alter_table("petition_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_petition_attachments_petition_id"), ["petition_id"], unique=False
        )

    op.create_table(
        "petition_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_petition_events_official_id_officials")
        ),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petitions.id"],
            name=op.f("fk_petition_events_petition_id_petitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_petition_events")),
    )
    with op.batch_alter_table("petition_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_petition_events_petition_id"), ["petition_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("petition_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_petition_events_petition_id"))

    op.drop_table("petition_events")
    with op.batch_alter_table("petition_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_petition_attachments_petition_id"))

    op.drop_table("petition_attachments")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_petition")
        batch_op.drop_index("ix_audit_log_official")

    op.drop_table("audit_log")
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.drop_index("ix_petitions_sender")
        batch_op.drop_index("ix_petitions_published")
        batch_op.drop_index("ix_petitions_agency_status")
        batch_op.drop_index("ix_petitions_agency_received")

    op.drop_table("petitions")
    op.drop_table("official_invitations")
    op.drop_table("inbox_tokens")
    with op.batch_alter_table("officials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_officials_agency_id"))

    op.drop_table("officials")
    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_updates_at"))

    op.drop_table("processed_updates")
    op.drop_table("petition_counters")
    op.drop_table("agencies")
