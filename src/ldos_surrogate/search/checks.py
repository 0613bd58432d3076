"""Checks of search settings: an InputError naming the config key, before any trial runs."""

from __future__ import annotations

from typing import Any

from ldos_surrogate.errors import InputError


def require_int(value: Any, key: str, minimum: int) -> None:
    """``value`` must be an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{key}: must be an integer >= {minimum}, got {value!r}")
