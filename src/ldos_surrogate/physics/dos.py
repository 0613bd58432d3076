"""LDOS -> DOS (seed Eq. 5) and LDOS -> electron density (seed Eq. 6).

    D(eps) = integral_cell d(eps, r) dr  ~  dV sum_r d(eps, r)                  (Eq. 5)
    n(r)   = integral f(eps) d(eps, r) deps  =  sum_i w_i d(eps_i, r)          (Eq. 6)

with the LDOS d in states/(eV Angstrom^3) on the real-space grid (nx, ny, nz, n_energies),
dV = Omega / (nx ny nz) the volume per grid point (Angstrom^3), D in states/eV, n in
electrons/Angstrom^3 and w the exact Fermi-Dirac weights of integrals.py. The sum over the
periodic grid is the exact integral of the plane-wave-band-limited function QE sampled.

Bad values: a NaN or infinite LDOS value is an InputError; negative values (a network's
noise: an LDOS is >= 0) are clipped to 0 before integrating, which keeps N(E_F) increasing
so the Fermi level stays unique.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.arrays import Array, like, namespace
from ldos_surrogate.physics.integrals import occupation_weights

_SLAB_POINTS = 1 << 22
"""Grid values summed per step when reducing a (possibly memory-mapped) numpy LDOS."""


def cell_volume(cell: np.ndarray, name: str = "cell") -> float:
    """Volume |det(cell)| in Angstrom^3 of a cell whose rows are lattice vectors (Angstrom)."""
    cell = np.asarray(cell, dtype=np.float64)
    if cell.shape != (3, 3) or not np.all(np.isfinite(cell)):
        raise InputError(f"{name}: need a finite 3 x 3 matrix of lattice vectors (Angstrom)")
    volume = abs(float(np.linalg.det(cell)))
    if volume <= 1e-12:
        raise InputError(f"{name}: lattice vectors are linearly dependent (zero volume)")
    return volume


def _check_grid(ldos: Array, n_energies: int | None, name: str) -> None:
    if ldos.ndim != 4 or min(ldos.shape) < 1:
        raise InputError(
            f"{name}: LDOS must have shape (nx, ny, nz, n_energies), got {tuple(ldos.shape)}"
        )
    if n_energies is not None and ldos.shape[-1] != n_energies:
        raise InputError(
            f"{name}: LDOS has {ldos.shape[-1]} energies but the energy grid has {n_energies}"
        )


def _clipped(values: Array, name: str) -> Array:
    """`values` with negatives set to 0; InputError when any is NaN or infinite."""
    xp = namespace(values)
    if not bool(xp.all(xp.isfinite(values))):
        raise InputError(f"{name}: LDOS contains NaN or infinite values")
    return values.clamp(min=0.0) if xp is not np else np.maximum(values, 0.0)


def _clipped_slabs(ldos: np.ndarray, name: str) -> Iterator[tuple[slice, np.ndarray]]:
    """(x-slice, clipped float64 values) in slabs, so a memory-mapped LDOS is read piecewise."""
    per_slab = max(1, _SLAB_POINTS // int(np.prod(ldos.shape[1:])))
    for start in range(0, ldos.shape[0], per_slab):
        rows = slice(start, start + per_slab)
        yield rows, _clipped(np.asarray(ldos[rows], dtype=np.float64), name)


def density_of_states(ldos: Array, cell: np.ndarray, name: str = "LDOS") -> Array:
    """D(eps_i) in states/eV (Eq. 5) from the LDOS on the grid of the periodic `cell`."""
    _check_grid(ldos, None, name)
    voxel = cell_volume(cell) / float(np.prod(ldos.shape[:3]))
    if namespace(ldos) is not np:
        return _clipped(ldos, name).sum(dim=(0, 1, 2), dtype=ldos.dtype) * voxel
    total = np.zeros(ldos.shape[-1], dtype=np.float64)
    for _, slab in _clipped_slabs(ldos, name):
        total += slab.sum(axis=(0, 1, 2))
    return total * voxel


def electron_density(
    ldos: Array,
    energies_ev: np.ndarray,
    fermi_energy_ev: float,
    temperature_k: float,
    name: str = "LDOS",
) -> Array:
    """n(r) in electrons/Angstrom^3 on the grid, shape (nx, ny, nz) (Eq. 6)."""
    _check_grid(ldos, len(energies_ev), name)
    weights = occupation_weights(energies_ev, fermi_energy_ev, temperature_k).electrons
    if namespace(ldos) is not np:
        return _clipped(ldos, name) @ like(weights, ldos)
    density = np.empty(ldos.shape[:3], dtype=np.float64)
    for rows, slab in _clipped_slabs(ldos, name):
        density[rows] = slab @ weights
    return density
