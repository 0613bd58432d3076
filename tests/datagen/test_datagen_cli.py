"""The ``ldos-surrogate datagen`` command end to end on a tiny real case (4-atom Al, 8 Ry,
2x2x2 k-points): physics of the result, resume, a killed run, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from qe_cases import require_qe

from ldos_surrogate.cli import main
from ldos_surrogate.datagen.ldos import broadened_dos
from ldos_surrogate.io.store import dataset_names, read_dataset
from ldos_surrogate.physics.dos import density_of_states
from ldos_surrogate.physics.fermi import number_of_electrons

TINY = [
    "--element",
    "Al",
    "--supercell",
    "1",
    "--temperature",
    "298",
    "--kmesh",
    "2",
    "2",
    "2",
    "--ecutwfc",
    "8",
    "--energy-spacing",
    "0.1",
    "--width",
    "0.1",
]


def datagen(out, snapshots: int, *extra: str) -> list[str]:
    scratch = ["--scratch", str(out.parent / "scratch")]  # QE files of failed runs stay there
    return ["datagen", *TINY, "--snapshots", str(snapshots), "--out", str(out), *scratch, *extra]


def test_generates_physical_snapshots_and_resumes(tmp_path, capsys):
    require_qe()
    out = tmp_path / "al"
    assert main(datagen(out, 1)) == 0
    first_written = (out / "snapshot_0000" / "ldos.npy").stat().st_mtime_ns
    assert main(datagen(out, 2)) == 0  # resumes: only snapshot 1 is computed
    assert (out / "snapshot_0000" / "ldos.npy").stat().st_mtime_ns == first_written
    # killed between the snapshot write and the manifest, or inside a snapshot write:
    (out / "manifest.json").write_text(json.dumps({"snapshots": ["snapshot_0001"]}))
    (out / ".snapshot_0002.x1y2.tmp").mkdir()
    assert main(datagen(out, 2)) == 0
    assert (out / "snapshot_0000" / "ldos.npy").stat().st_mtime_ns == first_written
    assert not (out / ".snapshot_0002.x1y2.tmp").exists()
    snapshots = read_dataset(out)
    assert sorted(s.name for s in snapshots) == ["snapshot_0000", "snapshot_0001"]
    grids = {json.dumps(s.meta.to_json()["energy_grid_ev"]) for s in snapshots}
    assert len(grids) == 1  # one energy grid for the whole data set
    for snapshot in snapshots:
        meta = snapshot.meta
        assert meta.n_electrons == 12.0 and meta.broadening.kernel == "gaussian"
        assert snapshot.ldos().shape[:3] == snapshot.density().shape == meta.grid_shape
        assert snapshot.density().sum() * meta.voxel_volume == pytest.approx(12.0, rel=1e-8)
        # the LDOS integrates to the eigenvalue DOS broadened the same way (float16 storage)
        states = meta.provenance["kohn_sham_states"]
        expected = broadened_dos(
            np.array(states["eigenvalues_ev"]),
            np.array(states["k_weights"]),
            meta.energy_grid,
            meta.broadening,
        )
        occupied = meta.energy_grid.energies, meta.fermi_energy_ev, meta.temperature_k
        electrons = number_of_electrons(density_of_states(snapshot.ldos(), meta.cell), *occupied)
        assert electrons == pytest.approx(number_of_electrons(expected, *occupied), rel=1e-4)
        assert electrons == pytest.approx(12.0, rel=0.02)  # 2x2x2 k-points, 0.1 eV broadening
        assert meta.provenance["code"] == "Quantum ESPRESSO"
        assert set(meta.reference) >= {"total_free_energy", "band_energy", "smearing_ts"}
    assert "2 snapshots" in capsys.readouterr().out


def test_killed_run_leaves_no_partial_snapshot_and_resumes(tmp_path):
    require_qe()
    out, scratch = tmp_path / "al", tmp_path / "scratch"
    scratch.mkdir()
    command = [
        sys.executable,
        "-m",
        "ldos_surrogate.cli",
        *datagen(out, 2, "--scratch", str(scratch)),
    ]
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not list(scratch.glob("snapshot_0001.*/nscf.in")):  # second snapshot under way
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert dataset_names(out) == ["snapshot_0000"]
    assert not (out / "snapshot_0001").exists()
    assert main(datagen(out, 2)) == 0
    assert dataset_names(out) == ["snapshot_0000", "snapshot_0001"]


def test_changed_settings_refuse_to_resume(tmp_path, capsys):
    require_qe()
    out = tmp_path / "al"
    (out).mkdir()
    # a setting an older datagen.json lacks counts as its default (supercell 1 here)
    recorded = {"element": "Al", "temperature_k": 298.0, "seed": 1}
    (out / "datagen.json").write_text(json.dumps({"settings": recorded}))
    assert main(datagen(out, 1)) == 2
    assert "datagen.json: data set was generated with seed=1, not 0" in capsys.readouterr().err
    (out / "datagen.json").write_text("{not json")
    assert main(datagen(out, 1)) == 2
    assert "datagen.json: not a datagen settings file" in capsys.readouterr().err


def test_bad_input_is_one_clear_error(tmp_path, capsys, monkeypatch):
    assert main(datagen(tmp_path / "x", 1, "--pseudo-dir", str(tmp_path))) == 2
    assert "Al.pz-vbc.UPF: pseudopotential missing" in capsys.readouterr().err
    args = datagen(tmp_path / "x", 1)
    args[args.index("Al")] = "Xx"
    assert main(args) == 2
    assert "--element 'Xx': unknown element" in capsys.readouterr().err
    require_qe()
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(datagen(tmp_path / "x", 1)) == 2
    assert "pw.x: not found on PATH" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # nothing written


@pytest.mark.parametrize("variant", [["--ldos-method", "pp.x"], ["--mpi", "2"]])
def test_ppx_path_and_mpi_give_the_default_ldos(tmp_path, variant):
    """The same snapshot through pp.x plot_num=3 (Fermi-Dirac kernel, pp.x's only one) or
    under mpirun -np 2 equals the serial wavefunction path."""
    require_qe()
    window = "--kernel fermi-dirac --ldos-dtype float32 --energy-below 14 --energy-above 0.5"
    window = window.split()
    assert main(datagen(tmp_path / "default", 1, *window)) == 0
    assert main(datagen(tmp_path / "variant", 1, *window, *variant)) == 0
    reference = read_dataset(tmp_path / "default")[0].ldos()
    ldos = read_dataset(tmp_path / "variant")[0].ldos()
    assert reference.shape == ldos.shape and reference.max() > 0.01
    assert np.abs(ldos - reference).max() <= 1e-5 * reference.max()
