"""JSON decoding and encoding that behave like Go's ``encoding/json``, as Toxiproxy uses it.

Toxiproxy clients see Go's decoder through the API: only the first JSON value of a body
is read (trailing bytes are ignored), object keys match struct fields case-insensitively,
``null`` leaves a field unchanged, a wrong type is reported as ``json: cannot unmarshal
<kind> into Go struct field <Struct>.<path> of type <type>`` while the remaining fields
are still decoded, and integers must be written without a fraction or exponent. Replies
are compact, keep struct field order, escape ``<``, ``>`` and ``&``, and print float32
values with the shortest digits that round-trip (``0.2``, ``1``, ``-3``).

Decoded values are plain Python values except numbers, which stay :class:`Number`
(their source text) until a field's Go type decides how to read them, and objects,
which are :class:`JsonObject` (key/value pairs in document order, duplicates kept).
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = [
    "DecodeError",
    "FieldSpec",
    "Float32",
    "JsonObject",
    "Number",
    "TypeMismatch",
    "decode_first_value",
    "decode_struct",
    "dumps",
    "format_float32",
    "kind_of",
    "to_float32",
]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_FLOAT32_MAX = 3.4028234663852886e38
_LITERALS = ("true", "false", "null")


class DecodeError(Exception):
    """The body is not valid JSON; ``str()`` is Go's wording (``unexpected EOF``...)."""


class TypeMismatch(Exception):
    """A JSON value has the wrong type for its Go field; ``str()`` is Go's wording."""


@dataclass(frozen=True)
class Number:
    """A JSON number kept as its source text, as Go's decoder sees it."""

    text: str


@dataclass(frozen=True)
class JsonObject:
    """A JSON object as its key/value pairs, in document order."""

    pairs: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Float32:
    """A float32 value to encode (Toxiproxy's ``toxicity``)."""

    value: float


# --------------------------------------------------------------------------------------
# Decoding


def _reject_constant(name: str) -> Any:
    # Python accepts NaN and Infinity; Go's scanner rejects them at their first letter.
    raise ValueError(name)


_DECODER = json.JSONDecoder(
    object_pairs_hook=lambda pairs: JsonObject(tuple(pairs)),
    parse_int=Number,
    parse_float=Number,
    parse_constant=_reject_constant,
)


def decode_first_value(body: bytes) -> Any:
    """Decode the first JSON value of ``body`` and ignore what follows it.

    Raises :class:`DecodeError` with Go's message: ``EOF`` for an empty body,
    ``unexpected EOF`` for a truncated value, ``invalid character ...`` otherwise.
    """
    text = body.decode("utf-8", errors="replace")
    start = _WHITESPACE.match(text, 0)
    index = start.end() if start else 0
    if index >= len(text):
        raise DecodeError("EOF")
    try:
        value, _end = _DECODER.raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise DecodeError(_go_syntax_message(text, exc.pos, exc.msg)) from exc
    except ValueError as exc:  # NaN / Infinity
        raise DecodeError(_invalid_char(text, index, "looking for beginning of value")) from exc
    except RecursionError as exc:
        raise DecodeError("exceeded max depth") from exc
    return value


def _go_syntax_message(text: str, pos: int, python_msg: str) -> str:
    """Translate a Python JSON syntax error into the message Go's scanner gives."""
    if pos >= len(text) or python_msg.startswith("Unterminated string"):
        return "unexpected EOF"
    rest = text[pos : pos + 5]
    for literal in _LITERALS:
        if rest and literal.startswith(rest) and pos + len(rest) == len(text):
            return "unexpected EOF"
        if rest[:1] == literal[0] and not rest.startswith(literal):
            bad = next(i for i, c in enumerate(rest) if i >= len(literal) or c != literal[i])
            if pos + bad >= len(text):
                return "unexpected EOF"
            expected = literal[bad]
            return _invalid_char(text, pos + bad, f"in literal {literal} (expecting '{expected}')")
    if rest == "-":
        return "unexpected EOF"
    if python_msg.startswith("Expecting property name"):
        return _invalid_char(text, pos, "looking for beginning of object key string")
    if python_msg.startswith("Expecting ':'"):
        return _invalid_char(text, pos, "after object key")
    if python_msg.startswith("Expecting ','"):
        where = "after array element" if _innermost_is_array(text, pos) else None
        return _invalid_char(text, pos, where or "after object key:value pair")
    if python_msg.startswith("Invalid control character"):
        return _invalid_char(text, pos, "in string literal")
    if python_msg.startswith("Invalid \\escape") or python_msg.startswith("Invalid \\u"):
        return _invalid_char(text, pos + 1, "in string escape code")
    return _invalid_char(text, pos, "looking for beginning of value")


def _innermost_is_array(text: str, pos: int) -> bool:
    """Tell whether ``pos`` sits inside an array (vs an object), skipping strings."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return bool(stack) and stack[-1] == "["


def _invalid_char(text: str, pos: int, context: str) -> str:
    char = text[pos] if pos < len(text) else ""
    return f"invalid character {_quote_char(char)} {context}"


def _quote_char(char: str) -> str:
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return f"'{named[char]}'"
    if char and (ord(char) < 0x20 or ord(char) == 0x7F):
        return f"'\\x{ord(char):02x}'"
    return f"'{char}'"


def kind_of(value: Any) -> str:
    """Name a JSON value's kind as Go's type errors do (``string``, ``number``...)."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Number):
        return "number"
    if isinstance(value, JsonObject):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


