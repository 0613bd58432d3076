"""Shared fixtures: the reference data sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from reference_data import MALA_BE2


@pytest.fixture(scope="session")
def mala_be2() -> Path:
    """MALA's Be2 test set (read-only, outside the repository)."""
    if not (MALA_BE2 / "Be_snapshot0.info.json").exists():
        pytest.skip(f"MALA Be2 reference data not found at {MALA_BE2}")
    return MALA_BE2
