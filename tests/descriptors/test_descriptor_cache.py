"""The descriptor cache, the `descriptors` command and its MPI run, on MALA's Be2 atoms."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import ase
import numpy as np
import pytest
from reference_data import BE2_ENERGY_GRID
from test_snap_grid import BE2_PARAMS, be2_atoms, max_relative_error

from ldos_surrogate.cli import main
from ldos_surrogate.descriptors import (
    SnapParams,
    cached_descriptors,
    compute_snap_grid,
    descriptor_cache_path,
    descriptor_key,
    store_descriptors,
)
from ldos_surrogate.descriptors import cache as cache_module
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.io.store import read_snapshot, write_snapshot

SMALL_GRID = (6, 6, 9)
FAST_PARAMS = SnapParams(rcut=4.67637, twojmax=4)


@dataclass
class GridMeta:
    grid_shape: tuple[int, int, int]


@dataclass
class AtomsSnapshot:
    """The least a snapshot needs for the cache: a folder, a grid shape and atoms."""

    path: Path
    meta: GridMeta
    structure: ase.Atoms

    def atoms(self) -> ase.Atoms:
        return self.structure.copy()


@pytest.fixture()
def snapshot(mala_be2, tmp_path) -> AtomsSnapshot:
    return AtomsSnapshot(tmp_path / "be2", GridMeta(SMALL_GRID), be2_atoms(mala_be2))


@pytest.fixture()
def counted(monkeypatch) -> list[tuple]:
    """Record every LAMMPS computation the cache asks for."""
    calls = []

    def counting(atoms, grid_shape, params):
        calls.append((grid_shape, params))
        return compute_snap_grid(atoms, grid_shape, params)

    monkeypatch.setattr(cache_module, "compute_snap_grid", counting)
    return calls


def test_second_request_reads_the_cache(snapshot, counted):
    first = cached_descriptors(snapshot, FAST_PARAMS)
    second = cached_descriptors(snapshot, FAST_PARAMS)
    assert len(counted) == 1
    assert isinstance(second, np.memmap) and second.dtype == np.float32
    assert second.shape == (*SMALL_GRID, FAST_PARAMS.n_features)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(
        second, compute_snap_grid(snapshot.atoms(), SMALL_GRID, FAST_PARAMS)
    )
    path = descriptor_cache_path(snapshot, FAST_PARAMS)
    assert path.parent == snapshot.path / ".descriptor_cache"
    description = json.loads(path.with_suffix(".json").read_text())
    assert description["params"]["rcut"] == FAST_PARAMS.rcut
    assert description["params"]["radelem"] == {"Be": 0.5}


def test_sweep_computes_each_point_once(snapshot, counted):
    sweep = [SnapParams(rcut, twojmax) for rcut in (3.5, 4.0) for twojmax in (2, 4)]
    for _ in range(2):
        for params in sweep:
            cached_descriptors(snapshot, params)
    assert len(counted) == len(sweep)
    assert len(list((snapshot.path / ".descriptor_cache").glob("*.npy"))) == len(sweep)


def test_key_changes_with_every_parameter_and_with_the_structure(snapshot):
    atoms = snapshot.atoms()
    base = descriptor_key(atoms, SMALL_GRID, FAST_PARAMS)
    variants = [
        SnapParams(4.6, 4),
        SnapParams(4.67637, 6),
        SnapParams(4.67637, 4, rfac0=0.98),
        SnapParams(4.67637, 4, radelem={"Be": 0.45}),
        SnapParams(4.67637, 4, wj={"Be": 0.9}),
        SnapParams(4.67637, 4, switchflag=0),
        SnapParams(4.67637, 4, bzeroflag=1),
        SnapParams(4.67637, 4, quadraticflag=1),
    ]
    keys = {descriptor_key(atoms, SMALL_GRID, params) for params in variants}
    assert len(keys) == len(variants) and base not in keys
    assert descriptor_key(atoms, (6, 6, 10), FAST_PARAMS) != base
    moved = atoms.copy()
    moved.positions[0, 0] += 1e-6
    assert descriptor_key(moved, SMALL_GRID, FAST_PARAMS) != base
    # defaults spelt out, or values for absent elements, compute the same thing: same key
    explicit = SnapParams(4.67637, 4, radelem={"Be": 0.5}, wj={"Al": 0.3})
    assert descriptor_key(atoms, SMALL_GRID, explicit) == base


def test_truncated_cache_file_is_ignored_and_replaced(snapshot, counted):
    expected = np.array(cached_descriptors(snapshot, FAST_PARAMS))
    path = descriptor_cache_path(snapshot, FAST_PARAMS)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])  # a write cut short
    again = cached_descriptors(snapshot, FAST_PARAMS)
    assert len(counted) == 2
    np.testing.assert_array_equal(again, expected)
    assert path.stat().st_size == len(content)


def test_entry_with_mismatched_description_is_ignored(snapshot, counted):
    cached_descriptors(snapshot, FAST_PARAMS)
    path = descriptor_cache_path(snapshot, FAST_PARAMS).with_suffix(".json")
    description = json.loads(path.read_text())
    description["params"]["twojmax"] = 6
    path.write_text(json.dumps(description))
    cached_descriptors(snapshot, FAST_PARAMS)
    path.with_suffix(".json").unlink()  # array without description: incomplete entry
    cached_descriptors(snapshot, FAST_PARAMS)
    assert len(counted) == 3


def test_stored_external_array_is_served_under_its_key(mala_be2, tmp_path, counted):
    """MALA's stored Be2 features, shown equal to LAMMPS's in test_snap_grid, go in as is."""
    snapshot = AtomsSnapshot(tmp_path / "be2", GridMeta((18, 18, 27)), be2_atoms(mala_be2))
    features = np.load(mala_be2 / "Be_snapshot0.in.npy")[..., 3:]
    path = store_descriptors(snapshot, BE2_PARAMS, features, source="MALA Be_snapshot0.in.npy")
    assert path == descriptor_cache_path(snapshot, BE2_PARAMS)
    np.testing.assert_array_equal(cached_descriptors(snapshot, BE2_PARAMS), features)
    assert counted == []
    assert json.loads(path.with_suffix(".json").read_text())["source"] == "MALA Be_snapshot0.in.npy"


def test_store_rejects_wrong_shape_and_non_finite_values(snapshot):
    good = compute_snap_grid(snapshot.atoms(), SMALL_GRID, FAST_PARAMS)
    with pytest.raises(InputError, match="shape"):
        store_descriptors(snapshot, FAST_PARAMS, good[..., :-1])
    bad = good.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        store_descriptors(snapshot, FAST_PARAMS, bad)
    assert not (snapshot.path / ".descriptor_cache").exists()


def test_unwritable_cache_folder_is_one_clear_error(snapshot, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    with pytest.raises(InputError, match="not_a_folder"):
        cached_descriptors(snapshot, FAST_PARAMS, cache_dir=blocker / "cache")


@pytest.fixture()
def be2_store_snapshot(mala_be2, tmp_path) -> Path:
    """Be2 snapshot 0 in the store (18x18x27 grid), LDOS included."""
    source = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID)
    written = write_snapshot(tmp_path / "snapshot_000", source.meta, source.atoms(), source.ldos())
    return written.path


def test_command_prints_the_cache_path_and_reuses_it(be2_store_snapshot, capsys, mala_be2):
    arguments = ["descriptors", str(be2_store_snapshot), "--rcut", "4.67637", "--twojmax", "10"]
    assert main(arguments) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == be2_store_snapshot / ".descriptor_cache"
    reference = np.load(mala_be2 / "Be_snapshot0.in.npy")[..., 3:]
    assert max_relative_error(np.load(path), reference) < 1e-4
    mtime = path.stat().st_mtime_ns
    assert main(arguments) == 0
    assert Path(capsys.readouterr().out.strip()) == path and path.stat().st_mtime_ns == mtime


def test_command_rejects_malformed_per_element_option(be2_store_snapshot, capsys):
    arguments = [
        "descriptors",
        str(be2_store_snapshot),
        "--rcut",
        "4",
        "--twojmax",
        "4",
        "--wj",
        "Be:1",
    ]
    assert main(arguments) == 2
    assert "--wj" in capsys.readouterr().err


def test_mpi_run_equals_serial(be2_store_snapshot, tmp_path):
    """mpiexec -n 2: LAMMPS splits the grid; rank 0 writes the same array as a serial run."""
    mpiexec = Path(sys.executable).parent / "mpiexec"
    command = Path(sys.executable).parent / "ldos-surrogate"
    if not (mpiexec.exists() and command.exists()):
        pytest.skip(f"{mpiexec} or {command} not installed")
    args = ["descriptors", str(be2_store_snapshot), "--rcut", "4.0", "--twojmax", "6"]
    run = subprocess.run(
        [str(mpiexec), "-n", "2", str(command), *args, "--cache-dir", str(tmp_path / "mpi")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    printed = run.stdout.split()
    assert len(printed) == 1  # only rank 0 prints
    parallel = np.load(printed[0])
    snapshot = read_snapshot(be2_store_snapshot)
    serial = compute_snap_grid(snapshot.atoms(), snapshot.meta.grid_shape, SnapParams(4.0, 6))
    assert max_relative_error(parallel, serial) < 1e-6


def test_read_only_data_set_caches_in_the_user_cache(snapshot, tmp_path, monkeypatch):
    """A snapshot folder without write permission (a shared data set) is never written to:
    its descriptors go to the per-user cache ($LDOS_SURROGATE_CACHE here), and are read
    back from there."""
    user_cache = tmp_path / "user_cache"
    monkeypatch.setenv(cache_module.USER_CACHE_ENV, str(user_cache))
    snapshot.path.mkdir()
    snapshot.path.chmod(0o555)
    try:
        first = cached_descriptors(snapshot, FAST_PARAMS)
        assert list(snapshot.path.iterdir()) == []
        path = descriptor_cache_path(snapshot, FAST_PARAMS)
        assert path.parent == user_cache and path.exists()
        np.testing.assert_array_equal(cached_descriptors(snapshot, FAST_PARAMS), first)
    finally:
        snapshot.path.chmod(0o755)
