"""A tiny real Quantum ESPRESSO case for the data-generation tests: 1-atom fcc Al
(primitive cell), 10 Ry, 4x4x4 k-points, SCF + NSCF with 8 bands (a few seconds).

A plain module (imported as ``qe_cases``), not a conftest: test modules elsewhere import
the top-level ``conftest`` by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import ase.build
import pytest

from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.qe import PwSettings, QeRunner

PSEUDO_DIR = Path("/usr/share/espresso/pseudo")
TINY_SETTINGS = PwSettings(
    pseudo_dir=PSEUDO_DIR,
    pseudopotentials={"Al": "Al.pz-vbc.UPF"},
    ecutwfc_ry=10.0,
    k_mesh=(4, 4, 4),
    temperature_k=298.0,
)


def require_qe() -> None:
    """Skip unless pw.x, pp.x and Debian's Al pseudopotential are installed."""
    if shutil.which("pw.x") is None or shutil.which("pp.x") is None:
        pytest.skip("Quantum ESPRESSO (pw.x, pp.x) not installed")
    if not (PSEUDO_DIR / "Al.pz-vbc.UPF").exists():
        pytest.skip(f"{PSEUDO_DIR / 'Al.pz-vbc.UPF'} missing")


def tiny_atoms() -> ase.Atoms:
    """fcc Al primitive cell, the atom off the origin (no accidental grid symmetry)."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05)
    atoms.positions[0] += [0.05, -0.03, 0.02]
    return atoms


def run_tiny_al(workdir: Path) -> dict:
    """Run the tiny case in ``workdir``: SCF (its wavefunctions copied to ``scf_save``), SCF
    density, NSCF; returns the atoms, settings, runner, both runs and the density."""
    require_qe()
    atoms = tiny_atoms()
    runner = QeRunner()
    scf = dft.run_pw(atoms, TINY_SETTINGS, runner, workdir, "scf")
    density = dft.scf_density(scf, workdir)
    shutil.copytree(dft.save_dir(workdir), workdir / "scf_save")
    nscf = dft.run_pw(atoms, TINY_SETTINGS, runner, workdir, "nscf", n_bands=8)
    return {
        "atoms": atoms,
        "settings": TINY_SETTINGS,
        "workdir": workdir,
        "scf": scf,
        "nscf": nscf,
        "density": density,
        "runner": runner,
    }
