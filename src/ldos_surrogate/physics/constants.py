"""Physical constants in the units of this project (eV, Angstrom, K).

The values are CODATA 2018, the set Quantum ESPRESSO 6.7 uses (its `Modules/constants.f90`),
so that energies computed here and QE's printed energies share one conversion.
"""

from __future__ import annotations

import math

HARTREE_J = 4.3597447222071e-18
"""Hartree energy in J (CODATA 2018)."""

ELECTRONVOLT_J = 1.602176634e-19
"""One eV in J (exact since SI 2019)."""

BOLTZMANN_J_PER_K = 1.380649e-23
"""Boltzmann constant in J/K (exact since SI 2019)."""

BOHR_ANGSTROM = 0.529177210903
"""Bohr radius in Angstrom (CODATA 2018)."""

HARTREE_EV = HARTREE_J / ELECTRONVOLT_J
"""Hartree energy in eV, 27.211386245988..."""

RYDBERG_EV = HARTREE_EV / 2.0
"""Rydberg energy in eV, 13.605693122994..."""

BOLTZMANN_EV_PER_K = BOLTZMANN_J_PER_K / ELECTRONVOLT_J
"""Boltzmann constant k_B in eV/K, 8.617333262...e-5."""

COULOMB_EV_ANGSTROM = HARTREE_EV * BOHR_ANGSTROM
"""e^2 / (4 pi epsilon_0) in eV Angstrom: the Coulomb energy of two unit charges 1 Angstrom apart."""

PI = math.pi
