"""Properties that any correct LDOS post-processing has, checked on MALA's Be2 data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.dos import density_of_states, electron_density
from ldos_surrogate.physics.fermi import number_of_electrons
from ldos_surrogate.physics.hartree import hartree_energy
from ldos_surrogate.physics.xc import xc_terms


def test_electron_count_increases_with_fermi_level(be2_snapshots, be2_dos):
    meta = be2_snapshots[0].meta
    levels = np.linspace(-6.0, 21.0, 200)
    counts = [
        number_of_electrons(be2_dos, meta.energy_grid.energies, mu, meta.temperature_k)
        for mu in levels
    ]
    assert np.all(np.diff(counts) > 0.0)
    assert counts[0] < meta.n_electrons < counts[-1]


def test_shifted_energy_grid_shifts_band_energy_by_shift_times_electrons(be2_snapshots, be2_dos):
    meta = be2_snapshots[0].meta
    energies, shift = meta.energy_grid.energies, 1.7345
    plain = band_terms(be2_dos, energies, meta.temperature_k, meta.n_electrons)
    shifted = band_terms(be2_dos, energies + shift, meta.temperature_k, meta.n_electrons)
    assert shifted.fermi_energy_ev == pytest.approx(plain.fermi_energy_ev + shift, abs=1e-10)
    assert shifted.band_energy_ev == pytest.approx(
        plain.band_energy_ev + shift * meta.n_electrons, abs=1e-9
    )
    assert shifted.entropy_contribution_ev == pytest.approx(plain.entropy_contribution_ev, rel=1e-8)


@pytest.mark.parametrize("order", [(1, 2, 0), (2, 0, 1), (0, 2, 1)])
def test_results_do_not_depend_on_grid_axis_order(be2_snapshots, order):
    """Relabelling the cell axes permutes the grid axes and the lattice vectors alike."""
    snapshot = be2_snapshots[0]
    meta, ldos = snapshot.meta, np.asarray(snapshot.ldos())
    energies, temperature, electrons = (
        meta.energy_grid.energies,
        meta.temperature_k,
        meta.n_electrons,
    )
    permuted_ldos, permuted_cell = ldos.transpose(*order, 3), meta.cell[list(order)]

    def everything(values, cell):
        terms = band_terms(density_of_states(values, cell), energies, temperature, electrons)
        density = electron_density(values, energies, terms.fermi_energy_ev, temperature)
        xc = xc_terms(density, cell, "pbe")
        return (
            terms.fermi_energy_ev,
            terms.band_energy_ev,
            terms.entropy_contribution_ev,
            hartree_energy(density, cell),
            xc.energy,
            xc.potential_integral,
        )

    np.testing.assert_allclose(
        everything(permuted_ldos, permuted_cell), everything(ldos, meta.cell), rtol=1e-10
    )


def test_torch_band_terms_equal_numpy_and_carry_the_fermi_level_gradient(be2_snapshots, be2_dos):
    meta = be2_snapshots[0].meta
    energies, temperature, electrons = (
        meta.energy_grid.energies,
        meta.temperature_k,
        meta.n_electrons,
    )
    reference = band_terms(be2_dos, energies, temperature, electrons)
    dos = torch.tensor(be2_dos, requires_grad=True)
    terms = band_terms(dos, energies, temperature, electrons)
    for ours, theirs in [
        (terms.fermi_energy_ev, reference.fermi_energy_ev),
        (terms.band_energy_ev, reference.band_energy_ev),
        (terms.entropy_contribution_ev, reference.entropy_contribution_ev),
    ]:
        assert float(ours.detach()) == pytest.approx(theirs, rel=1e-14)
    (terms.band_energy_ev + terms.entropy_contribution_ev).backward()

    def free_band_energy(values):
        numbers = band_terms(values, energies, temperature, electrons)
        return numbers.band_energy_ev + numbers.entropy_contribution_ev

    step = 1e-6
    finite_differences = [
        (free_band_energy(be2_dos + step * unit) - free_band_energy(be2_dos - step * unit))
        / (2 * step)
        for unit in np.eye(len(be2_dos))
    ]
    np.testing.assert_allclose(dos.grad.numpy(), finite_differences, atol=1e-6)


def test_torch_density_equals_numpy(be2_snapshots):
    snapshot = be2_snapshots[0]
    meta, ldos = snapshot.meta, np.asarray(snapshot.ldos())
    args = (meta.energy_grid.energies, 10.24, meta.temperature_k)
    reference = electron_density(ldos, *args)
    ours = electron_density(torch.tensor(ldos, dtype=torch.float64), *args)
    np.testing.assert_allclose(ours.numpy(), reference, rtol=1e-12)
    assert reference.sum() * meta.voxel_volume == pytest.approx(
        number_of_electrons(density_of_states(ldos, meta.cell), *args), rel=1e-12
    )
