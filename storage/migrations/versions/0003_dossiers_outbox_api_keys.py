"""Dossiers with their history, subscriptions, ratings; the outbox; API keys; lookup failures.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("receipt_code", sa.String(length=64), nullable=False),
        sa.Column("lookup_key", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("agency", sa.String(length=255), nullable=False),
        sa.Column("applicant_name", sa.String(length=255), nullable=True),
        sa.Column("applicant_phone", sa.String(length=32), nullable=True),
        sa.Column("applicant_id_number", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.SmallInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delay_reason", sa.Text(), nullable=True),
        sa.Column("postal_tracking", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossiers")),
        sa.UniqueConstraint("lookup_key", name=op.f("uq_dossiers_lookup_key")),
    )
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossiers_agency"), ["agency"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dossiers_procedure_code"), ["procedure_code"], unique=False
        )

    op.create_table(
        "lookup_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("lookup_key", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_failures")),
    )
    with op.batch_alter_table("lookup_failures", schema=None) as batch_op:
        batch_op.create_index("ix_lookup_failures_user", ["channel", "user_id", "at"], unique=False)
        batch_op.create_index("ix_lookup_failures_code", ["lookup_key", "at"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_dedup_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["state", "available_at"], unique=False)
        batch_op.create_index(
            "ix_outbox_chat_inflight",
            ["channel", "chat_id", "id"],
            unique=False,
            sqlite_where=sa.text("state IN ('pending', 'sending')"),
            postgresql_where=sa.text("state IN ('pending', 'sending')"),
        )

    op.create_table(
        "dossier_apologies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("new_appointment_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_dossier_apologies_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_apologies")),
        sa.UniqueConstraint(
            "dossier_id",
            "new_appointment_at",
            name=op.f("uq_dossier_apologies_dossier_id_new_appointment_at"),
        ),
    )
    op.create_table(
        "dossier_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_dossier_events_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_events")),
        sa.UniqueConstraint(
            "dossier_id",
            "status",
            "status_at",
            name=op.f("uq_dossier_events_dossier_id_status_status_at"),
        ),
    )
    op.create_table(
        "dossier_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_dossier_subscriptions_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_subscriptions")),
        sa.UniqueConstraint(
            "dossier_id",
            "channel",
            "chat_id",
            name=op.f("uq_dossier_subscriptions_dossier_id_channel_chat_id"),
        ),
    )
    op.create_table(
        "service_ratings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=255), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_service_ratings_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_ratings")),
        sa.UniqueConstraint(
            "dossier_id",
            "channel",
            "chat_id",
            name=op.f("uq_service_ratings_dossier_id_channel_chat_id"),
        ),
    )
    with op.batch_alter_table("service_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_ratings_agency"), ["agency"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_ratings_agency"))

    op.drop_table("service_ratings")
    op.drop_table("dossier_subscriptions")
    op.drop_table("dossier_events")
    op.drop_table("dossier_apologies")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_chat_inflight",
            sqlite_where=sa.text("state IN ('pending', 'sending')"),
            postgresql_where=sa.text("state IN ('pending', 'sending')"),
        )
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("lookup_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_lookup_failures_code")
        batch_op.drop_index("ix_lookup_failures_user")

    op.drop_table("lookup_failures")
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossiers_procedure_code"))
        batch_op.drop_index(batch_op.f("ix_dossiers_agency"))

    op.drop_table("dossiers")
    op.drop_table("api_keys")
