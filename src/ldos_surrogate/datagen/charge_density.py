"""The SCF valence density from pw.x's ``<prefix>.save/charge-density.dat``, on the FFT grid.

QE 6.7 (without HDF5) writes the density's plane-wave coefficients as Fortran sequential
unformatted records (``io_base.f90: write_rhog``; framing as in wavefunctions.py):

1. ``gamma_only, ngm_g, nspin``: logical(int32), int32, int32
2. ``b1, b2, b3``: 9 float64 (reciprocal vectors, 2 pi/alat)
3. ``mill_g(3, ngm_g)``: int32 Miller indices of the G vectors
4. one record per spin: ``rho_g(ngm_g)`` complex128, electrons/bohr^3,

with n(r) = sum_G rho_G exp(i G.r). An NSCF run reads this file and leaves it unchanged, so
it holds the SCF density whichever run wrote the rest of the folder. The inverse FFT on the
FFT grid is exact; pp.x ``plot_num=0`` prints the same values to its 10 digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ldos_surrogate.datagen.wavefunctions import fortran_records
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.qe_output import BOHR_IN_ANGSTROM

_INT = np.dtype("<i4")
CHARGE_DENSITY_FILE = "charge-density.dat"


def read_charge_density(save_dir: str | Path, grid_shape: tuple[int, int, int]) -> np.ndarray:
    """n(r) (nx, ny, nz) in electrons/Angstrom^3 from ``<save_dir>/charge-density.dat``;
    InputError naming the file when it is missing, malformed or spin-polarised."""
    path = Path(save_dir) / CHARGE_DENSITY_FILE
    try:
        records = fortran_records(path.read_bytes())
        gamma_only, n_g, n_spin = np.frombuffer(records[0], _INT)
        if gamma_only or n_spin != 1:
            raise ValueError(f"gamma_only={bool(gamma_only)}, nspin={n_spin}: need a plain run")
        miller = np.frombuffer(records[2], _INT).reshape(n_g, 3)
        coefficients = np.frombuffer(records[3], "<c16")
        if len(coefficients) != n_g:
            raise ValueError(f"expected {n_g} coefficients, got {len(coefficients)}")
    except FileNotFoundError as error:
        raise InputError(f"{path}: charge density file missing") from error
    except (ValueError, IndexError) as error:
        raise InputError(f"{path}: not a readable QE charge density ({error})") from error
    box = np.zeros(grid_shape, dtype=np.complex128)
    box[tuple((miller % np.array(grid_shape)).T)] = coefficients
    return np.fft.ifftn(box, norm="forward").real / BOHR_IN_ANGSTROM**3
