"""SNAP descriptors of any grid in bounded memory: the grid in interleaved pieces.

A piece is the sub-grid of the points (a + s_x i, b + s_y j, c + s_z k) for one offset
(a, b, c), 0 <= a < s_x, ..., with strides s dividing the grid shape: s_x s_y s_z pieces of
equal size, together every point once. LAMMPS computes a piece as the coarse grid of the
whole periodic cell with the atoms shifted (`snap.compute_snap_subgrid`), so every point
sees all its neighbours and no point is computed twice: the pieces cost what the one-shot
grid costs, and equal it (tests: max abs difference 0 on the shipped cells). Spatial slabs
would need a padding of one cutoff (~20 grid planes at the training spacing) on each side.

`plan_pieces` chooses the fewest pieces whose points fit a memory budget; `PieceStore`
keeps finished pieces on disk (atomic writes, keyed by atoms, grid and parameters), so a
killed run resumes with the pieces it had, and a second pass over the grid reads them back
instead of calling LAMMPS again. Under ``mpiexec`` each rank computes its own pieces on its
own LAMMPS instance (``comm = MPI.COMM_SELF``).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import ase
import numpy as np

from ldos_surrogate.descriptors.cache import descriptor_key
from ldos_surrogate.descriptors.params import SnapParams
from ldos_surrogate.descriptors.snap import compute_snap_subgrid
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_save_npy, atomic_write_text

PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class GridPieces:
    """The (nx, ny, nz) grid cut into s_x s_y s_z interleaved pieces (strides s)."""

    grid_shape: tuple[int, int, int]
    strides: tuple[int, int, int]

    def __post_init__(self) -> None:
        if any(n % s for n, s in zip(self.grid_shape, self.strides, strict=True)):
            raise InputError(f"pieces: strides {self.strides} must divide grid {self.grid_shape}")

    @property
    def n_pieces(self) -> int:
        return math.prod(self.strides)

    @property
    def piece_shape(self) -> tuple[int, int, int]:
        return tuple(n // s for n, s in zip(self.grid_shape, self.strides, strict=True))

    @property
    def points_per_piece(self) -> int:
        return math.prod(self.piece_shape)

    def offset(self, index: int) -> tuple[int, int, int]:
        """(a, b, c) of piece ``index`` (C order over the offsets)."""
        return tuple(int(i) for i in np.unravel_index(index, self.strides))

    def slices(self, index: int) -> tuple[slice, slice, slice]:
        """Where piece ``index`` lies in an (nx, ny, nz, ...) array."""
        return tuple(
            slice(a, None, s) for a, s in zip(self.offset(index), self.strides, strict=True)
        )


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def plan_pieces(
    grid_shape: tuple[int, int, int],
    bytes_per_point: float,
    budget_bytes: float,
    min_pieces: int = 1,
) -> GridPieces:
    """The fewest pieces (at least ``min_pieces``, preferably a multiple of it, so that
    ranks get equal shares) whose points fit ``budget_bytes`` at ``bytes_per_point``; among
    equal counts the most even strides. A grid whose sides are primes splits into planes."""
    n_points = math.prod(grid_shape)
    if budget_bytes < bytes_per_point:
        raise InputError(
            f"memory budget: {budget_bytes / 2**20:.3g} MiB cannot hold one grid point "
            f"({bytes_per_point:.0f} bytes)"
        )
    candidates = [
        strides
        for strides in product(*(_divisors(n) for n in grid_shape))
        if n_points // math.prod(strides) * bytes_per_point <= budget_bytes
        and math.prod(strides) >= min(min_pieces, n_points)
    ]
    best = min(
        candidates,
        key=lambda s: (math.prod(s) % min_pieces != 0, math.prod(s), max(s), s),
    )
    return GridPieces(tuple(grid_shape), best)


class PieceStore:
    """Finished pieces of one (atoms, grid, parameters, plan) on disk: ``piece_<k>.npy``
    (float32, piece shape x features) and ``plan.json`` naming what they are. A folder left
    by another computation is emptied first."""

    def __init__(
        self,
        directory: str | Path,
        atoms: ase.Atoms,
        pieces: GridPieces,
        params: SnapParams,
    ) -> None:
        self.directory = Path(directory)
        self.atoms, self.pieces, self.params = atoms, pieces, params
        self.plan = {
            "key": descriptor_key(atoms, pieces.grid_shape, params),
            "grid_shape": list(pieces.grid_shape),
            "strides": list(pieces.strides),
        }

    def prepare(self) -> None:
        """Create the folder, or empty it when it holds the pieces of something else
        (call on one rank before the others read or write)."""
        plan_path = self.directory / PLAN_FILE
        if plan_path.exists() and _read_json(plan_path) == self.plan:
            return
        if self.directory.exists():
            shutil.rmtree(self.directory)
        atomic_write_text(plan_path, json.dumps(self.plan, indent=2))

    def path(self, index: int) -> Path:
        return self.directory / f"piece_{index:05d}.npy"

    def descriptors(self, index: int, comm: Any = None) -> np.ndarray:
        """Piece ``index`` from disk, or computed by LAMMPS and stored first."""
        path = self.path(index)
        if path.exists():
            return np.load(path)
        piece = compute_snap_subgrid(
            self.atoms,
            self.pieces.grid_shape,
            self.params,
            self.pieces.offset(index),
            self.pieces.strides,
            comm,
        )
        atomic_save_npy(path, piece)
        return piece

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
