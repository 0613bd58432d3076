"""Reader for MALA's data format, as MALA writes it.

A MALA snapshot is three files sharing a prefix:

- ``<prefix>.in.npy``: descriptors, (nx, ny, nz, 3 + n_features) float32; the first three
  columns are grid coordinates and are dropped here;
- ``<prefix>.out.npy``: LDOS, (nx, ny, nz, n_energies), states/(eV Angstrom^3);
- ``<prefix>.info.json``: DFT reference values (eV), temperature (K), atoms, grid.

The energy grid is not stored in MALA's files (it is an input of MALA's ``Parameters``),
so it is an argument here.
"""

from __future__ import annotations

import json
from pathlib import Path

import ase
import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import EnergyGrid, SnapshotMeta, open_npy

N_COORDINATE_COLUMNS = 3

# MALA info.json key -> store reference key (both eV)
REFERENCE_KEYS = {
    "total_energy_dft_calculation": "total_free_energy",
    "band_energy_dft_calculation": "band_energy",
    "one_electron_contribution": "one_electron",
    "hartree_contribution": "hartree",
    "xc_contribution": "xc",
    "ewald_contribution": "ewald",
    "entropy_contribution_dft_calculation": "smearing_ts",
}


class MalaSnapshot:
    """One MALA-format snapshot; arrays are memory-mapped on access."""

    def __init__(self, prefix: str | Path, energy_grid: EnergyGrid) -> None:
        self.prefix = Path(prefix)
        self.path = self.prefix.parent
        self.name = self.prefix.name
        self._info_path = Path(f"{self.prefix}.info.json")
        self._info = _read_json(self._info_path)
        self.meta = _meta_from_info(self._info, energy_grid, self._info_path)

    def __repr__(self) -> str:
        return f"MalaSnapshot({str(self.prefix)!r})"

    def atoms(self) -> ase.Atoms:
        """The atoms stored in info.json (Angstrom)."""
        data = self._info["atoms"]
        return ase.Atoms(
            numbers=data["numbers"], positions=data["positions"], cell=data["cell"], pbc=data["pbc"]
        )

    def ldos(self) -> np.ndarray:
        """LDOS (nx, ny, nz, n_energies) float32, states/(eV Angstrom^3), memory-mapped."""
        path = Path(f"{self.prefix}.out.npy")
        array = _load(path)
        expected = (*self.meta.grid_shape, self.meta.energy_grid.count)
        if array.shape != expected:
            raise InputError(
                f"{path}: shape {array.shape} does not match the grid of {self._info_path.name} "
                f"and the energy grid ({expected})"
            )
        return array

    def descriptors(self) -> np.ndarray:
        """Descriptors (nx, ny, nz, n_features) float32 without the coordinate columns."""
        path = Path(f"{self.prefix}.in.npy")
        array = _load(path)
        if array.ndim != 4 or array.shape[:3] != self.meta.grid_shape:
            raise InputError(
                f"{path}: shape {array.shape} does not match grid {self.meta.grid_shape} "
                f"of {self._info_path.name}"
            )
        if array.shape[3] <= N_COORDINATE_COLUMNS:
            raise InputError(f"{path}: has no feature columns after the 3 coordinate columns")
        return array[..., N_COORDINATE_COLUMNS:]


def read_mala_snapshot(prefix: str | Path, energy_grid: EnergyGrid) -> MalaSnapshot:
    """Open the MALA snapshot ``<prefix>.{in,out}.npy`` + ``<prefix>.info.json``."""
    return MalaSnapshot(prefix, energy_grid)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise InputError(f"{path}: file missing") from error
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not valid JSON ({error})") from error


def _load(path: Path) -> np.ndarray:
    """Memory-mapped float32 array (converted in memory when stored otherwise)."""
    array = open_npy(path)
    if array.dtype != np.float32:
        return array.astype(np.float32)
    return array


def _meta_from_info(info: dict, energy_grid: EnergyGrid, source: Path) -> SnapshotMeta:
    try:
        return SnapshotMeta(
            grid_shape=tuple(int(n) for n in info["grid_dimensions"]),
            cell=np.asarray(info["atoms"]["cell"], dtype=np.float64),
            energy_grid=energy_grid,
            temperature_k=float(info["temperature"]),
            fermi_energy_ev=float(info["fermi_energy_dft"]),
            n_electrons=float(info["number_of_electrons_exact"]),
            reference={new: float(info[old]) for old, new in REFERENCE_KEYS.items() if old in info},
            provenance={
                "code": "Quantum ESPRESSO",
                "format": "MALA",
                "pseudopotentials": info.get("pseudopotentials", {}),
                "ecutwfc_ry": info.get("ecutwfc"),
                "ecutrho_ry": info.get("ecutrho"),
                "degauss_ry": info.get("degauss"),
            },
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{source}: missing or malformed key ({error!r})") from error
