"""The LDOS and the density from Kohn-Sham states (the fast path, no pp.x).

The LDOS on an energy grid (seed paper Eq. 4, broadened):

    d(eps, r) = sum_nk w_k delta_s(eps - eps_nk) |psi_nk(r)|^2          states/(eV Angstrom^3)

with the k-weights w_k summing to 2 (spin degeneracy) and delta_s a normalised broadening
kernel of width s (1/eV). The density from the occupied states is

    n(r) = sum_nk w_k f_nk |psi_nk(r)|^2                                electrons/Angstrom^3

with the occupations f_nk of the DFT run. Both sum over k-points one wavefunction file at
a time, so memory stays at one k-point's states plus the output.

A run with symmetry stores only the irreducible k-points, each weighted by its star; the
sums then hold sum_k w_k |psi_k(r)|^2 of the reduced set, and the average over the crystal
symmetries {W|t}, (1/N_S) sum_S F(W x + t), restores the full-zone sum (|psi_Sk(S x)|^2 =
|psi_k(x)|^2). QE keeps only symmetries that map its FFT grid onto itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ldos_surrogate.datagen.wavefunctions import read_wavefunctions, wavefunction_files
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.qe_output import PwResult
from ldos_surrogate.io.store import Broadening, EnergyGrid

KERNELS = ("gaussian", "fermi-dirac")


def broadening_kernel(x: np.ndarray, broadening: Broadening) -> np.ndarray:
    """delta_s(x) in 1/eV for energy offsets x (eV); each kernel integrates to 1.

    gaussian:    exp(-x^2 / (2 s^2)) / (s sqrt(2 pi))
    fermi-dirac: -df/dx of f(x) = 1 / (1 + exp(x / s)), i.e. 1 / (4 s cosh^2(x / 2s)),
                 the shape pp.x 6.7 broadens with when the run used Fermi-Dirac smearing
                 (QE's w0gauss with ngauss = -99).
    """
    s = broadening.width_ev
    if broadening.kernel == "gaussian":
        return np.exp(-0.5 * (x / s) ** 2) / (s * np.sqrt(2 * np.pi))
    if broadening.kernel == "fermi-dirac":
        return 1.0 / (4 * s * np.cosh(np.clip(x / (2 * s), -300, 300)) ** 2)
    raise InputError(f"broadening kernel {broadening.kernel!r}: expected one of {KERNELS}")


def broadened_dos(
    eigenvalues: np.ndarray, k_weights: np.ndarray, energy_grid: EnergyGrid, broadening: Broadening
) -> np.ndarray:
    """D(eps) = sum_nk w_k delta_s(eps - eps_nk) in states/eV on the grid: the spatial integral
    of the LDOS, from eigenvalues (n_k, n_bands) eV and k-weights (n_k,) alone."""
    offsets = energy_grid.energies[None, None, :] - eigenvalues[:, :, None]
    return np.einsum("k,kne->e", k_weights, broadening_kernel(offsets, broadening))


def ldos_from_wavefunctions(
    save_dir: str | Path,
    run: PwResult,
    energy_grid: EnergyGrid,
    broadening: Broadening,
    progress: Iterable | None = None,
) -> np.ndarray:
    """The broadened LDOS (nx, ny, nz, n_energies), float64, states/(eV Angstrom^3).

    ``run`` is the pw.x run that wrote the wavefunctions in ``save_dir`` (its
    eigenvalues and k-weights); ``progress`` optionally wraps the k-point loop (tqdm).
    """
    volume = abs(np.linalg.det(run.cell))
    n_grid = int(np.prod(run.fft_grid))
    ldos = np.zeros((n_grid, energy_grid.count))
    energies = energy_grid.energies
    files = wavefunction_files(save_dir, len(run.k_weights))
    for k, path in enumerate(progress(files) if progress else files):
        densities = read_wavefunctions(path).band_densities(run.fft_grid).reshape(-1, n_grid)
        offsets = energies[None, :] - run.eigenvalues[k, : len(densities), None]
        weights = run.k_weights[k] / volume * broadening_kernel(offsets, broadening)
        ldos += densities.T @ weights
    return symmetrised(ldos.reshape(*run.fft_grid, energy_grid.count), run.symmetries)


def density_from_wavefunctions(save_dir: str | Path, run: PwResult) -> np.ndarray:
    """n(r) = sum_nk w_k f_nk |psi_nk(r)|^2 on the FFT grid (nx, ny, nz), electrons/Angstrom^3."""
    volume = abs(np.linalg.det(run.cell))
    density = np.zeros(run.fft_grid)
    for k, path in enumerate(wavefunction_files(save_dir, len(run.k_weights))):
        band_densities = read_wavefunctions(path).band_densities(run.fft_grid)
        weights = run.k_weights[k] * run.occupations[k, : len(band_densities)] / volume
        density += np.tensordot(weights, band_densities, axes=1)
    return symmetrised(density, run.symmetries)


def symmetrised(
    values: np.ndarray, symmetries: tuple[tuple[np.ndarray, np.ndarray], ...]
) -> np.ndarray:
    """(1/N_S) sum_S values(W_S x + t_S) on the grid (the first three axes; fractional x =
    i / n); ``values`` itself for the identity alone. InputError when a symmetry does not
    map the grid onto itself."""
    if len(symmetries) <= 1:
        return values
    shape = np.array(values.shape[:3])
    indices = np.indices(values.shape[:3]).reshape(3, -1)
    total = np.zeros_like(values)
    for rotation, translation in symmetries:
        mapped = shape[:, None] * (rotation @ (indices / shape[:, None]) + translation[:, None])
        rounded = np.rint(mapped)
        if np.abs(mapped - rounded).max() > 1e-5:
            raise InputError(
                f"symmetry {rotation.tolist()} + {translation.tolist()} does not map the "
                f"{tuple(shape)} grid onto itself"
            )
        i, j, k = rounded.astype(int) % shape[:, None]
        total += values[i, j, k].reshape(values.shape)
    return total / len(symmetries)
