"""Settings every service shares, from `PHOENIX_*` environment variables (12-factor).

Build them once in the entry point and pass them down; nothing here is built at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigError

SettingsT = TypeVar("SettingsT", bound=BaseSettings)
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


class KafkaSettings(BaseSettings):
    """How to reach the message bus (`PHOENIX_KAFKA_*`)."""

    model_config = SettingsConfigDict(env_prefix="PHOENIX_KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(description="host:port[,host:port...] of the Kafka cluster.")
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    idempotence: bool = Field(
        default=True,
        description="Idempotent producer; turn off only for a cluster that refuses it (no IDEMPOTENT_WRITE).",
    )
    topic_prefix: str = Field(default="", description="Prefix of every topic name (isolates tests and tenants).")
    partitions: int = Field(default=6, ge=1, description="Partitions of topics created at start-up.")
    replication_factor: int = Field(default=1, ge=1)
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    max_poll_interval_ms: int = Field(default=300_000, ge=1000)
    fetch_max_wait_ms: int = Field(
        default=500, ge=0,
        description="Longest a fetch waits on the broker for new messages (a message that arrives ends the wait "
                    "at once, so this sets the idle polling rate, not latency: 100 ms cost an idle replica ~1 % "
                    "of a core, 500 ms about half of that).",
    )
    max_message_bytes: int = Field(
        default=1_048_576, ge=1024, description="Larger input messages are dead-lettered unread."
    )

    @model_validator(mode="after")
    def _sasl_is_complete(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_mechanism and self.sasl_username and self.sasl_password
        ):
            raise ValueError("SASL needs PHOENIX_KAFKA_SASL_MECHANISM, _SASL_USERNAME and _SASL_PASSWORD")
        return self

    def client_options(self) -> dict[str, object]:
        """Connection and security keyword arguments for any aiokafka client."""
        options: dict[str, object] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
        if self.security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        return options

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


class RuntimeSettings(BaseSettings):
    """How a service runs (`PHOENIX_*`)."""

    model_config = SettingsConfigDict(env_prefix="PHOENIX_", extra="ignore")

    concurrency: int = Field(default=4, ge=1, description="Events handled at once by one replica.")
    retry_attempts: int = Field(
        default=4, ge=1, description="Tries of a handler failing transiently before dead-lettering."
    )
    retry_backoff_seconds: float = Field(default=0.5, gt=0, description="First retry delay; doubles each time.")
    retry_backoff_max_seconds: float = Field(default=15.0, gt=0, description="Cap of the retry delay.")
    shutdown_grace_seconds: float = Field(
        default=30.0, ge=0, description="On SIGTERM, how long in-flight work may finish before it is handed back."
    )
    connect_attempts: int = Field(default=10, ge=1, description="Tries of the first connection to the broker.")
    metrics_host: str = Field(default="127.0.0.1", description="Interface of the /metrics and health server.")
    metrics_port: int = Field(default=0, ge=0, le=65535, description="Port of /metrics; 0 picks a free port.")


class StorageSettings(BaseSettings):
    """Where phoenix keeps its files (`PHOENIX_*`)."""

    model_config = SettingsConfigDict(env_prefix="PHOENIX_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Root of the default file store and SQLite database.")
    store_url: str | None = Field(
        default=None, description="file:///path or s3://bucket/prefix; default: file:// of the data folder's store/."
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint of an s3:// store that is not AWS (s3proxy, MinIO, Ceph)."
    )
    cache_dir: Path | None = Field(
        default=None, description="Private scratch of this host (recipe runs, local copies); default: data folder's cache/."
    )

    @property
    def store_location(self) -> str:
        return self.store_url or (self.data_dir / "store").resolve().as_uri()

    @property
    def cache_root(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"


class S3Credentials(BaseSettings):
    """The standard AWS variables, unprefixed."""

    model_config = SettingsConfigDict(extra="ignore")

    access_key_id: str | None = Field(default=None, validation_alias=AliasChoices("AWS_ACCESS_KEY_ID"))
    secret_access_key: str | None = Field(default=None, validation_alias=AliasChoices("AWS_SECRET_ACCESS_KEY"))
    region: str = Field(default="us-east-1", validation_alias=AliasChoices("AWS_REGION"))


def load_settings(cls: type[SettingsT], **overrides: object) -> SettingsT:
    """Build a settings class, turning a validation error into a ConfigError that names the variable."""
    try:
        return cls(**overrides)
    except ValidationError as error:
        raise ConfigError(f"invalid settings: {'; '.join(_problem(cls, e) for e in error.errors())}") from None


def _problem(cls: type[BaseSettings], error: Any) -> str:
    """"PHOENIX_X: Field required (set it to: <what the field's description says>)"."""
    location = [str(part) for part in error["loc"]]
    variable = f"{cls.model_config.get('env_prefix', '')}{'_'.join(location).upper()}"
    field = cls.model_fields.get(location[0]) if location else None
    wanted = f" (set it to: {field.description})" if field is not None and field.description else ""
    return f"{variable}: {error['msg']}{wanted}"
