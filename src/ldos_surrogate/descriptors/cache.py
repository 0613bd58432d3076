"""On-disk cache of SNAP descriptor grids, keyed by snapshot content and hyperparameters.

An entry is ``<key>.npy`` (float32, (nx, ny, nz, n_features), memory-mapped on read) and
``<key>.json`` (the parameters and grid it holds). The key hashes the atoms (atomic numbers,
positions, cell, periodicity), the grid shape and every SnapParams field, resolved for the
elements present, so a sweep over rcut/twojmax computes each point once and any change of
the structure or grid misses. Default location: ``<snapshot dir>/.descriptor_cache/``; for a
snapshot folder that cannot be written (a shared, read-only data set) the per-user cache
`user_cache_dir` (``$LDOS_SURROGATE_CACHE``, else ``$XDG_CACHE_HOME/ldos-surrogate/descriptors``,
else ``~/.cache/ldos-surrogate/descriptors``), which is logged once per data set folder.

Both files are written atomically, the array first: an entry whose JSON is missing, does
not match, or whose array has the wrong shape, dtype or length is ignored and recomputed.
Under ``mpiexec`` every rank computes (LAMMPS is collective) and rank 0 writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any, Protocol

import ase
import numpy as np

from ldos_surrogate.descriptors.params import SnapParams
from ldos_surrogate.descriptors.snap import compute_snap_grid, world_rank
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_save_npy, atomic_write_text

CACHE_DIRNAME = ".descriptor_cache"
USER_CACHE_ENV = "LDOS_SURROGATE_CACHE"
# Part of every key: raise it when the computation of a stored entry changes.
CACHE_FORMAT_VERSION = 1

log = logging.getLogger(__name__)


class GridMeta(Protocol):
    grid_shape: tuple[int, int, int]


class SnapshotLike(Protocol):
    """What the cache needs of a snapshot (store or MALA format)."""

    path: Path
    meta: GridMeta

    def atoms(self) -> ase.Atoms: ...


def user_cache_dir() -> Path:
    """The per-user descriptor cache: ``$LDOS_SURROGATE_CACHE``, else
    ``$XDG_CACHE_HOME/ldos-surrogate/descriptors``, else ``~/.cache/ldos-surrogate/descriptors``."""
    if os.environ.get(USER_CACHE_ENV):
        return Path(os.environ[USER_CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ldos-surrogate" / "descriptors"


def default_cache_dir(snapshot_dir: Path) -> Path:
    """``<snapshot_dir>/.descriptor_cache`` where that can be written, else `user_cache_dir`
    (logged once per data set folder and cache)."""
    inside = snapshot_dir / CACHE_DIRNAME
    if _writable(inside if inside.exists() else snapshot_dir):
        return inside
    directory = user_cache_dir()
    if (snapshot_dir.parent, directory) not in _logged_fallbacks:
        _logged_fallbacks.add((snapshot_dir.parent, directory))
        log.info("descriptor cache of the read-only %s: %s", snapshot_dir.parent, directory)
    return directory


_logged_fallbacks: set[tuple[Path, Path]] = set()


def _writable(directory: Path) -> bool:
    """Whether files can be created in ``directory`` (or, where it does not exist yet, in its
    nearest existing parent). A folder without any write permission bit counts as
    read-only even for root, who may write anywhere."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        mode = directory.stat().st_mode
    except OSError:
        return False
    has_write_bit = bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return has_write_bit and os.access(directory, os.W_OK)


