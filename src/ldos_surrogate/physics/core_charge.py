"""The pseudo-core charge of a nonlinear core correction on the real-space grid.

A pseudopotential with a nonlinear core correction (Louie, Froyen, Cohen, Phys. Rev. B 26,
1738 (1982)) carries a smooth partial core charge rho_c(r) (UPF ``PP_NLCC``, electrons/bohr^3
on the radial mesh ``PP_R``). The xc energy is that of valence plus core,
E_xc[n + n_core], while the Hartree energy and the double-counting integral keep the
valence density (total_energy.py). The core density of a cell is the sum of the atoms'
spherical core charges, built in reciprocal space as Quantum ESPRESSO does (its
``drhoc`` and ``set_rhoc``):

    rho_c(G)    = (4 pi / Omega) integral_0^R r^2 rho_c(r) sin(G r) / (G r) dr      (Fourier-Bessel)
    n_core(G)   = sum_species rho_c,s(|G|) sum_{atoms a of s} exp(-i G . tau_a)    (structure factor)
    n_core(r)   = sum_G n_core(G) exp(i G . r)                                       (inverse FFT)

The radial integral is QE's Simpson rule on the logarithmic mesh (weights ``PP_RAB`` = dr/dx
times the step), up to the first mesh point beyond R = 10 bohr (the point count made odd).
QE keeps only the G inside its density cutoff sphere; here every G of the FFT grid enters.
On 2-atom hcp Mg (Mg.pz-n-vbc, 64 Ry density cutoff) the difference in E_xc is 3e-8 eV.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ldos_surrogate.physics.constants import BOHR_ANGSTROM
from ldos_surrogate.physics.dos import cell_volume
from ldos_surrogate.physics.grid import wavevectors

RADIAL_CUTOFF_BOHR = 10.0
"""QE integrates radial functions up to the first mesh point beyond 10 bohr."""

_SHELLS_PER_BLOCK = 2048


@dataclass(frozen=True)
class RadialCoreCharge:
    """rho_c(r) of one pseudopotential: radii (bohr), Simpson mesh weights dr/dx * dx (bohr)
    and the core charge density (electrons/bohr^3), truncated as QE does. Plain tuples, so
    the values travel in checkpoints and JSON."""

    radii_bohr: tuple[float, ...]
    mesh_weights_bohr: tuple[float, ...]
    density_bohr3: tuple[float, ...]

    @classmethod
    def from_mesh(cls, radii: np.ndarray, weights: np.ndarray, density: np.ndarray):
        """Truncate a full radial mesh at QE's `RADIAL_CUTOFF_BOHR` (odd point count)."""
        beyond = np.nonzero(radii > RADIAL_CUTOFF_BOHR)[0]
        count = int(beyond[0]) + 1 if len(beyond) else len(radii)
        count = 2 * ((count + 1) // 2) - 1
        return cls(*(tuple(float(v) for v in a[:count]) for a in (radii, weights, density)))

    def form_factor(self, wavenumbers_bohr: np.ndarray, volume_bohr3: float) -> np.ndarray:
        """rho_c(G) in electrons/bohr^3 (per atom, per cell volume) at |G| (1/bohr)."""
        r = np.asarray(self.radii_bohr)
        integrand = _simpson_weights(len(r)) * np.asarray(self.mesh_weights_bohr)
        integrand *= r**2 * np.asarray(self.density_bohr3)
        result = np.empty(len(wavenumbers_bohr))
        for start in range(0, len(wavenumbers_bohr), _SHELLS_PER_BLOCK):
            block = wavenumbers_bohr[start : start + _SHELLS_PER_BLOCK]
            result[start : start + len(block)] = np.sinc(np.outer(block, r) / np.pi) @ integrand
        return 4.0 * np.pi * result / volume_bohr3


def _simpson_weights(count: int) -> np.ndarray:
    """Composite Simpson weights 1, 4, 2, 4, ..., 4, 1 over 3 on an odd number of points."""
    weights = np.zeros(count)
    weights[0 : count - 1 : 2] += 1.0
    weights[1 : count - 1 : 2] += 4.0
    weights[2:count:2] += 1.0
    return weights / 3.0


def core_density(
    core_charges: Mapping[str, RadialCoreCharge],
    symbols: Sequence[str],
    positions: np.ndarray,
    cell: np.ndarray,
    grid_shape: tuple[int, int, int],
) -> np.ndarray | None:
    """n_core(r) in electrons/Angstrom^3 on the grid (nx, ny, nz) of the periodic ``cell``
    (Angstrom), atoms ``symbols`` at ``positions`` (Angstrom); elements missing from
    ``core_charges`` have no core charge. None when no atom has one."""
    species = sorted({s for s in symbols if s in core_charges})
    if not species:
        return None
    cell_bohr = np.asarray(cell, dtype=np.float64) / BOHR_ANGSTROM
    wavenumbers = np.linalg.norm(wavevectors(cell_bohr, grid_shape), axis=-1)
    shells, shell_of_point = np.unique(np.round(wavenumbers, 10), return_inverse=True)
    fractional = np.asarray(positions, dtype=np.float64) @ np.linalg.inv(cell)
    coefficients = np.zeros(grid_shape, dtype=np.complex128)
    for element in species:
        form = core_charges[element].form_factor(shells, cell_volume(cell_bohr))
        atoms = [i for i, symbol in enumerate(symbols) if symbol == element]
        coefficients += form[shell_of_point].reshape(grid_shape) * _structure_factor(
            fractional[atoms], grid_shape
        )
    core = np.fft.ifftn(coefficients, norm="forward").real
    return core / BOHR_ANGSTROM**3


def _structure_factor(fractional: np.ndarray, grid_shape: tuple[int, int, int]) -> np.ndarray:
    """sum_a exp(-i G . tau_a) on the FFT grid: exp(-2 pi i m . f_a) factorises over axes."""
    frequencies = [np.fft.fftfreq(n, d=1.0 / n) for n in grid_shape]
    total = np.zeros(grid_shape, dtype=np.complex128)
    for f in fractional:
        x, y, z = (np.exp(-2j * np.pi * m * f_i) for m, f_i in zip(frequencies, f, strict=True))
        total += x[:, None, None] * y[None, :, None] * z[None, None, :]
    return total
