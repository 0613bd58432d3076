"""``import-qe`` on a QE calculation made the way a user makes one (own prefix and outdir,
symmetry on): 2-atom hcp Mg (Mg.pz-n-vbc.UPF, core-corrected), SCF, NSCF with more bands,
pp.x LDOS cube files; a few seconds of QE in all."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import ase.build
import numpy as np
import pytest
from qe_cases import PSEUDO_DIR, require_qe

from ldos_surrogate.cli import main
from ldos_surrogate.commands.energies import compute
from ldos_surrogate.datagen.ldos import ldos_from_wavefunctions
from ldos_surrogate.datagen.qe import QeRunner
from ldos_surrogate.io.qe_output import read_pw_xml
from ldos_surrogate.io.store import read_dataset

CUBE_ENERGIES = (-5.0, 0.2, 56)  # emin, delta_e (eV), count: band bottom to E_F + 2.7 eV
CUBE_WIDTH_EV = 0.2


def _pw_input(calculation: str, atoms: ase.Atoms, extra: str = "") -> str:
    positions = "\n".join(f"Mg {x:.10f} {y:.10f} {z:.10f}" for x, y, z in atoms.positions)
    cell = "\n".join(" ".join(f"{v:.10f}" for v in row) for row in atoms.cell[:])
    return f"""&CONTROL
  calculation = '{calculation}'
  prefix = 'mg'
  outdir = './tmp'
  pseudo_dir = '{PSEUDO_DIR}'
/
&SYSTEM
  ibrav = 0, nat = 2, ntyp = 1, ecutwfc = 12.0
  occupations = 'smearing', smearing = 'fd', degauss = 0.0019
  {extra}
/
&ELECTRONS
  conv_thr = 1e-10
