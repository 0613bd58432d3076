"""``datagen`` beyond the built-in crystals, on real QE runs kept to seconds: any structure
from a file (every frame a snapshot), an element without project defaults (zincblende AlAs
with Debian's As.pz-bhs.UPF), extra pw.x settings, and molecular-dynamics snapshots."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import ase.build
import ase.io
import numpy as np
import pytest
from qe_cases import PSEUDO_DIR, require_qe

from ldos_surrogate.cli import main
from ldos_surrogate.commands.energies import compute
from ldos_surrogate.datagen.dataset import DatagenSettings
from ldos_surrogate.datagen.md import MdSettings, MdTrajectory
from ldos_surrogate.datagen.namelist import parse_pw_settings
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import read_dataset

ALAS_A = 5.66  # Angstrom, zincblende AlAs at room temperature
TINY_AL = ["--ecutwfc", "8", "--kmesh", "2", "2", "2", "--energy-spacing", "0.1", "--width", "0.1"]


def run_datagen(*arguments: str) -> int:
    return main(["datagen", "--temperature", "300", *arguments])


def test_alas_from_an_atoms_file_two_elements_end_to_end(tmp_path, capsys, monkeypatch):
    """A two-element material the project has no defaults for: As's pseudopotential (a file
    of the user's, outside QE's folder), the cutoff and the k-mesh are given; the window
    starts below the SCF band bottom; the LDOS holds exactly 8 electrons (an insulator) and
    its energies match QE's."""
    require_qe()
    structure = tmp_path / "alas.cif"
    ase.io.write(structure, ase.build.bulk("AlAs", "zincblende", a=ALAS_A))
    own = tmp_path / "my_pseudopotentials" / "As.mine.UPF"
    own.parent.mkdir()
    shutil.copyfile(PSEUDO_DIR / "As.pz-bhs.UPF", own)
    monkeypatch.chdir(tmp_path)
    out = Path("alas")  # relative, as typed
    common = ["--atoms", str(structure), "--out", str(out), "--ldos-dtype", "float32"]
    common += ["--displacements", "debye", "--snapshots", "1"]
    assert run_datagen(*common) == 2
    assert "--ecutwfc: required, the project has no tested default for ['As']" in (
        capsys.readouterr().err
    )
    common += ["--ecutwfc", "12", "--kmesh", "3", "3", "3"]
    assert run_datagen(*common) == 2
    assert "--pseudo: no pseudopotential for As, give --pseudo As=FILE" in capsys.readouterr().err
    assert run_datagen(*common, "--pseudo", "As=Al.pz-vbc.UPF") == 2
    assert "Al.pz-vbc.UPF is for Al" in capsys.readouterr().err
    common += ["--pseudo", f"As={own.relative_to(tmp_path)}"]
    assert run_datagen(*common) == 2
    assert "--debye-temperature: required" in capsys.readouterr().err
    assert not out.exists()  # nothing written
    assert run_datagen(*common, "--debye-temperature", "417") == 0
    (snapshot,) = read_dataset(out)
    meta = snapshot.meta
    assert sorted(snapshot.atoms().get_chemical_symbols()) == ["Al", "As"]
    checks = meta.provenance["checks"]
    assert checks["electrons_at_dft_fermi_level"] == pytest.approx(8.0, abs=1e-6)
    states = np.array(meta.provenance["kohn_sham_states"]["eigenvalues_ev"])
    assert meta.energy_grid.start_ev < states.min() - 1.0  # from the band bottom
    elements = meta.provenance["elements"]
    assert elements["As"]["pseudopotential"] == "As.mine.UPF"
    assert meta.provenance["pseudopotentials"]["As"] == "As.mine.UPF"  # what pw.x read
    assert (elements["Al"]["z_valence"], elements["As"]["z_valence"]) == (3.0, 5.0)
    assert meta.provenance["thermal_displacements"]["debye_temperature_k"] == 417.0
    assert (out / "As.mine.UPF").is_file()  # the data set carries its pseudopotentials
    result = compute(snapshot, [])  # finds them there
    computed, reference = result["energies_ev"], result["reference_ev"]
    for key in ("band_energy", "hartree", "xc", "ewald", "total_free_energy"):
        assert abs(computed[key] - reference[key]) / 2 < 5e-3, key  # eV/atom


