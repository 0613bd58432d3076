"""Grid arrays read by ranges of grid points, without keeping what was read mapped.

A snapshot array of shape (nx, ny, nz, n_columns) is viewed as n_points = nx ny nz rows in
C order (x slowest, z fastest), the order a model's per-point output is reshaped back in.
Rows of a memory-mapped .npy file are read with ordinary positioned file reads into a
caller's buffer: the pages pass through the kernel's page cache, which the kernel can
reclaim, and never count as this process's resident memory, so reading a data set larger
than RAM keeps the process at the size of its buffers. (Slicing the memory map instead
would leave every page touched mapped, and resident, until the map is closed.)
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import Snapshot


class GridArray:
    """Rows (grid points) of a (nx, ny, nz, n_columns) array, read as float32.

    ``source`` names the array in error messages (its file, when it has one).
    """

    def __init__(self, array: np.ndarray, source: str | Path) -> None:
        if array.ndim != 4:
            raise InputError(
                f"{source}: expected a (nx, ny, nz, n_columns) array, got {array.shape}"
            )
        self.source = str(source)
        self.grid_shape: tuple[int, int, int] = tuple(int(n) for n in array.shape[:3])
        self.n_columns = int(array.shape[3])
        self.n_points = int(np.prod(self.grid_shape))
        self._rows = array.reshape(self.n_points, self.n_columns)
        self._file = _whole_file_of(array)

    def read_into(self, start: int, out: np.ndarray) -> None:
        """Fill ``out`` (float32, (n, n_columns), C-contiguous) with rows start .. start + n."""
        if self._file is None:
            out[...] = self._rows[start : start + len(out)]
            return
        path, offset = self._file
        dtype = self._rows.dtype
        target = out if dtype == np.float32 else np.empty(out.shape, dtype)
        with open(path, "rb") as handle:
            handle.seek(offset + start * self.n_columns * dtype.itemsize)
            n_read = handle.readinto(memoryview(target).cast("B"))
        if n_read != target.nbytes:
            raise InputError(f"{path}: file is truncated (fewer rows than its header says)")
        if target is not out:
            out[...] = target

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows start .. stop as a new float32 array (stop - start, n_columns)."""
        out = np.empty((stop - start, self.n_columns), np.float32)
        self.read_into(start, out)
        return out

    def checked_chunks(self, chunk_points: int) -> Iterator[np.ndarray]:
        """All rows in chunks of ``chunk_points``; InputError naming the file on NaN or inf."""
        for start in range(0, self.n_points, chunk_points):
            chunk = self.read(start, min(start + chunk_points, self.n_points))
            if not np.isfinite(chunk).all():
                raise InputError(f"{self.source}: contains NaN or inf values")
            yield chunk


def _whole_file_of(array: np.ndarray) -> tuple[Path, int] | None:
    """(file, byte offset of the data) when ``array`` maps a whole C-ordered .npy file."""
    is_file_map = (
        isinstance(array, np.memmap)
        and isinstance(array.base, mmap.mmap)  # the map itself, not a slice of it
        and array.filename is not None
        and array.flags.c_contiguous
    )
    return (Path(array.filename), int(array.offset)) if is_file_map else None


@dataclass(frozen=True)
class SnapshotGrids:
    """A snapshot with its descriptor and LDOS grids, checked to lie on the same grid."""

    snapshot: Snapshot
    descriptors: GridArray
    ldos: GridArray

    def __post_init__(self) -> None:
        if self.descriptors.grid_shape != self.ldos.grid_shape:
            raise InputError(
                f"{self.descriptors.source} (grid {self.descriptors.grid_shape}) and "
                f"{self.ldos.source} (grid {self.ldos.grid_shape}) are not on the same grid"
            )

    @property
    def n_points(self) -> int:
        return self.ldos.n_points
