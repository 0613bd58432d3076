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

Cost: the default eta = sqrt(pi) (N / Omega^2)^(1/6) balances the two sums; the real-space
pairs within 6.5 / eta are found with a k-d tree over the periodic images near the cell and
the reciprocal sum runs over half of the G vectors (|S(-G)| = |S(G)|) in blocks, so both
take O(N^1.5) time and memory bounded by the block size (2048 atoms: ~1 s), not the O(N^2)
of all pairs under every lattice translation.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import erfc

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.constants import COULOMB_EV_ANGSTROM
from ldos_surrogate.physics.dos import cell_volume
from ldos_surrogate.physics.grid import reciprocal_vectors

_DECAY = 6.5
"""erfc and exp(-x^2) fall below 1e-19 at x = 6.5: both sums are cut there."""


def _half_reciprocal_lattice(cell: np.ndarray, radius: float) -> np.ndarray:
    """G = sum_j m_j b_j with 0 < |G| <= ``radius``, one of each pair G, -G (the first
    non-zero integer m_j positive), shape (n, 3), 1/Angstrom."""
    reciprocal = reciprocal_vectors(cell)
    extents = [int(math.ceil(radius * np.linalg.norm(a) / (2.0 * math.pi))) + 1 for a in cell]
    m = np.array(list(itertools.product(*(range(-e, e + 1) for e in extents))))
    leading = np.where(m[:, 0] != 0, m[:, 0], np.where(m[:, 1] != 0, m[:, 1], m[:, 2]))
    g = m[leading > 0] @ reciprocal
    return g[np.linalg.norm(g, axis=1) <= radius + 1e-12]


_BLOCK_VALUES = 1 << 22
"""Pair distances or (G, atom) phases evaluated per step."""


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
    if eta is None:
        eta = math.sqrt(math.pi) * (len(charges) / volume**2) ** (1.0 / 6.0)
    real = _real_space_sum(positions, cell, charges, eta)
    reciprocal = _reciprocal_sum(positions, cell, charges, eta, volume)
    self_energy = eta / math.sqrt(math.pi) * np.sum(charges**2)
    background = math.pi * np.sum(charges) ** 2 / (2.0 * volume * eta**2)
    return COULOMB_EV_ANGSTROM * float(real + reciprocal - self_energy - background)


def _real_space_sum(
    positions: np.ndarray, cell: np.ndarray, charges: np.ndarray, eta: float
) -> float:
    """1/2 sum' Z_i Z_j erfc(eta r) / r over the pairs (atom i, image of j) within 6.5/eta."""
    cutoff = _DECAY / eta
    fractional = np.linalg.solve(cell.T, positions.T).T % 1.0
    wrapped = fractional @ cell
    # images of every atom within the cutoff of the cell (its distance to a face of the
    # cell is the fractional distance times the face spacing 2 pi / |b_j|)
    margins = np.array(
        [cutoff * np.linalg.norm(b) / (2.0 * math.pi) for b in reciprocal_vectors(cell)]
    )
    ranges = [range(-math.ceil(m), math.ceil(m) + 1) for m in margins]
    image_positions, image_atoms = [], []
    for shift in itertools.product(*ranges):
        shifted = fractional + np.asarray(shift, dtype=np.float64)
        keep = np.all((shifted >= -margins) & (shifted <= 1.0 + margins), axis=1)
        image_positions.append(shifted[keep] @ cell)
        image_atoms.append(np.flatnonzero(keep))
    images = np.concatenate(image_positions)
    image_charges = charges[np.concatenate(image_atoms)]
    tree = cKDTree(images)
    total = 0.0
    per_block = max(1, _BLOCK_VALUES // max(1, len(images)))
    for start in range(0, len(wrapped), per_block):
        block = slice(start, start + per_block)
        pairs = cKDTree(wrapped[block]).sparse_distance_matrix(tree, cutoff, output_type="ndarray")
        distance = pairs["v"]
        keep = distance > 1e-10
        i, j, r = pairs["i"][keep] + start, pairs["j"][keep], distance[keep]
        total += 0.5 * np.sum(charges[i] * image_charges[j] * erfc(eta * r) / r)
    return total


def _reciprocal_sum(
    positions: np.ndarray, cell: np.ndarray, charges: np.ndarray, eta: float, volume: float
) -> float:
    """(2 pi / Omega) sum_{G != 0} |S(G)|^2 exp(-G^2 / 4 eta^2) / G^2, over half the G."""
    g = _half_reciprocal_lattice(cell, 2.0 * eta * _DECAY)
    total = 0.0
    per_block = max(1, _BLOCK_VALUES // len(positions))
    for start in range(0, len(g), per_block):
        block = g[start : start + per_block]
        g2 = np.sum(block**2, axis=1)
        structure_factor = np.exp(1j * block @ positions.T) @ charges
        total += np.sum(np.abs(structure_factor) ** 2 * np.exp(-g2 / (4.0 * eta**2)) / g2)
    return 2.0 * (2.0 * math.pi / volume) * total
