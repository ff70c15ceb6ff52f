"""The one cattrs converter every service structures its results with.

Response models are frozen, slotted attrs classes. A model that declares a field named
``extra`` keeps every key it does not know there, so fields a provider adds tomorrow
(``reasoning_content``, ``search_info``...) are never silently dropped; unstructuring
puts them back.

Every hook is registered here, when this module loads: structuring a type never depends
on which service module happened to be imported first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .. import ejson
from .errors import ResponseValidationError

__all__ = ["EXTRA", "converter", "structure", "structure_answer", "unstructure"]

T = TypeVar("T")

#: The field in which a model keeps the keys it does not declare.
EXTRA: Final = "extra"

converter: Final = cattrs.Converter(omit_if_default=False)


def _keeps_extra(cls: Any) -> bool:
    return attrs.has(cls) and EXTRA in attrs.fields_dict(cls)


def _structure_keeping_extra(cls: Any) -> Callable[[Mapping[str, Any], Any], Any]:
    base = make_dict_structure_fn(cls, converter)
    known = frozenset(a.name for a in attrs.fields(cls)) - {EXTRA}

    def structure_model(data: Mapping[str, Any], _: Any) -> Any:
        obj = base(data, cls)
        extra = {key: value for key, value in data.items() if key not in known}
        if extra:
            # The model is frozen; this is the same escape hatch attrs' __init__ uses.
            object.__setattr__(obj, EXTRA, extra)
        return obj

    return structure_model


def _unstructure_keeping_extra(cls: Any) -> Callable[[Any], dict[str, Any]]:
    omit_extra: dict[str, Any] = {EXTRA: override(omit=True)}
    base = make_dict_unstructure_fn(cls, converter, **omit_extra)

    def unstructure_model(obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = base(obj)
        extra: Mapping[str, Any] = getattr(obj, EXTRA)
        if extra:
            data.update(extra)
        return data

    return unstructure_model


converter.register_structure_hook_factory(_keeps_extra, _structure_keeping_extra)
converter.register_unstructure_hook_factory(_keeps_extra, _unstructure_keeping_extra)


# Scalar types that arrive either already typed (decoded EJSON) or as JSON text.
def _structure_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(f"expected a datetime or an ISO-8601 string, got {value!r}")


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    raise TypeError(f"expected a decimal number, got {value!r}")


def _structure_uuid(value: Any, _: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


converter.register_structure_hook(datetime, _structure_datetime)
converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_structure_hook(uuid.UUID, _structure_uuid)


# The EJSON value types are attrs classes themselves, which cattrs would otherwise build
# from (and flatten into) dicts of their fields. Decoded EJSON holds them ready-made.
def _structure_object_id(value: Any, _: Any) -> ejson.ObjectId:
    if isinstance(value, ejson.ObjectId):
        return value
    if isinstance(value, str):
        return ejson.ObjectId(value)  # JSON text carries an id as its 24 hex digits
    raise TypeError(f"expected an ObjectId or its hex string, got {value!r}")


def _structure_instance(value: Any, cls: Any) -> Any:
    if not isinstance(value, cls):
        raise TypeError(f"expected {cls.__name__}, got {value!r}")
    return value


def _as_is(value: Any) -> Any:
    return value


converter.register_structure_hook(ejson.ObjectId, _structure_object_id)
converter.register_structure_hook(ejson.Regex, _structure_instance)
converter.register_structure_hook(ejson.Binary, _structure_instance)
# Unstructured models are encoded as EJSON afterwards, which knows these types.
converter.register_unstructure_hook(ejson.ObjectId, _as_is)
converter.register_unstructure_hook(ejson.Regex, _as_is)
converter.register_unstructure_hook(ejson.Binary, _as_is)


def structure(data: Any, cls: type[T]) -> T:
    """Build ``cls`` from decoded JSON with the shared converter."""
    return converter.structure(data, cls)


def structure_answer(
    data: Any, cls: type[T], *, status_code: int, request_id: str | None, what: str = ""
) -> T:
    """Build ``cls`` from a server's answer; a shape that does not fit is the server's
    :class:`~cloudbase_async.ResponseValidationError`, never a converter exception."""
    try:
        return converter.structure(data, cls)
    except Exception as exc:  # cattrs raises many kinds (ClassValidationError, TypeError...)
        raise ResponseValidationError(
            f"Expected {what or cls.__name__} in the answer, got: {str(data)[:200]}",
            status_code=status_code,
            request_id=request_id,
            body=data,
        ) from exc


def unstructure(obj: Any) -> Any:
    """Turn a model back into plain JSON-ready data (unknown fields included)."""
    return converter.unstructure(obj)
