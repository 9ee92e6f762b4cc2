"""Durations as people write them in experiments: ``90``, ``"90s"``, ``"1m30s"``, ``"500ms"``."""

from __future__ import annotations

import contextlib
import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

ACCEPTED = 'a number of seconds or a string like "30s", "1m30s", "500ms", "2h"'


def parse_duration(value: object) -> float:
    """Seconds as a float; raises ValueError saying what is accepted."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration ({ACCEPTED}), got {value!r}")
    seconds: float | None = None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text and _PART.sub("", text) == "":
            seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
        else:
            with contextlib.suppress(ValueError):
                seconds = float(text)
    # float() also reads "nan" and "inf" (and YAML has .nan, .inf): no duration is either.
    if seconds is None or not math.isfinite(seconds):
        raise ValueError(f"expected a duration ({ACCEPTED}), got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """``75.0`` -> ``"1m15s"``; fractions of a second keep their decimals."""
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}m{rest:g}s" if rest else f"{int(minutes)}m"
    hours, minutes = divmod(minutes, 60)
    text = f"{int(hours)}h"
    if minutes:
        text += f"{int(minutes)}m"
    return text + (f"{rest:g}s" if rest else "")
