"""Hartree energy of a periodic electron density, by FFT.

    E_H = (Omega / 2) sum_{G != 0} 4 pi |n_G|^2 / G^2 * e^2/(4 pi eps_0)        (eV)

with Omega the cell volume (Angstrom^3), n_G the Fourier coefficients of n (electrons/
Angstrom^3, grid.py) and e^2/(4 pi eps_0) = 14.39964... eV Angstrom. The G = 0 term is
dropped: with the neutralising background of the Ewald sum it cancels (Martin,
"Electronic Structure", Eq. 7.8 and App. F), the convention of QE's "hartree contribution".
"""

from __future__ import annotations

import numpy as np

from ldos_surrogate.physics.arrays import Array, like, namespace
from ldos_surrogate.physics.constants import COULOMB_EV_ANGSTROM
from ldos_surrogate.physics.dos import cell_volume
from ldos_surrogate.physics.grid import wavevectors


def coulomb_kernel(cell: np.ndarray, grid_shape: tuple[int, ...]) -> np.ndarray:
    """4 pi e^2/(4 pi eps_0) / G^2 in eV Angstrom^3 on the FFT grid, 0 at G = 0."""
    g2 = np.sum(wavevectors(cell, grid_shape) ** 2, axis=-1)
    kernel = np.zeros_like(g2)
    nonzero = g2 > 0.0
    kernel[nonzero] = 4.0 * np.pi * COULOMB_EV_ANGSTROM / g2[nonzero]
    return kernel


def hartree_energy(density: Array, cell: np.ndarray) -> Array:
    """E_H in eV of the density (electrons/Angstrom^3, shape (nx, ny, nz)) in the cell."""
    xp = namespace(density)
    coefficients = xp.fft.fftn(density) / float(np.prod(density.shape))
    kernel = like(coulomb_kernel(cell, tuple(density.shape)), density)
    return 0.5 * cell_volume(cell) * xp.sum(kernel * xp.abs(coefficients) ** 2)
