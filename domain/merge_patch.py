"""Worker-state patches: top-level keys last-wins, the metadata objects merged per RFC 7396."""

from __future__ import annotations

from typing import Any

# Inside these keys a patch is an RFC 7396 merge one level deep: `null` deletes the key.
MERGED_KEYS = ("externalMetadata", "internalMetadata")


def merge_state(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The state after applying `patch` to `current`; neither argument is modified."""
    merged = dict(current)
    for key, value in patch.items():
        if key in MERGED_KEYS and isinstance(value, dict):
            inner = dict(merged.get(key) or {})
            for name, item in value.items():
                if item is None:
                    inner.pop(name, None)
                else:
                    inner[name] = item
            merged[key] = inner
        else:
            merged[key] = value
    return merged


def combine_patches(pending: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """One patch equivalent to applying `pending` then `patch` (a `null` delete is kept as `null`)."""
    combined = dict(pending)
    for key, value in patch.items():
        if key in MERGED_KEYS and isinstance(value, dict) and isinstance(combined.get(key), dict):
            combined[key] = {**combined[key], **value}
        else:
            combined[key] = value
    return combined
