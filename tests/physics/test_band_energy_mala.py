"""Fermi level, band energy and -TS on MALA's Be2 data agree with MALA 1.4.0 to 1e-6 relative.

MALA uses ASE's k_B (CODATA 2014, 8.617330e-5 eV/K), this project QE 6.7's (CODATA 2018,
8.617333e-5 eV/K): the 3.4e-7 relative difference moves -TS by ~7e-7 relative. With the
temperature rescaled to MALA's k_B the algorithms agree to ~1e-11.
"""

from __future__ import annotations

import numpy as np
import pytest

from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.constants import BOLTZMANN_EV_PER_K
from ldos_surrogate.physics.dos import density_of_states

ASE_2014_BOLTZMANN_EV_PER_K = 8.617330337217213e-05  # ase.units.kB, CODATA 2014

# (self-consistent Fermi energy, band energy, entropy contribution) in eV, printed by
# MALA 1.4.0 for Be_snapshot{0..3}, made with:
#   p = mala.Parameters(); p.targets.ldos_gridsize = 11
#   p.targets.ldos_gridspacing_ev = 2.5; p.targets.ldos_gridoffset_ev = -5
#   ldos = mala.LDOS.from_numpy_file(p, f"Be_snapshot{i}.out.npy")
#   ldos.read_additional_calculation_data(f"Be_snapshot{i}.info.json")
#   a = np.load(f"Be_snapshot{i}.out.npy"); ef = ldos.get_self_consistent_fermi_energy(a)
#   print(ef, ldos.get_band_energy(a, fermi_energy=ef),
#         ldos.get_entropy_contribution(a, fermi_energy=ef))
MALA_1_4_0 = [
    (10.240735437299623, 12.447077138958328, -0.0006551579581015896),
    (10.149207154844254, 12.279480141239915, -0.0006617246962307811),
    (10.225296014348924, 12.417710872861285, -0.0006561152508533014),
    (10.228526936788498, 12.424254288595503, -0.0006559579698050969),
]


def _terms(snapshot, temperature_k: float):
    meta = snapshot.meta
    dos = density_of_states(snapshot.ldos(), meta.cell)
    terms = band_terms(dos, meta.energy_grid.energies, temperature_k, meta.n_electrons)
    return terms.fermi_energy_ev, terms.band_energy_ev, terms.entropy_contribution_ev


@pytest.mark.parametrize("index", range(4))
def test_agrees_with_recorded_mala_values(be2_snapshots, index):
    snapshot = be2_snapshots[index]
    ours = _terms(snapshot, snapshot.meta.temperature_k)
    np.testing.assert_allclose(ours, MALA_1_4_0[index], rtol=1e-6)
    same_boltzmann = snapshot.meta.temperature_k * ASE_2014_BOLTZMANN_EV_PER_K / BOLTZMANN_EV_PER_K
    np.testing.assert_allclose(_terms(snapshot, same_boltzmann), MALA_1_4_0[index], rtol=1e-9)


def test_agrees_with_mala_run_now(be2_snapshots, mala_be2):
    mala = pytest.importorskip("mala", reason="MALA 1.4.0 (pip extra 'bench') not installed")
    parameters = mala.Parameters()
    parameters.verbosity = 0
    parameters.targets.ldos_gridsize = 11
    parameters.targets.ldos_gridspacing_ev = 2.5
    parameters.targets.ldos_gridoffset_ev = -5.0
    array = np.load(mala_be2 / "Be_snapshot0.out.npy")
    ldos = mala.LDOS.from_numpy_array(parameters, array)
    ldos.read_additional_calculation_data(str(mala_be2 / "Be_snapshot0.info.json"))
    fermi = ldos.get_self_consistent_fermi_energy(array)
    theirs = (
        fermi,
        ldos.get_band_energy(array, fermi_energy=fermi),
        ldos.get_entropy_contribution(array, fermi_energy=fermi),
    )
    snapshot = be2_snapshots[0]
    np.testing.assert_allclose(_terms(snapshot, snapshot.meta.temperature_k), theirs, rtol=1e-6)
    np.testing.assert_allclose(
        ldos.get_density_of_states(array), density_of_states(array, snapshot.meta.cell), rtol=1e-12
    )
