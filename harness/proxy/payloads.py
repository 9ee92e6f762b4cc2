"""Request bodies of the API, decoded with Toxiproxy's rules and error precedence.

Each ``parse_*`` function reads a body the way the matching Toxiproxy handler does,
checks fields in the same order (so the same error wins when several are wrong) and
raises :class:`~harness.proxy.errors.ApiError` with Toxiproxy's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.proxy.errors import (
    ApiError,
    bad_request_body,
    invalid_stream,
    invalid_toxic_type,
    missing_field,
    toxic_already_exists,
)
from harness.proxy.gojson import (
    DecodeError,
    FieldSpec,
    JsonObject,
    TypeMismatch,
    decode_first_value,
    decode_struct,
    kind_of,
    mismatch,
    to_bool,
    to_float32,
    to_string,
)
from harness.proxy.toxics import Toxic, toxic_type
from harness.proxy.toxicset import DIRECTIONS, ToxicEntry

__all__ = [
    "ProxySpec",
    "ProxyUpdate",
    "parse_populate",
    "parse_proxy_create",
    "parse_proxy_update",
    "parse_toxic_create",
    "parse_toxic_update",
]

_PROXY_FIELDS = (
    FieldSpec("name", "string", to_string),
    FieldSpec("listen", "string", to_string),
    FieldSpec("upstream", "string", to_string),
    FieldSpec("enabled", "bool", to_bool),
)
_POPULATE_ENTRY_TYPE = 'struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }'
_TOXIC_UPDATE_TYPE = (
    'struct { Attributes interface {} "json:\\"attributes\\""; '
    'Toxicity float32 "json:\\"toxicity\\"" }'
)


@dataclass(frozen=True)
class ProxySpec:
    """A proxy as a create or populate request describes it."""

    name: str
    listen: str
    upstream: str
    enabled: bool


@dataclass(frozen=True)
class ProxyUpdate:
    """The values of a proxy after applying an update body over the current ones."""

    listen: str
    upstream: str
    enabled: bool


def _decode(body: bytes) -> Any:
    try:
        return decode_first_value(body)
    except DecodeError as exc:
        raise bad_request_body(str(exc)) from exc


def _decode_fields(
    value: Any, fields: tuple[FieldSpec, ...], type_name: str, prefix: str | None = None
) -> dict[str, Any]:
    try:
        values, error = decode_struct(value, fields, type_name, prefix)
    except TypeMismatch as exc:
        raise bad_request_body(str(exc)) from exc
    if error is not None:
        raise bad_request_body(str(error))
    return values


def parse_proxy_create(body: bytes) -> ProxySpec:
    """``POST /proxies``: name and upstream are required; ``enabled`` defaults to true."""
    values = _decode_fields(_decode(body), _PROXY_FIELDS, "toxiproxy.Proxy")
    spec = ProxySpec(
        name=values.get("name", ""),
        listen=values.get("listen", ""),
        upstream=values.get("upstream", ""),
        enabled=values.get("enabled", True),
    )
    if not spec.name:
        raise missing_field("name")
    if not spec.upstream:
        raise missing_field("upstream")
    return spec


def parse_proxy_update(body: bytes, current: ProxyUpdate) -> ProxyUpdate:
    """``PATCH /proxies/{p}``: missing fields keep their values; ``name`` is ignored."""
    values = _decode_fields(_decode(body), _PROXY_FIELDS, "toxiproxy.Proxy")
    return ProxyUpdate(
        listen=values.get("listen", current.listen),
        upstream=values.get("upstream", current.upstream),
        enabled=values.get("enabled", current.enabled),
    )


def parse_populate(body: bytes) -> list[ProxySpec]:
    """``POST /populate``: an array of proxies, all validated before any is used."""
    document = _decode(body)
    if document is None:
        return []
    if not isinstance(document, list):
        raise bad_request_body(
            f"json: cannot unmarshal {kind_of(document)} into Go value of type "
            f"[]{_POPULATE_ENTRY_TYPE}"
        )
    decoded = [_decode_fields(item, _PROXY_FIELDS, _POPULATE_ENTRY_TYPE, "") for item in document]
    specs = []
    for number, values in enumerate(decoded, start=1):
        if not values.get("name"):
            raise missing_field(f"name at proxy {number}")
        if not values.get("upstream"):
            raise missing_field(f"upstream at proxy {number}")
        specs.append(
            ProxySpec(
                name=values["name"],
                listen=values.get("listen", ""),
                upstream=values["upstream"],
                enabled=values.get("enabled", True),
            )
        )
    return specs


def _object_reader(go_type: str) -> Callable[[Any, str], JsonObject]:
    """A field that must hold a JSON object (kept raw for a second decoding pass)."""

    def read(value: Any, where: str) -> JsonObject:
        if isinstance(value, JsonObject):
            return value
        raise mismatch(value, where, go_type)

    return read


_WRAPPER_FIELDS = (
    FieldSpec("name", "string", to_string),
    FieldSpec("type", "string", to_string),
    FieldSpec("stream", "string", to_string),
    FieldSpec("toxicity", "float32", to_float32),
    FieldSpec("attributes", "toxics.NoopToxic", _object_reader("toxics.NoopToxic")),
)


def _decode_attributes(toxic: Toxic, raw: JsonObject | None) -> Toxic:
    cls = type(toxic)
    try:
        values, error = decode_struct(
            raw, cls.field_specs(), f"toxics.{cls.go_struct}", cls.go_struct, "attributes."
        )
    except TypeMismatch as exc:  # not reachable: the first pass checked the kind
        raise bad_request_body(str(exc)) from exc
    if error is not None:
        raise bad_request_body(str(error))
    return toxic.with_attributes(values)


def parse_toxic_create(body: bytes, name_taken: Callable[[str], bool]) -> ToxicEntry:
    """``POST /proxies/{p}/toxics``, checked in Toxiproxy's order.

    Decode, then stream (case-insensitive), then the default name, then the type, then
    the name conflict (``name_taken``), then the attributes of the now known type.
    """
    values = _decode_fields(_decode(body), _WRAPPER_FIELDS, "toxics.ToxicWrapper")
    stream: str = values.get("stream", "downstream")
    direction = stream.lower()
    if direction not in DIRECTIONS:
        raise invalid_stream()
    type_name: str = values.get("type", "")
    name: str = values.get("name") or f"{type_name}_{stream}"
    cls = toxic_type(type_name)
    if cls is None:
        raise invalid_toxic_type()
    if name_taken(name):
        raise toxic_already_exists()
    toxic = _decode_attributes(cls(), values.get("attributes"))
    return ToxicEntry(
        name=name,
        type_name=type_name,
        stream=stream,
        direction=direction,
        toxicity=values.get("toxicity", 1.0),
        toxic=toxic,
    )


def parse_toxic_update(body: bytes, entry: ToxicEntry) -> tuple[Toxic, float]:
    """``PATCH /proxies/{p}/toxics/{t}``: merge attributes, keep toxicity if missing.

    Returns the new toxic and toxicity; nothing changes if the body has an error.
    """
    cls = type(entry.toxic)
    current = entry.toxic

    def read_attributes(value: Any, where: str) -> Toxic:
        if not isinstance(value, JsonObject):
            raise mismatch(value, where, f"toxics.{cls.go_struct}")
        try:
            return _decode_attributes(current, value)
        except ApiError as exc:
            raise TypeMismatch(exc.message.removeprefix("bad request body: ")) from exc

    fields = (
        FieldSpec("attributes", f"toxics.{cls.go_struct}", read_attributes),
        FieldSpec("toxicity", "float32", to_float32),
    )
    values = _decode_fields(_decode(body), fields, _TOXIC_UPDATE_TYPE, "")
    return values.get("attributes", current), values.get("toxicity", entry.toxicity)
