"""Total free energy, seed Eq. (7), from the band energy, -TS and the electron density:

    A = E_b + (-T S) - E_H[n] + E_xc[n] - integral v_xc n + E_Ewald                (eV)

E_b = sum f eps counts the Hartree and xc potential energies of the electrons once too
often (integral v_H n = 2 E_H) and E_xc must replace integral v_xc n; the ions enter by the
Ewald sum (ewald.py). This is the Harris-Foulkes form of QE's "!    total energy" (which
includes -TS): with QE's band energy, -TS and SCF density it reproduces QE's total
to ~1e-4 meV/atom. Valid for norm-conserving pseudopotentials (pseudopotential.py). With a
nonlinear core correction n is the valence density and n_core the partial core density
(core_charge.py): E_xc[n + n_core] and integral v_xc[n + n_core] n replace the two xc
terms; E_H and the double counting keep the valence density (QE's convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldos_surrogate.physics.arrays import Array
from ldos_surrogate.physics.band_energy import BandTerms, band_terms
from ldos_surrogate.physics.dos import density_of_states, electron_density
from ldos_surrogate.physics.ewald import ewald_energy
from ldos_surrogate.physics.hartree import hartree_energy
from ldos_surrogate.physics.xc import xc_terms


@dataclass(frozen=True)
class TotalEnergyTerms:
    """The terms of Eq. (7) and their sum, in eV (0-d tensors where the input was a tensor)."""

    band_energy: Array | float
    entropy_contribution: Array | float
    hartree: Array | float
    xc: Array | float
    xc_potential_integral: Array | float
    ewald: float

    @property
    def total_free_energy(self) -> Array | float:
        """A of Eq. (7), eV."""
        return (
            self.band_energy
            + self.entropy_contribution
            - self.hartree
            + self.xc
            - self.xc_potential_integral
            + self.ewald
        )


def total_free_energy(
    band_energy_ev: Array | float,
    entropy_contribution_ev: Array | float,
    density: Array,
    cell: np.ndarray,
    positions: np.ndarray,
    charges: np.ndarray,
    functional: str,
    core_density: np.ndarray | None = None,
) -> TotalEnergyTerms:
    """Eq. (7) for a valence density (electrons/Angstrom^3 on the cell's grid), ions (Angstrom,
    e) and, for core-corrected pseudopotentials, the partial core density on the same grid."""
    xc = xc_terms(density, cell, functional, core_density)
    return TotalEnergyTerms(
        band_energy=band_energy_ev,
        entropy_contribution=entropy_contribution_ev,
        hartree=hartree_energy(density, cell),
        xc=xc.energy,
        xc_potential_integral=xc.potential_integral,
        ewald=ewald_energy(positions, cell, charges),
    )


def free_energy_from_ldos(
    ldos: Array,
    energies_ev: np.ndarray,
    cell: np.ndarray,
    temperature_k: float,
    n_electrons: float,
    positions: np.ndarray,
    charges: np.ndarray,
    functional: str,
    core_density: np.ndarray | None = None,
) -> tuple[BandTerms, TotalEnergyTerms]:
    """Everything from an LDOS (states/(eV Angstrom^3)): DOS (Eq. 5), Fermi level, E_b, -TS,
    density (Eq. 6) at that Fermi level, and the total free energy (Eq. 7).

    For a torch LDOS, E_b and -TS carry the gradient of the Fermi level (band_energy.py);
    the density is taken at that Fermi level held fixed.
    """
    terms = band_terms(density_of_states(ldos, cell), energies_ev, temperature_k, n_electrons)
    density = electron_density(ldos, energies_ev, float(terms.fermi_energy_ev), temperature_k)
    total = total_free_energy(
        terms.band_energy_ev,
        terms.entropy_contribution_ev,
        density,
        cell,
        positions,
        charges,
        functional,
        core_density,
    )
    return terms, total
