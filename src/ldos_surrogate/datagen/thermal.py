"""Atomic snapshots at temperature T: thermal displacements from the Debye model.

Model: every atom is displaced independently (no correlation between atoms, as in an
Einstein solid) by a Gaussian vector whose Cartesian components have the Debye-model
mean-square displacement (the Debye-Waller result, quantum, zero-point motion included;
e.g. Ashcroft & Mermin ch. 24, Willis & Pryor ch. 4):

    <u_x^2> = 3 hbar^2 T / (M k_B Theta_D^2) * [ phi(Theta_D / T) + Theta_D / (4 T) ]
    phi(y)  = (1/y) int_0^y x / (e^x - 1) dx

For T >> Theta_D this tends to the classical 3 hbar^2 T / (M k_B Theta_D^2) (phi -> 1, the
zero-point term is small); at T -> 0 only the zero-point 3 hbar^2 / (4 M k_B Theta_D) remains.
Al at 298 K (Theta_D = 428 K): <u_x^2> = 0.0093 Angstrom^2, rms 0.096 Angstrom per axis
(X-ray Debye-Waller factors give ~0.010 Angstrom^2).
"""

from __future__ import annotations

import ase
import numpy as np
from scipy.integrate import quad

# hbar^2 / (1 u * k_B) in Angstrom^2 K (CODATA 2018)
HBAR2_PER_U_KB = (1.054571817e-34) ** 2 / (1.66053906660e-27 * 1.380649e-23) * 1e20


def debye_mean_square_displacement(
    mass_u: float, debye_temperature_k: float, temperature_k: float
) -> float:
    """<u_x^2> in Angstrom^2 of one Cartesian component (Debye model, zero-point included)."""
    theta, T = debye_temperature_k, temperature_k
    if T <= 0:
        return 3 * HBAR2_PER_U_KB / (4 * mass_u * theta)
    y = theta / T
    phi = quad(lambda x: x / np.expm1(x) if x > 0 else 1.0, 0.0, y)[0] / y
    return 3 * HBAR2_PER_U_KB * T / (mass_u * theta**2) * (phi + y / 4)


def thermal_snapshot(
    crystal: ase.Atoms, temperature_k: float, debye_temperature_k: float, seed: int, index: int
) -> ase.Atoms:
    """Snapshot ``index`` of the series ``seed``: the crystal with thermal displacements.

    Deterministic in (seed, index), so an interrupted series regenerates the same atoms.
    """
    rng = np.random.default_rng([seed, index])
    atoms = crystal.copy()
    rms = np.sqrt(
        [
            debye_mean_square_displacement(m, debye_temperature_k, temperature_k)
            for m in atoms.get_masses()
        ]
    )
    atoms.positions += rng.normal(size=atoms.positions.shape) * rms[:, None]
    atoms.wrap()
    return atoms
