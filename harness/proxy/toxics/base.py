"""The base of every toxic: its attributes, their Go types, and the ``pipe`` it runs.

A toxic type is a frozen dataclass whose fields are its API attributes, in the order
Toxiproxy prints them, each declared with :func:`attribute` and its Go type (``int64`` or
``int``; both are 64-bit here, but error texts name them). The instance is the
configuration; what varies per connection lives in the :class:`~harness.proxy.stage.Stage`
it runs on (and in :meth:`Toxic.new_state` for stateful toxics such as ``limit_data``).
Updating a toxic replaces its instance and interrupts the stages running it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from harness.proxy.gojson import FieldSpec, integer_reader

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["Toxic", "attribute"]


def attribute(go_type: str = "int64") -> Any:
    """Declare a toxic attribute of Go type ``go_type``, defaulting to 0 as in Go."""
    return dataclasses.field(default=0, metadata={"go_type": go_type})


@dataclasses.dataclass(frozen=True)
class Toxic:
    """A toxic type; subclasses set ``type_name`` and ``go_struct`` and define ``pipe``."""

    #: The name the API uses (``"latency"``).
    type_name: ClassVar[str] = ""
    #: The Go struct name, used in type-error messages (``"LatencyToxic"``).
    go_struct: ClassVar[str] = ""
    #: Removing the toxic closes the connections it runs on (``timeout``).
    closes_on_remove: ClassVar[bool] = False
    #: Present when a connection is set up, the toxic makes closes send RST (``reset_peer``).
    resets_on_close: ClassVar[bool] = False

    @classmethod
    def field_specs(cls) -> tuple[FieldSpec, ...]:
        """The attributes as Go struct fields, for decoding API bodies."""
        specs = []
        for field in dataclasses.fields(cls):
            go_type = str(field.metadata.get("go_type", "int64"))
            specs.append(FieldSpec(field.name, go_type, integer_reader(go_type)))
        return tuple(specs)

    def attributes(self) -> dict[str, int]:
        """The attributes in API order, defaults included."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def with_attributes(self, values: dict[str, int]) -> Toxic:
        """A copy with some attributes changed (a merge, as PATCH does)."""
        return dataclasses.replace(self, **values)

    def new_state(self) -> object:
        """Per-link state that survives restarts of the toxic; none by default."""
        return None

    async def pipe(self, stage: Stage) -> None:
        """Move data through ``stage`` until it closes; raise nothing but Interrupted."""
        raise NotImplementedError(f"toxic type {self.type_name!r} does not define pipe()")
