"""The pw.x XML/log and pp.x plot readers on real Quantum ESPRESSO runs (1-atom fcc Al,
seconds each): converted values must round-trip what QE prints in its own units."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import ase.build
import numpy as np
import pytest

from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.charge_density import read_charge_density
from ldos_surrogate.datagen.qe import PwSettings, QeRunner, pw_input
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.qe_output import (
    BOHR_IN_ANGSTROM,
    RYDBERG_IN_EV,
    check_pw_log,
    read_pp_plot,
    read_pw_xml,
)

pytestmark = pytest.mark.skipif(shutil.which("pw.x") is None, reason="Quantum ESPRESSO missing")
SETTINGS = PwSettings(
    pseudo_dir=Path("/usr/share/espresso/pseudo"),
    pseudopotentials={"Al": "Al.pz-vbc.UPF"},
    ecutwfc_ry=10.0,
    k_mesh=(4, 4, 4),
    temperature_k=298.0,
)


@pytest.fixture(scope="module")
def scf_dir(tmp_path_factory):
    if not (SETTINGS.pseudo_dir / SETTINGS.pseudopotentials["Al"]).exists():
        pytest.skip("Debian's Al.pz-vbc.UPF missing")
    workdir = tmp_path_factory.mktemp("al_scf")
    atoms = ase.build.bulk("Al", "fcc", a=4.05)
    dft.run_pw(atoms, SETTINGS, QeRunner(), workdir, "scf")
    density_plot = "&INPUTPP\n  prefix = 'snapshot'\n  outdir = 'qe_out'\n  plot_num = 0\n"
    QeRunner().run("pp.x", density_plot + "  filplot = 'density.plot'\n/\n", workdir, "pp")
    return workdir


def printed(log: str, label: str) -> float:
    return float(re.search(rf"{label}\s*=\s*(-?[\d.]+) Ry", log).group(1))


def test_energies_in_ev_match_the_printed_rydberg_values(scf_dir):
    run = read_pw_xml(dft.save_dir(scf_dir) / "data-file-schema.xml")
    log = (scf_dir / "scf.out").read_text()
    parts = {
        "total_free_energy": r"!\s+total energy",
        "one_electron": "one-electron contribution",
        "hartree": "hartree contribution",
        "xc": "xc contribution",
        "ewald": "ewald contribution",
        "smearing_ts": r"smearing contrib\. \(-TS\)",
    }
    for key, label in parts.items():
        assert run.energies[key] / RYDBERG_IN_EV == pytest.approx(printed(log, label), abs=2e-8)
    fermi = float(re.search(r"the Fermi energy is\s+(-?[\d.]+) ev", log).group(1))
    assert run.fermi_energy == pytest.approx(fermi, abs=1e-4)
    assert run.smearing_width / RYDBERG_IN_EV == pytest.approx(SETTINGS.degauss_ry, rel=1e-6)


def test_states_cell_and_electrons(scf_dir):
    run = read_pw_xml(dft.save_dir(scf_dir) / "data-file-schema.xml")
    assert run.scf_converged is True and run.version.startswith("6.7")
    assert run.n_electrons == 3.0 and run.symbols == ["Al"]
    np.testing.assert_allclose(run.cell, ase.build.bulk("Al", "fcc", a=4.05).cell[:], atol=1e-9)
    assert run.k_weights.sum() == pytest.approx(2.0)  # spin degeneracy in the weights
    assert np.sum(run.k_weights[:, None] * run.occupations) == pytest.approx(3.0, abs=1e-8)
    # the band energy is QE's own eband (Hartree in the XML)
    xml = (dft.save_dir(scf_dir) / "data-file-schema.xml").read_text()
    eband = float(re.search(r"<eband>(.*)</eband>", xml).group(1)) * 2 * RYDBERG_IN_EV
    assert run.band_energy == pytest.approx(eband, rel=1e-10)
    # nearly free electrons: band bottom 10-12 eV below the Fermi energy (11.7 eV for free
    # electrons at the density of Al)
    assert 10.0 < run.fermi_energy - run.eigenvalues.min() < 12.0
    # Gamma is the first k-point; |k| of the zone-boundary X point is 2 pi / a
    assert np.linalg.norm(run.k_points, axis=1).max() <= 2 * np.pi / 4.05 * np.sqrt(3) + 1e-9


def test_density_plot_integrates_to_the_electron_count(scf_dir):
    plot = read_pp_plot(scf_dir / "density.plot")
    run = read_pw_xml(dft.save_dir(scf_dir) / "data-file-schema.xml")
    assert plot.values.shape == run.fft_grid
    volume_bohr3 = abs(np.linalg.det(run.cell)) / BOHR_IN_ANGSTROM**3
    assert plot.values.mean() * volume_bohr3 == pytest.approx(3.0, rel=1e-8)
    # the binary charge-density.dat that datagen and import-qe read holds the same density
    density = read_charge_density(dft.save_dir(scf_dir), run.fft_grid) * BOHR_IN_ANGSTROM**3
    assert np.abs(density - plot.values).max() <= 1e-9 * plot.values.max()
    assert density.mean() * volume_bohr3 == pytest.approx(3.0, rel=1e-10)


def test_charge_density_file_missing_or_cut_names_the_file(scf_dir, tmp_path):
    run = read_pw_xml(dft.save_dir(scf_dir) / "data-file-schema.xml")
    with pytest.raises(InputError, match="charge-density.dat: charge density file missing"):
        read_charge_density(tmp_path, run.fft_grid)
    data = (dft.save_dir(scf_dir) / "charge-density.dat").read_bytes()
    (tmp_path / "charge-density.dat").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="charge-density.dat: not a readable QE charge density"):
        read_charge_density(tmp_path, run.fft_grid)


def test_unconverged_scf_is_refused(tmp_path):
    if not (SETTINGS.pseudo_dir / SETTINGS.pseudopotentials["Al"]).exists():
        pytest.skip("Debian's Al.pz-vbc.UPF missing")
    text = pw_input(ase.build.bulk("Al", "fcc", a=4.05), SETTINGS, "scf")
    text = text.replace("&ELECTRONS\n", "&ELECTRONS\n  electron_maxstep = 2\n")
    (tmp_path / "scf.in").write_text(text)
    with pytest.raises(InputError, match="scf.out: pw.x SCF convergence NOT achieved"):
        QeRunner().run("pw.x", text, tmp_path, "scf")


def test_truncated_log_and_xml_are_refused(tmp_path, scf_dir):
    log = (scf_dir / "scf.out").read_text()
    (tmp_path / "killed.out").write_text(log[: len(log) // 2])
    with pytest.raises(InputError, match="killed.out: pw.x did not finish"):
        check_pw_log(tmp_path / "killed.out")
    xml = (dft.save_dir(scf_dir) / "data-file-schema.xml").read_text()
    (tmp_path / "cut.xml").write_text(xml[: len(xml) // 2])
    with pytest.raises(InputError, match="cut.xml"):
        read_pw_xml(tmp_path / "cut.xml")


def test_unconverged_eigenvalues_fail_nscf_but_not_early_scf_iterations(tmp_path, scf_dir):
    # pw.x prints this warning in early SCF iterations routinely; after an nscf run it means
    # some eigenstates the LDOS needs are not converged
    warning = "     c_bands:  2 eigenvalues not converged\n"
    log = (scf_dir / "scf.out").read_text()
    early = log.replace("     iteration #  2", warning + "     iteration #  2", 1)
    (tmp_path / "scf.out").write_text(early)
    check_pw_log(tmp_path / "scf.out")
    nscf = log.replace("     iteration #  2", "     Band Structure Calculation\n" + warning, 1)
    (tmp_path / "nscf.out").write_text(nscf)
    with pytest.raises(InputError, match="nscf.out: pw.x eigenvalues not converged"):
        check_pw_log(tmp_path / "nscf.out")
