"""Electron count N(mu) and the Fermi level: the mu at which N(mu) equals the electron count.

    N(mu) = integral f(eps; mu, T) D(eps) deps        (electrons; D in states/eV)

N increases with mu (D >= 0), so a bracketed root find (Brent) on the energy window
[eps_0, eps_(n-1)] finds the unique Fermi level; when the window cannot hold the
electrons (N at the top of the window is too small, or already too large at its bottom)
the LDOS energy grid is too narrow and an InputError says so.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.arrays import Array, to_numpy
from ldos_surrogate.physics.integrals import occupation_weights

FERMI_TOLERANCE_EV = 1e-12
"""Absolute tolerance of the Fermi-level root find (eV)."""


def number_of_electrons(
    dos: Array, energies_ev: np.ndarray, fermi_energy_ev: float, temperature_k: float
) -> float:
    """N = integral f D deps (electrons) for the DOS `dos` (states/eV) on `energies_ev`."""
    weights = occupation_weights(energies_ev, fermi_energy_ev, temperature_k).electrons
    return float(weights @ to_numpy(dos))


def fermi_energy(
    dos: Array, energies_ev: np.ndarray, temperature_k: float, n_electrons: float
) -> float:
    """The Fermi level mu (eV) with N(mu) = `n_electrons`, inside the energy window."""
    values = to_numpy(dos)
    energies = np.asarray(energies_ev, dtype=np.float64)

    def excess(mu: float) -> float:
        return number_of_electrons(values, energies, mu, temperature_k) - n_electrons

    low, high = excess(energies[0]), excess(energies[-1])
    if high < 0.0:
        raise InputError(
            f"energy grid too narrow: the DOS holds only {high + n_electrons:.6g} electrons "
            f"up to the top of the grid ({energies[-1]:g} eV), {n_electrons:g} are needed"
        )
    if low > 0.0:
        raise InputError(
            f"energy grid too narrow: the DOS holds {low + n_electrons:.6g} electrons already "
            f"at the bottom of the grid ({energies[0]:g} eV), only {n_electrons:g} are needed"
        )
    return float(brentq(excess, energies[0], energies[-1], xtol=FERMI_TOLERANCE_EV, rtol=1e-15))
