"""An existing Quantum ESPRESSO calculation into the snapshot store (``import-qe``).

What a QE user has, and what each source gives:

- the SCF's pw.x text output: the reference energies (total free energy and its parts, Ry,
  8 decimals) and the check that the run finished and converged;
- the ``<prefix>.save`` folder pw.x wrote (found from the "Writing output data file" line
  of the output, or given): the structure, cell, FFT grid, Kohn-Sham eigenvalues, k-weights,
  occupations and symmetries (``data-file-schema.xml``), the SCF valence density
  (``charge-density.dat``, which an NSCF run leaves as it is), the wavefunctions
  (``wfc*.dat``) and copies of the pseudopotentials;
- the LDOS: from the wavefunctions of that folder (written by the SCF, or by an NSCF run on
  top of it with more bands: give its output too), summed and broadened as in ``datagen``
  and symmetrised when pw.x used symmetry; or pp.x ``plot_num=3`` cube files, one per
  energy, whose titles carry the energy and broadening width (pp.x 6.7 broadens with the
  run's smearing shape, so the kernel is Fermi-Dirac).

The snapshot passes the same checks as a generated one (checks.py) and carries the same
provenance. Only Fermi-Dirac smearing is imported: the store's occupations are Fermi-Dirac
at T = degauss / k_B, which Eq. (7)'s -TS and the LDOS energies assume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ase
import numpy as np
from ase.data import chemical_symbols

from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.charge_density import read_charge_density
from ldos_surrogate.datagen.checks import snapshot_checks
from ldos_surrogate.datagen.dataset import LDOS_DTYPES, keep_pseudopotentials, qe_provenance
from ldos_surrogate.datagen.ldos import ldos_from_wavefunctions
from ldos_surrogate.datagen.qe import BOLTZMANN_EV_PER_K
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.cube import ldos_cube_energy, read_ldos_cubes
from ldos_surrogate.io.qe_output import PwLog, PwResult, read_pw_log, read_pw_xml
from ldos_surrogate.io.store import (
    Broadening,
    EnergyGrid,
    Snapshot,
    SnapshotMeta,
    add_to_manifest,
    dataset_names,
    read_snapshot,
    write_snapshot,
)

XML_FILE = "data-file-schema.xml"
CUBE_ENERGY_DIGITS_EV = 1e-4  # pp.x writes the energy with 4 decimals


@dataclass(frozen=True)
class WindowSettings:
    """Energy grid and broadening for an LDOS from wavefunctions (eV); ``below_ev`` None:
    from the band bottom. Unused for cube files (their own grid) and for a data set that
    already has snapshots (its grid)."""

    below_ev: float | None = None
    above_ev: float = 2.5
    spacing_ev: float = 0.05
    kernel: str = "gaussian"
    width_ev: float = 0.05


def import_qe_run(
    scf_output: str | Path,
    out: str | Path,
    nscf_output: str | Path | None = None,
    save_dir: str | Path | None = None,
    cubes: Sequence[str | Path] = (),
    name: str | None = None,
    window: WindowSettings | None = None,
    ldos_dtype: str = "float16",
) -> Snapshot:
    """Write one QE calculation as snapshot ``name`` (default: the next ``snapshot_NNNN``)
    of the data set ``out``; InputError naming the file for a bad or partial run."""
    out = Path(out)
    scf = read_pw_log(scf_output)
    if "total_free_energy" not in scf.energies:
        raise InputError(f"{scf.path}: not an SCF output (no '!    total energy' line)")
    states_log = read_pw_log(nscf_output) if nscf_output else scf
    save = _save_folder(states_log, save_dir)
    run = read_pw_xml(save / XML_FILE)
    _check_consistent(scf, states_log, run, save / XML_FILE)
    temperature_k = _temperature(run, save / XML_FILE)
    existing = _existing_snapshot(out)
    if cubes:
        ldos, grid, broadening = _ldos_from_cubes(cubes, run)
    else:
        grid, broadening = _window(run, window or WindowSettings(), existing)
        try:
            dft.check_window(run, grid, broadening)
        except InputError as error:
            raise InputError(f"{save / XML_FILE}: {error}") from error
        ldos = ldos_from_wavefunctions(save, run, grid, broadening)
    if existing is not None:
        _check_same_grid(existing, grid, broadening, cubes[0] if cubes else save / XML_FILE)
    density = read_charge_density(save, run.fft_grid)
    checks = snapshot_checks(ldos, density, run, grid, broadening, temperature_k, str(save))
    name = name or f"snapshot_{len(dataset_names(out)):04d}"
    out.mkdir(parents=True, exist_ok=True)
    pseudopotentials = keep_pseudopotentials(_pseudopotential_files(run, save), out)
    sources = {
        "scf_output": str(scf.path.resolve()),
        "nscf_output": str(states_log.path.resolve()) if nscf_output else None,
        "save_dir": str(save.resolve()),
        "ldos": f"{len(cubes)} pp.x cube files" if cubes else "wavefunctions of the save folder",
        "cubes": [str(Path(path).resolve()) for path in cubes],
    }
    meta = SnapshotMeta(
        grid_shape=run.fft_grid,
        cell=run.cell,
        energy_grid=grid,
        temperature_k=temperature_k,
        fermi_energy_ev=run.fermi_energy,
        n_electrons=run.n_electrons,
        reference={**scf.energies, "band_energy": run.band_energy},
        provenance={
            **qe_provenance(run, run, pseudopotentials),
            "reference_sources": {
                "band_energy": "eigenvalues and occupations of the save folder's run",
                "fermi_energy": "the save folder's run",
                "others": "the SCF output (Ry, 8 decimals)",
            },
            "symmetry": f"{len(run.symmetries)} crystal symmetries"
            + (" (LDOS from the wavefunctions symmetrised)" if len(run.symmetries) > 1 else ""),
            "ldos_method": "pp.x cube files" if cubes else "wavefunctions",
            "ldos_dtype": ldos_dtype,
            "imported_from": sources,
            "checks": checks,
        },
        broadening=broadening,
    )
    atoms = ase.Atoms(run.symbols, run.positions, cell=run.cell, pbc=True)
    snapshot = write_snapshot(out / name, meta, atoms, ldos, density, LDOS_DTYPES[ldos_dtype])
    add_to_manifest(out, name)
    return snapshot


def _save_folder(log: PwLog, given: str | Path | None) -> Path:
    save = Path(given) if given else log.save_dir
    if save is None:
        raise InputError(
            f"{log.path}: names no save folder ('Writing output data file'); give --save"
        )
    if not (save / XML_FILE).is_file():
        raise InputError(f"{save / XML_FILE}: pw.x XML file missing (is {save} the .save folder?)")
    return save


def _check_consistent(scf: PwLog, states: PwLog, run: PwResult, xml: Path) -> None:
    """The outputs and the save folder describe one system, and the XML is of the run whose
    output was given as the states' (an NSCF output for an nscf XML)."""
    volume = abs(np.linalg.det(run.cell))
    for log in {scf.path: scf, states.path: states}.values():
        if abs(log.volume - volume) > 1e-5 * volume or log.n_electrons != run.n_electrons:
            raise InputError(
                f"{log.path} and {xml} describe different systems (cell volume {log.volume:.4f} "
                f"vs {volume:.4f} Angstrom^3, {log.n_electrons:g} vs {run.n_electrons:g} electrons)"
            )
    if (states is scf) != (run.scf_converged is not None):
        written_by = "an SCF" if run.scf_converged is not None else "a non-SCF (nscf) run"
        raise InputError(
            f"{xml}: written by {written_by}; give the output of the run that wrote it "
            f"({'SCF_OUTPUT alone' if run.scf_converged is not None else '--nscf NSCF_OUTPUT'})"
        )