def test_every_frame_of_a_file_is_a_snapshot_and_extra_pw_settings_pass(tmp_path, capsys):
    require_qe()
    frames = []
    for shift in (0.0, 0.1):
        atoms = ase.build.bulk("Al", "fcc", a=4.05)
        atoms.positions[0] += [shift, 0.0, 0.0]
        frames.append(atoms)
    trajectory = tmp_path / "frames.extxyz"
    ase.io.write(trajectory, frames)
    out = tmp_path / "al"
    arguments = ["--atoms", str(trajectory), "--out", str(out), *TINY_AL]
    assert run_datagen(*arguments, "--snapshots", "3") == 2
    assert "--snapshots 3: expected 1 ... 2 (the frames of the atoms file)" in (
        capsys.readouterr().err
    )
    assert run_datagen(*arguments, "--pw", "system.nbnd=20") == 2
    assert "--pw system.nbnd: not allowed" in capsys.readouterr().err
    assert (
        run_datagen(*arguments, "--pw", "system.ecutrho=40", "--pw", "electrons.mixing_beta=0.5")
        == 0
    )
    snapshots = read_dataset(out)
    assert [s.name for s in snapshots] == ["snapshot_0000", "snapshot_0001"]
    for snapshot, atoms in zip(snapshots, frames, strict=True):
        atoms.wrap()  # the store keeps positions inside the cell
        np.testing.assert_allclose(snapshot.atoms().positions, atoms.positions, atol=1e-9)
        assert snapshot.meta.provenance["ecutrho_ry"] == 40.0  # QE used the extra setting
        assert snapshot.meta.provenance["pw_extra"] == {
            "system.ecutrho": "40",
            "electrons.mixing_beta": "0.5",
        }
    assert snapshots[1].meta.provenance["structure"]["frame"] == 1
    # resuming with other extra settings is refused
    assert run_datagen(*arguments, "--pw", "system.ecutrho=48") == 2
    assert "data set was generated with pw_extra=" in capsys.readouterr().err


