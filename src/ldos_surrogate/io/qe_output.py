"""Readers for Quantum ESPRESSO (6.7) output: pw.x's XML and log, and pp.x's plot files.

Everything returned is converted to this project's units: energies in eV, lengths in
Angstrom, densities per Angstrom^3. QE writes Hartree atomic units in its XML
(``<prefix>.save/data-file-schema.xml``), Rydberg units in its text log and in pp.x files,
and lengths in Bohr. The constants are QE 6.7's own (CODATA 2018), so converted values
round-trip QE's printed numbers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ldos_surrogate.errors import InputError

BOHR_IN_ANGSTROM = 0.529177210903
HARTREE_IN_EV = 27.211386245988
RYDBERG_IN_EV = HARTREE_IN_EV / 2

# QE's XML smearing names -> this project's names (store Broadening kernels)
SMEARING_NAMES = {
    "fd": "fermi-dirac",
    "gaussian": "gaussian",
    "mv": "marzari-vanderbilt",
    "mp": "methfessel-paxton",
}


@dataclass(frozen=True)
class PwResult:
    """A finished pw.x run, read from its XML file. Energies eV, lengths Angstrom.

    ``k_weights`` sum to 2 (spin degeneracy included, QE's convention);
    ``occupations`` are the band occupations f_nk in [0, 1]; ``k_points`` are Cartesian,
    in 1/Angstrom (the 2 pi included). ``symmetries`` are the crystal symmetries pw.x used
    to reduce the k-points (just the identity with ``nosym``), each as (W, t) acting on
    fractional coordinates, x -> W x + t: QE's XML rotation s (read in Fortran order)
    transposed, and minus its fractional translation (checked: the density of the reduced
    k-points, averaged over these maps, equals QE's symmetrised density to 1e-11).
    """

    version: str
    symbols: list[str]
    positions: np.ndarray  # (n_atoms, 3) Angstrom
    cell: np.ndarray  # (3, 3) Angstrom, rows are lattice vectors
    fft_grid: tuple[int, int, int]
    ecutwfc_ry: float
    ecutrho_ry: float
    functional: str
    pseudopotentials: dict[str, str]
    k_mesh: tuple[int, int, int] | None
    k_points: np.ndarray  # (n_k, 3) 1/Angstrom
    k_weights: np.ndarray  # (n_k,)
    eigenvalues: np.ndarray  # (n_k, n_bands) eV
    occupations: np.ndarray  # (n_k, n_bands)
    fermi_energy: float  # eV
    n_electrons: float
    smearing: str  # "fermi-dirac", "gaussian", ...
    smearing_width: float  # eV
    scf_converged: bool | None  # None for runs without SCF cycle (nscf)
    energies: dict[str, float]  # store reference keys -> eV (empty for nscf runs)
    symmetries: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    @property
    def band_energy(self) -> float:
        """E_b = sum_nk w_k f_nk eps_nk in eV, from QE's own occupations."""
        return float(np.sum(self.k_weights[:, None] * self.occupations * self.eigenvalues))


def read_pw_xml(path: str | Path) -> PwResult:
    """Read pw.x's ``data-file-schema.xml`` (QE 6.x schema)."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError as error:
        raise InputError(f"{path}: pw.x XML file missing") from error
    except ET.ParseError as error:
        raise InputError(f"{path}: not a readable pw.x XML file ({error})") from error
    output = root.find("output")
    if output is None:
        raise InputError(f"{path}: no <output> section (pw.x did not finish)")
    try:
        return _pw_result(root, output)
    except (AttributeError, KeyError, ValueError) as error:
        raise InputError(f"{path}: unexpected pw.x XML content ({error!r})") from error


def _pw_result(root: ET.Element, output: ET.Element) -> PwResult:
    structure = output.find("atomic_structure")
    cell = np.array([_floats(structure.find(f"cell/a{i}").text) for i in (1, 2, 3)])
    atoms = structure.findall("atomic_positions/atom")
    positions = np.array([_floats(atom.text) for atom in atoms])
    basis = output.find("basis_set")
    fft = basis.find("fft_grid").attrib
    bands = output.find("band_structure")
    ks = bands.findall("ks_energies")
    smearing = bands.find("smearing")
    mesh = bands.find("starting_k_points/monkhorst_pack")
    species = output.findall("atomic_species/species")
    creator = root.find("general_info/creator")
    self_consistent = root.find("input/control_variables/calculation").text == "scf"
    scf = output.find("convergence_info/scf_conv/convergence_achieved")
    return PwResult(
        version=creator.attrib["VERSION"],
        symbols=[atom.attrib["name"] for atom in atoms],
        positions=positions * BOHR_IN_ANGSTROM,
        cell=cell * BOHR_IN_ANGSTROM,
        fft_grid=(int(fft["nr1"]), int(fft["nr2"]), int(fft["nr3"])),
        ecutwfc_ry=2 * float(basis.find("ecutwfc").text),
        ecutrho_ry=2 * float(basis.find("ecutrho").text),
        functional=output.find("dft/functional").text,
        pseudopotentials={s.attrib["name"]: s.find("pseudo_file").text for s in species},
        k_mesh=None if mesh is None else tuple(int(mesh.attrib[f"nk{i}"]) for i in (1, 2, 3)),
        k_points=_k_points_per_angstrom(ks, structure),
        k_weights=np.array([float(k.find("k_point").attrib["weight"]) for k in ks]),
        eigenvalues=np.array([_floats(k.find("eigenvalues").text) for k in ks]) * HARTREE_IN_EV,
        occupations=np.array([_floats(k.find("occupations").text) for k in ks]),
        fermi_energy=float(bands.find("fermi_energy").text) * HARTREE_IN_EV,
        n_electrons=float(bands.find("nelec").text),
        smearing=SMEARING_NAMES.get(smearing.text, smearing.text),
        smearing_width=float(smearing.attrib["degauss"]) * HARTREE_IN_EV,
        scf_converged=scf.text.strip() == "true" if self_consistent else None,
        energies=_energies(output.find("total_energy")) if self_consistent else {},
        symmetries=_symmetries(output.find("symmetries")),
    )


def _symmetries(symmetries: ET.Element) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The first ``nsym`` entries (the crystal symmetries) as (W, t), x -> W x + t."""
    used = symmetries.findall("symmetry")[: int(symmetries.find("nsym").text)]
    maps = []
    for symmetry in used:
        rotation = np.rint(_floats(symmetry.find("rotation").text)).astype(int)
        translation = symmetry.find("fractional_translation")
        shift = np.array(_floats(translation.text)) if translation is not None else np.zeros(3)
        maps.append((rotation.reshape(3, 3, order="F").T, -shift))
    return tuple(maps)


def _k_points_per_angstrom(ks: list[ET.Element], structure: ET.Element) -> np.ndarray:
    """QE stores k in Cartesian units of 2 pi / alat (alat in Bohr)."""
    alat_angstrom = float(structure.attrib["alat"]) * BOHR_IN_ANGSTROM
    k = np.array([_floats(point.find("k_point").text) for point in ks])
    return k * 2 * np.pi / alat_angstrom


def _energies(total: ET.Element) -> dict[str, float]:
    """The total free energy and its parts in eV under the store's reference keys.

    QE's total is F = E_one-electron + E_H + E_xc + E_Ewald + (-TS); the one-electron
    part is not in the XML and follows from that sum. ``vtxc`` is integral v_xc n over the
    valence density (v_xc of valence + core with a core correction).
    """
    names = ("etot", "ehart", "etxc", "vtxc", "ewald", "demet")
    hartree = {name: float(total.find(name).text) for name in names}
    one_electron = (
        hartree["etot"] - hartree["ehart"] - hartree["etxc"] - hartree["ewald"] - hartree["demet"]
    )
    return {
        "total_free_energy": hartree["etot"] * HARTREE_IN_EV,
        "one_electron": one_electron * HARTREE_IN_EV,
        "hartree": hartree["ehart"] * HARTREE_IN_EV,
        "xc": hartree["etxc"] * HARTREE_IN_EV,
        "xc_potential_integral": hartree["vtxc"] * HARTREE_IN_EV,
        "ewald": hartree["ewald"] * HARTREE_IN_EV,
        "smearing_ts": hartree["demet"] * HARTREE_IN_EV,
    }


def _floats(text: str) -> list[float]:
    return [float(value) for value in text.split()]


class UnconvergedEigenvaluesError(InputError):
    """An nscf run ended with eigenstates above the diagonalisation threshold."""


def check_pw_log(path: str | Path) -> None:
    """Raise InputError unless the pw.x text output at ``path`` ends normally and converged.

    Checks: the job finished (``JOB DONE.``), no ``convergence NOT achieved``, no error
    banner, and (for nscf runs) no ``eigenvalues not converged`` warning (in an SCF run that
    warning is routine in early iterations; the SCF convergence decides).
    """
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError as error:
        raise InputError(f"{path}: pw.x output missing") from error
    if "convergence NOT achieved" in text:
        raise InputError(f"{path}: pw.x SCF convergence NOT achieved")
    non_self_consistent = "Band Structure Calculation" in text  # nscf/bands runs
    if non_self_consistent and "eigenvalues not converged" in text:
        raise UnconvergedEigenvaluesError(
            f"{path}: pw.x eigenvalues not converged (more bands or cg steps?)"
        )
    error = re.search(r"%{20,}\n(.*?)\n\s*%{20,}", text, flags=re.S)
    if error:
        raise InputError(f"{path}: pw.x stopped with an error: {' '.join(error.group(1).split())}")
    if "JOB DONE." not in text:
        raise InputError(f"{path}: pw.x did not finish (no 'JOB DONE.'; killed or crashed?)")


_LOG_ENERGIES = {  # store reference key -> the label pw.x prints before "= <value> Ry"
    "total_free_energy": r"!\s+total energy",
    "one_electron": r"one-electron contribution",
    "hartree": r"hartree contribution",
    "xc": r"xc contribution",
    "ewald": r"ewald contribution",
    "smearing_ts": r"smearing contrib\. \(-TS\)",
}


@dataclass(frozen=True)
class PwLog:
    """What a finished pw.x text output says: the SCF energies (eV, the store's reference
    keys; empty for an nscf run), the cell volume (Angstrom^3, 4 decimals in bohr^3), the
    electron count, and the ``<prefix>.save`` folder it wrote (None when not printed)."""

    path: Path
    energies: dict[str, float]
    volume: float
    n_electrons: float
    save_dir: Path | None


def read_pw_log(path: str | Path) -> PwLog:
    """Read a pw.x text output after `check_pw_log`; the save folder is resolved against
    the output's own folder (pw.x prints it relative to where it ran)."""
    path = Path(path)
    check_pw_log(path)
    text = path.read_text(errors="replace")
    energies = {}
    for key, label in _LOG_ENERGIES.items():
        match = re.search(rf"{label}\s*=\s*(-?[\d.]+) Ry", text)
        if match:
            energies[key] = float(match.group(1)) * RYDBERG_IN_EV
    volume = re.search(r"unit-cell volume\s*=\s*([\d.]+) \(a\.u\.\)\^3", text)
    electrons = re.search(r"number of electrons\s*=\s*([\d.]+)", text)
    if volume is None or electrons is None:
        raise InputError(f"{path}: not a pw.x output (no cell volume or electron count)")
    save = re.search(r"Writing output data file (.+?)/?\s*$", text, flags=re.MULTILINE)
    return PwLog(
        path=path,
        energies=energies,
        volume=float(volume.group(1)) * BOHR_IN_ANGSTROM**3,
        n_electrons=float(electrons.group(1)),
        save_dir=path.parent / save.group(1).strip() if save else None,
    )


@dataclass(frozen=True)
class PpPlot:
    """A pp.x plot file (``filplot``): the plotted quantity on the FFT grid at full precision.

    ``values`` has shape (nr1, nr2, nr3) in QE's units (Bohr^-3, and Ry^-1 for an LDOS);
    ``title`` is the first line (pp.x writes the LDOS energy and broadening there).
    """

    title: str
    values: np.ndarray


def read_pp_plot(path: str | Path) -> PpPlot:
    """Read a pp.x ``filplot`` file (10 significant digits; cube files carry only 5).

    Layout (QE's plot_io): title; nr1x nr2x nr3x nr1 nr2 nr3 nat ntyp; ibrav celldm(6);
    3 lattice-vector lines when ibrav = 0; gcutm dual ecut plot_num; ntyp species lines;
    nat atom lines; then the values with the first grid index running fastest.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
        counts = [int(v) for v in lines[1].split()]
        nr1, nr2, nr3, n_atoms, n_species = counts[3:8]
        ibrav = int(lines[2].split()[0])
        header_lines = 3 + (3 if ibrav == 0 else 0) + 1 + n_species + n_atoms
        values = np.array(" ".join(lines[header_lines:]).split(), dtype=np.float64)
        grid = values.reshape(nr3, nr2, nr1).transpose(2, 1, 0)
    except FileNotFoundError as error:
        raise InputError(f"{path}: pp.x plot file missing") from error
    except (IndexError, ValueError) as error:
        raise InputError(f"{path}: not a readable pp.x plot file ({error})") from error
    return PpPlot(title=lines[0].strip(), values=np.ascontiguousarray(grid))
