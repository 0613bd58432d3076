"""Bad input gives one clear InputError; negative LDOS values are clipped to zero."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.dos import density_of_states, electron_density
from ldos_surrogate.physics.fermi import fermi_energy
from ldos_surrogate.physics.integrals import occupation_weights
from ldos_surrogate.physics.pseudopotential import read_upf


@pytest.fixture()
def be2(be2_snapshots):
    snapshot = be2_snapshots[0]
    return snapshot.meta, np.array(snapshot.ldos())


def test_nan_in_ldos_is_an_error(be2):
    meta, ldos = be2
    ldos[3, 4, 5, 6] = np.nan
    with pytest.raises(InputError, match="NaN"):
        density_of_states(ldos, meta.cell)
    with pytest.raises(InputError, match="NaN"):
        electron_density(ldos, meta.energy_grid.energies, 10.0, meta.temperature_k)
    with pytest.raises(InputError, match="NaN"):
        density_of_states(torch.from_numpy(ldos), meta.cell)


def test_negative_ldos_values_are_clipped_to_zero(be2):
    meta, ldos = be2
    noisy = ldos.copy()
    noisy[:, :, :3, 0] = -0.01
    clipped = ldos.copy()
    clipped[:, :, :3, 0] = 0.0
    np.testing.assert_array_equal(
        density_of_states(noisy, meta.cell), density_of_states(clipped, meta.cell)
    )
    args = (meta.energy_grid.energies, 10.0, meta.temperature_k)
    np.testing.assert_array_equal(electron_density(noisy, *args), electron_density(clipped, *args))


def test_energy_grid_too_narrow_for_the_electrons(be2):
    meta, ldos = be2
    dos = density_of_states(ldos, meta.cell)
    energies = meta.energy_grid.energies
    with pytest.raises(InputError, match="too narrow.*top of the grid"):
        fermi_energy(dos, energies, meta.temperature_k, 40.0)
    with pytest.raises(InputError, match="too narrow.*bottom of the grid"):
        band_terms(dos, energies, meta.temperature_k, 0.05)


def test_mismatched_grids_and_cells(be2):
    meta, ldos = be2
    with pytest.raises(InputError, match="11 energies but the energy grid has 10"):
        electron_density(ldos, meta.energy_grid.energies[:10], 10.0, meta.temperature_k)
    with pytest.raises(InputError, match="shape"):
        density_of_states(ldos[..., 0], meta.cell)
    with pytest.raises(InputError, match="cell"):
        density_of_states(ldos, meta.cell[:2])
    with pytest.raises(InputError, match="zero volume"):
        density_of_states(ldos, np.array([[1.0, 0, 0], [2.0, 0, 0], [0, 0, 1.0]]))
    with pytest.raises(InputError, match="uniform spacing"):
        occupation_weights(np.array([0.0, 1.0, 3.0]), 1.0, 300.0)
    with pytest.raises(InputError, match="temperature_k"):
        occupation_weights(meta.energy_grid.energies, 1.0, -5.0)


def test_pseudopotential_without_header_names_the_file(tmp_path):
    path = tmp_path / "broken.UPF"
    path.write_text("<UPF version='1'>\n<PP_INFO>nothing</PP_INFO>\n")
    with pytest.raises(InputError, match="broken.UPF"):
        read_upf(path)
