"""Reader for Gaussian cube files as Quantum ESPRESSO's pp.x writes them.

Layout: two comment lines; ``n_atoms origin(3)``; three lines ``n_i voxel_i(3)`` (Bohr);
``n_atoms`` lines ``Z charge x y z`` (Bohr); then the values with the last grid index (z)
running fastest, each (x, y) row starting a new line. pp.x writes an LDOS
(``plot_num=3``) in states/(Ry Bohr^3) with 5 significant digits, one file per energy, its
second comment line ``Energy = <eV> eV, broadening = <eV> eV`` (4 decimals).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.qe_output import BOHR_IN_ANGSTROM, RYDBERG_IN_EV

# states/(Ry Bohr^3) -> states/(eV Angstrom^3)
LDOS_CUBE_TO_EV_ANGSTROM3 = 1.0 / (RYDBERG_IN_EV * BOHR_IN_ANGSTROM**3)
_LDOS_TITLE = re.compile(r"Energy\s*=\s*(-?[\d.]+)\s*eV,\s*broadening\s*=\s*([\d.]+)\s*eV")


@dataclass(frozen=True)
class Cube:
    """A cube file's content in its own units (Bohr; values as written)."""

    comments: tuple[str, str]
    origin: np.ndarray  # (3,) Bohr
    voxel: np.ndarray  # (3, 3) Bohr, rows are the grid step vectors
    atomic_numbers: np.ndarray  # (n_atoms,)
    positions: np.ndarray  # (n_atoms, 3) Bohr
    values: np.ndarray  # (nx, ny, nz)

    @property
    def cell_angstrom(self) -> np.ndarray:
        """The periodic cell spanned by the grid, Angstrom (rows are lattice vectors)."""
        return self.voxel * np.array(self.values.shape)[:, None] * BOHR_IN_ANGSTROM


def read_cube(path: str | Path) -> Cube:
    """Read one cube file; InputError naming the file when it is missing or malformed."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
        n_atoms, *origin = lines[2].split()[:4]
        n_atoms = abs(int(n_atoms))
        axes = [lines[3 + i].split() for i in range(3)]
        shape = tuple(int(axis[0]) for axis in axes)
        atom_rows = np.array([lines[6 + i].split()[:5] for i in range(n_atoms)], dtype=float)
        data = np.array(" ".join(lines[6 + n_atoms :]).split(), dtype=np.float64)
        values = data.reshape(shape)
    except FileNotFoundError as error:
        raise InputError(f"{path}: cube file missing") from error
    except (IndexError, ValueError) as error:
        raise InputError(f"{path}: not a readable cube file ({error})") from error
    return Cube(
        comments=(lines[0], lines[1]),
        origin=np.array(origin, dtype=float),
        voxel=np.array([axis[1:4] for axis in axes], dtype=float),
        atomic_numbers=atom_rows[:, 0].astype(int).reshape(-1),
        positions=atom_rows[:, 2:5].reshape(-1, 3),
        values=values,
    )


def read_ldos_cubes(paths: Sequence[str | Path]) -> np.ndarray:
    """Stack pp.x LDOS cubes (one per energy, in energy order) into (nx, ny, nz, n_energies).

    Converts states/(Ry Bohr^3) to states/(eV Angstrom^3); returns float32.
    """
    if not paths:
        raise InputError("read_ldos_cubes: no cube files given")
    first = read_cube(paths[0])
    ldos = np.empty((*first.values.shape, len(paths)), dtype=np.float32)
    ldos[..., 0] = first.values * LDOS_CUBE_TO_EV_ANGSTROM3
    for index, path in enumerate(paths[1:], start=1):
        values = read_cube(path).values
        if values.shape != first.values.shape:
            raise InputError(
                f"{path}: grid {values.shape} differs from {paths[0]} {first.values.shape}"
            )
        ldos[..., index] = values * LDOS_CUBE_TO_EV_ANGSTROM3
    return ldos


def ldos_cube_energy(path: str | Path) -> tuple[float, float]:
    """(energy, broadening width) in eV of a pp.x LDOS cube, from its second comment line."""
    path = Path(path)
    try:
        with open(path) as handle:
            title = handle.readline() + handle.readline()
    except OSError as error:
        raise InputError(f"{path}: cube file missing or unreadable ({error.strerror})") from error
    match = _LDOS_TITLE.search(title)
    if match is None:
        raise InputError(f"{path}: not a pp.x LDOS cube (no 'Energy = ... eV, broadening = ...')")
    return float(match.group(1)), float(match.group(2))