@dataclass(frozen=True)
class FieldSpec:
    """One struct field: its JSON name, its Go type name and a converter.

    ``convert(value, where)`` returns the Python value or raises :class:`TypeMismatch`;
    ``where`` is the text Go puts before ``of type`` (``Proxy.enabled``).
    """

    json_name: str
    go_type: str
    convert: Callable[[Any, str], Any]


def decode_struct(
    obj: Any,
    fields: tuple[FieldSpec, ...],
    type_name: str,
    field_prefix: str | None = None,
    path: str = "",
) -> tuple[dict[str, Any], TypeMismatch | None]:
    """Decode a JSON object into the given fields, the way Go fills a struct.

    Returns the values of the fields present and non-null (keyed by JSON name, later
    duplicates winning) and the first type error, if any. As in Go, a type error does
    not stop the other fields from being decoded; the caller decides what to keep.
    ``null`` decodes to nothing; any other non-object raises :class:`TypeMismatch`
    naming ``type_name`` (``toxiproxy.Proxy``). Field errors name the field as
    ``<field_prefix>.<path><json name>`` (``LatencyToxic.attributes.latency``);
    ``field_prefix`` defaults to the last part of ``type_name``.
    """
    if obj is None:
        return {}, None
    if not isinstance(obj, JsonObject):
        raise TypeMismatch(
            f"json: cannot unmarshal {kind_of(obj)} into Go value of type {type_name}"
        )
    if field_prefix is None:
        field_prefix = type_name.rsplit(".", 1)[-1]
    values: dict[str, Any] = {}
    first_error: TypeMismatch | None = None
    for key, raw in obj.pairs:
        spec = _match_field(fields, key)
        if spec is None or raw is None:
            continue
        try:
            values[spec.json_name] = spec.convert(raw, f"{field_prefix}.{path}{spec.json_name}")
        except TypeMismatch as exc:
            first_error = first_error or exc
    return values, first_error


def _match_field(fields: tuple[FieldSpec, ...], key: str) -> FieldSpec | None:
    # Go prefers an exact match, then accepts a case-insensitive one.
    for spec in fields:
        if spec.json_name == key:
            return spec
    folded = key.lower()
    for spec in fields:
        if spec.json_name.lower() == folded:
            return spec
    return None


def mismatch(value: Any, where: str, go_type: str, show_number: bool = False) -> TypeMismatch:
    """Build Go's type error for ``value`` landing in field ``where`` of ``go_type``."""
    kind = kind_of(value)
    if show_number and isinstance(value, Number):
        kind = f"number {value.text}"
    return TypeMismatch(
        f"json: cannot unmarshal {kind} into Go struct field {where} of type {go_type}"
    )


def to_string(value: Any, where: str) -> str:
    """Read a Go ``string`` field."""
    if isinstance(value, str):
        return value
    raise mismatch(value, where, "string")


def to_bool(value: Any, where: str) -> bool:
    """Read a Go ``bool`` field."""
    if isinstance(value, bool):
        return value
    raise mismatch(value, where, "bool")


def integer_reader(go_type: str) -> Callable[[Any, str], int]:
    """Return a reader for a Go ``int``/``int64`` field (both 64 bits here)."""

    def read(value: Any, where: str) -> int:
        if isinstance(value, Number) and _INTEGER.match(value.text):
            number = int(value.text)
            if _INT64_MIN <= number <= _INT64_MAX:
                return number
        raise mismatch(value, where, go_type, show_number=True)

    return read


def to_float32(value: Any, where: str) -> float:
    """Read a Go ``float32`` field, rounding to float32 precision."""
    if isinstance(value, Number):
        number = float(value.text)
        if math.isfinite(number) and abs(number) <= _FLOAT32_MAX:
            return _round_float32(number)
    raise mismatch(value, where, "float32", show_number=True)


def _round_float32(number: float) -> float:
    try:
        rounded: float = struct.unpack("f", struct.pack("f", number))[0]
    except OverflowError:  # just above the float32 range, rounds to infinity in Go
        return math.copysign(_FLOAT32_MAX, number)
    return rounded


# --------------------------------------------------------------------------------------
# Encoding

_ESCAPE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')
_NAMED_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NAMED_ESCAPES.update({"\b": "\\b", "\f": "\\f"})


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if "\ud800" <= char <= "\udfff":  # a lone surrogate is invalid UTF-8 for Go
        return "\ufffd"
    return f"\\u{ord(char):04x}"


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append('"' + _ESCAPE.sub(_escape_char, value) + '"')
    elif value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Float32):
        out.append(format_float32(value.value))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            out.append("," if index else "")
            _encode(str(key), out)
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            out.append("," if index else "")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as Go JSON")


def dumps(value: Any) -> bytes:
    """Encode ``value`` as Go's ``json.Marshal`` would (dict order is kept)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def format_float32(value: float) -> str:
    """Format a float32 as Go's encoder does: shortest round-trip digits, no ``.0``."""
    if value == 0:
        return "0"
    digits = _shortest_float32_digits(value)
    magnitude = abs(value)
    if magnitude < 1e-6 or magnitude >= 1e21:
        mantissa, exponent = f"{Decimal(digits):e}".split("e")
        digits_only = exponent.lstrip("+-").lstrip("0")
        if exponent.startswith("-"):  # Go trims e-07 to e-7 but keeps e+21
            return f"{mantissa}e-{digits_only}"
        return f"{mantissa}e+{digits_only.rjust(2, '0')}"
    return _plain(Decimal(digits))


def _shortest_float32_digits(value: float) -> str:
    for precision in range(1, 10):
        candidate = f"{value:.{precision}g}"
        if _round_float32(float(candidate)) == value:
            return candidate
    return repr(value)


def _plain(number: Decimal) -> str:
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
