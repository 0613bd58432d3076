"""Where the reference data lives, shared by the tests (import as `reference_data`)."""

from __future__ import annotations

from pathlib import Path

from ldos_surrogate.io.store import EnergyGrid

REPO = Path(__file__).resolve().parents[1]
# MALA's Be2 test set (BSD 3-Clause, a subset: tests/reference/mala_be2/README.md)
MALA_BE2 = REPO / "tests" / "reference" / "mala_be2"
BE2_ENERGY_GRID = EnergyGrid(start_ev=-5.0, spacing_ev=2.5, count=11)
# the 32-atom Al research set (14 snapshots, ~190 MB): read where it lies
SHARED_DATA = REPO.parent / "shared" / "data"
AL32 = SHARED_DATA / "al32_298K"
