"""Generate a data set of DFT snapshots at temperature T, resumably, into the snapshot store.

Each snapshot: thermal displacements (`thermal`) -> QE SCF, density, NSCF, LDOS (`dft`)
-> one atomic `write_snapshot` + `add_to_manifest`. A finished snapshot is never
recomputed: a killed run restarts where it stopped. The data set's settings and its
energy grid are kept in ``<out>/datagen.json``; resuming with different settings is refused.

The energy grid is the same for every snapshot (the network's output axis): it is fixed
by the first snapshot's SCF Fermi energy E_F as E_F - below ... E_F + above, the start
rounded to a multiple of the spacing.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.elements import element
from ldos_surrogate.datagen.ldos import KERNELS, ldos_from_wavefunctions
from ldos_surrogate.datagen.qe import PwSettings, QeRunner
from ldos_surrogate.datagen.thermal import thermal_snapshot
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_write_text
from ldos_surrogate.io.qe_output import PwResult
from ldos_surrogate.io.store import (
    Broadening,
    EnergyGrid,
    SnapshotMeta,
    add_to_manifest,
    dataset_names,
    write_snapshot,
)

SETTINGS_FILE = "datagen.json"
LDOS_METHODS = ("wavefunctions", "pp.x")
LDOS_DTYPES = {"float16": np.float16, "float32": np.float32}


@dataclass(frozen=True)
class DatagenSettings:
    """What defines a data set (all snapshots share it). Energies eV, temperature K."""

    element: str
    supercell: int
    temperature_k: float
    seed: int = 0
    ecutwfc_ry: float | None = None  # None: the element's
    k_mesh: tuple[int, int, int] | None = None  # None: the element's, divided by supercell
    nscf_k_mesh: tuple[int, int, int] | None = None  # None: the SCF mesh
    energy_below_fermi_ev: float | None = None  # None: the element's
    energy_above_fermi_ev: float = 2.5
    energy_spacing_ev: float = 0.05
    broadening_kernel: str = "gaussian"
    broadening_width_ev: float = 0.05
    ldos_method: str = "wavefunctions"
    ldos_dtype: str = "float16"
    pseudo_dir: str = "/usr/share/espresso/pseudo"

    def __post_init__(self) -> None:
        chosen = element(self.element)
        defaults = {
            "ecutwfc_ry": chosen.ecutwfc_ry,
            "k_mesh": chosen.k_mesh_for(self.supercell),
            "energy_below_fermi_ev": chosen.energy_below_fermi_ev,
        }
        for key, value in defaults.items():  # resolved, so datagen.json records the values
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        checks = {
            "supercell": self.supercell >= 1,
            "temperature_k": self.temperature_k > 0,
            "energy_spacing_ev": self.energy_spacing_ev > 0,
            "broadening_width_ev": self.broadening_width_ev > 0,
            "broadening_kernel": self.broadening_kernel in KERNELS,
            "ldos_method": self.ldos_method in LDOS_METHODS,
            "ldos_dtype": self.ldos_dtype in LDOS_DTYPES,
            "k_mesh": all(n >= 1 for n in self.k_mesh),
        }
        for key, ok in checks.items():
            if not ok:
                raise InputError(f"datagen setting {key}={getattr(self, key)!r} is invalid")

    @property
    def broadening(self) -> Broadening:
        return Broadening(self.broadening_kernel, self.broadening_width_ev)

    def pw_settings(self, k_mesh: tuple[int, int, int]) -> PwSettings:
        chosen = element(self.element)
        pseudo_dir = Path(self.pseudo_dir)
        if not (pseudo_dir / chosen.pseudopotential).is_file():
            raise InputError(
                f"{pseudo_dir / chosen.pseudopotential}: pseudopotential missing (set --pseudo-dir)"
            )
        return PwSettings(
            pseudo_dir=pseudo_dir,
            pseudopotential=chosen.pseudopotential,
            ecutwfc_ry=self.ecutwfc_ry,
            k_mesh=k_mesh,
            temperature_k=self.temperature_k,
        )


@dataclass
class Generator:
    """Generates the snapshots of one data set folder."""

    settings: DatagenSettings
    out: Path
    runner: QeRunner = field(default_factory=QeRunner)
    scratch_root: Path | None = None

    def run(self, n_snapshots: int) -> list[str]:
        """Make snapshots 0 .. n_snapshots-1 (skipping finished ones); returns their names."""
        self.settings.pw_settings(self.settings.k_mesh)  # pseudopotential present?
        self.runner.require("pw.x", "pp.x")
        self.out.mkdir(parents=True, exist_ok=True)
        self.energy_grid = self._load_settings()
        for leftover in self.out.glob(".snapshot_*.tmp"):  # from a writer killed mid-write
            shutil.rmtree(leftover)
        names = [f"snapshot_{index:04d}" for index in range(n_snapshots)]
        for index, name in enumerate(tqdm(names, desc="snapshots", unit="snapshot")):
            if (self.out / name / "meta.json").exists():  # written atomically: complete
                add_to_manifest(self.out, name)
                continue
            self._make_snapshot(index, name)
        return dataset_names(self.out)

    def _load_settings(self) -> EnergyGrid | None:
        """Check ``datagen.json`` against the settings; return the stored energy grid."""
        path = self.out / SETTINGS_FILE
        wanted = json.loads(json.dumps(asdict(self.settings)))
        if not path.exists():
            atomic_write_text(path, json.dumps({"settings": wanted}, indent=2))
            return None
        try:
            stored = json.loads(path.read_text())
            recorded = dict(stored["settings"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise InputError(f"{path}: not a datagen settings file ({error!r})") from error
        for key, value in wanted.items():
            if recorded.get(key) != value:
                raise InputError(
                    f"{path}: data set was generated with {key}={recorded.get(key)!r}, "
                    f"not {value!r}; use another --out or the same settings to resume"
                )
        grid = stored.get("energy_grid_ev")
        return EnergyGrid(**grid) if grid else None

    def _fix_energy_grid(self, fermi_energy: float) -> EnergyGrid:
        s = self.settings
        start = np.round((fermi_energy - s.energy_below_fermi_ev) / s.energy_spacing_ev)
        count = (
            int(round((s.energy_below_fermi_ev + s.energy_above_fermi_ev) / s.energy_spacing_ev))
            + 1
        )
        grid = EnergyGrid(float(start * s.energy_spacing_ev), s.energy_spacing_ev, count)
        path = self.out / SETTINGS_FILE
        stored = json.loads(path.read_text())
        stored["energy_grid_ev"] = asdict(grid)
        atomic_write_text(path, json.dumps(stored, indent=2))
        return grid

    def _make_snapshot(self, index: int, name: str) -> None:
        s = self.settings
        chosen = element(s.element)
        atoms = thermal_snapshot(
            chosen.supercell(s.supercell),
            s.temperature_k,
            chosen.debye_temperature_k,
            s.seed,
            index,
        )
        scf_settings = s.pw_settings(s.k_mesh)
        nscf_settings = s.pw_settings(s.nscf_k_mesh or s.k_mesh)
        if self.scratch_root:
            self.scratch_root.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=self.scratch_root))
        clock = {"start": time.perf_counter()}
        try:
            scf = dft.run_pw(atoms, scf_settings, self.runner, workdir, "scf")
            density = dft.scf_density(self.runner, workdir)
            clock["scf"] = time.perf_counter()
            if self.energy_grid is None:
                self.energy_grid = self._fix_energy_grid(scf.fermi_energy)
            grid = self.energy_grid
            n_bands = dft.bands_needed(scf, grid.energies[-1] + 1.0)
            nscf = dft.run_pw(atoms, nscf_settings, self.runner, workdir, "nscf", n_bands)
            dft.check_window(nscf, grid, s.broadening)
            clock["nscf"] = time.perf_counter()
            ldos = self._ldos(workdir, nscf, grid)
            clock["ldos"] = time.perf_counter()
        except InputError as error:
            raise InputError(f"snapshot {name}: {error} (QE files kept in {workdir})") from error
        meta = SnapshotMeta(
            grid_shape=nscf.fft_grid,
            cell=scf.cell,
            energy_grid=grid,
            temperature_k=s.temperature_k,
            fermi_energy_ev=nscf.fermi_energy,
            n_electrons=scf.n_electrons,
            reference={**scf.energies, "band_energy": nscf.band_energy},
            provenance=_provenance(s, scf, nscf, clock),
            broadening=s.broadening,
        )
        write_snapshot(
            self.out / name,
            meta,
            atoms,
            ldos,
            density=density,
            ldos_dtype=LDOS_DTYPES[s.ldos_dtype],
        )
        add_to_manifest(self.out, name)
        shutil.rmtree(workdir)

    def _ldos(self, workdir: Path, nscf: PwResult, grid: EnergyGrid) -> np.ndarray:
        if self.settings.ldos_method == "pp.x":
            progress = _bar("LDOS energy batches")
            return dft.ldos_from_pp(
                self.runner, workdir, grid, self.settings.broadening, progress=progress
            )
        return ldos_from_wavefunctions(
            dft.save_dir(workdir),
            nscf,
            grid,
            self.settings.broadening,
            progress=_bar("LDOS k-points"),
        )


def _bar(description: str):
    return lambda items: tqdm(items, desc=description, leave=False)


def _provenance(s: DatagenSettings, scf: PwResult, nscf: PwResult, clock: dict) -> dict:
    return {
        "code": "Quantum ESPRESSO",
        "version": scf.version,
        "pseudopotentials": scf.pseudopotentials,
        "xc_functional": scf.functional,
        "ecutwfc_ry": scf.ecutwfc_ry,
        "ecutrho_ry": scf.ecutrho_ry,
        "k_mesh": list(scf.k_mesh),
        "nscf_k_mesh": list(nscf.k_mesh),
        "nbnd": int(nscf.eigenvalues.shape[1]),
        "smearing": {"kind": scf.smearing, "width_ev": scf.smearing_width},
        "symmetry": "none (nosym), time reversal only",
        "ldos_method": s.ldos_method,
        "ldos_dtype": s.ldos_dtype,
        "reference_sources": {
            "band_energy": "nscf eigenvalues and occupations",
            "fermi_energy": "nscf",
            "others": "scf",
        },
        "thermal_displacements": {
            "model": "Debye mean-square displacement, independent atoms, zero-point included",
            "seed": s.seed,
            "supercell": s.supercell,
            "element": s.element,
        },
        "kohn_sham_states": {  # the NSCF states the LDOS sums over, for checks
            "k_weights": nscf.k_weights.tolist(),
            "eigenvalues_ev": nscf.eigenvalues.tolist(),
        },
        "timings_s": {
            "scf_and_density": round(clock["scf"] - clock["start"], 2),
            "nscf": round(clock["nscf"] - clock["scf"], 2),
            "ldos": round(clock["ldos"] - clock["nscf"], 2),
        },
    }
