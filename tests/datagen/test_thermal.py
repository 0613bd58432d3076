"""Thermal snapshots: the Debye mean-square displacement and its sampling."""

from __future__ import annotations

import numpy as np
import pytest

from ldos_surrogate.datagen.elements import element
from ldos_surrogate.datagen.thermal import (
    HBAR2_PER_U_KB,
    debye_mean_square_displacement,
    thermal_snapshot,
)
from ldos_surrogate.errors import InputError

AL = element("Al")
AL_MASS_U = 26.9815385


def test_al_room_temperature_matches_debye_waller_data():
    # Debye model for Al at 298 K; X-ray Debye-Waller factors give B = 8 pi^2 <u_x^2> ~ 0.8
    msd = debye_mean_square_displacement(AL_MASS_U, AL.debye_temperature_k, 298.0)
    assert msd == pytest.approx(0.0093, abs=2e-4)
    assert 0.6 < 8 * np.pi**2 * msd < 0.9


def test_high_temperature_limit_is_classical_equipartition():
    # T >> Theta_D: M omega^2 <u^2> = k_B T with the Debye <omega^-2> = 3 / omega_D^2
    T = 50 * AL.debye_temperature_k
    classical = 3 * HBAR2_PER_U_KB * T / (AL_MASS_U * AL.debye_temperature_k**2)
    msd = debye_mean_square_displacement(AL_MASS_U, AL.debye_temperature_k, T)
    assert msd == pytest.approx(classical, rel=1e-3)


def test_zero_temperature_keeps_zero_point_motion():
    zero_point = 3 * HBAR2_PER_U_KB / (4 * AL_MASS_U * AL.debye_temperature_k)
    assert debye_mean_square_displacement(AL_MASS_U, AL.debye_temperature_k, 0.0) == zero_point
    cold = debye_mean_square_displacement(AL_MASS_U, AL.debye_temperature_k, 1.0)
    assert cold == pytest.approx(zero_point, rel=1e-4)


def test_sampled_displacements_have_the_model_variance():
    crystal = AL.supercell(2)  # 32 atoms
    assert len(crystal) == 32 and np.allclose(crystal.cell.lengths(), 8.1)
    displacements = []
    for index in range(200):
        atoms = thermal_snapshot(crystal, 298.0, AL.debye_temperature_k, seed=7, index=index)
        delta = atoms.positions - crystal.positions
        delta -= np.round(delta @ np.linalg.inv(crystal.cell[:])) @ crystal.cell[:]  # unwrap
        displacements.append(delta)
    msd = np.mean(np.square(displacements))
    expected = debye_mean_square_displacement(AL_MASS_U, AL.debye_temperature_k, 298.0)
    assert msd == pytest.approx(expected, rel=0.03)  # 19200 samples: 1 % standard error


def test_snapshots_are_reproducible_by_seed_and_index():
    crystal = AL.supercell(1)
    first = thermal_snapshot(crystal, 298.0, AL.debye_temperature_k, seed=3, index=5)
    again = thermal_snapshot(crystal, 298.0, AL.debye_temperature_k, seed=3, index=5)
    other = thermal_snapshot(crystal, 298.0, AL.debye_temperature_k, seed=3, index=6)
    np.testing.assert_array_equal(first.positions, again.positions)
    assert not np.allclose(first.positions, other.positions)


def test_unknown_element_and_bad_supercell_are_refused():
    with pytest.raises(InputError, match="'Xx'"):
        element("Xx")
    with pytest.raises(InputError, match="supercell"):
        AL.supercell(0)
    assert len(element("Mg").supercell(1)) == 4  # orthorhombic hcp cell
