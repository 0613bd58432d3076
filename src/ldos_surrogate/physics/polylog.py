"""Polylogarithms Li_s(-exp(-y)) for y >= 0 and s = 1, 2, 3, without arbitrary precision.

They are the building blocks of the Fermi-Dirac integrals in `integrals.py`: the complete
Fermi-Dirac integral of order j is -Li_{j+1}(-e^x), and every x is brought to the form
-exp(-y) with y = |x| >= 0 by the inversion formulas (NIST DLMF 25.12.4 and 25.12.13)

    Li_2(-e^x) = -pi^2/6 - x^2/2 - Li_2(-e^-x),
    Li_3(-e^x) =  Li_3(-e^-x) - x^3/6 - pi^2 x/6,

so the argument z = -exp(-y) always lies in [-1, 0).
- Li_1(z) = -ln(1 - z), evaluated as -log1p(exp(-y)).
- Li_2(z), Li_3(z): the power series sum_k z^k / k^s for y > 1 (40 terms leave < 1e-18).
  For y <= 1, Li_2(z) = spence(1 - z) (scipy's Spence function), and the Taylor series about y = 0, Li_3(-e^-y) = -sum_k eta(3 - k) (-y)^k / k!
  (DLMF 25.12.12 with the Dirichlet eta function; radius of convergence pi).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import bernoulli, factorial, spence, zeta

_SERIES_TERMS = 40
_TAYLOR_TERMS = 40


def _dirichlet_eta(s: int) -> float:
    """eta(s) = (1 - 2^(1-s)) zeta(s) for integer s <= 3; eta(1) = ln 2, eta(0) = 1/2 (DLMF 25.2)."""
    if s == 1:
        return math.log(2.0)
    if s == 0:
        return 0.5
    if s >= 2:
        return (1.0 - 2.0 ** (1 - s)) * float(zeta(s))
    n = -s  # eta(-n) = (2^(n+1) - 1) B_(n+1) / (n+1)
    return (2.0 ** (n + 1) - 1.0) * float(bernoulli(n + 1)[n + 1]) / (n + 1)


_TAYLOR_LI3 = np.array(
    [-_dirichlet_eta(3 - k) * (-1.0) ** k / float(factorial(k)) for k in range(_TAYLOR_TERMS)]
)
"""Coefficients c_k of Li_3(-e^-y) = sum_k c_k y^k."""


def polylog_neg_exp(order: int, y: np.ndarray) -> np.ndarray:
    """Li_order(-exp(-y)) for y >= 0 and order 1, 2 or 3 (dimensionless, float64)."""
    y = np.asarray(y, dtype=np.float64)
    if order == 1:
        return -np.log1p(np.exp(-y))
    if order not in (2, 3):
        raise ValueError(f"polylog order must be 1, 2 or 3, got {order}")
    far = y > 1.0
    z = -np.exp(-np.where(far, y, 1.0))
    k = np.arange(1, _SERIES_TERMS + 1)
    series = np.sum(z[..., None] ** k / k ** float(order), axis=-1)
    near_y = np.where(far, 0.0, y)
    if order == 2:
        near = spence(1.0 + np.exp(-near_y))
    else:
        near = np.polynomial.polynomial.polyval(near_y, _TAYLOR_LI3)
    return np.where(far, series, near)
