"""Settings read from the environment (prefix ``HUB_``) via pydantic-settings.

Default secrets are accepted only in ``development`` and ``test``: a production deployment that
forgets to set ``HUB_SECRET_KEY`` refuses to start instead of signing tokens with a public key.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scheduler.core.model import PolicySettings
from scheduler.core.policies import POLICIES

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_MLFLOW_ADMIN_PASSWORD = "axhub-dev-mlflow-admin-change-me"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class AttachmentStorageKind(StrEnum):
    local = "local"
    s3 = "s3"


# What an S3 key prefix may contain: S3's "safe" characters, folders separated by "/".
S3_PREFIX_SHAPE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    environment: Environment = Environment.development
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    secret_key: str = DEFAULT_SECRET_KEY
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    api_token_max_days: int = Field(default=365, ge=1, le=3650)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:8501"])
    hub_region: str = "gyeongnam"
    sql_echo: bool = False
    # GPU jobs
    ray_address: str = "http://127.0.0.1:8265"
    job_code_max_bytes: int = Field(default=20 * 2**20, ge=1024)
    job_code_max_unpacked_bytes: int = Field(default=200 * 2**20, ge=1024)
    scheduler_policy: str = Field(
        default_factory=lambda: PolicySettings().policy,
        description="Ordering policy of the scheduler core (default: the core's default)",
    )
    scheduler_pass_interval_s: float = Field(default=2.0, gt=0)
    scheduler_poll_interval_s: float = Field(default=0.1, gt=0)
    # e-mail notifications: sent through SMTP only when smtp_host is set
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "AX hub <noreply@axhub.example>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # case attachments: a local folder (default <data_dir>/attachments) or an S3-compatible bucket
    attachment_storage: AttachmentStorageKind = AttachmentStorageKind.local
    attachment_dir: Path | None = None
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    s3_endpoint_url: str | None = None  # unset: AWS S3 itself; MinIO/Ceph/...: their URL
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None  # unset (both): boto3's default credential chain
    s3_secret_access_key: SecretStr | None = None
    s3_key_prefix: str = ""  # e.g. "axhub/attachments"
    s3_path_style: bool = True  # bucket in the path, not the host name (MinIO, Ceph need it)
    s3_create_bucket: bool = False  # create a missing bucket at startup instead of refusing
    s3_timeout_s: float = Field(default=5.0, gt=0, le=120)
    s3_attempts: int = Field(default=3, ge=1, le=10)  # tries per operation on transient errors
    case_first_response_hours: int = Field(default=48, ge=1)
    # MLflow tracking: off while mlflow_tracking_uri is unset (``axhub dev up`` sets it)
    mlflow_tracking_uri: str | None = None
    mlflow_job_tracking_uri: str | None = None  # the address jobs use; default: the same
    mlflow_admin_username: str = "admin"
    mlflow_admin_password: str = DEFAULT_MLFLOW_ADMIN_PASSWORD
    mlflow_timeout_s: float = Field(default=3.0, gt=0, le=60)
    mlflow_retry_interval_s: float = Field(default=15.0, ge=0)
    mlflow_experiment_name: str = "axhub-jobs"

    @model_validator(mode="after")
    def _derive_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'hub.db').as_posix()}"
        if self.attachment_dir is None:
            self.attachment_dir = self.data_dir / "attachments"
        if self.attachment_storage == AttachmentStorageKind.s3:
            self._check_s3()
        if self.scheduler_policy not in POLICIES:
            known = ", ".join(sorted(POLICIES))
            raise ValueError(f"HUB_SCHEDULER_POLICY must be one of: {known}")
        if self.environment == Environment.production:
            if self.secret_key == DEFAULT_SECRET_KEY:
                raise ValueError("HUB_SECRET_KEY must be set to a non-default secret in production")
            if len(self.secret_key) < 32:
                raise ValueError("HUB_SECRET_KEY must be at least 32 characters in production")
            if self.mlflow_tracking_uri and (
                self.mlflow_admin_password == DEFAULT_MLFLOW_ADMIN_PASSWORD
                or len(self.mlflow_admin_password) < 16
            ):
                raise ValueError(
                    "HUB_MLFLOW_ADMIN_PASSWORD must be set to a non-default secret of at least "
                    "16 characters in production"
                )
        return self

    def _check_s3(self) -> None:
        if not self.s3_bucket:
            raise ValueError("HUB_ATTACHMENT_STORAGE=s3 needs HUB_S3_BUCKET (the bucket's name)")
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError(
                "HUB_S3_ACCESS_KEY_ID and HUB_S3_SECRET_ACCESS_KEY must be set together "
                "(or both left unset to use boto3's default credentials)"
            )
        if self.s3_endpoint_url and not self.s3_endpoint_url.startswith(("http://", "https://")):
            raise ValueError("HUB_S3_ENDPOINT_URL must be an http:// or https:// URL")
        prefix = self.s3_key_prefix
        if (
            not S3_PREFIX_SHAPE.match(prefix)
            or prefix.startswith("/")
            or any(part in (".", "..") for part in prefix.split("/"))
        ):
            raise ValueError(
                "HUB_S3_KEY_PREFIX may contain only letters, digits and !_.*'()- in folders "
                "separated by '/', must not start with '/' and must not contain '.' or '..' folders"
            )

    @property
    def code_dir(self) -> Path:
        return self.data_dir / "code"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
