"""Worker-state merge rules: last-wins at the top, RFC 7396 one level deep in metadata."""

from __future__ import annotations

from domain.merge_patch import combine_patches, merge_state


def test_top_level_keys_are_last_wins() -> None:
    assert merge_state({"workerStatus": "idle", "x": 1}, {"workerStatus": "busy"}) == {
        "workerStatus": "busy",
        "x": 1,
    }


def test_metadata_is_merged_one_level_deep_and_null_deletes() -> None:
    current = {"externalMetadata": {"a": 1, "b": {"deep": 1}, "c": 3}}
    patch = {"externalMetadata": {"a": 2, "b": {"other": 2}, "c": None}}
    assert merge_state(current, patch) == {"externalMetadata": {"a": 2, "b": {"other": 2}}}


def test_merge_does_not_modify_its_arguments() -> None:
    current = {"internalMetadata": {"a": 1}}
    patch = {"internalMetadata": {"a": None}}
    assert merge_state(current, patch) == {"internalMetadata": {}}
    assert current == {"internalMetadata": {"a": 1}} and patch == {"internalMetadata": {"a": None}}


def test_metadata_set_to_a_non_object_replaces_it() -> None:
    assert merge_state({"externalMetadata": {"a": 1}}, {"externalMetadata": None}) == {
        "externalMetadata": None
    }


def test_combined_patches_apply_like_the_patches_in_order() -> None:
    state = {"workerStatus": "idle", "externalMetadata": {"a": 1, "b": 2}, "internalMetadata": {"k": 1}}
    first = {"workerStatus": "busy", "externalMetadata": {"a": None, "c": 3}}
    second = {"externalMetadata": {"c": None, "d": 4}, "internalMetadata": {"k": 2}}
    in_order = merge_state(merge_state(state, first), second)
    assert merge_state(state, combine_patches(first, second)) == in_order
    assert in_order == {
        "workerStatus": "busy",
        "externalMetadata": {"b": 2, "d": 4},
        "internalMetadata": {"k": 2},
    }
