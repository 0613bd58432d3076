"""The periodic real-space grid of a snapshot and its reciprocal (plane-wave) vectors.

Grid point (i, j, k) sits at fractional coordinates (i/nx, j/ny, k/nz) of the cell (rows of
`cell` are the lattice vectors a_1, a_2, a_3 in Angstrom), as on QE's FFT grid. With
F(n)_m = sum_r n_r exp(-i G_m . r) (numpy's and torch's forward FFT), the Fourier
coefficients are n_G = F(n) / (nx ny nz) and G_m = sum_j m_j b_j with b = 2 pi (a^-1)^T and
m_j the signed FFT frequencies (1/Angstrom).
"""

from __future__ import annotations

import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.dos import cell_volume


def reciprocal_vectors(cell: np.ndarray) -> np.ndarray:
    """b_j as rows (1/Angstrom), a_i . b_j = 2 pi delta_ij."""
    cell_volume(cell)
    return 2.0 * np.pi * np.linalg.inv(np.asarray(cell, dtype=np.float64)).T


def wavevectors(cell: np.ndarray, grid_shape: tuple[int, ...], name: str = "grid") -> np.ndarray:
    """G at every FFT frequency of the grid, shape (nx, ny, nz, 3), 1/Angstrom."""
    if len(grid_shape) != 3 or min(grid_shape) < 1:
        raise InputError(f"{name}: need a 3-D real-space grid, got shape {tuple(grid_shape)}")
    frequencies = np.meshgrid(*(np.fft.fftfreq(n, d=1.0 / n) for n in grid_shape), indexing="ij")
    return np.stack(frequencies, axis=-1) @ reciprocal_vectors(cell)


def grid_spacing(cell: np.ndarray, grid_shape: tuple[int, int, int]) -> np.ndarray:
    """Distance between neighbouring grid points along each lattice vector, |a_i| / n_i
    (Angstrom)."""
    return np.linalg.norm(np.asarray(cell, dtype=np.float64), axis=1) / np.asarray(grid_shape)


def grid_for_spacing(cell: np.ndarray, spacing: np.ndarray) -> tuple[int, int, int]:
    """The grid whose spacing along lattice vector i is nearest ``spacing[i]`` (Angstrom):
    n_i = round(|a_i| / spacing_i), at least 1. A cell that repeats the one the spacing came
    from n times along a_i gets exactly n times its points."""
    lengths = np.linalg.norm(np.asarray(cell, dtype=np.float64), axis=1)
    return tuple(max(1, round(float(n))) for n in lengths / np.asarray(spacing, dtype=np.float64))
