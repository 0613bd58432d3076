"""The fast LDOS path (QE wavefunctions + numpy) against pp.x on a real tiny QE run."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from qe_cases import run_tiny_al
from scipy.integrate import quad

from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.ldos import (
    broadened_dos,
    broadening_kernel,
    density_from_wavefunctions,
    ldos_from_wavefunctions,
)
from ldos_surrogate.datagen.qe import QeRunner
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.qe_output import UnconvergedEigenvaluesError
from ldos_surrogate.io.store import Broadening, EnergyGrid

FERMI_DIRAC = Broadening("fermi-dirac", 0.1)


@pytest.fixture(scope="module")
def tiny_al(tmp_path_factory):
    return run_tiny_al(tmp_path_factory.mktemp("tiny_al"))


@pytest.mark.parametrize("kernel", ["gaussian", "fermi-dirac"])
def test_kernels_are_normalised(kernel):
    broadening = Broadening(kernel, 0.05)
    area = quad(lambda x: broadening_kernel(np.array(x), broadening), -5, 5, points=[0])[0]
    assert area == pytest.approx(1.0, abs=1e-9)


def test_fast_ldos_reproduces_ppx(tiny_al):
    nscf = tiny_al["nscf"]
    # six energies from the band bottom to above the Fermi level
    grid = EnergyGrid(round(nscf.eigenvalues.min(), 1), 2.1, 6)
    fast = ldos_from_wavefunctions(dft.save_dir(tiny_al["workdir"]), nscf, grid, FERMI_DIRAC)
    reference = dft.ldos_from_pp(
        tiny_al["runner"], tiny_al["workdir"], grid, FERMI_DIRAC, batch_size=4
    )
    assert fast.shape == reference.shape == (*nscf.fft_grid, 6)
    assert reference.max() > 0.01  # states/(eV Angstrom^3): a real signal, not zeros
    assert np.abs(fast - reference).max() <= 1e-5 * np.abs(reference).max()
    significant = reference > 1e-3 * reference.max()
    assert np.abs(fast / reference - 1)[significant].max() <= 1e-5


def test_fast_density_reproduces_scf_density(tiny_al):
    fast = density_from_wavefunctions(tiny_al["workdir"] / "scf_save", tiny_al["scf"])
    reference = tiny_al["density"]
    assert np.abs(fast - reference).max() <= 1e-6 * reference.max()
    volume = abs(np.linalg.det(tiny_al["scf"].cell))
    assert fast.mean() * volume == pytest.approx(3.0, rel=1e-9)  # 3 valence electrons


def test_ldos_integrates_to_the_broadened_eigenvalue_dos(tiny_al):
    """Each |psi_nk|^2 integrates to 1, so int d(eps, r) dr = sum_nk w_k delta(eps - eps_nk)."""
    nscf = tiny_al["nscf"]
    grid = EnergyGrid(-4.0, 0.05, 300)
    broadening = Broadening("gaussian", 0.05)
    ldos = ldos_from_wavefunctions(dft.save_dir(tiny_al["workdir"]), nscf, grid, broadening)
    voxel = abs(np.linalg.det(nscf.cell)) / np.prod(nscf.fft_grid)
    dos = ldos.sum(axis=(0, 1, 2)) * voxel
    expected = broadened_dos(nscf.eigenvalues, nscf.k_weights, grid, broadening)
    np.testing.assert_allclose(dos, expected, rtol=1e-9, atol=1e-12)


def test_ppx_path_refuses_a_gaussian_kernel(tiny_al):
    with pytest.raises(InputError, match="Fermi-Dirac"):
        dft.ldos_from_pp(
            tiny_al["runner"],
            tiny_al["workdir"],
            EnergyGrid(0.0, 0.1, 2),
            Broadening("gaussian", 0.1),
        )


def test_window_checks_name_the_missing_states(tiny_al):
    nscf = tiny_al["nscf"]
    bottom, top = nscf.eigenvalues.min(), nscf.eigenvalues[:, -1].min()
    gaussian = Broadening("gaussian", 0.05)
    dft.check_window(nscf, EnergyGrid(bottom - 0.5, 0.05, 20), gaussian)
    with pytest.raises(InputError, match="above band bottom"):
        dft.check_window(nscf, EnergyGrid(bottom + 0.1, 0.05, 20), gaussian)
    with pytest.raises(InputError, match="use more bands"):
        dft.check_window(
            nscf, EnergyGrid(bottom - 0.5, 0.05, int((top - bottom) / 0.05) + 10), gaussian
        )


def test_grid_point_ijk_sits_at_fractional_ijk_over_n(tiny_al, tmp_path):
    """The store's grid convention, which the descriptors rely on: moving the atom by one
    grid step along a1 moves the DFT density by exactly one grid index along x."""
    atoms = tiny_al["atoms"].copy()
    atoms.positions += atoms.cell[0] / tiny_al["scf"].fft_grid[0]
    scf = dft.run_pw(atoms, tiny_al["settings"], tiny_al["runner"], tmp_path, "scf")
    moved = dft.scf_density(scf, tmp_path)
    expected = np.roll(tiny_al["density"], 1, axis=0)
    assert np.abs(moved - expected).max() <= 1e-6 * expected.max()
    assert np.abs(moved - tiny_al["density"]).max() > 1e-3 * expected.max()  # it did move


def test_unconverged_nscf_is_repeated_with_more_bands(tiny_al, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(tiny_al["workdir"], workdir)
    calls = []

    class FirstNscfUnconverged(QeRunner):
        def run(self, executable, input_text, workdir, name):
            calls.append((name, re.search(r"nbnd = (\d+)", input_text).group(1)))
            log = super().run(executable, input_text, workdir, name)
            if len(calls) == 1:
                raise UnconvergedEigenvaluesError(f"{log}: as if pw.x had warned")
            return log

    runner = FirstNscfUnconverged()
    nscf = dft.run_pw(tiny_al["atoms"], tiny_al["settings"], runner, workdir, "nscf", n_bands=8)
    assert calls == [("nscf", "8"), ("nscf_more_bands", "12")]
    # the interior bands agree; the old top band was the least converged (1e-4 eV)
    np.testing.assert_allclose(
        nscf.eigenvalues[:, :7], tiny_al["nscf"].eigenvalues[:, :7], atol=1e-6
    )
    np.testing.assert_allclose(nscf.eigenvalues[:, 7], tiny_al["nscf"].eigenvalues[:, 7], atol=1e-3)
    assert nscf.fermi_energy == pytest.approx(tiny_al["nscf"].fermi_energy, abs=1e-6)
