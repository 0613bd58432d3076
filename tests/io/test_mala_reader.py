"""The MALA-format reader on MALA's Be2 data."""

from __future__ import annotations

import numpy as np
import pytest
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import read_mala_snapshot


def test_be2_snapshot_shapes_and_metadata(mala_be2):
    snapshot = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID)
    assert snapshot.meta.grid_shape == (18, 18, 27)
    assert snapshot.descriptors().shape == (18, 18, 27, 91)
    assert snapshot.ldos().shape == (18, 18, 27, 11)
    assert snapshot.meta.fermi_energy_ev == pytest.approx(8.743)
    assert snapshot.meta.n_electrons == 4.0
    assert snapshot.meta.temperature_k == pytest.approx(299.986, abs=1e-3)
    assert snapshot.meta.reference["total_free_energy"] == pytest.approx(-73.03705522269406)
    assert snapshot.meta.energy_grid.energies[[0, -1]].tolist() == [-5.0, 20.0]
    atoms = snapshot.atoms()
    assert atoms.get_chemical_symbols() == ["Be", "Be"]
    assert atoms.cell.volume == pytest.approx(15.788243763636816)


def test_dropped_columns_were_the_grid_coordinates(mala_be2):
    """The 3 dropped columns of .in.npy are r = (i/nx, j/ny, k/nz) . cell in Angstrom,
    which pins down the grid convention the store uses."""
    snapshot = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID)
    raw = np.load(mala_be2 / "Be_snapshot0.in.npy", mmap_mode="r")
    nx, ny, nz = snapshot.meta.grid_shape
    fractional = np.stack(
        np.meshgrid(np.arange(nx) / nx, np.arange(ny) / ny, np.arange(nz) / nz, indexing="ij"), -1
    )
    np.testing.assert_allclose(raw[..., :3], fractional @ snapshot.meta.cell, atol=1e-5)
    np.testing.assert_array_equal(snapshot.descriptors(), raw[..., 3:])


def test_voxel_volume_matches_mala_voxel(mala_be2):
    snapshot = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID)
    voxel = np.array(snapshot._info["voxel"]["array"])
    assert snapshot.meta.voxel_volume == pytest.approx(abs(np.linalg.det(voxel)), rel=1e-12)


def test_energy_grid_longer_than_the_array_is_an_error_naming_the_file(mala_be2):
    from ldos_surrogate.io.store import EnergyGrid

    snapshot = read_mala_snapshot(mala_be2 / "Be_snapshot1", EnergyGrid(-5.0, 2.5, 12))
    with pytest.raises(InputError, match=r"Be_snapshot1\.out\.npy"):
        snapshot.ldos()


def test_missing_prefix_is_an_error_naming_the_file(tmp_path):
    with pytest.raises(InputError, match=r"nothing\.info\.json: file missing"):
        read_mala_snapshot(tmp_path / "nothing", BE2_ENERGY_GRID)
