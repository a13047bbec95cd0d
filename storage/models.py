"""Typed SQLAlchemy 2 models; the schema itself is owned by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from knowledge.workdays import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zone type and hands back naive values; they are stored as UTC and
    returned with ``tzinfo=UTC``. Naive values are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use a timezone-aware value")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names for migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class ChatUser(Base):
    """A person talking to the bot on one channel."""

    __tablename__ = "chat_users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # "telegram" | "web" | "zalo"
    external_id: Mapped[str] = mapped_column(String(128))  # the channel's own user id
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FsmRecord(Base):
    """Persisted aiogram FSM state and data for one storage key."""

    __tablename__ = "fsm_records"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[str] = mapped_column(Text, default="{}")  # JSON text, JSON primitives only
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImportedProcedure(Base):
    """A procedure imported from a province's export; overlays the shipped catalog."""

    __tablename__ = "imported_procedures"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppSecret(Base):
    """A secret the application generates once and keeps (e.g. the web chat visitor key)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Dossiers (hồ sơ) -------------------------------------------------------------------------


class Dossier(Base):
    """One application filed at a one-door service centre, as the one-door system reports it.

    ``lookup_key`` is the receipt code reduced to upper-case letters and digits, so that a code
    typed with lost, doubled or different separators finds the same row. The applicant's name,
    phone and ID number are kept to verify a lookup; they are never shown in a chat.
    """

    __tablename__ = "dossiers"
    __table_args__ = (
        # The digest's figures in one pass per agency, from the index alone (migration 0005).
        Index(
            "ix_dossiers_agency_received",
            "agency",
            "received_at",
            "finished_at",
            "appointment_at",
            "status",
            "status_at",
            "returned_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    receipt_code: Mapped[str] = mapped_column(String(64))
    lookup_key: Mapped[str] = mapped_column(String(64), unique=True)
    procedure_code: Mapped[str | None] = mapped_column(String(64), index=True)
    agency: Mapped[str] = mapped_column(String(255), index=True)
    applicant_name: Mapped[str | None] = mapped_column(String(255))
    applicant_phone: Mapped[str | None] = mapped_column(String(32))
    applicant_id_number: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[int | None] = mapped_column(SmallInteger)  # 1 direct, 2 online, 3 postal
    received_at: Mapped[datetime | None] = mapped_column()
    appointment_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[int] = mapped_column(SmallInteger)  # the national portal's 1..10
    status_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    returned_at: Mapped[datetime | None] = mapped_column()
    new_appointment_at: Mapped[datetime | None] = mapped_column()  # latest apology letter
    delay_reason: Mapped[str | None] = mapped_column(Text)
    postal_tracking: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(255))  # "file:<name>" | "api:<agency>"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DossierEvent(Base):
    """One status the dossier has been in (its history); a status 5 row is a supplement request."""

    __tablename__ = "dossier_events"
    __table_args__ = (
        UniqueConstraint("dossier_id", "status", "status_at"),
        # The few histories that change the on-time verdict (supplement, refusal, withdrawal,
        # stop, a status without a time), for the digest (migration 0005).
        Index(
            "ix_dossier_events_irregular",
            "dossier_id",
            sqlite_where=text("status IN (3, 5, 7, 8) OR status_at IS NULL"),
            postgresql_where=text("status IN (3, 5, 7, 8) OR status_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    status: Mapped[int] = mapped_column(SmallInteger)
    status_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)  # e.g. what to supplement
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class DossierApology(Base):
    """An apology letter (form 04): the new appointment date and the reason for the delay."""

    __tablename__ = "dossier_apologies"
    __table_args__ = (UniqueConstraint("dossier_id", "new_appointment_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    new_appointment_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class DossierSubscription(Base):
    """A chat following a dossier after a verified lookup; status changes are pushed to it."""

    __tablename__ = "dossier_subscriptions"
    __table_args__ = (UniqueConstraint("dossier_id", "channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceRating(Base):
    """A citizen's satisfaction with a returned dossier (1 = Rất hài lòng ... 5 = Rất không hài lòng)."""

    __tablename__ = "service_ratings"
    __table_args__ = (
        UniqueConstraint("dossier_id", "channel", "chat_id"),
        Index("ix_service_ratings_agency_created", "agency", "created_at"),  # digests (0005)
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    agency: Mapped[str] = mapped_column(String(255), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(SmallInteger)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LookupFailure(Base):
    """A failed dossier lookup (unknown code or wrong second factor), for the rate limits per
    user and per code."""

    __tablename__ = "lookup_failures"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    lookup_key: Mapped[str | None] = mapped_column(String(64))  # the code tried, known or not
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_lookup_failures_user", "channel", "user_id", "at"),
        Index("ix_lookup_failures_code", "lookup_key", "at"),
    )


class ApiKey(Base):
    """An API key of one agency; only its SHA-256 is stored, with a short prefix to name it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255), default="dossiers")  # space-separated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


# --- Outbox ---------------------------------------------------------------------------------


class OutboxMessage(Base):
    """A message to send, written in the same transaction as the change that causes it.

    ``kind`` names the renderer that turns ``payload`` into text at send time (in the
    recipient's language); ``dedup_key`` makes enqueueing the same notification twice a no-op.
    States: pending -> sending -> sent | failed | uncertain (the process died mid-send; it is
    not sent again, so nothing is ever delivered twice).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(String(16))
    dedup_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_due", "state", "available_at"),
        # A chat's rows still in flight, by id: does an earlier one hold this row back? (the
        # NOT EXISTS probe of storage/outbox.py); partial, so rows done with cost nothing.
        Index(
            "ix_outbox_chat_inflight",
            "channel",
            "chat_id",
            "id",
            sqlite_where=text("state IN ('pending', 'sending')"),
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
    )


# --- Petitions (phản ánh, kiến nghị) ----------------------------------------------------------


class Agency(Base):
    """A body that answers petitions: the sectors and procedures it answers for.

    ``dossier_agency`` is the name its dossiers carry in the one-door system (``dossiers.agency``),
    so a digest can report the agency's dossier figures; ``is_default`` marks the agency that
    receives petitions no other agency answers for (the province's receiving office).
    """

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    procedure_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    dossier_agency: Mapped[str | None] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Official(Base):
    """A person of an agency working from the chat: role ``admin`` or ``officer``."""

    __tablename__ = "officials"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16))  # "admin" | "officer"
    language: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfficialInvitation(Base):
    """A one-time code that enrols an official; only its SHA-256 is stored."""

    __tablename__ = "official_invitations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))  # None: the CLI
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    used_by: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))


