"""The snapshot store, exercised with MALA's Be2 snapshot written into it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.cli import main
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.io.store import (
    add_to_manifest,
    read_dataset,
    read_snapshot,
    write_snapshot,
)


@pytest.fixture()
def be2_store(mala_be2, tmp_path):
    """Be2 snapshot 0 written into a one-snapshot data set."""
    source = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID)
    density = np.load(mala_be2 / "Be_snapshot0.dens.npy")[..., 0]
    write_snapshot(
        tmp_path / "be2" / "snapshot_000", source.meta, source.atoms(), source.ldos(), density
    )
    add_to_manifest(tmp_path / "be2", "snapshot_000")
    return source, tmp_path / "be2"


def test_round_trip_keeps_arrays_atoms_and_metadata(be2_store):
    source, dataset = be2_store
    (snapshot,) = read_dataset(dataset)
    ldos = snapshot.ldos()
    assert isinstance(ldos, np.memmap) and ldos.dtype == np.float32
    np.testing.assert_array_equal(ldos, source.ldos())
    np.testing.assert_allclose(snapshot.atoms().positions, source.atoms().positions)
    np.testing.assert_allclose(snapshot.meta.cell, source.meta.cell)
    assert snapshot.meta.reference == source.meta.reference
    assert snapshot.meta.energy_grid == BE2_ENERGY_GRID
    # the DFT density integrates to the electron count (4 for Be2)
    electrons = snapshot.density().sum() * snapshot.meta.voxel_volume
    assert electrons == pytest.approx(snapshot.meta.n_electrons, rel=1e-6)


def test_float16_storage_reads_back_float32_within_half_precision(be2_store, tmp_path):
    source, _ = be2_store
    snapshot = write_snapshot(
        tmp_path / "half", source.meta, source.atoms(), source.ldos(), ldos_dtype=np.float16
    )
    ldos = snapshot.ldos()
    assert ldos.dtype == np.float32
    np.testing.assert_allclose(ldos, source.ldos(), rtol=2**-11, atol=1e-7)


def test_manifest_lists_each_snapshot_once(be2_store):
    _, dataset = be2_store
    add_to_manifest(dataset, "snapshot_000")
    assert json.loads((dataset / "manifest.json").read_text()) == {"snapshots": ["snapshot_000"]}


def test_failed_write_leaves_nothing_behind(be2_store, tmp_path, monkeypatch):
    source, _ = be2_store
    bad_density = np.zeros((2, 2, 2))
    with pytest.raises(InputError, match="density shape"):
        write_snapshot(tmp_path / "broken", source.meta, source.atoms(), source.ldos(), bad_density)
    assert not (tmp_path / "broken").exists()

    def killed_while_writing_atoms(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("ldos_surrogate.io.store.ase.io.write", killed_while_writing_atoms)
    with pytest.raises(KeyboardInterrupt):
        write_snapshot(tmp_path / "half_written", source.meta, source.atoms(), source.ldos())
    assert list(tmp_path.iterdir()) == [tmp_path / "be2"]


def test_nan_in_ldos_is_rejected_on_write_and_found_on_check(be2_store, tmp_path):
    source, dataset = be2_store
    ldos = np.array(source.ldos())
    ldos[3, 4, 5, 6] = np.nan
    with pytest.raises(InputError, match="NaN"):
        write_snapshot(tmp_path / "nan", source.meta, source.atoms(), ldos)
    path = dataset / "snapshot_000" / "ldos.npy"
    os.chmod(path, 0o644)
    np.save(path, ldos)
    with pytest.raises(InputError, match=r"snapshot_000/ldos\.npy: contains NaN"):
        read_snapshot(dataset / "snapshot_000").check_finite()


def test_energy_grid_that_does_not_match_the_array_names_the_file(be2_store):
    _, dataset = be2_store
    meta_path = dataset / "snapshot_000" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["energy_grid_ev"]["count"] = 12
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"ldos\.npy: shape .* does not match meta\.json"):
        read_snapshot(dataset / "snapshot_000")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "ldos.npy").unlink(), r"ldos\.npy: file missing"),
        (
            lambda d: (d / "ldos.npy").write_bytes(b"\x93NUMPY garbage"),
            r"ldos\.npy: not a readable",
        ),
        (lambda d: (d / "meta.json").write_text("{"), r"meta\.json: not valid JSON"),
        (lambda d: (d / "atoms.extxyz").unlink(), r"atoms\.extxyz: file missing"),
    ],
)
def test_damaged_snapshot_gives_one_error_naming_the_file(be2_store, damage, message):
    _, dataset = be2_store
    damage(dataset / "snapshot_000")
    with pytest.raises(InputError, match=message):
        read_dataset(dataset)


def test_info_command_prints_grid_and_references(be2_store, capsys):
    _, dataset = be2_store
    assert main(["info", str(dataset / "snapshot_000")]) == 0
    out = capsys.readouterr().out
    assert "18 x 18 x 27 = 8748 points" in out
    assert "11 energies from -5 eV, spacing 2.5 eV" in out
    assert "total_free_energy -73.037055 eV" in out


def test_info_command_reports_bad_input_in_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_atomic_writes_get_the_usual_permissions(tmp_path):
    from ldos_surrogate.io.atomic import atomic_directory, atomic_write_text

    atomic_write_text(tmp_path / "note.txt", "x")
    with atomic_directory(tmp_path / "folder") as folder:
        (folder / "a").write_text("y")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "note.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o777 & ~mask
