"""Generate a data set of DFT snapshots at temperature T, resumably, into the snapshot store.

Each snapshot: its atoms (`structures`: a built-in crystal or any file, with Debye or MD
displacements or as given) -> QE SCF, density, NSCF, LDOS (`dft`) -> the physics checks
(`checks`) -> one atomic `write_snapshot` + `add_to_manifest`. A finished snapshot is never
recomputed: a killed run restarts where it stopped. The data set's settings and its energy
grid are kept in ``<out>/datagen.json``; resuming with different settings is refused. A
pseudopotential file outside QE's folders is copied into the data set folder, where the
energy code finds it.

The energy grid is the same for every snapshot (the network's output axis): it is fixed
by the first snapshot's SCF Fermi energy E_F as E_F - below ... E_F + above, the start
rounded to a multiple of the spacing. ``below`` is the elements' default, or, when an
element has none, the first snapshot's band bottom minus 1 eV and the kernel's reach.

Defaults for any structure come from the elements the project knows (elements.py): the
largest cutoff, the finest k-point density and the deepest window of the elements present.
For an element without defaults the cutoff and k-mesh must be given.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import ase
import numpy as np
from tqdm.auto import tqdm

from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.checks import snapshot_checks
from ldos_surrogate.datagen.elements import ELEMENTS, element, k_mesh_for_cell
from ldos_surrogate.datagen.ldos import KERNELS, ldos_from_wavefunctions
from ldos_surrogate.datagen.md import MdSettings
from ldos_surrogate.datagen.namelist import check_pw_settings
from ldos_surrogate.datagen.qe import PwSettings, QeRunner
from ldos_surrogate.datagen.structures import SnapshotAtoms, file_digest, read_frames
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_path, atomic_write_text
from ldos_surrogate.io.qe_output import PwResult
from ldos_surrogate.io.store import (
    Broadening,
    EnergyGrid,
    SnapshotMeta,
    add_to_manifest,
    dataset_names,
    write_snapshot,
)
from ldos_surrogate.physics.pseudopotential import Pseudopotential, find_pseudopotential, read_upf

SETTINGS_FILE = "datagen.json"
LDOS_METHODS = ("wavefunctions", "pp.x")
LDOS_DTYPES = {"float16": np.float16, "float32": np.float32}


@dataclass(frozen=True)
class DatagenSettings:
    """What defines a data set (all snapshots share it). Energies eV, temperature K.

    The structure is a built-in crystal (``element``, ``supercell``) or an atoms file
    (``atoms_file``; ``atoms_sha256`` is filled in). ``pseudopotentials`` maps elements to
    UPF files (a name in ``pseudo_dir`` or a path; unset elements take the project's);
    ``pw_extra`` holds extra pw.x namelist settings (namelist.py).
    """

    temperature_k: float
    element: str | None = None
    supercell: int = 1
    atoms_file: str | None = None
    atoms_sha256: str | None = None
    displacements: str | None = None  # None: "debye" for a built-in crystal, "none" for a file
    debye_temperature_k: float | None = None  # None: the element's
    md: MdSettings | None = None  # for displacements "md"; None: MdSettings()
    pseudopotentials: dict[str, str] | None = None
    pw_extra: dict[str, str] | None = None
    seed: int = 0
    ecutwfc_ry: float | None = None  # None: the elements' largest
    k_mesh: tuple[int, int, int] | None = None  # None: the elements' k-point density
    nscf_k_mesh: tuple[int, int, int] | None = None  # None: the SCF mesh
    energy_below_fermi_ev: float | None = None  # None: the elements' deepest, or band bottom
    energy_above_fermi_ev: float = 2.5
    energy_spacing_ev: float = 0.05
    broadening_kernel: str = "gaussian"
    broadening_width_ev: float = 0.05
    ldos_method: str = "wavefunctions"
    ldos_dtype: str = "float16"
    pseudo_dir: str = "/usr/share/espresso/pseudo"

    def __post_init__(self) -> None:
        if (self.element is None) == (self.atoms_file is None):
            raise InputError("give --element (a built-in crystal) or --atoms FILE, one of them")
        if self.supercell < 1:
            raise InputError(f"--supercell: expected a repeat count >= 1, got {self.supercell}")
        if self.atoms_file is not None:
            self._resolve(atoms_file=str(Path(self.atoms_file).resolve()))
        check_pw_settings(self.pw_extra or {})
        symbols = self.symbols  # reads the atoms file: a bad one is one error naming it
        if self.atoms_file is not None:
            self._resolve(atoms_sha256=file_digest(self.atoms_file))
        known = [ELEMENTS[s] for s in symbols if s in ELEMENTS]
        unknown = sorted(set(symbols) - set(ELEMENTS))
        if self.element is not None:
            chosen = element(self.element)
            defaults = {
                "ecutwfc_ry": chosen.ecutwfc_ry,
                "k_mesh": chosen.k_mesh_for(self.supercell),
                "energy_below_fermi_ev": chosen.energy_below_fermi_ev,
            }
        elif not unknown:
            density = max(e.k_point_density_angstrom for e in known)
            defaults = {
                "ecutwfc_ry": max(e.ecutwfc_ry for e in known),
                "k_mesh": k_mesh_for_cell(self.frames[0].cell[:], density),
                "energy_below_fermi_ev": max(e.energy_below_fermi_ev for e in known),
            }
        else:
            defaults = {}
            for key, option in (("ecutwfc_ry", "--ecutwfc"), ("k_mesh", "--kmesh")):
                if getattr(self, key) is None:
                    raise InputError(
                        f"{option}: required, the project has no tested default for {unknown} "
                        "(choose it by a convergence check, data/README.md)"
                    )
        for key, value in defaults.items():  # resolved, so datagen.json records the values
            if getattr(self, key) is None:
                self._resolve(**{key: value})
        checks = {
            "temperature_k": self.temperature_k > 0,
            "energy_spacing_ev": self.energy_spacing_ev > 0,
            "broadening_width_ev": self.broadening_width_ev > 0,
            "broadening_kernel": self.broadening_kernel in KERNELS,
            "ldos_method": self.ldos_method in LDOS_METHODS,
            "ldos_dtype": self.ldos_dtype in LDOS_DTYPES,
            "ecutwfc_ry": self.ecutwfc_ry > 0,
            "k_mesh": len(self.k_mesh) == 3 and all(n >= 1 for n in self.k_mesh),
        }
        for key, ok in checks.items():
            if not ok:
                raise InputError(f"datagen setting {key}={getattr(self, key)!r} is invalid")

    def _resolve(self, **values) -> None:
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @functools.cached_property
    def frames(self) -> list[ase.Atoms]:
        """The structures: the built-in crystal, or every frame of the atoms file, each
        repeated ``supercell`` times along its cell vectors."""
        if self.element is not None:
            return [element(self.element).supercell(self.supercell)]
        return [atoms.repeat(self.supercell) for atoms in read_frames(self.atoms_file)]

    @property
    def symbols(self) -> list[str]:
        """The elements present, sorted."""
        return sorted({s for atoms in self.frames for s in atoms.get_chemical_symbols()})

    @property
    def broadening(self) -> Broadening:
        return Broadening(self.broadening_kernel, self.broadening_width_ev)

    @property
    def displacement_model(self) -> str:
        """``displacements``, defaulting to debye for a built-in crystal, none for a file."""
        return self.displacements or ("debye" if self.element else "none")

    @property
    def debye_temperature(self) -> float | None:
        """``debye_temperature_k``, or the built-in one of a single-element structure."""
        symbols = self.symbols
        if self.debye_temperature_k is None and len(symbols) == 1 and symbols[0] in ELEMENTS:
            return ELEMENTS[symbols[0]].debye_temperature_k
        return self.debye_temperature_k

    def pseudopotential_files(self) -> dict[str, Path]:
        """Element -> UPF file, each checked to exist and to be for that element."""
        given = self.pseudopotentials or {}
        files = {}
        for symbol in self.symbols:
            if symbol in given:
                name = given[symbol]
            elif symbol in ELEMENTS:
                name = ELEMENTS[symbol].pseudopotential
            else:
                raise InputError(
                    f"--pseudo: no pseudopotential for {symbol}, give --pseudo {symbol}=FILE"
                )
            path = Path(name) if Path(name).is_file() else Path(self.pseudo_dir) / name
            if not path.is_file():
                raise InputError(f"{path}: pseudopotential missing (set --pseudo-dir)")
            header = read_upf(path)
            if header.element.strip() != symbol:
                raise InputError(f"--pseudo {symbol}={name}: {path} is for {header.element}")
            files[symbol] = path.resolve()
        return files

    def pw_settings(self, pseudo_dir: Path, k_mesh: tuple[int, int, int]) -> PwSettings:
        """pw.x settings reading the pseudopotential files from ``pseudo_dir``."""
        return PwSettings(
            pseudo_dir=pseudo_dir,
            pseudopotentials={s: p.name for s, p in self.pseudopotential_files().items()},
            ecutwfc_ry=self.ecutwfc_ry,
            k_mesh=k_mesh,
            temperature_k=self.temperature_k,
            extra=self.pw_extra or {},
        )

    def snapshot_atoms(self, dataset_dir: Path) -> SnapshotAtoms:
        return SnapshotAtoms(
            frames=self.frames,
            displacements=self.displacement_model,
            temperature_k=self.temperature_k,
            seed=self.seed,
            debye_temperature_k=self.debye_temperature,
            md=self.md,
            dataset_dir=dataset_dir,
        )


def _as_json(value):
    return json.loads(json.dumps(value, default=asdict))


@dataclass
class Generator:
    """Generates the snapshots of one data set folder."""

    settings: DatagenSettings
    out: Path
    runner: QeRunner = field(default_factory=QeRunner)
    scratch_root: Path | None = None

    def run(self, n_snapshots: int | None = None) -> list[str]:
        """Make snapshots 0 .. n-1 (skipping finished ones; n: ``n_snapshots``, or every
        frame of the atoms file); returns the data set's snapshot names."""
        pseudopotentials = self.settings.pseudopotential_files()
        self.runner.require("pw.x", *(["pp.x"] if self.settings.ldos_method == "pp.x" else []))
        structures = self.settings.snapshot_atoms(self.out)
        n_snapshots = _snapshot_count(n_snapshots, structures.count)
        self.out.mkdir(parents=True, exist_ok=True)
        self.energy_grid = self._load_settings()
        self.pseudopotentials = keep_pseudopotentials(pseudopotentials, self.out)
        for leftover in self.out.glob(".snapshot_*.tmp"):  # from a writer killed mid-write
            shutil.rmtree(leftover)
        names = [f"snapshot_{index:04d}" for index in range(n_snapshots)]
        for index, name in enumerate(tqdm(names, desc="snapshots", unit="snapshot")):
            if (self.out / name / "meta.json").exists():  # written atomically: complete
                add_to_manifest(self.out, name)
                continue
            self._make_snapshot(structures(index), name)
        return dataset_names(self.out)

    def _load_settings(self) -> EnergyGrid | None:
        """Check ``datagen.json`` against the settings; return the stored energy grid.

        A setting missing from an older file counts as its default value."""
        path = self.out / SETTINGS_FILE
        wanted = _as_json(asdict(self.settings))
        if not path.exists():
            atomic_write_text(path, json.dumps({"settings": wanted}, indent=2))
            return None
        try:
            stored = json.loads(path.read_text())
            recorded = dict(stored["settings"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise InputError(f"{path}: not a datagen settings file ({error!r})") from error
        defaults = {
            f.name: _as_json(f.default)
            for f in dataclasses.fields(DatagenSettings)
            if f.default is not dataclasses.MISSING
        }
        for key, value in wanted.items():
            if recorded.get(key, defaults.get(key)) != value:
                raise InputError(
                    f"{path}: data set was generated with {key}={recorded.get(key)!r}, "
                    f"not {value!r}; use another --out or the same settings to resume"
                )
        grid = stored.get("energy_grid_ev")
        return EnergyGrid(**grid) if grid else None

    def _fix_energy_grid(self, scf: PwResult) -> EnergyGrid:
        s = self.settings
        grid = dft.energy_window(
            scf, s.energy_below_fermi_ev, s.energy_above_fermi_ev, s.energy_spacing_ev, s.broadening
        )
        path = self.out / SETTINGS_FILE
        stored = json.loads(path.read_text())
        stored["energy_grid_ev"] = asdict(grid)
        atomic_write_text(path, json.dumps(stored, indent=2))
        return grid

    def _make_snapshot(self, atoms: ase.Atoms, name: str) -> None:
        s = self.settings
        if self.scratch_root:
            self.scratch_root.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=self.scratch_root)).resolve()
        pseudo_dir = pseudopotential_folder(self.pseudopotentials, workdir)
        scf_settings = s.pw_settings(pseudo_dir, s.k_mesh)
        nscf_settings = s.pw_settings(pseudo_dir, s.nscf_k_mesh or s.k_mesh)
        clock = {"start": time.perf_counter()}
        try:
            scf = dft.run_pw(atoms, scf_settings, self.runner, workdir, "scf")
            density = dft.scf_density(scf, workdir)
            clock["scf"] = time.perf_counter()
            if self.energy_grid is None:
                self.energy_grid = self._fix_energy_grid(scf)
            grid = self.energy_grid
            n_bands = dft.bands_needed(scf, grid.energies[-1] + 1.0)
            nscf = dft.run_pw(atoms, nscf_settings, self.runner, workdir, "nscf", n_bands)
            dft.check_window(nscf, grid, s.broadening)
            clock["nscf"] = time.perf_counter()
            ldos = self._ldos(workdir, nscf, grid)
            clock["ldos"] = time.perf_counter()
            checks = snapshot_checks(
                ldos, density, nscf, grid, s.broadening, s.temperature_k, f"snapshot {name}"
            )
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
            provenance={
                **qe_provenance(scf, nscf, self.pseudopotentials),
                **_datagen_provenance(s, name, clock),
                "checks": checks,
            },
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


def _snapshot_count(asked: int | None, available: int | None) -> int:
    if asked is None:
        if available is None:
            raise InputError("--snapshots: required with --displacements debye or md")
        return available
    if asked < 1 or (available is not None and asked > available):
        limit = f"1 ... {available} (the frames of the atoms file)" if available else ">= 1"
        raise InputError(f"--snapshots {asked}: expected {limit}")
    return asked


def keep_pseudopotentials(files: dict[str, Path], dataset_dir: Path) -> dict[str, Pseudopotential]:
    """Make each UPF file findable by name for the energy code: a file that QE's folders
    ($ESPRESSO_PSEUDO, Debian's) hold with the same content stays there; any other is
    copied into the data set folder (a different file of that name already there is
    refused). Returns the element -> header of the file found."""
    headers = {}
    for symbol, source in files.items():
        target = find_pseudopotential(source.name, [])
        if target is None or file_digest(target) != file_digest(source):
            target = dataset_dir / source.name
            if not target.exists():
                with atomic_path(target) as tmp:
                    shutil.copyfile(source, tmp)
            elif file_digest(target) != file_digest(source):
                raise InputError(f"{target}: differs from {source}; the data set uses its own copy")
        headers[symbol] = read_upf(target)
    return headers


def pseudopotential_folder(headers: dict[str, Pseudopotential], workdir: Path) -> Path:
    """A folder in ``workdir`` with a link to each file, pw.x's ``pseudo_dir``."""
    folder = workdir / "pseudo"
    folder.mkdir(exist_ok=True)
    for pseudo in headers.values():
        (folder / pseudo.path.name).symlink_to(pseudo.path.resolve())
    return folder


def _bar(description: str):
    return lambda items: tqdm(items, desc=description, leave=False)


def qe_provenance(
    scf: PwResult, states: PwResult, pseudopotentials: dict[str, Pseudopotential]
) -> dict:
    """What the QE runs were: code, pseudopotentials per element, cutoffs, k-meshes, bands,
    smearing, and the Kohn-Sham states (``states``: the run the LDOS sums over)."""
    symbols = scf.symbols
    return {
        "code": "Quantum ESPRESSO",
        "version": scf.version,
        "pseudopotentials": scf.pseudopotentials,
        "elements": {
            symbol: {
                "atoms": symbols.count(symbol),
                "pseudopotential": pseudo.path.name,
                "sha256": file_digest(pseudo.path),
                "z_valence": pseudo.z_valence,
                "type": pseudo.pseudo_type,
                "core_correction": pseudo.core_correction,
                "functional": pseudo.functional_name,
            }
            for symbol, pseudo in sorted(pseudopotentials.items())
        },
        "xc_functional": scf.functional,
        "ecutwfc_ry": scf.ecutwfc_ry,
        "ecutrho_ry": scf.ecutrho_ry,
        "k_mesh": list(scf.k_mesh or ()),
        "nscf_k_mesh": list(states.k_mesh or ()),
        "nbnd": int(states.eigenvalues.shape[1]),
        "smearing": {"kind": scf.smearing, "width_ev": scf.smearing_width},
        "reference_sources": {
            "band_energy": "nscf eigenvalues and occupations",
            "fermi_energy": "nscf",
            "others": "scf",
        },
        "kohn_sham_states": {  # the NSCF states the LDOS sums over, for checks
            "k_weights": states.k_weights.tolist(),
            "eigenvalues_ev": states.eigenvalues.tolist(),
        },
    }


def _datagen_provenance(s: DatagenSettings, name: str, clock: dict) -> dict:
    index = int(name.split("_")[-1])
    if s.element is not None:
        structure = {"crystal": f"built-in {element(s.element).crystal} {s.element}"}
        structure["supercell"] = s.supercell
    else:
        structure = {"atoms_file": s.atoms_file, "sha256": s.atoms_sha256}
        structure["frame"] = index if s.displacement_model == "none" else 0
    displacements = {
        "none": {"model": "none: the structure as given"},
        "debye": {
            "model": "Debye mean-square displacement, independent atoms, zero-point included",
            "debye_temperature_k": s.debye_temperature,
            "seed": s.seed,
        },
        "md": {
            "model": "Langevin molecular dynamics at T (classical), ASE",
            **asdict(s.md or MdSettings()),
            "seed": s.seed,
            "snapshot": index,
        },
    }[s.displacement_model]
    return {
        "symmetry": "none (nosym), time reversal only",
        "ldos_method": s.ldos_method,
        "ldos_dtype": s.ldos_dtype,
        "pw_extra": dict(s.pw_extra or {}),
        "structure": structure,
        "thermal_displacements": displacements,
        "timings_s": {
            "scf_and_density": round(clock["scf"] - clock["start"], 2),
            "nscf": round(clock["nscf"] - clock["scf"], 2),
            "ldos": round(clock["ldos"] - clock["nscf"], 2),
        },
    }
