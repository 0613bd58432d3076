"""Quantum ESPRESSO inputs (pw.x SCF and NSCF, pp.x LDOS) and running the executables.

pw.x runs with ``nosym = .true.``: the k-point set is then the full Monkhorst-Pack mesh
reduced only by time reversal (|psi_-k|^2 = |psi_k|^2), so summing |psi_nk|^2 over the
stored k-points gives the LDOS without symmetrisation. Fermi-Dirac smearing with
k_B T of the snapshot temperature makes the occupations those of the electronic
temperature T. NSCF runs use PPCG: Davidson aborts with many empty bands, and plain cg
left eigenvalues unconverged here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import ase
import numpy as np

from ldos_surrogate.datagen.namelist import namelist_lines
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.qe_output import RYDBERG_IN_EV, check_pw_log

BOLTZMANN_EV_PER_K = 8.617333262e-5
PREFIX = "snapshot"
OUTDIR = "qe_out"


@dataclass(frozen=True)
class PwSettings:
    """The pw.x set-up shared by all snapshots of a data set.

    ``pseudopotentials`` maps each element to its UPF file name in ``pseudo_dir``;
    ``extra`` holds checked ``section.key -> value`` namelist settings (namelist.py).
    """

    pseudo_dir: Path
    pseudopotentials: Mapping[str, str]
    ecutwfc_ry: float
    k_mesh: tuple[int, int, int]
    temperature_k: float
    extra: Mapping[str, str] = field(default_factory=dict)
    conv_thr_ry: float = 1e-10  # SCF energy threshold
    nscf_conv_thr_ry: float = 1e-8  # sets the NSCF eigenvalue threshold, 0.1 conv_thr / N_e

    @property
    def degauss_ry(self) -> float:
        """Fermi-Dirac smearing width k_B T in Ry."""
        return BOLTZMANN_EV_PER_K * self.temperature_k / RYDBERG_IN_EV


def pw_input(
    atoms: ase.Atoms,
    settings: PwSettings,
    calculation: str,
    n_bands: int | None = None,
) -> str:
    """A pw.x input for ``calculation`` 'scf' or 'nscf' (nscf: ``n_bands`` bands, PPCG)."""
    species = sorted(set(atoms.get_chemical_symbols()))
    missing = [s for s in species if s not in settings.pseudopotentials]
    if missing:
        raise InputError(f"--pseudo: no pseudopotential for {missing} (give --pseudo El=FILE)")
    masses = {s: m for s, m in zip(atoms.get_chemical_symbols(), atoms.get_masses(), strict=True)}
    extra = dict(settings.extra)  # the user's SCF settings replace the pipeline's
    electrons_own = {"conv_thr": settings.conv_thr_ry}
    electrons_own = {k: v for k, v in electrons_own.items() if f"electrons.{k}" not in extra}
    if calculation == "nscf":  # the NSCF keeps its own threshold and solver
        electrons_own = {"conv_thr": settings.nscf_conv_thr_ry, "diagonalization": "'ppcg'"}
        extra = {k: v for k, v in extra.items() if k.split(".")[1] not in electrons_own}
    system = [
        "ibrav = 0",
        f"nat = {len(atoms)}",
        f"ntyp = {len(species)}",
        f"ecutwfc = {settings.ecutwfc_ry}",
        "occupations = 'smearing'",
        "smearing = 'fermi-dirac'",
        f"degauss = {settings.degauss_ry:.10f}",
        "nosym = .true.",
        *([f"nbnd = {n_bands}"] if calculation == "nscf" else []),
        *namelist_lines(extra, "system"),
    ]
    electrons = [
        *(f"{key} = {value}" for key, value in electrons_own.items()),
        *namelist_lines(extra, "electrons"),
    ]
    lines = [
        "&CONTROL",
        f"  calculation = '{calculation}'",
        f"  prefix = '{PREFIX}'",
        f"  outdir = '{OUTDIR}'",
        f"  pseudo_dir = '{settings.pseudo_dir}'",
        *(f"  {line}" for line in namelist_lines(extra, "control")),
        "/",
        "&SYSTEM",
        *(f"  {line}" for line in system),
        "/",
        "&ELECTRONS",
        *(f"  {line}" for line in electrons),
        "/",
        "ATOMIC_SPECIES",
        *(f"{s} {masses[s]:.6f} {settings.pseudopotentials[s]}" for s in species),
        "K_POINTS automatic",
        " ".join(str(n) for n in settings.k_mesh) + " 0 0 0",
        "CELL_PARAMETERS angstrom",
        *(_vector(row) for row in atoms.cell[:]),
        "ATOMIC_POSITIONS angstrom",
        *(
            f"{s} {_vector(p)}"
            for s, p in zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)
        ),
    ]
    return "\n".join(lines) + "\n"


def _vector(values: np.ndarray) -> str:
    return " ".join(f"{v:.10f}" for v in values)


def pp_ldos_input(filplot: str, energies_ev: np.ndarray, width_ev: float) -> str:
    """pp.x input for the LDOS (``plot_num = 3``) at ``energies_ev`` (uniform, eV).

    pp.x 6.7 broadens with the run's smearing shape (here Fermi-Dirac) of width
    ``degauss_ldos``; it writes one plot file per energy, ``<filplot>001``, ``<filplot>002``,
    ..., in states/(Ry Bohr^3).
    """
    spacing = energies_ev[1] - energies_ev[0] if len(energies_ev) > 1 else 1.0
    return (
        f"&INPUTPP\n  prefix = '{PREFIX}'\n  outdir = '{OUTDIR}'\n  plot_num = 3\n"
        f"  filplot = '{filplot}'\n  emin = {energies_ev[0]:.10f}\n"
        f"  emax = {energies_ev[-1] + spacing / 2:.10f}\n  delta_e = {spacing:.10f}\n"
        f"  degauss_ldos = {width_ev:.10f}\n/\n"
    )


@dataclass(frozen=True)
class QeRunner:
    """Runs QE executables in a working directory, optionally under ``mpirun -np N``."""

    mpi_processes: int = 1
    timeout_s: float | None = None

    def run(self, executable: str, input_text: str, workdir: Path, name: str) -> Path:
        """Run ``executable -in <name>.in`` in ``workdir``; returns the log ``<name>.out``.

        InputError when the executable is missing, exits non-zero or times out; pw.x logs
        are also checked for convergence.
        """
        command = [self._which(executable)]
        if self.mpi_processes > 1:
            command = [self._which("mpirun"), "-np", str(self.mpi_processes), *command]
        input_path, log_path = workdir / f"{name}.in", workdir / f"{name}.out"
        input_path.write_text(input_text)
        environment = {**os.environ, "OMP_NUM_THREADS": "1"}
        if self.mpi_processes > 1 and os.geteuid() == 0:  # containers and CI run as root
            environment |= {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
        try:
            with open(log_path, "w") as log:
                completed = subprocess.run(
                    [*command, "-in", input_path.name],
                    cwd=workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=environment,
                    timeout=self.timeout_s,
                )
        except subprocess.TimeoutExpired as error:
            raise InputError(f"{log_path}: {executable} ran past {self.timeout_s} s") from error
        if executable == "pw.x":
            check_pw_log(log_path)
        if completed.returncode != 0:
            tail = " | ".join(log_path.read_text(errors="replace").splitlines()[-5:])
            raise InputError(f"{log_path}: {executable} exited with {completed.returncode}: {tail}")
        return log_path

    def require(self, *executables: str) -> None:
        """InputError unless every executable (and mpirun, for N > 1) is on PATH."""
        for executable in (*executables, *(["mpirun"] if self.mpi_processes > 1 else [])):
            self._which(executable)

    @staticmethod
    def _which(executable: str) -> str:
        path = shutil.which(executable)
        if path is None:
            raise InputError(
                f"{executable}: not found on PATH; install Quantum ESPRESSO "
                "(Debian: apt-get install quantum-espresso)"
            )
        return path
