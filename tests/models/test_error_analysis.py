"""Where an LDOS error goes, on the shipped Al snapshot 0: the electron count at the DFT
Fermi level, and the band-energy error split by energy window, which adds up to the exact
error of the refitted Fermi level to first order."""

from __future__ import annotations

from pathlib import Path

import pytest

from ldos_surrogate.io.store import read_snapshot
from ldos_surrogate.models.metrics import band_energy_error_by_window, electron_count_error
from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.dos import density_of_states

SNAPSHOT = Path(__file__).resolve().parents[2] / "data" / "al_fcc_298K" / "snapshot_0000"


@pytest.fixture(scope="module")
def dft():
    if not (SNAPSHOT / "meta.json").exists():
        pytest.skip(f"shipped Al snapshot not found at {SNAPSHOT}")
    snapshot = read_snapshot(SNAPSHOT)
    meta = snapshot.meta
    dos = density_of_states(snapshot.ldos(), meta.cell)
    terms = band_terms(dos, meta.energy_grid.energies, meta.temperature_k, meta.n_electrons)
    return meta, dos, terms


def test_the_dft_dos_has_no_error(dft) -> None:
    meta, dos, terms = dft
    args = (meta.energy_grid, terms.fermi_energy_ev, meta.temperature_k)
    assert electron_count_error(dos, dos, *args) == 0.0
    assert set(band_energy_error_by_window(dos, dos, *args).values()) == {0.0}


def test_a_dos_too_large_by_a_fraction_holds_that_fraction_more_electrons(dft) -> None:
    meta, dos, terms = dft
    args = (meta.energy_grid, terms.fermi_energy_ev, meta.temperature_k)
    assert electron_count_error(1.001 * dos, dos, *args) == pytest.approx(0.001 * 12, rel=1e-9)


def test_windows_add_up_to_the_band_energy_error_at_the_refitted_fermi_level(dft) -> None:
    """D scaled by 1 + 1e-5 at every energy: the exact error (Fermi level refitted to 12
    electrons) equals the sum over windows to first order; the deepest window, 8 eV and more
    below E_F, weighs most per state."""
    meta, dos, terms = dft
    perturbed = (1 + 1e-5) * dos
    exact = (
        band_terms(perturbed, meta.energy_grid.energies, meta.temperature_k, 12.0).band_energy_ev
        - terms.band_energy_ev
    )
    windows = band_energy_error_by_window(
        perturbed, dos, meta.energy_grid, terms.fermi_energy_ev, meta.temperature_k
    )
    assert sum(windows.values()) == pytest.approx(exact, rel=1e-4)
    assert exact < 0  # more states below E_F hold the same electrons deeper down
    assert windows["[-inf, -8) eV"] < 0 and windows["[1, inf) eV"] == pytest.approx(0, abs=1e-12)
