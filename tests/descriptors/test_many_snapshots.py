"""`cache-descriptors`: the SNAP descriptors of every snapshot of a data set, computed by
several processes at once, equal the serial LAMMPS result and are reused afterwards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.cli import main
from ldos_surrogate.descriptors import SnapParams, compute_snap_grid, descriptor_cache_path
from ldos_surrogate.descriptors.batch import cache_dataset_descriptors
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala_import import import_mala_dataset
from ldos_surrogate.io.store import read_dataset

PARAMS = SnapParams(rcut=4.0, twojmax=4)


@pytest.fixture()
def be2_set(mala_be2: Path, tmp_path: Path) -> Path:
    """MALA's 4 Be2 snapshots in the store (their own descriptors cached for rcut 4.67637,
    twojmax 10, not for PARAMS)."""
    import_mala_dataset(mala_be2, BE2_ENERGY_GRID, tmp_path / "be2", 4.67637, 10)
    return tmp_path / "be2"


def test_two_workers_compute_every_snapshot_as_a_serial_run_does(be2_set, capsys) -> None:
    command = ["cache-descriptors", str(be2_set), "--rcut", "4.0", "--twojmax", "4"]
    assert main([*command, "--workers", "2"]) == 0
    printed = [Path(line) for line in capsys.readouterr().out.split()]
    snapshots = read_dataset(be2_set)
    assert printed == [descriptor_cache_path(s, PARAMS) for s in snapshots]
    for snapshot, path in zip(snapshots, printed, strict=True):
        expected = compute_snap_grid(snapshot.atoms(), snapshot.meta.grid_shape, PARAMS)
        np.testing.assert_array_equal(np.load(path), expected)
    written = [path.stat().st_mtime_ns for path in printed]
    assert cache_dataset_descriptors(be2_set, PARAMS, workers=2) == printed
    assert [path.stat().st_mtime_ns for path in printed] == written  # reused, not recomputed


def test_bad_input_is_reported_before_any_computation(be2_set, tmp_path) -> None:
    with pytest.raises(InputError, match="workers: must be an integer >= 1, got 0"):
        cache_dataset_descriptors(be2_set, PARAMS, workers=0)
    (be2_set / "Be_snapshot2" / "meta.json").write_text("{")
    with pytest.raises(InputError, match="Be_snapshot2/meta.json: not valid JSON"):
        cache_dataset_descriptors(be2_set, PARAMS, workers=2)
    for name in ("Be_snapshot0", "Be_snapshot1"):  # nothing computed for the sound ones
        assert not list((be2_set / name / ".descriptor_cache").glob("snap_rcut4_twojmax4_*"))
    with pytest.raises(InputError, match="manifest.json: lists no snapshots"):
        cache_dataset_descriptors(tmp_path / "empty", PARAMS)
