"""SNAP descriptors of every snapshot of a data set, several snapshots at once.

Two kinds of parallelism, which combine: ``mpiexec -n N`` splits the grid of one snapshot
over N processes (LAMMPS's own, in `compute_snap_grid`); `cache_dataset_descriptors` splits
a data set's snapshots over ``workers`` processes, each computing its snapshots serially.
The second suits many small snapshots (a grid of 18^3 points is a few seconds of one core).

Workers are started with ``spawn`` (each loads its own LAMMPS library) and write through the
descriptor cache, whose entries are written atomically: processes, or machines sharing the
folder, that compute the same entry at once leave one complete entry behind.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from multiprocessing import get_context
from pathlib import Path

from ldos_surrogate.descriptors.cache import cached_descriptors, descriptor_cache_path
from ldos_surrogate.descriptors.params import SnapParams
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import MANIFEST_FILE, dataset_names, read_snapshot


def cache_dataset_descriptors(
    dataset_dir: str | Path,
    params: SnapParams,
    workers: int = 1,
    cache_dir: str | Path | None = None,
) -> list[Path]:
    """Compute (or reuse) the descriptors of every snapshot listed in the data set's
    manifest, ``workers`` snapshots at a time; return their cache files in manifest order.

    Every snapshot is opened (and so checked) before any computation starts.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers: must be an integer >= 1, got {workers!r}")
    dataset_dir = Path(dataset_dir)
    snapshot_dirs = [dataset_dir / name for name in dataset_names(dataset_dir)]
    if not snapshot_dirs:
        raise InputError(f"{dataset_dir / MANIFEST_FILE}: lists no snapshots")
    for snapshot_dir in snapshot_dirs:
        read_snapshot(snapshot_dir)
    if workers == 1 or len(snapshot_dirs) == 1:
        return [_cache_snapshot(path, params, cache_dir) for path in snapshot_dirs]
    n_processes = min(workers, len(snapshot_dirs))
    with ProcessPoolExecutor(n_processes, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_cache_snapshot, snapshot_dirs, repeat(params), repeat(cache_dir)))


def _cache_snapshot(snapshot_dir: Path, params: SnapParams, cache_dir: str | Path | None) -> Path:
    """The cache file of one snapshot's descriptors, computed when missing."""
    snapshot = read_snapshot(snapshot_dir)
    cached_descriptors(snapshot, params, cache_dir)
    return descriptor_cache_path(snapshot, params, cache_dir)