def test_defaults_for_any_structure_come_from_the_elements_present(tmp_path):
    primitive = tmp_path / "al.extxyz"
    ase.io.write(primitive, ase.build.bulk("Al", "fcc", a=4.05))
    settings = DatagenSettings(temperature_k=300.0, atoms_file=str(primitive))
    assert settings.ecutwfc_ry == 12.0 and settings.energy_below_fermi_ev == 12.0
    assert settings.k_mesh == (14, 14, 14)  # the 8x8x8 density of the cubic cell (32.4 A)
    assert settings.displacement_model == "none" and settings.debye_temperature == 428.0
    mixed = ase.build.bulk("Al", "fcc", a=4.05, cubic=True)
    mixed.symbols[0] = "Mg"
    ase.io.write(tmp_path / "almg.extxyz", mixed)
    settings = DatagenSettings(temperature_k=300.0, atoms_file=str(tmp_path / "almg.extxyz"))
    assert settings.ecutwfc_ry == 16.0  # the larger cutoff (Mg's)
    assert settings.k_mesh == (8, 8, 8) and settings.debye_temperature is None
    repeated = DatagenSettings(
        temperature_k=300.0, atoms_file=str(tmp_path / "almg.extxyz"), supercell=2
    )
    assert len(repeated.frames[0]) == 32 and repeated.k_mesh == (4, 4, 4)
    with pytest.raises(InputError, match="--atoms .*missing.extxyz: file not found"):
        DatagenSettings(temperature_k=300.0, atoms_file=str(tmp_path / "missing.extxyz"))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("system.nspin=2", "--pw system.nspin: not allowed, spin-polarised runs"),
        ("control.calculation='bands'", "--pw control.calculation: not allowed"),
        ("system.lda_plus_u=.true.", "a Hubbard energy is not part of Eq. (7)"),
        ("system.hubbard_u(1)=3", "--pw system.hubbard_u(1): not allowed"),
        ("ions.ion_dynamics='bfgs'", "--pw ions.ion_dynamics: namelist 'ions' is not one of"),
        ("ecutrho=200", "--pw 'ecutrho=200': expected SECTION.KEY=VALUE"),
    ],
)
def test_pw_settings_that_contradict_the_pipeline_are_refused(setting, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_pw_settings([setting])


def test_md_series_is_seeded_resumable_equilibrated_and_decorrelated(tmp_path):
    """Langevin MD with EMT (4-atom fcc Al, 298 K): a series resumed from its trajectory file
    equals one made at once; the kinetic temperature is T; displacements 20 fs apart are
    strongly correlated, 1 ps apart (the default interval) not."""
    crystal = ase.build.bulk("Al", "fcc", a=4.05, cubic=True)
    short = MdSettings(equilibration_ps=0.2, interval_ps=0.2)
    at_once = MdTrajectory(crystal, 298.0, short, 3, tmp_path / "a.extxyz").frame(3)
    MdTrajectory(crystal, 298.0, short, 3, tmp_path / "b.extxyz").frame(1)  # killed here
    resumed = MdTrajectory(crystal, 298.0, short, 3, tmp_path / "b.extxyz").frame(3)
    np.testing.assert_array_equal(at_once.positions, resumed.positions)
    other_seed = MdTrajectory(crystal, 298.0, short, 4, tmp_path / "c.extxyz").frame(3)
    assert np.abs(other_seed.positions - at_once.positions).max() > 1e-3

    fine = MdSettings(equilibration_ps=1.0, interval_ps=0.02)  # 150 frames, 20 fs apart
    trajectory = MdTrajectory(crystal, 298.0, fine, 1, tmp_path / "d.extxyz")
    frames = trajectory.frames(150)
    kinetic = [2 * f.get_kinetic_energy() / (3 * (len(f) - 1) * 8.617333262e-5) for f in frames]
    assert np.mean(kinetic) == pytest.approx(298.0, rel=0.1)
    u = np.array([f.positions - crystal.positions for f in frames])
    u -= u.mean(axis=1, keepdims=True)

    def correlation(lag: int) -> float:
        return float(
            (u[:-lag] * u[lag:]).sum() / np.sqrt((u[:-lag] ** 2).sum() * (u[lag:] ** 2).sum())
        )

    assert correlation(1) > 0.5
    assert abs(correlation(round(MdSettings().interval_ps / fine.interval_ps))) < 0.2


def test_md_snapshots_through_datagen(tmp_path, capsys):
    require_qe()
    out = tmp_path / "al_md"
    md = ["--displacements", "md", "--md-equilibration", "0.2", "--md-interval", "0.2"]
    arguments = ["--element", "Al", "--out", str(out), *TINY_AL, *md]
    assert run_datagen(*arguments, "--snapshots", "2") == 0
    snapshots = read_dataset(out)
    stored = ase.io.read(out / "md_trajectory.extxyz", index=":")
    for snapshot, frame in zip(snapshots, stored, strict=True):
        expected = frame.copy()
        expected.wrap()
        np.testing.assert_allclose(snapshot.atoms().positions, expected.positions, atol=1e-9)
        displacements = snapshot.meta.provenance["thermal_displacements"]
        assert displacements["model"].startswith("Langevin molecular dynamics")
        assert displacements["interval_ps"] == 0.2 and displacements["calculator"] == "emt"
    settings = json.loads((out / "datagen.json").read_text())["settings"]
    assert settings["md"]["friction_per_fs"] == 0.01
    mg = ["--element", "Mg", "--out", str(tmp_path / "mg"), "--snapshots", "1", *md]
    assert run_datagen(*mg) == 2
    assert "ASE's EMT has no parameters for ['Mg']" in capsys.readouterr().err
