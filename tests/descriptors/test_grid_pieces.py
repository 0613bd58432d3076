"""SNAP descriptors in interleaved pieces equal the one-shot grid, and the plans respect the
memory budget."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ldos_surrogate.descriptors import SnapParams, compute_snap_grid
from ldos_surrogate.descriptors.pieces import GridPieces, PieceStore, plan_pieces
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import read_snapshot

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = REPO / "data" / "al_fcc_298K" / "snapshot_0000"
PARAMS = SnapParams(rcut=4.67637, twojmax=6)


@pytest.fixture(scope="module")
def atoms():
    if not (SNAPSHOT / "meta.json").exists():
        pytest.skip(f"shipped Al snapshot not found at {SNAPSHOT}")
    return read_snapshot(SNAPSHOT).atoms()


@pytest.mark.parametrize("strides", [(2, 3, 1), (3, 1, 6)])
def test_pieces_equal_the_one_shot_grid(atoms, strides, tmp_path: Path) -> None:
    """Every point of the thermal 4-atom cell (18^3 grid) from its piece: the same value as
    the one-shot computation (max abs difference printed; measured 0)."""
    grid_shape = (18, 18, 18)
    one_shot = compute_snap_grid(atoms, grid_shape, PARAMS)
    pieces = GridPieces(grid_shape, strides)
    store = PieceStore(tmp_path / "pieces", atoms, pieces, PARAMS)
    store.prepare()
    assembled = np.full_like(one_shot, np.nan)
    for index in range(pieces.n_pieces):
        assembled[pieces.slices(index)] = store.descriptors(index)
    difference = float(np.max(np.abs(assembled - one_shot)))
    print(f"pieces {strides}: max abs difference {difference:.3g}")
    assert difference <= 1e-6 * float(np.max(np.abs(one_shot)))
    # stored pieces are read back, not recomputed, and equal
    again = PieceStore(tmp_path / "pieces", atoms, pieces, PARAMS)
    again.prepare()
    np.testing.assert_array_equal(again.descriptors(1), assembled[pieces.slices(1)])


def test_a_store_of_other_atoms_is_emptied(atoms, tmp_path: Path) -> None:
    pieces = GridPieces((6, 6, 6), (2, 1, 1))
    store = PieceStore(tmp_path, atoms, pieces, PARAMS)
    store.prepare()
    store.descriptors(0)
    moved = atoms.copy()
    moved.positions[0, 0] += 0.01
    other = PieceStore(tmp_path, moved, pieces, PARAMS)
    other.prepare()
    assert not other.path(0).exists()


def test_plans_fit_the_budget_with_the_fewest_pieces() -> None:
    per_point = 1000.0
    whole = plan_pieces((144, 144, 144), per_point, 144**3 * per_point)
    assert whole.strides == (1, 1, 1)
    budget = 2**30
    plan = plan_pieces((144, 144, 144), per_point, budget)
    assert plan.points_per_piece * per_point <= budget
    assert plan.n_pieces == 3  # 144^3 points x 1 kB = 2.8 GiB: three pieces of 0.93 GiB
    # two ranks: an even number of pieces
    assert plan_pieces((144, 144, 144), per_point, budget, min_pieces=2).n_pieces == 4
    # prime sides split into planes and lines
    primes = plan_pieces((37, 37, 37), per_point, 40 * per_point)
    assert sorted(primes.piece_shape) == [1, 1, 37]
    assert math.prod(primes.strides) * primes.points_per_piece == 37**3
    with pytest.raises(InputError, match="cannot hold one grid point"):
        plan_pieces((4, 4, 4), per_point, 10.0)
