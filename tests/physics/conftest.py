"""Fixtures of the physics tests: MALA's Be2 snapshots and the shipped fcc Al data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ldos_surrogate.io.mala import MalaSnapshot, read_mala_snapshot
from ldos_surrogate.io.store import EnergyGrid, Snapshot, read_dataset
from ldos_surrogate.physics.dos import density_of_states

REPO = Path(__file__).resolve().parents[2]
AL_DATASET = REPO / "data" / "al_fcc_298K"
BE2_GRID = (-5.0, 2.5, 11)


@pytest.fixture(scope="session")
def be2_snapshots(mala_be2: Path) -> list[MalaSnapshot]:
    """The four Be2 snapshots with their 11-point energy grid (-5 ... 20 eV)."""
    grid = EnergyGrid(*BE2_GRID)
    return [read_mala_snapshot(mala_be2 / f"Be_snapshot{i}", grid) for i in range(4)]


@pytest.fixture(scope="session")
def be2_dos(be2_snapshots: list[MalaSnapshot]) -> np.ndarray:
    """DOS (states/eV) of Be2 snapshot 0, Eq. 5."""
    snapshot = be2_snapshots[0]
    return density_of_states(snapshot.ldos(), snapshot.meta.cell)


@pytest.fixture(scope="session")
def al_snapshots() -> list[Snapshot]:
    """The shipped QE data set of fcc Al at 298 K (Al.pz-vbc, 4 atoms)."""
    if not (AL_DATASET / "manifest.json").exists():
        pytest.skip(f"shipped Al data set not generated yet ({AL_DATASET} has no manifest.json)")
    return read_dataset(AL_DATASET)
