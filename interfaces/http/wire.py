"""Base wire models: camelCase JSON, unknown fields refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from interfaces.http.limits import INT64_MAX, INT64_MIN, QueryInt

JsonObject = dict[str, Any]


class Body(BaseModel):
    """A request body: strict types, camelCase names, no unknown fields."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, strict=True)


class Query(BaseModel):
    """Query parameters: strings coerced to the declared types, unknown names ignored."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)

    @field_validator("*", mode="after")
    @classmethod
    def _within_64_bits(cls, value: Any) -> Any:
        # The edge guard for a query integer declared without `QueryInt`: no store overflows.
        if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"must be within {INT64_MIN}..{INT64_MAX}")
        return value


class Out(BaseModel):
    """A response: documented by the model, written from a plain dict."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PageQuery(Query):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = None
    min_position: QueryInt | None = None


class SeqPageQuery(Query):
    after_seq: QueryInt = 0
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None


class ErrorBody(Out):
    kind: str
    message: str
    details: JsonObject


class ErrorEnvelope(Out):
    error: ErrorBody
