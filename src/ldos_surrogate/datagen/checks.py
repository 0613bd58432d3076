"""The physics checks every snapshot passes before it is written (``datagen``, ``import-qe``).

With the LDOS d, the DOS D = integral d dr (Eq. 5) and the Kohn-Sham states (eps_nk, w_k)
the LDOS was made from, broadened with the same kernel, D_KS(eps) = sum w_k delta(eps - eps_nk):

1. electron count at the DFT Fermi level: N[D] = N[D_KS] (the LDOS holds every state
   the eigenvalues say it should), and N[D] within a few percent of the electron count (a
   broadened, k-sampled DOS moves a little weight across E_F, so only gross losses fail);
2. band energy: E_b[D] = E_b[D_KS], the broadened eigenvalue sum;
3. density: integral n dr = N_e.

Identity tolerances cover LDOS values stored with 5 significant digits (pp.x cube files); the
wavefunction path meets them to ~1e-9. The numbers go into the snapshot's provenance.
"""

from __future__ import annotations

import numpy as np

from ldos_surrogate.datagen.ldos import broadened_dos
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.qe_output import PwResult
from ldos_surrogate.io.store import Broadening, EnergyGrid
from ldos_surrogate.physics.band_energy import band_energy
from ldos_surrogate.physics.dos import density_of_states
from ldos_surrogate.physics.fermi import number_of_electrons

ELECTRONS_IDENTITY_RELATIVE = 1e-3
BAND_ENERGY_IDENTITY_EV_PER_ATOM = 1e-3
DENSITY_ELECTRONS_RELATIVE = 1e-4
ELECTRONS_AT_FERMI_RELATIVE = 0.05


def snapshot_checks(
    ldos: np.ndarray,
    density: np.ndarray,
    run: PwResult,
    energy_grid: EnergyGrid,
    broadening: Broadening,
    temperature_k: float,
    source: str,
) -> dict[str, float]:
    """Check the LDOS and density of one snapshot against the states of ``run`` (the run
    whose states the LDOS holds); returns the checked values, InputError naming ``source``
    when one fails."""
    dos = density_of_states(ldos, run.cell, name=source)
    states = broadened_dos(run.eigenvalues, run.k_weights, energy_grid, broadening)
    at_fermi = (energy_grid.energies, run.fermi_energy, temperature_k)
    voxel = abs(np.linalg.det(run.cell)) / density.size
    values = {
        "electrons_at_dft_fermi_level": number_of_electrons(dos, *at_fermi),
        "electrons_of_broadened_states": number_of_electrons(states, *at_fermi),
        "band_energy_ev": band_energy(dos, *at_fermi),
        "band_energy_of_broadened_states_ev": band_energy(states, *at_fermi),
        "density_electrons": float(density.sum() * voxel),
        "n_electrons": run.n_electrons,
    }
    n_e, n_atoms = run.n_electrons, len(run.symbols)
    failures = {
        "the LDOS holds {electrons_at_dft_fermi_level:.6f} electrons at the DFT Fermi level, "
        "the broadened Kohn-Sham states {electrons_of_broadened_states:.6f}": abs(
            values["electrons_at_dft_fermi_level"] - values["electrons_of_broadened_states"]
        )
        > ELECTRONS_IDENTITY_RELATIVE * n_e,
        "LDOS band energy {band_energy_ev:.6f} eV differs from the broadened eigenvalue sum "
        "{band_energy_of_broadened_states_ev:.6f} eV": abs(
            values["band_energy_ev"] - values["band_energy_of_broadened_states_ev"]
        )
        > BAND_ENERGY_IDENTITY_EV_PER_ATOM * n_atoms,
        "the density integrates to {density_electrons:.6f} electrons, not {n_electrons:g}": abs(
            values["density_electrons"] - n_e
        )
        > DENSITY_ELECTRONS_RELATIVE * n_e,
        "the LDOS holds {electrons_at_dft_fermi_level:.4f} electrons at the DFT Fermi level, "
        "not about {n_electrons:g} (energy window, files or k-points missing?)": abs(
            values["electrons_at_dft_fermi_level"] - n_e
        )
        > ELECTRONS_AT_FERMI_RELATIVE * n_e,
    }
    for message, failed in failures.items():
        if failed:
            raise InputError(f"{source}: {message.format(**values)}")
    return values