class _Entry:
    """The cache files of one (snapshot, parameters) pair."""

    def __init__(self, snapshot: SnapshotLike, params: SnapParams, cache_dir: Path | None) -> None:
        self.atoms = snapshot.atoms()
        self.grid_shape = tuple(int(n) for n in snapshot.meta.grid_shape)
        self.params = params.for_elements(self.atoms.get_chemical_symbols())
        self.shape = (*self.grid_shape, params.n_features)
        directory = (
            Path(cache_dir) if cache_dir is not None else default_cache_dir(Path(snapshot.path))
        )
        key = descriptor_key(self.atoms, self.grid_shape, params)
        self.array_path = directory / f"{key}.npy"
        self.json_path = directory / f"{key}.json"

    def description(self, source: str) -> dict[str, Any]:
        return {
            "format_version": CACHE_FORMAT_VERSION,
            "descriptor": "SNAP bispectrum, LAMMPS compute sna/grid",
            "params": self.params.to_dict(),
            "grid_shape": list(self.grid_shape),
            "shape": list(self.shape),
            "dtype": "float32",
            "source": source,
        }

    def read(self) -> np.ndarray | None:
        """The stored array, memory-mapped, or None when the entry is absent or unusable."""
        if not (self.array_path.exists() and self.json_path.exists()):
            return None
        try:
            description = json.loads(self.json_path.read_text())
            array = np.load(self.array_path, mmap_mode="r")
        except (OSError, ValueError, EOFError) as error:
            log.warning(
                "ignoring unreadable descriptor cache entry %s (%s)", self.array_path, error
            )
            return None
        matches = (
            description.get("params") == self.params.to_dict()
            and description.get("grid_shape") == list(self.grid_shape)
            and array.shape == self.shape
            and array.dtype == np.float32
        )
        if not matches:
            log.warning("ignoring mismatched descriptor cache entry %s", self.array_path)
            return None
        return array

    def write(self, array: np.ndarray, source: str) -> None:
        """Write array, then description, each atomically."""
        try:
            atomic_save_npy(self.array_path, np.ascontiguousarray(array, dtype=np.float32))
            atomic_write_text(self.json_path, json.dumps(self.description(source), indent=2))
        except OSError as error:
            raise InputError(
                f"{self.array_path.parent}: cannot write the descriptor cache ({error}); "
                "choose another cache directory"
            ) from error


def descriptor_key(atoms: ase.Atoms, grid_shape: tuple[int, int, int], params: SnapParams) -> str:
    """Cache key: readable parameters plus a SHA-256 of structure, grid and parameters."""
    resolved = params.for_elements(atoms.get_chemical_symbols())
    digest = hashlib.sha256()
    header = {
        "format_version": CACHE_FORMAT_VERSION,
        "grid_shape": [int(n) for n in grid_shape],
        "params": resolved.to_dict(),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(atoms.numbers, dtype="<i8").tobytes())
    digest.update(np.ascontiguousarray(atoms.positions, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(atoms.cell.array, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(atoms.pbc, dtype=bool).tobytes())
    return f"snap_rcut{params.rcut:g}_twojmax{params.twojmax}_{digest.hexdigest()[:32]}"


def descriptor_cache_path(
    snapshot: SnapshotLike, params: SnapParams, cache_dir: str | Path | None = None
) -> Path:
    """Where the descriptors of ``snapshot`` for ``params`` are (or will be) cached."""
    return _Entry(snapshot, params, cache_dir).array_path


def cached_descriptors(
    snapshot: SnapshotLike, params: SnapParams, cache_dir: str | Path | None = None
) -> np.ndarray:
    """SNAP descriptors of a snapshot, (nx, ny, nz, n_features) float32, from the cache.

    Computed with LAMMPS and stored on a miss. Returns a read-only memory map of the cache
    file; under ``mpiexec``, ranks other than 0 get the computed array in memory instead.
    """
    entry = _Entry(snapshot, params, cache_dir)
    cached = entry.read()
    if cached is not None:
        return cached
    array = compute_snap_grid(entry.atoms, entry.grid_shape, params)
    if world_rank() != 0:
        return array
    entry.write(array, source="computed")
    return np.load(entry.array_path, mmap_mode="r")


def store_descriptors(
    snapshot: SnapshotLike,
    params: SnapParams,
    array: np.ndarray,
    cache_dir: str | Path | None = None,
    source: str = "external",
) -> Path:
    """Put descriptors computed elsewhere under the key of ``params``; return the file.

    Only for arrays shown to equal what `compute_snap_grid` gives for these parameters
    (e.g. MALA's stored features of the same atoms and grid); ``source`` says where from.
    """
    entry = _Entry(snapshot, params, cache_dir)
    array = np.asarray(array)
    if array.shape != entry.shape:
        raise InputError(
            f"descriptors for {snapshot.path}: shape {array.shape}, expected {entry.shape} "
            "(grid_shape, n_features)"
        )
    if not np.isfinite(array).all():
        raise InputError(f"descriptors for {snapshot.path}: contain NaN or inf values")
    entry.write(array, source=source)
    return entry.array_path
