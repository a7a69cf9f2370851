"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import orjson
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The server's log (ADR 0040): its line format, and the least severe record it writes.
LogFormat = Literal["json", "text"]
LogLevel = Literal["critical", "error", "warning", "info", "debug"]
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)


class Settings(BaseSettings):
    """Everything agentrun reads from its environment."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Field(default=Path("var"), validation_alias="AGENTRUN_DATA_DIR")
    api_tokens: str | None = Field(default=None, validation_alias="AGENTRUN_API_TOKENS")
    auth: str | None = Field(default=None, validation_alias="AGENTRUN_AUTH")
    projection_batch_size: int = Field(
        default=500, ge=1, le=10_000, validation_alias="AGENTRUN_PROJECTION_BATCH_SIZE"
    )
    poll_interval: float = Field(
        default=0.5, gt=0, le=60, validation_alias=AliasChoices("AGENTRUN_POLL_INTERVAL")
    )
    read_timeout: float = Field(default=5.0, gt=0, validation_alias="AGENTRUN_READ_TIMEOUT")
    # A projection failing on one event is tried this often, with doubling backoff, then stalled (ADR 0031).
    projection_max_tries: int = Field(
        default=5, ge=1, le=100, validation_alias="AGENTRUN_PROJECTION_MAX_TRIES"
    )
    projection_retry_backoff: float = Field(
        default=0.2, gt=0, le=60, validation_alias="AGENTRUN_PROJECTION_RETRY_BACKOFF"
    )
    pool_size: int = Field(default=10, ge=1, validation_alias="AGENTRUN_POOL_SIZE")
    # Aggregates this process remembers as it last saved them, so the next write needs no read.
    aggregate_memory: int = Field(default=10_000, ge=0, validation_alias="AGENTRUN_AGGREGATE_MEMORY")
    worker_timeout: float = Field(default=90.0, gt=0, validation_alias="AGENTRUN_WORKER_TIMEOUT")
    sweep_interval: float = Field(default=60.0, gt=0, validation_alias="AGENTRUN_SWEEP_INTERVAL")
    # Events queued for one slow `/events/stream` client before it is disconnected (ADR 0024).
    tail_buffer: int = Field(default=5_000, ge=1, validation_alias="AGENTRUN_TAIL_BUFFER")
    sse_keepalive: float = Field(default=15.0, gt=0, le=15, validation_alias="AGENTRUN_SSE_KEEPALIVE")
    # How long a console login lasts (seconds), whatever the activity: then log in again (ADR 0034).
    ui_session_ttl: float = Field(default=12 * 3600, gt=0, validation_alias="AGENTRUN_UI_SESSION_TTL")
    # The server's log lines: one JSON object each (for collectors), or text (for a terminal); ADR 0040.
    log_format: LogFormat = Field(default="json", validation_alias="AGENTRUN_LOG_FORMAT")
    # The least severe record the server logs (`serve --log-level` sets it); below `info`, no request lines.
    log_level: LogLevel = Field(default="info", validation_alias="AGENTRUN_LOG_LEVEL")
    # JSON object of backend profile → its capabilities (any JSON object), shown by GET /backends.
    backend_profiles: str | None = Field(default=None, validation_alias="AGENTRUN_BACKEND_PROFILES")

    def backend_capabilities(self) -> dict[str, Any]:
        """The configured backend profiles and their capabilities (empty unless configured)."""
        if not self.backend_profiles:
            return {}
        profiles = orjson.loads(self.backend_profiles)
        if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
            raise ValueError("AGENTRUN_BACKEND_PROFILES must be a JSON object of profile → object")
        return dict(profiles)

    @property
    def adapter(self) -> str:
        return "postgres" if self.database_url else "sqlite"
