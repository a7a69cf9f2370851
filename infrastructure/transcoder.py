"""An orjson transcoder for stored events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import Transcoder

_DATETIME = "__datetime__"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    raise TypeError(f"cannot store a {type(value).__name__}")


class OrjsonTranscoder(Transcoder):
    """Encodes event state with orjson; datetimes are tagged so they decode as datetimes.

    Only top-level datetimes are restored (event fields such as `timestamp`); nested values
    are JSON-native by construction, since they come from the wire.
    """

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)

    def decode(self, data: bytes) -> Any:
        state = orjson.loads(data)
        for key, value in state.items():
            if isinstance(value, dict) and len(value) == 1 and _DATETIME in value:
                state[key] = datetime.fromisoformat(value[_DATETIME])
        return state
