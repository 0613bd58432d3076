"""Kohn-Sham wavefunctions from pw.x's ``<prefix>.save/wfc<k>.dat`` files, on the FFT grid.

QE 6.7 (without HDF5, as Debian builds it) writes one Fortran sequential unformatted file
per k-point (``io_base.f90: write_wfc``). Each Fortran record is framed by 4-byte length
markers; the records are

1. ``ik, xk(3), ispin, gamma_only, scalef``: int32, 3 float64, int32, logical(int32), float64
2. ``ngw, igwx, npol, nbnd``: 4 int32
3. ``b1, b2, b3``: 9 float64 (reciprocal vectors, 2 pi/alat)
4. ``mill(3, igwx)``: int32 Miller indices of the plane waves G
5. one record per band: ``evc(npol * igwx)`` complex128 coefficients c_nk(G).

With the coefficients normalised (sum_G |c|^2 = 1), the Bloch state on the FFT grid is
psi_nk(r_j) = Omega^(-1/2) exp(i k.r_j) sum_G c_nk(G) exp(i G.r_j), r_j = (j1/n1, j2/n2, j3/n3)
in fractional coordinates; |psi|^2 does not depend on the phase exp(i k.r).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ldos_surrogate.errors import InputError

_INT = np.dtype("<i4")


@dataclass(frozen=True)
class KPointWavefunctions:
    """The plane-wave coefficients of all bands at one k-point."""

    miller: np.ndarray  # (n_pw, 3) int, G = m1 b1 + m2 b2 + m3 b3
    coefficients: np.ndarray  # (n_bands, n_pw) complex128

    def band_densities(self, grid_shape: tuple[int, int, int]) -> np.ndarray:
        """Omega |psi_nk(r)|^2 on the FFT grid, shape (n_bands, nx, ny, nz), dimensionless.

        Its mean over the grid is 1 per band (normalised states); divide by the cell
        volume Omega for a density per volume. The inverse FFT (exp(+i G.r)) is exact on
        the grid: QE's FFT grid holds every G of the wavefunction sphere.
        """
        box = np.zeros((self.coefficients.shape[0], *grid_shape), dtype=np.complex128)
        m = self.miller
        box[:, m[:, 0] % grid_shape[0], m[:, 1] % grid_shape[1], m[:, 2] % grid_shape[2]] = (
            self.coefficients
        )
        psi = np.fft.ifftn(box, axes=(1, 2, 3), norm="forward")
        return psi.real**2 + psi.imag**2


def read_wavefunctions(path: str | Path) -> KPointWavefunctions:
    """Read one ``wfc<k>.dat`` file; InputError naming it when it is missing or malformed."""
    path = Path(path)
    try:
        records = fortran_records(path.read_bytes())
        n_pw_total, n_pw, n_polarisations, n_bands = np.frombuffer(records[1], _INT)
        if n_polarisations != 1:
            raise ValueError("noncollinear wavefunctions (npol = 2) are not supported")
        if np.frombuffer(records[0], _INT, count=1, offset=32)[0]:  # gamma_only
            raise ValueError("gamma-only wavefunctions (K_POINTS gamma) are not supported")
        miller = np.frombuffer(records[3], _INT).reshape(n_pw, 3)
        coefficients = np.stack(
            [np.frombuffer(record, "<c16") for record in records[4 : 4 + n_bands]]
        )
        if coefficients.shape != (n_bands, n_pw):
            raise ValueError(f"expected {n_bands} bands of {n_pw} coefficients")
    except FileNotFoundError as error:
        raise InputError(f"{path}: wavefunction file missing") from error
    except ValueError as error:
        raise InputError(f"{path}: not a readable QE wavefunction file ({error})") from error
    return KPointWavefunctions(miller=miller.astype(np.int64), coefficients=coefficients)


def fortran_records(data: bytes) -> list[bytes]:
    """Split Fortran sequential unformatted data into records (4-byte length markers)."""
    records, position = [], 0
    while position < len(data):
        (length,) = np.frombuffer(data, _INT, count=1, offset=position)
        end = position + 4 + int(length)
        (closing,) = np.frombuffer(data, _INT, count=1, offset=end)
        if closing != length:
            raise ValueError(f"record at byte {position}: length markers differ")
        records.append(data[position + 4 : end])
        position = end + 4
    return records


def wavefunction_files(save_dir: str | Path, n_k_points: int) -> list[Path]:
    """The ``wfc1.dat ... wfc<n_k>.dat`` files of a pw.x ``<prefix>.save`` directory."""
    return [Path(save_dir) / f"wfc{index}.dat" for index in range(1, n_k_points + 1)]
