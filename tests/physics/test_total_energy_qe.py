"""Eq. (7) against Quantum ESPRESSO on the shipped fcc Al data set (Al.pz-vbc, 298 K).

From QE's SCF density each term (Hartree, xc, Ewald) equals QE's printed one (measured:
< 1e-9 eV for Hartree and xc, < 4e-6 eV for Ewald) and, with QE's band energy and -TS, the
total matches QE's total free energy within 1 meV/atom (measured ~0.001 meV/atom).
From the LDOS the total must be within 5 meV/atom (measured -1.3 ... +0.2 meV/atom over the
8 snapshots). What limits it is the LDOS itself, not the integration: the Gaussian
broadening (sigma = 0.05 eV here) shifts the band energy by -0.6 ... -1.0 meV/atom and
-E_H by -0.6 ... +1.0 meV/atom (the error grows ~sigma^2), the energy spacing must not
exceed sigma, and the LDOS is stored as float16.
"""

from __future__ import annotations

import numpy as np
import pytest

from ldos_surrogate.io.store import Snapshot
from ldos_surrogate.physics.ewald import ewald_energy
from ldos_surrogate.physics.hartree import hartree_energy
from ldos_surrogate.physics.pseudopotential import find_pseudopotential, read_upf
from ldos_surrogate.physics.total_energy import free_energy_from_ldos, total_free_energy
from ldos_surrogate.physics.xc import xc_terms

TERM_TOLERANCE_EV = 1e-4


def _ions(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray, str]:
    """Positions (Angstrom), valence charges and functional from the snapshot's UPF files."""
    atoms = snapshot.atoms()
    pseudos = {}
    for element, filename in snapshot.meta.provenance["pseudopotentials"].items():
        path = find_pseudopotential(filename, [snapshot.path])
        if path is None:
            pytest.skip(f"pseudopotential {filename} not installed")
        pseudos[element] = read_upf(path)
    charges = np.array([pseudos[symbol].z_valence for symbol in atoms.get_chemical_symbols()])
    return atoms.positions, charges, next(iter(pseudos.values())).functional


def _reference(snapshot: Snapshot, key: str) -> float:
    if key not in snapshot.meta.reference:
        pytest.skip(f"{snapshot.path}: meta.json has no reference {key!r}")
    return snapshot.meta.reference[key]


def test_terms_from_the_dft_density_equal_qe(al_snapshots):
    for snapshot in al_snapshots:
        density, cell = snapshot.density(), snapshot.meta.cell
        assert density is not None, f"{snapshot.path} has no density.npy"
        positions, charges, functional = _ions(snapshot)
        xc = xc_terms(density, cell, functional)
        assert hartree_energy(density, cell) == pytest.approx(
            _reference(snapshot, "hartree"), abs=TERM_TOLERANCE_EV
        )
        assert xc.energy == pytest.approx(_reference(snapshot, "xc"), abs=TERM_TOLERANCE_EV)
        assert ewald_energy(positions, cell, charges) == pytest.approx(
            _reference(snapshot, "ewald"), abs=TERM_TOLERANCE_EV
        )


def test_total_from_the_dft_density_equals_qe_within_1_mev_per_atom(al_snapshots):
    for snapshot in al_snapshots:
        positions, charges, functional = _ions(snapshot)
        terms = total_free_energy(
            _reference(snapshot, "band_energy"),
            _reference(snapshot, "smearing_ts"),
            snapshot.density(),
            snapshot.meta.cell,
            positions,
            charges,
            functional,
        )
        error = (terms.total_free_energy - _reference(snapshot, "total_free_energy")) / len(charges)
        assert abs(error) < 1e-3, f"{snapshot.name}: {1000 * error:.4f} meV/atom"


def test_total_from_the_dft_ldos_within_5_mev_per_atom(al_snapshots):
    for snapshot in al_snapshots:
        meta = snapshot.meta
        positions, charges, functional = _ions(snapshot)
        _, terms = free_energy_from_ldos(
            snapshot.ldos(),
            meta.energy_grid.energies,
            meta.cell,
            meta.temperature_k,
            meta.n_electrons,
            positions,
            charges,
            functional,
        )
        error = (terms.total_free_energy - _reference(snapshot, "total_free_energy")) / len(charges)
        assert abs(error) < 5e-3, f"{snapshot.name}: {1000 * error:.3f} meV/atom"
