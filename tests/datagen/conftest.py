"""A tiny real Quantum ESPRESSO case shared by the data-generation tests: 1-atom fcc Al
(primitive cell), 10 Ry, 4x4x4 k-points, SCF + NSCF with 8 bands (a few seconds)."""

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
    pseudopotential="Al.pz-vbc.UPF",
    ecutwfc_ry=10.0,
    k_mesh=(4, 4, 4),
    temperature_k=298.0,
)


@pytest.fixture(scope="session")
def qe() -> None:
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


@pytest.fixture(scope="session")
def tiny_al(qe, tmp_path_factory):
    """Work directory after SCF (its wavefunctions copied to ``scf_save``) and NSCF."""
    workdir = tmp_path_factory.mktemp("tiny_al")
    atoms = tiny_atoms()
    runner = QeRunner()
    scf = dft.run_pw(atoms, TINY_SETTINGS, runner, workdir, "scf")
    density = dft.scf_density(runner, workdir)
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
