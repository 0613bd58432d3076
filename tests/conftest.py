"""Shared fixtures: locations of the reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from ldos_surrogate.io.store import EnergyGrid

REPO = Path(__file__).resolve().parents[1]
MALA_BE2 = REPO.parent / "shared" / "data" / "mala_be2"
BE2_ENERGY_GRID = EnergyGrid(start_ev=-5.0, spacing_ev=2.5, count=11)


@pytest.fixture(scope="session")
def mala_be2() -> Path:
    """MALA's Be2 test set (read-only, outside the repository)."""
    if not (MALA_BE2 / "Be_snapshot0.info.json").exists():
        pytest.skip(f"MALA Be2 reference data not found at {MALA_BE2}")
    return MALA_BE2
