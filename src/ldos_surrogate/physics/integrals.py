"""Exact integrals of Fermi-Dirac-weighted, piecewise-linear densities of states.

A DOS sampled on a uniform energy grid eps_0 ... eps_(n-1) (spacing h, eV) is read as the
piecewise-linear function D(eps) = sum_i D_i phi_i(eps), phi_i the hat function that is 1
at eps_i and 0 at eps_(i+-1). The hats of the first and last point also reach one spacing
outside the window, so every grid point carries exactly the weight h of one spacing:
for T -> 0 and E_F above the window, N = h sum_i D_i (the rectangle rule that a Gaussian-
or Fermi-broadened LDOS sampled at its own width obeys). MALA 1.4.0 reads the grid the
same way, which the agreement tests check.

Any integral of g(eps) D(eps) is then a dot product w . D with w_i = integral g phi_i,
and for g = f, (eps - mu) f and s (occupation.py) the integrals are closed forms in
x = (eps - mu) / k_B T through the Fermi-Dirac primitives (Li_s = Li_s(-e^x)):

    P0(x) = integral f dx     = x + Li_1
    P1(x) = integral x f dx   = x^2/2 + x Li_1 - Li_2
    P2(x) = integral x^2 f dx = x^3/3 + x^2 Li_1 - 2 x Li_2 + 2 Li_3
    Q0(x) = integral s dx     = -x Li_1 + 2 Li_2
    Q1(x) = integral x s dx   = -x^2 Li_1 + 3 x Li_2 - 3 Li_3

(Li_1' = Li_0 = -(1 - f); differentiate to check). They are evaluated for x > 0 through
the inversion formulas of polylog.py, so that no exp(x) overflows and no large terms cancel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.occupation import thermal_energy
from ldos_surrogate.physics.polylog import polylog_neg_exp

_PI2 = np.pi**2


def uniform_spacing(energies_ev: np.ndarray, name: str = "energy grid") -> float:
    """Spacing h (eV) of a strictly increasing uniform grid; InputError naming `name` otherwise."""
    energies = np.asarray(energies_ev, dtype=np.float64)
    if energies.ndim != 1 or energies.size < 2 or not np.all(np.isfinite(energies)):
        raise InputError(f"{name}: need a 1-D array of at least 2 finite energies (eV)")
    steps = np.diff(energies)
    spacing = float(steps.mean())
    if spacing <= 0.0 or not np.allclose(steps, spacing, rtol=1e-6, atol=0.0):
        raise InputError(f"{name}: energies must increase with a uniform spacing")
    return spacing


def _fermi_primitives(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """P0, P1, P2, Q0, Q1 at x (see the module docstring), overflow-free for any real x."""
    y = np.abs(x)
    li1, li2, li3 = (polylog_neg_exp(order, y) for order in (1, 2, 3))
    below = x < 0.0
    p0 = np.minimum(x, 0.0) + li1
    p1 = np.where(below, 0.5 * x**2 + x * li1 - li2, _PI2 / 6.0 + x * li1 + li2)
    p2 = np.where(below, x**3 / 3.0, 0.0) + x**2 * li1 + 2.0 * y * li2 + 2.0 * li3
    q0 = np.where(below, -x * li1 + 2.0 * li2, -x * li1 - 2.0 * li2 - _PI2 / 3.0)
    q1 = -(x**2) * li1 - 3.0 * y * li2 - 3.0 * li3
    return p0, p1, p2, q0, q1


@dataclass(frozen=True)
class OccupationWeights:
    """Quadrature weights w (one per grid point) such that each integral equals w . D.

    With D in states/eV:
    electrons:                 N = integral f D deps                      (electrons)
    band_energy:               E_b = integral eps f D deps                (eV)
    entropy:                   -TS = k_B T integral s D deps              (eV)
    fermi_derivative:          dN/dmu = integral (-df/deps) D deps        (1/eV)
    entropy_fermi_derivative:  d(-TS)/dmu = -integral (eps - mu)(-df/deps) D deps  (1)
    (d/dmu at fixed D; dE_b/dmu = mu dN/dmu - d(-TS)/dmu follows.)
    """

    electrons: np.ndarray
    band_energy: np.ndarray
    entropy: np.ndarray
    fermi_derivative: np.ndarray
    entropy_fermi_derivative: np.ndarray


def occupation_weights(
    energies_ev: np.ndarray, fermi_energy_ev: float, temperature_k: float
) -> OccupationWeights:
    """Exact weights for a piecewise-linear DOS on the uniform grid `energies_ev`."""
    spacing = uniform_spacing(energies_ev)
    kt = thermal_energy(temperature_k)
    energies = np.asarray(energies_ev, dtype=np.float64)
    knots = np.concatenate(([energies[0] - spacing], energies, [energies[-1] + spacing]))
    offsets = knots - fermi_energy_ev  # eps - mu at the knots
    p0, p1, p2, q0, q1 = _fermi_primitives(offsets / kt)

    def hat_weights(moment0: np.ndarray, moment1: np.ndarray) -> np.ndarray:
        """Weights from the per-interval integrals of g and (eps - mu) g."""
        rising = (moment1 - offsets[:-1] * moment0) / spacing  # g * (eps - eps_left) / h
        falling = (offsets[1:] * moment0 - moment1) / spacing  # g * (eps_right - eps) / h
        return rising[:-1] + falling[1:]

    f_integral, f_moment = kt * np.diff(p0), kt**2 * np.diff(p1)
    electrons = hat_weights(f_integral, f_moment)
    energy_moment = hat_weights(f_moment, kt**3 * np.diff(p2))
    entropy = kt * hat_weights(kt * np.diff(q0), kt**2 * np.diff(q1))
    # integral phi_i (-f') = integral phi_i' f and integral phi_i (eps - mu)(-f')
    # = integral [phi_i (eps - mu)]' f, by parts (phi_i vanishes at both ends).
    fermi_derivative = -np.diff(f_integral) / spacing
    energy_fermi_derivative = -np.diff(f_moment) / spacing + electrons
    return OccupationWeights(
        electrons=electrons,
        band_energy=energy_moment + fermi_energy_ev * electrons,
        entropy=entropy,
        fermi_derivative=fermi_derivative,
        entropy_fermi_derivative=-energy_fermi_derivative,
    )
