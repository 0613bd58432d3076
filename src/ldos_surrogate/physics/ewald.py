"""Ewald energy of the ions: point charges Z_i (the pseudopotential valence charges) in a
uniform neutralising background, in a periodic cell (Ewald 1921; Martin, "Electronic
Structure", App. F, Eq. F.5-F.6):

    E = 1/2 sum_{i,j,L}' Z_i Z_j erfc(eta |r_ij + L|) / |r_ij + L|                  (real space)
      + (2 pi / Omega) sum_{G != 0} |sum_i Z_i exp(i G . r_i)|^2 exp(-G^2 / 4 eta^2) / G^2
      - (eta / sqrt(pi)) sum_i Z_i^2                                                 (self energy)
      - pi (sum_i Z_i)^2 / (2 Omega eta^2)                                            (background)

times e^2/(4 pi eps_0) (eV Angstrom); the prime drops i = j at L = 0. The result does not
depend on the splitting parameter eta (1/Angstrom). This is QE's "ewald contribution": the
G = 0 "alpha Z" term of the local pseudopotential is not here but in the eigenvalues (so in
the band energy).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import erfc

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.constants import COULOMB_EV_ANGSTROM
from ldos_surrogate.physics.dos import cell_volume
from ldos_surrogate.physics.grid import reciprocal_vectors

_DECAY = 6.5
"""erfc and exp(-x^2) fall below 1e-19 at x = 6.5: both sums are cut there."""


def _lattice_points(vectors: np.ndarray, dual: np.ndarray, radius: float) -> np.ndarray:
    """All sum_j m_j vectors_j within `radius` (plus a margin of whole cells)."""
    extents = [int(math.ceil(radius * np.linalg.norm(d) / (2.0 * math.pi))) + 1 for d in dual]
    ranges = [range(-m, m + 1) for m in extents]
    points = np.array(list(itertools.product(*ranges)), dtype=np.float64) @ vectors
    return points[np.linalg.norm(points, axis=1) <= radius + 1e-12]


def ewald_energy(
    positions: np.ndarray, cell: np.ndarray, charges: np.ndarray, eta: float | None = None
) -> float:
    """E_Ewald in eV of ions at `positions` (Angstrom) with valence `charges` (e)."""
    positions = np.asarray(positions, dtype=np.float64)
    charges = np.asarray(charges, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3 or charges.shape != positions.shape[:1]:
        raise InputError("ewald: need positions (n_atoms, 3) and one charge per atom")
    volume = cell_volume(cell)
    cell = np.asarray(cell, dtype=np.float64)
    reciprocal = reciprocal_vectors(cell)
    if eta is None:
        eta = math.sqrt(math.pi) * (len(charges) / volume**2) ** (1.0 / 6.0)

    real = 0.0
    differences = positions[:, None, :] - positions[None, :, :]
    pair_charges = charges[:, None] * charges[None, :]
    reach = _DECAY / eta + float(np.max(np.linalg.norm(differences, axis=-1)))
    for translation in _lattice_points(cell, reciprocal, reach):
        distances = np.linalg.norm(differences + translation, axis=-1)
        keep = distances > 1e-10
        real += 0.5 * np.sum(pair_charges[keep] * erfc(eta * distances[keep]) / distances[keep])

    g = _lattice_points(reciprocal, cell, 2.0 * eta * _DECAY)
    g = g[np.linalg.norm(g, axis=1) > 1e-12]
    g2 = np.sum(g**2, axis=1)
    structure_factor = np.exp(1j * g @ positions.T) @ charges
    reciprocal_sum = (2.0 * math.pi / volume) * np.sum(
        np.abs(structure_factor) ** 2 * np.exp(-g2 / (4.0 * eta**2)) / g2
    )
    self_energy = eta / math.sqrt(math.pi) * np.sum(charges**2)
    background = math.pi * np.sum(charges) ** 2 / (2.0 * volume * eta**2)
    return COULOMB_EV_ANGSTROM * float(real + reciprocal_sum - self_energy - background)
