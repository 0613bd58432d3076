"""A two-element material end to end, as its user would run it: zincblende AlAs from a
structure file through ``datagen --atoms`` (Debian's Al.pz-vbc.UPF and As.pz-bhs.UPF, LDA,
norm-conserving), two-element SNAP descriptors, ``train.py`` and ``energies``.

The CI variant keeps QE to seconds: the 2-atom primitive cell, 12 Ry, 2x2x2 k-points, three
Debye snapshots. The documented 8-atom set (data/README.md, 25 Ry, 4x4x4 k-points) is
checked by the last test when it has been made.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import ase.build
import ase.io
import numpy as np
import pytest
from qe_cases import require_qe

from ldos_surrogate.cli import main
from ldos_surrogate.commands.energies import compute
from ldos_surrogate.descriptors.params import SnapParams
from ldos_surrogate.descriptors.snap import compute_snap_grid
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import Snapshot, read_dataset

REPO = Path(__file__).resolve().parents[2]
ALAS_SET = REPO / "data" / "alas_zb_300K"
WEIGHTS = {"Al": 0.6, "As": 1.0}  # SNAP neighbour weights in proportion to the valence
SPLITS = ["data.train=[snapshot_0000]", "data.val=[snapshot_0001]", "data.test=[snapshot_0002]"]


@pytest.fixture(scope="module")
def alas(tmp_path_factory) -> Path:
    require_qe()
    folder = tmp_path_factory.mktemp("alas")
    structure = folder / "AlAs.cif"
    ase.io.write(structure, ase.build.bulk("AlAs", "zincblende", a=5.66))
    command = (
        f"datagen --atoms {structure} --pseudo As=As.pz-bhs.UPF --ecutwfc 12 --kmesh 2 2 2 "
        "--displacements debye --debye-temperature 417 --temperature 300 --snapshots 3 "
        f"--ldos-dtype float32 --out {folder / 'set'}"
    )
    assert main(command.split()) == 0
    return folder / "set"


def check_against_qe(snapshot: Snapshot) -> None:
    """LDOS energies within 5 meV/atom of QE's, the electron count exact (a gap at E_F),
    per-element settings in the provenance."""
    meta = snapshot.meta
    electrons = meta.provenance["checks"]["electrons_at_dft_fermi_level"]
    assert electrons == pytest.approx(meta.n_electrons, abs=1e-4)  # Gaussian tails only
    result = compute(snapshot, [])
    assert result["total_free_energy_skipped"] is None
    for key in ("band_energy", "hartree", "xc", "ewald", "total_free_energy"):
        error = (result["energies_ev"][key] - result["reference_ev"][key]) / result["n_atoms"]
        assert abs(error) < 5e-3, f"{snapshot.name} {key}: {1000 * error:.3f} meV/atom"
    elements = meta.provenance["elements"]
    assert {e: elements[e]["pseudopotential"] for e in elements} == {
        "Al": "Al.pz-vbc.UPF",
        "As": "As.pz-bhs.UPF",
    }
    counts = {e: snapshot.atoms().get_chemical_symbols().count(e) for e in elements}
    assert {e: elements[e]["atoms"] for e in elements} == counts


def test_datagen_gives_qe_energies_from_the_ldos(alas):
    for snapshot in read_dataset(alas):
        check_against_qe(snapshot)


def test_two_element_descriptors_need_different_weights():
    """In zincblende every site has four neighbours of the other element: with equal
    weights the descriptors at an Al and at an As site are the same; with the valence
    weights they differ by tens of percent."""
    cell = ase.build.bulk("AlAs", "zincblende", a=5.66, cubic=True)  # Al at 0, As at 1/4
    differences = []
    for weights in ({}, WEIGHTS):
        try:
            grid = compute_snap_grid(cell, (8, 8, 8), SnapParams(4.67637, 10, wj=weights))
        except InputError as error:
            pytest.skip(f"LAMMPS with sna/grid unavailable: {error}")
        al_site, as_site = grid[0, 0, 0], grid[2, 2, 2]
        differences.append(np.abs(al_site - as_site).max() / np.abs(al_site).max())
    assert differences[0] < 1e-6 and differences[1] > 0.2


def test_train_and_energies_on_two_elements(alas, tmp_path, capsys):
    run_dir = tmp_path / "run"
    wj = "+descriptor.wj={" + ", ".join(f"{e}: {w}" for e, w in WEIGHTS.items()) + "}"
    command = [
        sys.executable,
        str(REPO / "train.py"),
        f"data.dataset_dir={alas}",
        *SPLITS,
        wj,
        "logger=csv",
        "trainer.max_epochs=3",
        "model.network.layer_widths=[null,32,32,null]",
        "data.batch_size=256",
        f"hydra.run.dir={run_dir}",
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert finished.returncode == 0, finished.stderr[-2000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # Eq. (7) was evaluated on the predicted two-element LDOS of the test snapshot
    assert np.isfinite(metrics["test/total_free_energy_mae_mev_per_atom"])
    assert np.isfinite(metrics["test/band_energy_mae_mev_per_atom"])
    assert main(["energies", str(alas / "snapshot_0002")]) == 0
    table = capsys.readouterr().out
    assert "electrons           8 (4 per atom)" in table and "total free energy A" in table


def test_documented_alas_set(tmp_path):
    if not (ALAS_SET / "manifest.json").exists():
        pytest.skip(f"{ALAS_SET} not made (data/README.md: the AlAs datagen command)")
    for snapshot in read_dataset(ALAS_SET):
        check_against_qe(snapshot)
