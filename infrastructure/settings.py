"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    pool_size: int = Field(default=10, ge=1, validation_alias="AGENTRUN_POOL_SIZE")

    @property
    def adapter(self) -> str:
        return "postgres" if self.database_url else "sqlite"
