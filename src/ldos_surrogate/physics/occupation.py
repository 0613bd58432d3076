"""Fermi-Dirac occupation and the electronic entropy density at temperature T.

    f(eps) = 1 / (1 + exp((eps - mu) / (k_B T)))                      (Fermi-Dirac)
    s(eps) = f ln f + (1 - f) ln(1 - f)  <= 0                          (entropy density / k_B)

Energies in eV, temperature in K. The entropy term of the free energy is
-T S = k_B T * integral s(eps) D(eps) deps (Mermin's functional; QE's "smearing contrib.").
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, xlogy

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.constants import BOLTZMANN_EV_PER_K


def thermal_energy(temperature_k: float) -> float:
    """k_B T in eV; InputError unless T > 0 K (the analytic integrals divide by k_B T)."""
    if not np.isfinite(temperature_k) or temperature_k <= 0.0:
        raise InputError(f"temperature_k must be a positive number of kelvin, got {temperature_k}")
    return BOLTZMANN_EV_PER_K * float(temperature_k)


def _scaled_energies(energies_ev: np.ndarray, fermi_energy_ev: float, temperature_k: float):
    """x = (eps - mu) / k_B T (dimensionless, float64)."""
    energies = np.asarray(energies_ev, dtype=np.float64)
    return (energies - fermi_energy_ev) / thermal_energy(temperature_k)


def fermi_dirac(
    energies_ev: np.ndarray, fermi_energy_ev: float, temperature_k: float
) -> np.ndarray:
    """Occupation f(eps) in [0, 1] of states at `energies_ev` (overflow-free logistic)."""
    return expit(-_scaled_energies(energies_ev, fermi_energy_ev, temperature_k))


def entropy_density(
    energies_ev: np.ndarray, fermi_energy_ev: float, temperature_k: float
) -> np.ndarray:
    """s(eps) = f ln f + (1 - f) ln(1 - f) (dimensionless, <= 0; 0 where f is 0 or 1)."""
    x = _scaled_energies(energies_ev, fermi_energy_ev, temperature_k)
    occupied, empty = expit(-x), expit(x)
    return xlogy(occupied, occupied) + xlogy(empty, empty)
