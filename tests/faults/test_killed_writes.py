"""SIGKILL in the middle of a file write, in data generation (Quantum ESPRESSO) and in the
descriptor cache: the half-written file is never read as data and the re-run completes.

Each child process dies after writing the first half of a chosen file (`kill_mid_write`);
the checks then read what is on disk as the next run would."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from kill_mid_write import KILLED, run_killed_while_writing
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.cli import main
from ldos_surrogate.descriptors import SnapParams, compute_snap_grid, descriptor_cache_path
from ldos_surrogate.descriptors import cache as cache_module
from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.io.store import dataset_names, read_dataset, read_snapshot, write_snapshot
from ldos_surrogate.physics.dos import density_of_states
from ldos_surrogate.physics.fermi import number_of_electrons

CLI = "ldos_surrogate.cli"
PARAMS = SnapParams(rcut=4.0, twojmax=4)
# 4-atom fcc Al, 8 Ry, 2x2x2 k-points: one snapshot in a few seconds
TINY_AL = "--element Al --supercell 1 --temperature 298 --kmesh 2 2 2 --ecutwfc 8"
TINY_AL += " --energy-spacing 0.1 --width 0.1 --snapshots 1"


@pytest.fixture()
def be2_snapshot(mala_be2: Path, tmp_path: Path) -> Path:
    """Be2 snapshot 0 in the store (18x18x27 grid)."""
    source = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID)
    return write_snapshot(tmp_path / "be2", source.meta, source.atoms(), source.ldos()).path


@pytest.fixture()
def lammps_calls(monkeypatch: pytest.MonkeyPatch) -> list[SnapParams]:
    """Every LAMMPS computation the descriptor cache asks for in this process."""
    calls = []

    def counting(atoms, grid_shape, params):
        calls.append(params)
        return compute_snap_grid(atoms, grid_shape, params)

    monkeypatch.setattr(cache_module, "compute_snap_grid", counting)
    return calls


@pytest.mark.parametrize(
    "target",
    [".npy.", ".json."],
    ids=["killed_writing_the_array", "killed_writing_its_description"],
)
def test_descriptor_cache_entry_killed_mid_write_is_never_read(
    be2_snapshot: Path, tmp_path: Path, lammps_calls: list, target: str
) -> None:
    cache = tmp_path / "cache"
    command = ["descriptors", str(be2_snapshot), "--rcut", "4.0", "--twojmax", "4"]
    command += ["--cache-dir", str(cache)]
    killed = run_killed_while_writing(target, CLI, *command)
    assert killed.returncode == KILLED, killed.stderr[-2000:]
    (half_written,) = cache.glob(f".*{target}*.tmp")
    assert half_written.stat().st_size > 0

    # the next run ignores the incomplete entry, computes the descriptors and completes it
    assert main(command) == 0
    assert lammps_calls == [PARAMS]
    snapshot = read_snapshot(be2_snapshot)
    served = np.load(descriptor_cache_path(snapshot, PARAMS, cache))
    expected = compute_snap_grid(snapshot.atoms(), snapshot.meta.grid_shape, PARAMS)
    np.testing.assert_array_equal(served, expected)
    assert main(command) == 0  # complete now: served from the cache
    assert lammps_calls == [PARAMS]


def tiny_datagen(out: Path) -> list[str]:
    return ["datagen", *TINY_AL.split(), "--out", str(out), "--scratch", str(out.parent / "qe")]


@pytest.mark.parametrize("target", ["ldos.npy", "manifest.json"])
def test_datagen_killed_mid_write_lists_no_partial_snapshot_and_resumes(
    tmp_path: Path, target: str
) -> None:
    if shutil.which("pw.x") is None or shutil.which("pp.x") is None:
        pytest.skip("Quantum ESPRESSO (pw.x, pp.x) not installed")
    out = tmp_path / "al"
    killed = run_killed_while_writing(target, CLI, *tiny_datagen(out))
    assert killed.returncode == KILLED, killed.stderr[-2000:]
    assert dataset_names(out) == []  # nothing listed: the next run starts this snapshot again
    if target == "ldos.npy":  # killed inside the snapshot write: only a hidden temp folder
        assert not (out / "snapshot_0000").exists()
        (partial,) = out.glob(".snapshot_0000.*.tmp")
        assert (partial / "ldos.npy").stat().st_size > 0
    else:  # killed writing the manifest: the snapshot folder is complete, just not listed
        finished = (out / "snapshot_0000" / "ldos.npy").stat().st_mtime_ns

    assert main(tiny_datagen(out)) == 0
    (snapshot,) = read_dataset(out)
    assert not list(out.glob(".snapshot_*.tmp"))  # a killed manifest write leaves a temp
    # file ".manifest.json.<random>.tmp" behind: never read, only the renamed file counts
    if target == "manifest.json":  # a finished snapshot is not recomputed
        assert (snapshot.path / "ldos.npy").stat().st_mtime_ns == finished
    # the snapshot is whole: its LDOS holds the 12 valence electrons of 4 Al atoms
    meta = snapshot.meta
    dos = density_of_states(snapshot.ldos(), meta.cell)
    electrons = number_of_electrons(
        dos, meta.energy_grid.energies, meta.fermi_energy_ev, meta.temperature_k
    )
    assert electrons == pytest.approx(12.0, rel=0.02)  # 2x2x2 k-points, 0.1 eV broadening
    assert snapshot.density().sum() * meta.voxel_volume == pytest.approx(12.0, rel=1e-8)
