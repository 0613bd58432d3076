"""Hartree, exchange-correlation and Ewald terms against closed forms and literature values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.constants import BOHR_ANGSTROM, COULOMB_EV_ANGSTROM, HARTREE_EV
from ldos_surrogate.physics.ewald import ewald_energy
from ldos_surrogate.physics.hartree import hartree_energy
from ldos_surrogate.physics.xc import (
    _PBE_BETA,
    _PBE_MU,
    _SLATER,
    functional_from_name,
    pbe_correlation,
    pbe_exchange,
    pw92_correlation,
    pz_correlation,
    xc_terms,
)

CELL = np.array([[4.0, 0.0, 0.0], [0.3, 3.6, 0.0], [0.2, -0.4, 5.0]])  # Angstrom, triclinic


def _grid_points(shape: tuple[int, int, int]) -> np.ndarray:
    fractions = np.stack(np.meshgrid(*(np.arange(n) / n for n in shape), indexing="ij"), -1)
    return fractions @ CELL


def test_hartree_of_a_plane_wave_density():
    """n = n0 + A cos(G.r): E_H = pi Omega A^2 / G^2 (the n0 part is cancelled by the ions)."""
    shape = (18, 16, 20)
    g = 2 * np.pi * np.linalg.inv(CELL) @ np.array([1, -2, 1])  # sum_j m_j b_j
    density = 0.05 + 0.02 * np.cos(_grid_points(shape) @ g)
    volume = abs(np.linalg.det(CELL))
    expected = math.pi * volume * 0.02**2 / (g @ g) * COULOMB_EV_ANGSTROM
    assert hartree_energy(density, CELL) == pytest.approx(expected, rel=1e-12)
    assert float(hartree_energy(torch.tensor(density), CELL)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("cell", "positions", "madelung"),
    [
        # Wigner-crystal Madelung energies E = -M e^2 / r_ws per charge in a uniform background
        # (Coldwell-Horsfall and Maradudin, J. Math. Phys. 1, 395 (1960))
        (np.eye(3) * 3.0, [[0.0, 0.0, 0.0]], 0.880059440),
        (np.eye(3) * 3.0, [[0.0, 0.0, 0.0], [1.5, 1.5, 1.5]], 0.895929256),
        (np.eye(3) * 3.0, [[0, 0, 0], [1.5, 1.5, 0], [1.5, 0, 1.5], [0, 1.5, 1.5]], 0.895873615),
    ],
    ids=["sc", "bcc", "fcc"],
)
def test_ewald_reproduces_madelung_constants(cell, positions, madelung):
    positions = np.array(positions, dtype=float)
    wigner_seitz_radius = (3 * 27.0 / len(positions) / (4 * math.pi)) ** (1 / 3)
    expected = -madelung * COULOMB_EV_ANGSTROM / wigner_seitz_radius * len(positions)
    for eta in (None, 0.8, 1.6):
        energy = ewald_energy(positions, cell, np.ones(len(positions)), eta=eta)
        assert energy == pytest.approx(expected, rel=1e-8)


def test_slater_exchange_and_pbe_exchange_of_the_hydrogen_atom():
    """E_x[n_H] of n = exp(-2r)/pi (bohr): LSD -0.2680, PBE -0.3059 Hartree (PBE paper,
    Table I); spin scaling E_x[n_up, 0] = E_x[2 n_up] / 2 maps them to the unpolarised forms."""
    r = torch.linspace(1e-7, 40.0, 400_001, dtype=torch.float64)
    density = torch.exp(-2 * r) / math.pi
    gradient = 2 * density

    def radial(energy_density: torch.Tensor) -> float:
        return float(torch.trapezoid(4 * math.pi * r**2 * energy_density, r))

    doubled = 2 * density
    lsd = 0.5 * radial(doubled * _SLATER * doubled ** (1 / 3))
    pbe = 0.5 * radial(doubled * pbe_exchange(doubled, 2 * gradient))
    assert lsd == pytest.approx(-0.2680, abs=5e-5)
    assert pbe == pytest.approx(-0.3059, abs=5e-5)


def test_pw92_and_pz81_fit_the_same_quantum_monte_carlo_correlation_energies():
    rs = torch.tensor([1.0, 2.0, 3.0, 5.0, 10.0, 20.0], dtype=torch.float64)
    np.testing.assert_allclose(pw92_correlation(rs), pz_correlation(rs), atol=5e-4)


def test_pbe_correlation_limits():
    """PBE's own conditions: t -> 0 gives PW92 + beta t^2 (Eq. 4 of the paper); t -> infinity
    makes correlation vanish; a uniform density gives LDA (F_x = 1)."""
    density = torch.tensor([0.01, 0.1, 1.0], dtype=torch.float64)
    rs = (3 / (4 * math.pi * density)) ** (1 / 3)
    screening = torch.sqrt(4 * (3 * math.pi**2 * density) ** (1 / 3) / math.pi)
    t = 1e-4
    small = pbe_correlation(density, t * 2 * screening * density)
    np.testing.assert_allclose((small - pw92_correlation(rs)) / t**2, _PBE_BETA, rtol=1e-3)
    np.testing.assert_allclose(pbe_correlation(density, 1e6 * density), 0.0, atol=1e-8)
    zero = torch.zeros_like(density)
    np.testing.assert_allclose(pbe_exchange(density, zero), _SLATER * density ** (1 / 3))
    s = 1e-3
    kf = (3 * math.pi**2 * density) ** (1 / 3)
    gradient_expansion = pbe_exchange(density, s * 2 * kf * density) / pbe_exchange(density, zero)
    np.testing.assert_allclose((gradient_expansion - 1) / s**2, _PBE_MU, rtol=1e-5)


@pytest.mark.parametrize("functional", ["lda-pz", "pbe"])
def test_uniform_density_xc_and_potential(functional):
    """Uniform n: E_xc = Omega n eps_xc(n) and v_xc = d(n eps)/dn, the PZ closed form
    (Perdew-Zunger Eq. C4) for LDA; PBE reduces to Slater + PW92."""
    n_angstrom = 0.18
    n = n_angstrom * BOHR_ANGSTROM**3
    rs = (3 / (4 * math.pi * n)) ** (1 / 3)
    rs_tensor = torch.tensor(rs, dtype=torch.float64)
    exchange = _SLATER * n ** (1 / 3)
    if functional == "lda-pz":
        correlation = float(pz_correlation(rs_tensor))
        sqrt_rs = math.sqrt(rs)
        b1, b2 = 1.0529, 0.3334
        potential_c = (
            correlation
            * (1 + 7 / 6 * b1 * sqrt_rs + 4 / 3 * b2 * rs)
            / (1 + b1 * sqrt_rs + b2 * rs)
        )
    else:
        correlation = float(pw92_correlation(rs_tensor))
        h = 1e-6
        plus, minus = (
            float(
                pw92_correlation(
                    torch.tensor((3 / (4 * math.pi * m)) ** (1 / 3), dtype=torch.float64)
                )
            )
            for m in (n * (1 + h), n * (1 - h))
        )
        potential_c = correlation + n * (plus - minus) / (2 * h * n)
    volume = abs(np.linalg.det(CELL))
    terms = xc_terms(np.full((6, 5, 7), n_angstrom), CELL, functional)
    n_electrons = n_angstrom * volume
    assert terms.energy == pytest.approx(
        n_electrons * (exchange + correlation) * HARTREE_EV, rel=1e-12
    )
    expected_potential = n_electrons * (4 / 3 * exchange + potential_c) * HARTREE_EV
    assert terms.potential_integral == pytest.approx(expected_potential, rel=1e-7)


def test_functional_names_from_pseudopotentials():
    assert functional_from_name(" SLA  PZ   NOGX NOGC") == "lda-pz"
    assert functional_from_name("PBE") == "pbe"
    assert functional_from_name("SLA PW PBX PBC") == "pbe"
    with pytest.raises(InputError, match="B3LYP"):
        functional_from_name("B3LYP", "Xx.b3lyp.UPF")


@pytest.mark.parametrize("functional", ["lda-pz", "pbe"])
def test_torch_gradients_of_hartree_and_xc_match_finite_differences(functional):
    shape = (8, 6, 10)
    points = _grid_points(shape)
    g = 2 * np.pi * np.linalg.inv(CELL) @ np.array([1, 0, -1])
    density = 0.03 + 0.01 * np.cos(points @ g) + 0.005 * np.sin(points @ (2 * g))
    tensor = torch.tensor(density, requires_grad=True)
    xc = xc_terms(tensor, CELL, functional)
    (hartree_energy(tensor, CELL) + xc.energy - xc.potential_integral).backward()

    def energy(values: np.ndarray) -> float:
        terms = xc_terms(values, CELL, functional)
        return hartree_energy(values, CELL) + terms.energy - terms.potential_integral

    step = 1e-7
    for index in [(0, 0, 0), (3, 2, 7), (7, 5, 1)]:
        bump = np.zeros(shape)
        bump[index] = step
        slope = (energy(density + bump) - energy(density - bump)) / (2 * step)
        assert tensor.grad[index].item() == pytest.approx(slope, rel=1e-5)
