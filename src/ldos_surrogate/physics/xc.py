"""Exchange-correlation energy E_xc[n] and integral v_xc n, for LDA (PZ) and PBE.

    E_xc = integral n(r) eps_xc(n, |grad n|) dr,   v_xc = dE_xc/dn(r),           (eV)

evaluated on the periodic grid: E_xc = dV sum_r n_r eps_xc, and integral v_xc n =
sum_r n_r dE_xc/dn_r, the derivative by torch autograd (for LDA it is the closed form
d(n eps)/dn; for PBE it includes the gradient terms through the FFT gradient). The
functionals, in Hartree atomic units internally:

- LDA "lda-pz": Slater exchange eps_x = -(3/4)(3/pi)^(1/3) n^(1/3) and the Perdew-Zunger
  correlation, Phys. Rev. B 23, 5048 (1981), Eq. C3 (r_s >= 1) and C5 (r_s < 1), unpolarised
  (QE's "SLA PZ", e.g. Al.pz-vbc.UPF).
- GGA "pbe": Perdew, Burke, Ernzerhof, Phys. Rev. Lett. 77, 3865 (1996): exchange
  enhancement F_x(s) = 1 + kappa - kappa / (1 + mu s^2 / kappa) (Eq. 14), correlation
  eps_c^PW92 + H(r_s, t) (Eq. 7-8) on the Perdew-Wang correlation, Phys. Rev. B 45, 13244
  (1992), Eq. 10 with its Table I parameters (QE's "SLA PW PBX PBC").

Points with |n| below 1e-10 electrons/bohr^3 contribute nothing (QE's vanishing charge);
elsewhere eps_xc is evaluated at |n| and multiplied by n, as QE does for small negative
densities from the FFT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.arrays import Array
from ldos_surrogate.physics.constants import BOHR_ANGSTROM, HARTREE_EV
from ldos_surrogate.physics.dos import cell_volume
from ldos_surrogate.physics.grid import wavevectors

FUNCTIONALS = ("lda-pz", "pbe")
VANISHING_DENSITY_BOHR3 = 1e-10

_SLATER = -0.75 * (3.0 / math.pi) ** (1.0 / 3.0)
# Perdew-Zunger 1981, unpolarised (Hartree): r_s >= 1 and r_s < 1 branches
_PZ_GAMMA, _PZ_BETA1, _PZ_BETA2 = -0.1423, 1.0529, 0.3334
_PZ_A, _PZ_B, _PZ_C, _PZ_D = 0.0311, -0.048, 0.0020, -0.0116
# Perdew-Wang 1992, unpolarised (Table I)
_PW_A, _PW_ALPHA1 = 0.031091, 0.21370
_PW_BETA = (7.5957, 3.5876, 1.6382, 0.49294)
# PBE 1996
_PBE_KAPPA = 0.804
_PBE_BETA = 0.06672455060314922
_PBE_MU = _PBE_BETA * math.pi**2 / 3.0
_PBE_GAMMA = (1.0 - math.log(2.0)) / math.pi**2


def functional_from_name(name: str, source: str = "functional") -> str:
    """Map a QE/UPF functional name ("SLA PZ NOGX NOGC", "PBE", "lda-pz") to FUNCTIONALS."""
    words = name.upper().replace("-", " ").split()
    if words[:2] == ["SLA", "PZ"] or words in (["PZ"], ["LDA"], ["LDA", "PZ"]):
        return "lda-pz"
    if words == ["PBE"] or words[:4] == ["SLA", "PW", "PBX", "PBC"]:
        return "pbe"
    raise InputError(
        f"{source}: exchange-correlation functional {name!r} is not one of {FUNCTIONALS}"
    )


def pz_correlation(rs: torch.Tensor) -> torch.Tensor:
    """Perdew-Zunger correlation energy per electron (Hartree) at Wigner-Seitz radius r_s (bohr)."""
    low_density = _PZ_GAMMA / (1.0 + _PZ_BETA1 * torch.sqrt(rs) + _PZ_BETA2 * rs)
    log_rs = torch.log(rs)
    high_density = _PZ_A * log_rs + _PZ_B + _PZ_C * rs * log_rs + _PZ_D * rs
    return torch.where(rs >= 1.0, low_density, high_density)


def pw92_correlation(rs: torch.Tensor) -> torch.Tensor:
    """Perdew-Wang 1992 correlation energy per electron (Hartree), unpolarised (Eq. 10)."""
    b1, b2, b3, b4 = _PW_BETA
    sqrt_rs = torch.sqrt(rs)
    denominator = 2.0 * _PW_A * (b1 * sqrt_rs + b2 * rs + b3 * rs * sqrt_rs + b4 * rs**2)
    return -2.0 * _PW_A * (1.0 + _PW_ALPHA1 * rs) * torch.log1p(1.0 / denominator)


def pbe_exchange(density: torch.Tensor, gradient_norm: torch.Tensor) -> torch.Tensor:
    """PBE exchange energy per electron (Hartree): eps_x^LDA F_x(s), s = |grad n| / (2 k_F n)."""
    fermi_wavevector = (3.0 * math.pi**2 * density) ** (1.0 / 3.0)
    s = gradient_norm / (2.0 * fermi_wavevector * density)
    enhancement = 1.0 + _PBE_KAPPA - _PBE_KAPPA / (1.0 + _PBE_MU * s**2 / _PBE_KAPPA)
    return _SLATER * density ** (1.0 / 3.0) * enhancement


def pbe_correlation(density: torch.Tensor, gradient_norm: torch.Tensor) -> torch.Tensor:
    """PBE correlation energy per electron (Hartree): eps_c^PW92 + H(r_s, t), unpolarised."""
    rs = (3.0 / (4.0 * math.pi * density)) ** (1.0 / 3.0)
    fermi_wavevector = (3.0 * math.pi**2 * density) ** (1.0 / 3.0)
    screening_wavevector = torch.sqrt(4.0 * fermi_wavevector / math.pi)
    t2 = (gradient_norm / (2.0 * screening_wavevector * density)) ** 2
    correlation_lda = pw92_correlation(rs)
    a = (_PBE_BETA / _PBE_GAMMA) / torch.expm1(-correlation_lda / _PBE_GAMMA)
    at2 = a * t2
    ratio = (1.0 + at2) / (1.0 + at2 + at2**2)
    return correlation_lda + _PBE_GAMMA * torch.log1p((_PBE_BETA / _PBE_GAMMA) * t2 * ratio)


def xc_energy_density(
    functional: str, density: torch.Tensor, gradient_norm: torch.Tensor | None = None
) -> torch.Tensor:
    """eps_xc (Hartree per electron) at density n > 0 and |grad n| (bohr^-3, bohr^-4)."""
    if functional == "lda-pz":
        rs = (3.0 / (4.0 * math.pi * density)) ** (1.0 / 3.0)
        return _SLATER * density ** (1.0 / 3.0) + pz_correlation(rs)
    if gradient_norm is None:
        raise ValueError("PBE needs the density gradient")
    return pbe_exchange(density, gradient_norm) + pbe_correlation(density, gradient_norm)


@dataclass(frozen=True)
class XcTerms:
    """E_xc and integral v_xc n in eV (0-d tensors when the density was a tensor)."""

    energy: Array | float
    potential_integral: Array | float


def _gradient_norm(density: torch.Tensor, cell_bohr: np.ndarray) -> torch.Tensor:
    """|grad n| by FFT on the periodic grid (units of density per bohr)."""
    g = torch.as_tensor(wavevectors(cell_bohr, tuple(density.shape)), dtype=density.dtype)
    coefficients = torch.fft.fftn(density)
    components = [torch.fft.ifftn(1j * g[..., j] * coefficients).real for j in range(3)]
    return torch.sqrt(sum(c**2 for c in components) + 1e-300)


def xc_terms(
    density: Array, cell: np.ndarray, functional: str, core_density: np.ndarray | None = None
) -> XcTerms:
    """E_xc[n + n_core] and integral v_xc[n + n_core] n (eV) of the valence density n and the
    partial core density (both electrons/Angstrom^3, (nx, ny, nz); core_charge.py): the xc
    functional sees valence plus core, the double-counting integral runs over the valence
    density only (QE's etxc and vtxc)."""
    if functional not in FUNCTIONALS:
        raise InputError(f"functional: {functional!r} is not one of {FUNCTIONALS}")
    given_tensor = isinstance(density, torch.Tensor)
    track = given_tensor and density.requires_grad
    n = density if given_tensor else torch.tensor(np.asarray(density, dtype=np.float64))
    if not track:
        n = n.detach().clone().requires_grad_(True)
    cell_bohr = np.asarray(cell, dtype=np.float64) / BOHR_ANGSTROM
    voxel_bohr3 = cell_volume(cell_bohr) / n.numel()
    total = n if core_density is None else n + torch.as_tensor(core_density, dtype=n.dtype)
    n_bohr = total * BOHR_ANGSTROM**3
    present = n_bohr.abs() > VANISHING_DENSITY_BOHR3
    safe = torch.where(present, n_bohr.abs(), torch.ones_like(n_bohr))
    gradient = _gradient_norm(n_bohr, cell_bohr) if functional == "pbe" else None
    if gradient is not None:
        gradient = torch.where(present, gradient, torch.zeros_like(gradient))
    eps = xc_energy_density(functional, safe, gradient)
    energy = HARTREE_EV * voxel_bohr3 * torch.sum(torch.where(present, n_bohr * eps, 0.0))
    (derivative,) = torch.autograd.grad(energy, n, create_graph=track)
    potential_integral = torch.sum(derivative * n)
    if track:
        return XcTerms(energy, potential_integral)
    if given_tensor:
        return XcTerms(energy.detach(), potential_integral.detach())
    return XcTerms(float(energy.detach()), float(potential_integral.detach()))
