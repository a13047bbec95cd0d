"""Settings from environment variables (and an optional .env file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from knowledge.outbox import OutboxKind

DEFAULT_DB_PATH = Path("data") / "assistant.sqlite3"
TELEGRAM_DEFAULT_API = "https://api.telegram.org"


class Settings(BaseSettings):
    """Everything configurable; read once at start-up by `load_settings()`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = Field(
        default=None, description="Telegram bot token; unset = web chat only"
    )
    telegram_api_server: str = Field(
        default=TELEGRAM_DEFAULT_API,
        description="Base URL of the Bot API server (a self-hosted one, or a stand-in in tests)",
    )
    telegram_mode: Literal["polling", "webhook"] = "polling"
    webhook_base_url: str | None = Field(
        default=None, description="Public HTTPS base URL Telegram calls in webhook mode"
    )
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = Field(
        default=None, description="Secret token Telegram echoes in X-Telegram-Bot-Api-Secret-Token"
    )
    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}",
        description="SQLAlchemy async URL; default a SQLite file under data/",
    )
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_secret: SecretStr | None = Field(
        default=None,
        description="Keys web chat visitor ids; set it so visitors keep their chat across restarts",
    )
    default_language: Literal["vi", "en"] = "vi"
    catalog_path: Path | None = Field(
        default=None,
        description="Compact catalog to load instead of the one shipped in knowledge/data",
    )
    log_level: str = "INFO"
    public_base_url: str | None = Field(
        default=None,
        description="Base URL officials open the inbox at (sign-in links); default http://WEB_HOST:WEB_PORT",
    )
    digest_time: str = Field(
        default="07:30",
        description="When officials get their daily digest (HH:MM, Asia/Ho_Chi_Minh)",
    )
    digest_enabled: bool = True
    petitions_per_day: int = Field(
        default=5, ge=1, description="Petitions one chat may send per day"
    )
    petitions_per_hour: int = Field(default=2, ge=1, description="... and per hour")
    # Zalo Official Account: served when the app id, the OA secret key and the app secret are set
    zalo_app_id: str | None = Field(default=None, description="The Zalo app's id")
    zalo_oa_secret_key: SecretStr | None = Field(
        default=None, description="The OA secret key that signs webhook events"
    )
    zalo_app_secret: SecretStr | None = Field(
        default=None, description="The app's secret key, sent when refreshing the access token"
    )
    zalo_access_token: SecretStr | None = Field(
        default=None, description="First access token (stored in the database on first start)"
    )
    zalo_refresh_token: SecretStr | None = Field(
        default=None, description="First refresh token (single use; stored with the above)"
    )
    zalo_webhook_path: str = "/zalo/webhook"
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_oauth_base: str = "https://oauth.zaloapp.com"
    zalo_business_base: str = "https://business.openapi.zalo.me"
    zalo_zns_templates: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description=(
            "ZNS template id by outbox kind, as JSON, e.g. "
            '{"dossier_status": "231234", "petition_update": "231235"}: pushes of those kinds '
            "outside the reply window go as ZNS to the phone the user gave; empty = none"
        ),
    )
    zalo_request_user_info: bool = Field(
        default=False,
        description=(
            'The OA may send "request user info" cards (depends on its tier): the dossier '
            "lookup then offers one for the phone number"
        ),
    )
    zalo_request_user_info_image_url: str | None = Field(
        default=None,
        description="The PNG or JPEG the card shows (Zalo requires one); needed when the above is on",
    )

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_oa_secret_key and self.zalo_app_secret)

    @property
    def base_url(self) -> str:
        """Where the web server is reached from outside (links in messages)."""
        return self.public_base_url or f"http://{self.web_host}:{self.web_port}"

    @field_validator("digest_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        parts = value.strip().split(":")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError("DIGEST_TIME must be HH:MM, e.g. 07:30")
        hour, minute = int(parts[0]), int(parts[1])
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError("DIGEST_TIME must be HH:MM, e.g. 07:30")
        return f"{hour:02d}:{minute:02d}"

    @field_validator("zalo_zns_templates", mode="before")
    @classmethod
    def _zns_templates(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError(
                    'ZALO_ZNS_TEMPLATES must be a JSON object, e.g. {"dossier_status": "231234"}'
                ) from None
        if not isinstance(value, dict):
            raise ValueError("ZALO_ZNS_TEMPLATES must be a JSON object of kind -> template id")
        kinds = {str(kind) for kind in OutboxKind}
        templates: dict[str, str] = {}
        for kind, template_id in value.items():
            if kind not in kinds:
                raise ValueError(
                    f"ZALO_ZNS_TEMPLATES: unknown outbox kind {kind!r} (one of "
                    f"{', '.join(sorted(kinds))})"
                )
            if not isinstance(template_id, str | int) or not str(template_id).strip():
                raise ValueError(f"ZALO_ZNS_TEMPLATES: {kind!r} needs a template id")
            templates[kind] = str(template_id).strip()
        return templates

    @field_validator(
        "telegram_api_server",
        "webhook_base_url",
        "public_base_url",
        "zalo_api_base",
        "zalo_oauth_base",
        "zalo_business_base",
        "zalo_request_user_info_image_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host, e.g. https://api.telegram.org")
        return value.rstrip("/")

    @field_validator(
        "bot_token",
        "webhook_secret",
        "web_secret",
        "zalo_app_id",
        "zalo_oa_secret_key",
        "zalo_app_secret",
        "zalo_access_token",
        "zalo_refresh_token",
        "zalo_request_user_info_image_url",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @model_validator(mode="after")
    def _request_user_info_image(self) -> Settings:
        if self.zalo_request_user_info and not self.zalo_request_user_info_image_url:
            raise ValueError(
                "ZALO_REQUEST_USER_INFO needs ZALO_REQUEST_USER_INFO_IMAGE_URL (the card's image)"
            )
        return self

    @property
    def zalo_request_info_image(self) -> str | None:
        """The card image when the OA sends "request user info" cards, else None."""
        return self.zalo_request_user_info_image_url if self.zalo_request_user_info else None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and -.
        if value is not None:
            raw = value.get_secret_value()
            if not (1 <= len(raw) <= 256) or any(not (c.isalnum() or c in "_-") for c in raw):
                raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ or -")
        return value


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
