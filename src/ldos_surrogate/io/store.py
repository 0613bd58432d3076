"""The snapshot store: one folder per DFT snapshot, a data set is a folder of them.

A snapshot folder holds

- ``ldos.npy``: LDOS d(eps, r), shape (nx, ny, nz, n_energies), states/(eV Angstrom^3),
  float32 (memory-mapped on read) or float16 (converted to float32 on read);
- ``density.npy`` (optional): the DFT electronic density n(r), shape (nx, ny, nz),
  electrons/Angstrom^3;
- ``atoms.extxyz``: the atoms (ASE-readable), positions in Angstrom;
- ``meta.json``: grid, cell, energy grid, temperature, Fermi energy, electron count,
  DFT reference energies (eV), provenance and the LDOS broadening kernel.

Grid point (i, j, k) sits at fractional coordinates (i/nx, j/ny, k/nz) of the cell.
A data set folder holds snapshot folders and ``manifest.json`` listing them in order.
Every write is atomic: a reader sees a complete snapshot or none.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ase
import ase.io
import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_directory, atomic_write_text

LDOS_FILE = "ldos.npy"
DENSITY_FILE = "density.npy"
ATOMS_FILE = "atoms.extxyz"
META_FILE = "meta.json"
MANIFEST_FILE = "manifest.json"
STORE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class EnergyGrid:
    """A uniform energy grid eps_k = start + k * spacing, k = 0..count-1 (eV)."""

    start_ev: float
    spacing_ev: float
    count: int

    def __post_init__(self) -> None:
        if self.spacing_ev <= 0 or self.count < 2:
            raise InputError(
                f"energy grid needs spacing_ev > 0 and count >= 2, got {self.spacing_ev}, {self.count}"
            )

    @property
    def energies(self) -> np.ndarray:
        """Grid energies in eV, float64, shape (count,)."""
        return self.start_ev + self.spacing_ev * np.arange(self.count, dtype=np.float64)


@dataclass(frozen=True)
class Broadening:
    """The kernel the LDOS was broadened with: ``kernel`` is "gaussian" or "fermi-dirac",
    ``width_ev`` its width (Gaussian sigma, or the Fermi-Dirac k_B T of the kernel) in eV."""

    kernel: str
    width_ev: float


@dataclass(frozen=True)
class SnapshotMeta:
    """Everything about a snapshot except its arrays. Energies in eV, lengths in Angstrom.

    ``reference`` holds DFT reference values (eV) under the keys ``total_free_energy``
    (the DFT code's total energy, -TS included), ``band_energy``, ``one_electron``,
    ``hartree``, ``xc``, ``xc_potential_integral`` (integral v_xc n), ``ewald`` and
    ``smearing_ts`` (the -TS term, <= 0); any subset.
    """

    grid_shape: tuple[int, int, int]
    cell: np.ndarray
    energy_grid: EnergyGrid
    temperature_k: float
    fermi_energy_ev: float
    n_electrons: float
    reference: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    broadening: Broadening | None = None

    @property
    def voxel_volume(self) -> float:
        """Volume per grid point in Angstrom^3."""
        return abs(float(np.linalg.det(self.cell))) / int(np.prod(self.grid_shape))

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": STORE_FORMAT_VERSION,
            "grid_shape": list(self.grid_shape),
            "cell_angstrom": np.asarray(self.cell, dtype=float).tolist(),
            "energy_grid_ev": asdict(self.energy_grid),
            "temperature_k": self.temperature_k,
            "fermi_energy_ev": self.fermi_energy_ev,
            "n_electrons": self.n_electrons,
            "reference_ev": dict(self.reference),
            "provenance": self.provenance,
            "broadening": asdict(self.broadening) if self.broadening else None,
            "ldos_units": "states/(eV Angstrom^3)",
            "density_units": "electrons/Angstrom^3",
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: Path) -> SnapshotMeta:
        try:
            broadening = data.get("broadening")
            meta = cls(
                grid_shape=tuple(int(n) for n in data["grid_shape"]),
                cell=np.asarray(data["cell_angstrom"], dtype=np.float64),
                energy_grid=EnergyGrid(**data["energy_grid_ev"]),
                temperature_k=float(data["temperature_k"]),
                fermi_energy_ev=float(data["fermi_energy_ev"]),
                n_electrons=float(data["n_electrons"]),
                reference={k: float(v) for k, v in data.get("reference_ev", {}).items()},
                provenance=dict(data.get("provenance", {})),
                broadening=Broadening(**broadening) if broadening else None,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{source}: malformed meta.json ({error!r})") from error
        if len(meta.grid_shape) != 3 or meta.cell.shape != (3, 3):
            raise InputError(f"{source}: grid_shape must have 3 entries and cell be 3x3")
        return meta


class Snapshot:
    """A snapshot folder of the store; arrays are read lazily."""

    def __init__(self, path: Path, meta: SnapshotMeta) -> None:
        self.path = path
        self.name = path.name
        self.meta = meta

    def __repr__(self) -> str:
        return f"Snapshot({str(self.path)!r})"

    def atoms(self) -> ase.Atoms:
        """The atoms of the snapshot (positions in Angstrom, periodic cell)."""
        path = self.path / ATOMS_FILE
        try:
            return ase.io.read(path, format="extxyz")
        except (OSError, ValueError, IndexError, KeyError) as error:
            raise InputError(f"{path}: not a readable extxyz file ({error})") from error

    def ldos(self) -> np.ndarray:
        """LDOS, (nx, ny, nz, n_energies) float32, states/(eV Angstrom^3).

        Memory-mapped when stored as float32; a float16 file is converted in memory.
        """
        array = _load_checked(
            self.path / LDOS_FILE, (*self.meta.grid_shape, self.meta.energy_grid.count)
        )
        return array if array.dtype == np.float32 else array.astype(np.float32)

    def ldos_memmap(self) -> np.ndarray:
        """The LDOS as stored (float32 or float16), memory-mapped, for lazy batch access."""
        return _load_checked(
            self.path / LDOS_FILE, (*self.meta.grid_shape, self.meta.energy_grid.count)
        )

    def density(self) -> np.ndarray | None:
        """DFT electronic density, (nx, ny, nz) float, electrons/Angstrom^3, or None."""
        path = self.path / DENSITY_FILE
        if not path.exists():
            return None
        return _load_checked(path, self.meta.grid_shape)

    def check_finite(self) -> None:
        """Raise InputError when the LDOS or density holds NaN or inf (reads the arrays)."""
        for name, array in ((LDOS_FILE, self.ldos_memmap()), (DENSITY_FILE, self.density())):
            if array is not None and not np.isfinite(array).all():
                raise InputError(f"{self.path / name}: contains NaN or inf values")


def open_npy(path: Path) -> np.ndarray:
    """Memory-map a .npy file; InputError naming the file when it is missing or unreadable."""
    try:
        return np.load(path, mmap_mode="r")
    except FileNotFoundError as error:
        raise InputError(f"{path}: file missing") from error
    except (ValueError, OSError) as error:
        raise InputError(f"{path}: not a readable .npy array ({error})") from error


def _load_checked(path: Path, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Memory-map a .npy file and check its shape against meta.json."""
    array = open_npy(path)
    if tuple(array.shape) != tuple(expected_shape):
        raise InputError(
            f"{path}: shape {tuple(array.shape)} does not match meta.json "
            f"(grid_shape and energy_grid_ev give {tuple(expected_shape)})"
        )
    if array.dtype not in (np.float32, np.float16, np.float64):
        raise InputError(f"{path}: dtype {array.dtype} is not a float type")
    return array


def write_snapshot(
    path: str | Path,
    meta: SnapshotMeta,
    atoms: ase.Atoms,
    ldos: np.ndarray,
    density: np.ndarray | None = None,
    ldos_dtype: type = np.float32,
) -> Snapshot:
    """Write a snapshot folder atomically and return it (an existing folder is replaced)."""
    path = Path(path)
    expected = (*meta.grid_shape, meta.energy_grid.count)
    if ldos.shape != expected:
        raise InputError(f"{path}: LDOS shape {ldos.shape} does not match meta {expected}")
    if density is not None and density.shape != meta.grid_shape:
        raise InputError(f"{path}: density shape {density.shape} does not match {meta.grid_shape}")
    if not np.isfinite(ldos).all():
        raise InputError(f"{path}: LDOS contains NaN or inf values")
    with atomic_directory(path) as tmp:
        np.save(tmp / LDOS_FILE, np.ascontiguousarray(ldos, dtype=ldos_dtype))
        if density is not None:
            np.save(tmp / DENSITY_FILE, np.ascontiguousarray(density, dtype=np.float64))
        ase.io.write(tmp / ATOMS_FILE, atoms, format="extxyz")
        (tmp / META_FILE).write_text(json.dumps(meta.to_json(), indent=2))
    return read_snapshot(path)


def read_snapshot(path: str | Path) -> Snapshot:
    """Open a snapshot folder; checks that its files exist and agree with meta.json."""
    path = Path(path)
    meta_path = path / META_FILE
    if not path.is_dir():
        raise InputError(f"{path}: snapshot folder not found")
    try:
        data = json.loads(meta_path.read_text())
    except FileNotFoundError as error:
        raise InputError(f"{meta_path}: file missing") from error
    except json.JSONDecodeError as error:
        raise InputError(f"{meta_path}: not valid JSON ({error})") from error
    if not (path / ATOMS_FILE).exists():
        raise InputError(f"{path / ATOMS_FILE}: file missing")
    snapshot = Snapshot(path, SnapshotMeta.from_json(data, meta_path))
    snapshot.ldos_memmap()  # shape check against the energy grid and grid shape
    snapshot.density()
    return snapshot


def read_dataset(path: str | Path) -> list[Snapshot]:
    """Open every snapshot listed in ``<path>/manifest.json``, in manifest order."""
    path = Path(path)
    if not (path / MANIFEST_FILE).exists():
        raise InputError(f"{path / MANIFEST_FILE}: data set manifest missing")
    return [read_snapshot(path / name) for name in dataset_names(path)]


def dataset_names(path: str | Path) -> list[str]:
    """Names of the snapshots listed in a data set's manifest (empty when it has none)."""
    manifest = Path(path) / MANIFEST_FILE
    if not manifest.exists():
        return []
    try:
        names = json.loads(manifest.read_text())["snapshots"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise InputError(
            f'{manifest}: malformed manifest, expected {{"snapshots": [names]}} ({error!r})'
        ) from error
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise InputError(f"{manifest}: malformed manifest, snapshots must be a list of names")
    return names


def add_to_manifest(dataset_dir: str | Path, name: str) -> None:
    """Append snapshot ``name`` to the data set's manifest (atomic; no duplicates)."""
    names = dataset_names(dataset_dir)
    if name not in names:
        names.append(name)
    atomic_write_text(Path(dataset_dir) / MANIFEST_FILE, json.dumps({"snapshots": names}, indent=2))
