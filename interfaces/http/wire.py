"""Base wire models: camelCase JSON, unknown fields refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

JsonObject = dict[str, Any]


class Body(BaseModel):
    """A request body: strict types, camelCase names, no unknown fields."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, strict=True)


class Query(BaseModel):
    """Query parameters: strings coerced to the declared types, unknown names ignored."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)


class Out(BaseModel):
    """A response: documented by the model, written from a plain dict."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PageQuery(Query):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = None
    min_position: int | None = Field(default=None, ge=0)


class ErrorBody(Out):
    kind: str
    message: str
    details: JsonObject


class ErrorEnvelope(Out):
    error: ErrorBody