def _temperature(run: PwResult, xml: Path) -> float:
    if run.smearing != "fermi-dirac":
        raise InputError(
            f"{xml}: pw.x used {run.smearing!r} smearing; import needs Fermi-Dirac smearing "
            "(occupations='smearing', smearing='fd', degauss = k_B T), the occupations the "
            "LDOS energies assume"
        )
    return float(run.smearing_width / BOLTZMANN_EV_PER_K)


def _existing_snapshot(out: Path) -> Snapshot | None:
    names = dataset_names(out)
    return read_snapshot(out / names[0]) if names else None


def _window(
    run: PwResult, window: WindowSettings, existing: Snapshot | None
) -> tuple[EnergyGrid, Broadening]:
    if existing is not None:  # one energy grid per data set
        return existing.meta.energy_grid, existing.meta.broadening
    broadening = Broadening(window.kernel, window.width_ev)
    grid = dft.energy_window(run, window.below_ev, window.above_ev, window.spacing_ev, broadening)
    return grid, broadening


def _check_same_grid(
    existing: Snapshot, grid: EnergyGrid, broadening: Broadening, source: Path | str
) -> None:
    if grid != existing.meta.energy_grid or broadening != existing.meta.broadening:
        raise InputError(
            f"{source}: energy grid {grid} and broadening {broadening} differ from the data "
            f"set's ({existing.meta.energy_grid}, {existing.meta.broadening} in {existing.path})"
        )


def _ldos_from_cubes(
    cubes: Sequence[str | Path], run: PwResult
) -> tuple[np.ndarray, EnergyGrid, Broadening]:
    """The LDOS of pp.x cube files (sorted by their energies), its grid and kernel."""
    titled = sorted((ldos_cube_energy(path), Path(path)) for path in cubes)
    energies = np.array([energy for (energy, _), _ in titled])
    widths = {width for (_, width), _ in titled}
    if len(titled) < 2 or len(widths) != 1:
        raise InputError(
            f"{titled[0][1]}: need >= 2 LDOS cube files of one broadening, got "
            f"{len(titled)} files, widths {sorted(widths)}"
        )
    spacing = round((energies[-1] - energies[0]) / (len(energies) - 1), 6)
    grid = EnergyGrid(float(energies[0]), spacing, len(energies))
    off = np.abs(energies - grid.energies).argmax()
    if abs(energies[off] - grid.energies[off]) > CUBE_ENERGY_DIGITS_EV:
        raise InputError(
            f"{titled[off][1]}: energy {energies[off]} eV is off the uniform grid of the cube "
            f"files ({grid.start_ev} eV + n x {spacing} eV): a file missing?"
        )
    ldos = read_ldos_cubes([path for _, path in titled])
    if ldos.shape[:3] != run.fft_grid:
        raise InputError(
            f"{titled[0][1]}: cube grid {ldos.shape[:3]} is not the run's FFT grid {run.fft_grid}"
        )
    return ldos, grid, Broadening(run.smearing, widths.pop())


def _pseudopotential_files(run: PwResult, save: Path) -> dict[str, Path]:
    """The UPF files of each element: pw.x copies them into the save folder."""
    files = {}
    for symbol, filename in run.pseudopotentials.items():
        if symbol not in chemical_symbols[1:]:
            raise InputError(
                f"{save / XML_FILE}: species {symbol!r} is not an element symbol (the store "
                "names atoms and pseudopotentials by element)"
            )
        path = save / filename
        if not path.is_file():
            raise InputError(f"{path}: pseudopotential copy missing from the save folder")
        files[symbol] = path
    return files
