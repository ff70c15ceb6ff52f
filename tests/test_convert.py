"""The one converter: models keep the fields they do not declare."""

from __future__ import annotations

from typing import Any

import attrs

from cloudbase_async._core.convert import structure, unstructure


@attrs.frozen
class Inner:
    name: str
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class Outer:
    id: str
    items: list[Inner]
    note: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class Strict:
    id: str


def test_unknown_fields_are_kept_at_every_level_and_round_trip() -> None:
    data = {"id": "x", "items": [{"name": "a", "search_info": {"q": 1}}], "version": "v2"}
    obj = structure(data, Outer)
    assert obj.id == "x"
    assert obj.note is None
    assert obj.extra == {"version": "v2"}
    assert obj.items[0].extra == {"search_info": {"q": 1}}
    assert unstructure(obj) == {**data, "note": None}


def test_models_without_extra_ignore_unknown_fields() -> None:
    assert structure({"id": "y", "other": 1}, Strict) == Strict("y")


def test_no_unknown_fields_means_an_empty_extra() -> None:
    obj = structure({"id": "x", "items": []}, Outer)
    assert obj.extra == {}
    assert "extra" not in unstructure(obj)
