"""Band energy and the electronic entropy term from a DOS, at the self-consistent Fermi level.

    E_b  = integral eps f(eps) D(eps) deps                                  (eV)
    -T S = k_B T integral [f ln f + (1 - f) ln(1 - f)] D(eps) deps  <= 0     (eV)

E_b is QE's sum over bands and k-points of w f eps (its eigenvalues include the G = 0 part
of the local pseudopotential); -TS is QE's "smearing contrib. (-TS)" for Fermi-Dirac smearing.

For a torch DOS the results are tensors whose gradient includes the shift of the Fermi level
(implicit function theorem: dmu/dD_i = -w_N,i / (dN/dmu)), so an error in a predicted LDOS
can be traced to energy. The values themselves are the numpy ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldos_surrogate.physics.arrays import Array, like, namespace, to_numpy
from ldos_surrogate.physics.fermi import fermi_energy
from ldos_surrogate.physics.integrals import occupation_weights


def band_energy(
    dos: Array, energies_ev: np.ndarray, fermi_energy_ev: float, temperature_k: float
) -> float:
    """E_b (eV) at the given Fermi level, for the DOS `dos` (states/eV) on `energies_ev`."""
    weights = occupation_weights(energies_ev, fermi_energy_ev, temperature_k).band_energy
    return float(weights @ to_numpy(dos))


def entropy_contribution(
    dos: Array, energies_ev: np.ndarray, fermi_energy_ev: float, temperature_k: float
) -> float:
    """-T S (eV, <= 0) at the given Fermi level."""
    weights = occupation_weights(energies_ev, fermi_energy_ev, temperature_k).entropy
    return float(weights @ to_numpy(dos))


@dataclass(frozen=True)
class BandTerms:
    """The DOS-derived terms at the Fermi level that holds `n_electrons` (eV, electrons).

    Floats for a numpy DOS; 0-d tensors (differentiable w.r.t. the DOS) for a torch DOS.
    """

    fermi_energy_ev: Array | float
    n_electrons: float
    band_energy_ev: Array | float
    entropy_contribution_ev: Array | float


def band_terms(
    dos: Array, energies_ev: np.ndarray, temperature_k: float, n_electrons: float
) -> BandTerms:
    """Fermi level, band energy and -TS of the DOS `dos` (states/eV) holding `n_electrons`."""
    mu = fermi_energy(dos, energies_ev, temperature_k, n_electrons)
    weights = occupation_weights(energies_ev, mu, temperature_k)
    if namespace(dos) is np:
        values = np.asarray(dos, dtype=np.float64)
        return BandTerms(mu, n_electrons, weights.band_energy @ values, weights.entropy @ values)
    # Value-free terms that carry the gradient of mu(D): zero, with gradient w_N . dD.
    values = to_numpy(dos)
    electrons_change = like(weights.electrons, dos) @ dos
    electrons_change = electrons_change - electrons_change.detach()
    density_at_fermi = float(weights.fermi_derivative @ values)  # dN/dmu
    entropy_slope = float(weights.entropy_fermi_derivative @ values)  # d(-TS)/dmu, fixed D
    band_slope = mu * density_at_fermi - entropy_slope  # dE_b/dmu, fixed D
    fermi_shift = -electrons_change / density_at_fermi
    return BandTerms(
        fermi_energy_ev=mu + fermi_shift,
        n_electrons=n_electrons,
        band_energy_ev=like(weights.band_energy, dos) @ dos + band_slope * fermi_shift,
        entropy_contribution_ev=like(weights.entropy, dos) @ dos + entropy_slope * fermi_shift,
    )
