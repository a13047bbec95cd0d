"""Zalo Official Account: its users, the buttons sent to them, the OA's tokens, events taken.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "zalo_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("last_inbound_at", WHEN, nullable=True),
        sa.Column("window_replies", sa.Integer(), nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=False),
        sa.Column("followed", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zalo_users")),
        sa.UniqueConstraint("user_id", name=op.f("uq_zalo_users_user_id")),
    )
    op.create_table(
        "zalo_buttons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.String(length=1000), nullable=False),
        sa.Column("callback_data", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["zalo_users.id"],
            name=op.f("fk_zalo_buttons_chat_id_zalo_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zalo_buttons")),
    )
    op.create_index("ix_zalo_buttons_chat_payload", "zalo_buttons", ["chat_id", "payload"])
    op.create_index(op.f("ix_zalo_buttons_created_at"), "zalo_buttons", ["created_at"])
    op.create_table(
        "zalo_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", WHEN, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_zalo_tokens")),
    )
    op.create_table(
        "zalo_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zalo_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_zalo_events_event_key")),
    )
    op.create_index(op.f("ix_zalo_events_at"), "zalo_events", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_zalo_events_at"), table_name="zalo_events")
    op.drop_table("zalo_events")
    op.drop_table("zalo_tokens")
    op.drop_index(op.f("ix_zalo_buttons_created_at"), table_name="zalo_buttons")
    op.drop_index("ix_zalo_buttons_chat_payload", table_name="zalo_buttons")
    op.drop_table("zalo_buttons")
    op.drop_table("zalo_users")
