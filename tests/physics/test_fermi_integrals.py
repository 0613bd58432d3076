"""The analytic Fermi-Dirac integrals: polylogarithms, primitives and quadrature weights."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from ldos_surrogate.physics.integrals import _fermi_primitives, occupation_weights
from ldos_surrogate.physics.occupation import entropy_density, fermi_dirac, thermal_energy
from ldos_surrogate.physics.polylog import polylog_neg_exp

BE2_ENERGIES = -5.0 + 2.5 * np.arange(11)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_polylog_matches_arbitrary_precision(order):
    mpmath = pytest.importorskip("mpmath", reason="mpmath (a MALA dependency) gives the reference")
    y = np.array([0.0, 1e-9, 0.2, 0.7, 0.999999, 1.0, 1.000001, 1.5, 3.0, 10.0, 37.0, 300.0])
    with mpmath.workdps(40):
        reference = [float(mpmath.polylog(order, -mpmath.exp(-mpmath.mpf(v)))) for v in y]
    np.testing.assert_allclose(polylog_neg_exp(order, y), reference, rtol=2e-15, atol=1e-25)


def test_primitives_differentiate_to_their_integrands():
    """P0' = f, P1' = x f, P2' = x^2 f, Q0' = s, Q1' = x s, on both sides of x = 0."""
    x = np.array([-60.0, -8.0, -1.3, -0.4, 0.0, 0.3, 0.999, 1.001, 2.5, 9.0, 45.0])
    step = 1e-5
    upper, lower = _fermi_primitives(x + step), _fermi_primitives(x - step)
    slopes = [(a - b) / (2 * step) for a, b in zip(upper, lower, strict=True)]
    f = fermi_dirac(x, 0.0, 1.0 / thermal_energy(1.0))  # k_B T = 1 in units of x
    s = entropy_density(x, 0.0, 1.0 / thermal_energy(1.0))
    for slope, integrand in zip(slopes, [f, x * f, x**2 * f, s, x * s], strict=True):
        assert np.all(np.abs(slope - integrand) <= 1e-8 * (1 + x**2))


def _piecewise_linear(dos: np.ndarray, energies: np.ndarray):
    """D(eps): linear between grid points and down to 0 one spacing outside the window."""
    spacing = energies[1] - energies[0]
    knots = np.concatenate(([energies[0] - spacing], energies, [energies[-1] + spacing]))
    values = np.concatenate(([0.0], dos, [0.0]))
    return knots, lambda eps: np.interp(eps, knots, values)


@pytest.mark.parametrize(("fermi_ev", "temperature_k"), [(10.24, 300.0), (3.1, 3000.0)])
def test_weights_equal_adaptive_quadrature_on_be2_dos(be2_dos, fermi_ev, temperature_k):
    knots, dos = _piecewise_linear(be2_dos, BE2_ENERGIES)
    kt = thermal_energy(temperature_k)

    def integral(integrand) -> float:
        breaks = np.sort(np.append(knots, fermi_ev))
        return sum(
            quad(integrand, a, b, epsabs=1e-13, epsrel=1e-13, limit=200)[0]
            for a, b in zip(breaks[:-1], breaks[1:], strict=True)
        )

    weights = occupation_weights(BE2_ENERGIES, fermi_ev, temperature_k)
    n = integral(lambda e: fermi_dirac(e, fermi_ev, temperature_k) * dos(e))
    eb = integral(lambda e: e * fermi_dirac(e, fermi_ev, temperature_k) * dos(e))
    ts = kt * integral(lambda e: entropy_density(e, fermi_ev, temperature_k) * dos(e))
    assert weights.electrons @ be2_dos == pytest.approx(n, rel=1e-10)
    assert weights.band_energy @ be2_dos == pytest.approx(eb, rel=1e-10)
    assert weights.entropy @ be2_dos == pytest.approx(ts, rel=1e-8)


def test_far_below_the_fermi_level_each_point_weighs_one_spacing():
    """Sum rule of the hat functions: at T -> 0 with E_F above the window, w_N = h."""
    weights = occupation_weights(BE2_ENERGIES, 40.0, 300.0)
    np.testing.assert_allclose(weights.electrons, 2.5, rtol=1e-13)
    np.testing.assert_allclose(weights.band_energy, 2.5 * BE2_ENERGIES, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(weights.entropy, 0.0, atol=1e-200)


def test_fermi_derivatives_match_finite_differences(be2_dos):
    step = 1e-5
    at, up, down = (
        occupation_weights(BE2_ENERGIES, mu, 300.0) for mu in (10.2, 10.2 + step, 10.2 - step)
    )
    dn = (up.electrons - down.electrons) @ be2_dos / (2 * step)
    dts = (up.entropy - down.entropy) @ be2_dos / (2 * step)
    assert at.fermi_derivative @ be2_dos == pytest.approx(dn, rel=1e-7)
    assert at.entropy_fermi_derivative @ be2_dos == pytest.approx(dts, rel=1e-6)