/
ATOMIC_SPECIES
Mg 24.305 Mg.pz-n-vbc.UPF
K_POINTS automatic
4 4 3 0 0 0
CELL_PARAMETERS angstrom
{cell}
ATOMIC_POSITIONS angstrom
{positions}
"""


@pytest.fixture(scope="module")
def user_run(tmp_path_factory) -> Path:
    """SCF (save folder copied aside), NSCF with 14 bands, pp.x LDOS cubes of the NSCF."""
    require_qe()
    if not (PSEUDO_DIR / "Mg.pz-n-vbc.UPF").exists():
        pytest.skip("Debian's Mg.pz-n-vbc.UPF missing")
    folder = tmp_path_factory.mktemp("user_run")
    atoms = ase.build.bulk("Mg", "hcp", a=3.21, c=5.21)
    runner = QeRunner()
    runner.run("pw.x", _pw_input("scf", atoms), folder, "scf")
    shutil.copytree(folder / "tmp" / "mg.save", folder / "scf_only.save")
    runner.run("pw.x", _pw_input("nscf", atoms, "nbnd = 14"), folder, "nscf")
    emin, step, count = CUBE_ENERGIES
    pp = (
        "&INPUTPP\n  prefix = 'mg'\n  outdir = './tmp'\n  plot_num = 3\n  filplot = 'tmp.pp'\n"
        f"  emin = {emin}\n  emax = {emin + step * (count - 0.5)}\n  delta_e = {step}\n"
        f"  degauss_ldos = {CUBE_WIDTH_EV}\n/\n&PLOT\n  iflag = 3\n  output_format = 6\n"
        "  fileout = '_ldos.cube'\n/\n"
    )
    runner.run("pp.x", pp, folder, "pp")
    return folder


def _import(*arguments: str) -> int:
    return main(["import-qe", *arguments])


def test_scf_and_nscf_wavefunctions_become_a_checked_snapshot(user_run, tmp_path, capsys):
    out = tmp_path / "mg"
    scf, nscf = str(user_run / "scf.out"), str(user_run / "nscf.out")
    assert _import(scf, "--nscf", nscf, "--out", str(out), "--ldos-dtype", "float32") == 0
    assert "electrons at the DFT Fermi level" in capsys.readouterr().out
    (snapshot,) = read_dataset(out)
    meta = snapshot.meta
    run = read_pw_xml(user_run / "tmp" / "mg.save" / "data-file-schema.xml")
    assert len(run.symmetries) > 1  # a symmetry-reduced run: the LDOS was symmetrised
    assert meta.temperature_k == pytest.approx(0.0019 * 13.605693122994 / 8.617333262e-5)
    assert meta.n_electrons == 4.0 and meta.grid_shape == run.fft_grid
    assert meta.provenance["imported_from"]["nscf_output"].endswith("nscf.out")
    checks = meta.provenance["checks"]
    assert checks["electrons_at_dft_fermi_level"] == pytest.approx(4.0, rel=0.02)
    assert checks["band_energy_ev"] == pytest.approx(
        checks["band_energy_of_broadened_states_ev"], abs=1e-6
    )
    log = (user_run / "scf.out").read_text()
    total_ry = float(re.search(r"!\s+total energy\s+=\s+(-?[\d.]+) Ry", log).group(1))
    assert meta.reference["total_free_energy"] == pytest.approx(total_ry * 13.605693122994)
    # Eq. (7) from the imported LDOS, with the core correction, against QE's SCF total
    result = compute(snapshot, [])
    error = result["energies_ev"]["total_free_energy"] - meta.reference["total_free_energy"]
    assert abs(error) / 2 < 5e-3
    # the density from the symmetrised LDOS is QE's (its Hartree energy to 1e-3 eV)
    assert result["energies_ev"]["hartree"] == pytest.approx(meta.reference["hartree"], abs=1e-3)
    # a second run goes into the same data set, on its energy grid
    assert _import(scf, "--nscf", nscf, "--out", str(out), "--name", "again") == 0
    assert [s.name for s in read_dataset(out)] == ["snapshot_0000", "again"]


def test_cube_files_equal_the_symmetrised_wavefunction_ldos(user_run, tmp_path, capsys):
    cubes = sorted(str(p) for p in user_run.glob("tmp.pp*_ldos.cube"))
    out = tmp_path / "cubes"
    scf, nscf = str(user_run / "scf.out"), str(user_run / "nscf.out")
    assert _import(scf, "--nscf", nscf, "--cubes", *cubes, "--width", "0.1", "--out", str(out)) == 2
    assert "--width: the cube files carry their own" in capsys.readouterr().err
    assert _import(scf, "--nscf", nscf, "--cubes", *cubes[:2], *cubes[3:], "--out", str(out)) == 2
    assert "is off the uniform grid of the cube files" in capsys.readouterr().err
    arguments = [scf, "--nscf", nscf, "--cubes", *reversed(cubes), "--out", str(out)]
    assert _import(*arguments, "--ldos-dtype", "float32") == 0
    (snapshot,) = read_dataset(out)
    grid, broadening = snapshot.meta.energy_grid, snapshot.meta.broadening
    assert (grid.start_ev, grid.spacing_ev, grid.count) == CUBE_ENERGIES
    assert (broadening.kernel, broadening.width_ev) == ("fermi-dirac", CUBE_WIDTH_EV)
    save = user_run / "tmp" / "mg.save"
    ours = ldos_from_wavefunctions(
        save, read_pw_xml(save / "data-file-schema.xml"), grid, broadening
    )
    ppx = snapshot.ldos()
    assert np.abs(ours - ppx).max() <= 2e-5 * ppx.max()  # cube files: 5 significant digits


def test_scf_only_run_and_bad_or_partial_runs(user_run, tmp_path, capsys):
    scf = user_run / "scf.out"
    save = user_run / "scf_only.save"
    arguments = ["--save", str(save), "--energy-above", "0.5"]
    assert _import(str(scf), *arguments, "--out", str(tmp_path / "scf")) == 0
    capsys.readouterr()

    def error_of(*arguments: str) -> str:
        assert _import(*arguments, "--out", str(tmp_path / "bad")) == 2
        return capsys.readouterr().err

    cut = tmp_path / "cut.out"
    cut.write_text(scf.read_text()[:3000])
    assert "cut.out: pw.x did not finish" in error_of(str(cut))
    assert "mg.save/data-file-schema.xml: written by a non-SCF (nscf) run" in error_of(str(scf))
    assert "nscf.out: not an SCF output" in error_of(str(user_run / "nscf.out"))
    broken = tmp_path / "broken.save"
    shutil.copytree(save, broken)
    (broken / "wfc3.dat").unlink()
    assert "broken.save/wfc3.dat: wavefunction file missing" in error_of(
        str(scf), "--save", str(broken)
    )
    (broken / "charge-density.dat").write_bytes(b"")
    xml = broken / "data-file-schema.xml"
    xml.write_text(xml.read_text().replace(">fd</smearing>", ">gaussian</smearing>"))
    assert "broken.save/data-file-schema.xml: pw.x used 'gaussian' smearing" in error_of(
        str(scf), "--save", str(broken)
    )
    assert not (tmp_path / "bad").exists()  # nothing half-written


def test_gamma_only_run_is_refused_naming_the_file(tmp_path, capsys):
    """pw.x's gamma trick stores half the plane waves: refused, not summed wrongly."""
    require_qe()
    atoms = ase.build.bulk("Mg", "hcp", a=3.21, c=5.21)
    text = _pw_input("scf", atoms).replace("K_POINTS automatic\n4 4 3 0 0 0", "K_POINTS gamma")
    QeRunner().run("pw.x", text, tmp_path, "scf")
    assert _import(str(tmp_path / "scf.out"), "--out", str(tmp_path / "set")) == 2
    assert "wfc1.dat: not a readable QE wavefunction file (gamma-only" in capsys.readouterr().err