class PetitionCounter(Base):
    """The last tracking number given in a year (PAKN-YYYY-NNNNNN)."""

    __tablename__ = "petition_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Petition(Base):
    """One petition, from its submission to its published answer.

    Status: ``received`` -> ``in_progress`` (taken by an officer) <-> ``info_requested``
    -> ``answered`` -> ``published``; or ``refused``. Deadlines are working-day deadlines from
    ``received_at`` (DOMAIN.md), stored so that digests can select on them.
    """

    __tablename__ = "petitions"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        # every deadline in the index: the digest's counts and lists never read the rows
        Index(
            "ix_petitions_agency_status",
            "agency_id",
            "status",
            "answer_by",
            "refuse_by",
            "info_by",
            "publish_by",
        ),
        Index("ix_petitions_agency_received", "agency_id", "received_at"),
        Index("ix_petitions_sender", "channel", "chat_id", "received_at"),
        Index("ix_petitions_published", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # "chat" | "open311"
    channel: Mapped[str | None] = mapped_column(String(16))  # the citizen's chat, if any
    chat_id: Mapped[str | None] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(16))
    topic_kind: Mapped[str] = mapped_column(String(16))  # "procedure" | "service" | "other"
    procedure_code: Mapped[str | None] = mapped_column(String(64))
    sector: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    sender_name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    status: Mapped[str] = mapped_column(String(16), default="received")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    received_at: Mapped[datetime] = mapped_column()
    refuse_by: Mapped[date] = mapped_column()  # local date, due by its end
    info_by: Mapped[date] = mapped_column()  # local date, due by its end
    answer_by: Mapped[date] = mapped_column()  # local date, due by its end
    taken_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(Text)
    publish_by: Mapped[date | None] = mapped_column()
    refused_at: Mapped[datetime | None] = mapped_column()
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column()
    public_content: Mapped[str | None] = mapped_column(Text)  # redacted copies, set on publishing
    public_answer: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PetitionAttachment(Base):
    """A photo or document sent with a petition (Telegram's file_id; the bytes stay there)."""

    __tablename__ = "petition_attachments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # "photo" | "document" | "url"
    file_id: Mapped[str] = mapped_column(String(512))  # Telegram file_id, or a media URL
    file_name: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PetitionEvent(Base):
    """One step of a petition's life, as the citizen and the officials see it."""

    __tablename__ = "petition_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(16))  # "citizen" | "official" | "system"
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who viewed or did what: every official's view of and action on a petition, logins,
    invitations, exports. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_petition", "petition_id", "at"),
        Index("ix_audit_log_official", "official_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    actor: Mapped[str] = mapped_column(String(64))  # "official:<id>", "cli", "api:<key prefix>"
    action: Mapped[str] = mapped_column(String(32))
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(16))  # "telegram" | "web" | "inbox" | "cli" | "api"
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class InboxToken(Base):
    """A one-time sign-in link for the officials' inbox page, or a signed-in session (its
    cookie's SHA-256). ``kind`` is "link" (single use, minutes) or "session" (hours)."""

    __tablename__ = "inbox_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class ProcessedUpdate(Base):
    """A Telegram update already handled (webhook re-deliveries are dropped); kept 2 days."""

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("bot_id", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(String(32))
    update_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ZaloUser(Base):
    """A citizen or official on the Zalo Official Account: the OA's user id (a string, per OA)
    and the chat id the dialogs know them by (this row's id, so ids never collide within the
    channel; every stored chat carries its channel, so none collides with Telegram's either).

    ``last_inbound_at`` and ``window_replies`` are the reply window: free replies are allowed
    for 48 h after the user's last message, a limited number of them per window.
    """

    __tablename__ = "zalo_users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str | None] = mapped_column(String(32))  # for ZNS: given to the ZNS card
    last_inbound_at: Mapped[datetime | None] = mapped_column()
    window_replies: Mapped[int] = mapped_column(Integer, default=0)
    last_message_id: Mapped[int] = mapped_column(Integer, default=0)  # the dialogs' message ids
    followed: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ZaloButton(Base):
    """A button sent to a Zalo user: its ``oa.query.show`` payload comes back as the user's text
    and is accepted as a press only when it is on a message sent to that user."""

    __tablename__ = "zalo_buttons"
    __table_args__ = (Index("ix_zalo_buttons_chat_payload", "chat_id", "payload"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("zalo_users.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(String(1000))
    callback_data: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ZaloToken(Base):
    """The OA's access token and its single-use refresh token (never logged). ``version`` is
    bumped by each refresh, so two processes cannot both spend one refresh token."""

    __tablename__ = "zalo_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[datetime] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ZaloEvent(Base):
    """A Zalo webhook event taken (Zalo retries until it gets a 200); kept 2 days.

    ``body`` is the event as Zalo sent it while it waits for its handling, so that a restart
    loses no event acknowledged; it is cleared (the message's text with it) when the handling
    starts, at ``started_at``. Events the assistant does not act on are stored without one."""

    __tablename__ = "zalo_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(128), unique=True)  # msg_id, or a hash
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)


# --- Learning from use ------------------------------------------------------------------------


class SearchMiss(Base):
    """A citizen's question the search did not answer well (``knowledge.misses``): its text with
    personal data removed, counted per kind and channel. No user or chat id: who asked is not
    kept. ``resolved_at`` is set when an official maps the text to a procedure."""

    __tablename__ = "search_misses"
    __table_args__ = (
        UniqueConstraint("text_key", "kind", "channel"),
        Index("ix_search_misses_open", "resolved_at", "last_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    text_key: Mapped[str] = mapped_column(String(64))  # knowledge.misses.miss_key(text)
    text: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # knowledge.misses.MissKind
    channel: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)


class LearnedPhrasing(Base):
    """A citizen's wording an official mapped to a procedure: re-applied to the search index at
    every start (``knowledge.phrasings.apply_learned``)."""

    __tablename__ = "learned_phrasings"
    __table_args__ = (UniqueConstraint("text_key", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    text_key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(300))
    code: Mapped[str] = mapped_column(String(64))
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
