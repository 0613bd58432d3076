"""Importing MALA's Be2 data set into the store and the descriptor cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.cli import main
from ldos_surrogate.descriptors import SnapParams, cached_descriptors
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala_import import import_mala_dataset
from ldos_surrogate.io.store import read_dataset

BE2_RCUT, BE2_TWOJMAX = 4.67637, 10


@pytest.fixture(scope="module")
def be2_store(mala_be2, tmp_path_factory):
    out = tmp_path_factory.mktemp("be2") / "store"
    import_mala_dataset(mala_be2, BE2_ENERGY_GRID, out, BE2_RCUT, BE2_TWOJMAX)
    return out


def test_every_snapshot_is_imported_with_its_arrays_and_references(be2_store, mala_be2):
    snapshots = read_dataset(be2_store)
    assert [s.name for s in snapshots] == [f"Be_snapshot{i}" for i in range(4)]
    for snapshot in snapshots:
        np.testing.assert_array_equal(
            snapshot.ldos(), np.load(mala_be2 / f"{snapshot.name}.out.npy")
        )
        info = json.loads((mala_be2 / f"{snapshot.name}.info.json").read_text())
        assert snapshot.meta.fermi_energy_ev == info["fermi_energy_dft"]
        assert snapshot.meta.reference["band_energy"] == info["band_energy_dft_calculation"]
        assert snapshot.meta.provenance["imported_from"] == str(mala_be2 / snapshot.name)
    assert snapshots[0].meta.reference["total_free_energy"] == pytest.approx(-73.03705522269406)


def test_density_is_imported_and_integrates_to_the_electron_count(be2_store):
    snapshots = read_dataset(be2_store)
    density = snapshots[0].density()
    assert density.shape == (18, 18, 27)
    # N_e = sum_r n(r) dV: 4 valence electrons of Be2 (electrons/Angstrom^3 times Angstrom^3)
    assert density.sum() * snapshots[0].meta.voxel_volume == pytest.approx(4.0, abs=1e-6)
    assert all(s.density() is None for s in snapshots[1:])  # MALA ships dens.npy for 0 only


def test_mala_features_serve_as_cached_descriptors_without_lammps(be2_store, mala_be2, monkeypatch):
    def no_lammps(*args, **kwargs):
        raise AssertionError("the imported descriptors should come from the cache")

    monkeypatch.setattr("ldos_surrogate.descriptors.cache.compute_snap_grid", no_lammps)
    params = SnapParams(rcut=BE2_RCUT, twojmax=BE2_TWOJMAX)
    for snapshot in read_dataset(be2_store):
        features = np.load(mala_be2 / f"{snapshot.name}.in.npy")[..., 3:]
        np.testing.assert_array_equal(cached_descriptors(snapshot, params), features)


def test_reimport_replaces_snapshots_without_duplicating_the_manifest(be2_store, mala_be2):
    import_mala_dataset([mala_be2 / "Be_snapshot1"], BE2_ENERGY_GRID, be2_store, BE2_RCUT, 10)
    names = json.loads((be2_store / "manifest.json").read_text())["snapshots"]
    assert names == [f"Be_snapshot{i}" for i in range(4)]


def test_wrong_twojmax_is_an_error_naming_the_feature_file(mala_be2, tmp_path):
    with pytest.raises(InputError, match=r"Be_snapshot0\.in\.npy: 91 features, but twojmax 8"):
        import_mala_dataset([mala_be2 / "Be_snapshot0"], BE2_ENERGY_GRID, tmp_path, BE2_RCUT, 8)
    assert not (tmp_path / "manifest.json").exists()


def test_density_on_another_grid_is_an_error_naming_the_file(mala_be2, tmp_path):
    mala = tmp_path / "mala"
    mala.mkdir()
    for suffix in (".in.npy", ".out.npy", ".info.json"):
        (mala / f"Be_snapshot0{suffix}").symlink_to(mala_be2 / f"Be_snapshot0{suffix}")
    np.save(mala / "Be_snapshot0.dens.npy", np.load(mala_be2 / "Be_snapshot0.dens.npy")[:, :, :26])
    with pytest.raises(InputError, match=r"Be_snapshot0\.dens\.npy: shape \(18, 18, 26, 1\)"):
        import_mala_dataset(mala, BE2_ENERGY_GRID, tmp_path / "out", BE2_RCUT, BE2_TWOJMAX)
    assert not (tmp_path / "out" / "Be_snapshot0").exists()


def test_cli_imports_and_reports_bad_input_in_one_line(mala_be2, tmp_path, capsys):
    out = tmp_path / "be2"
    grid = ["--energy-grid", "-5", "2.5", "11", "--rcut", str(BE2_RCUT), "--twojmax", "10"]
    assert main(["import-mala", str(mala_be2), *grid, "--out", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out / f"Be_snapshot{i}") for i in range(4)]
    assert main(["import-mala", str(tmp_path / "missing"), *grid, "--out", str(out)]) == 2
    assert "MALA data folder not found" in capsys.readouterr().err
    no_grid = ["--rcut", "4.67637", "--twojmax", "10", "--out", str(out)]
    assert main(["import-mala", str(mala_be2), *no_grid]) == 2
    assert "--energy-grid: required" in capsys.readouterr().err
