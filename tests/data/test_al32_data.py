"""The research data config ``data=al32_298K``: found through LDOS_SURROGATE_DATA, one line
naming the datagen command when absent, and the physics of the snapshots it trains on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from reference_data import AL32, REPO, SHARED_DATA

from ldos_surrogate.datagen.ldos import broadened_dos
from ldos_surrogate.io.store import dataset_names, read_snapshot
from ldos_surrogate.models.metrics import EnergySetup, snapshot_energies
from ldos_surrogate.physics.band_energy import band_energy
from ldos_surrogate.physics.dos import density_of_states
from ldos_surrogate.physics.fermi import number_of_electrons

DATAGEN_COMMAND = (
    "ldos-surrogate datagen --element Al --supercell 2 --temperature 298 --snapshots 14 "
    "--out data/al32_298K --seed 100 --energy-spacing 0.1 --width 0.1 --mpi 2"
)


def test_missing_data_set_is_one_line_naming_the_datagen_command(tmp_path: Path) -> None:
    environment = {**os.environ, "LDOS_SURROGATE_DATA": str(tmp_path)}
    command = [sys.executable, str(REPO / "train.py"), "data=al32_298K", "logger=csv"]
    result = subprocess.run(
        [*command, f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {tmp_path / 'al32_298K'}: data set not found; make it with: {DATAGEN_COMMAND}"
    ]


@pytest.fixture(scope="module")
def splits(monkeypatch_module) -> dict[str, list[str]]:
    """The splits of ``data=al32_298K`` with LDOS_SURROGATE_DATA at the shared data."""
    if not (AL32 / "manifest.json").exists():
        pytest.skip(f"the 32-atom Al set is not at {AL32}")
    monkeypatch_module.setenv("LDOS_SURROGATE_DATA", str(SHARED_DATA))
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["data=al32_298K", "paths.output_dir=unused"])
    datamodule = instantiate(cfg.data)
    assert datamodule.dataset_dir == AL32
    return datamodule.split_names


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_splits_use_every_snapshot_once(splits: dict[str, list[str]]) -> None:
    assert [len(splits[s]) for s in ("train", "val", "test")] == [10, 2, 2]
    used = splits["train"] + splits["val"] + splits["test"]
    assert sorted(used) == dataset_names(AL32)[:14]


def test_held_out_snapshots_hold_96_electrons_and_their_dft_energies(splits) -> None:
    """Every validation and test snapshot: 3 electrons per atom at QE's Fermi level, band
    energy equal to the NSCF eigenvalues broadened alike, total free energy (Eq. 7) from the
    LDOS within the 0.1 eV broadening's few meV/atom of QE's."""
    training = [read_snapshot(AL32 / name) for name in splits["train"][:1]]
    setup = EnergySetup.from_snapshots(training)
    for name in splits["val"] + splits["test"]:
        snapshot = read_snapshot(AL32 / name)
        meta = snapshot.meta
        energies, at_qe_fermi = meta.energy_grid.energies, (meta.fermi_energy_ev, 298.0)
        dos = density_of_states(snapshot.ldos(), meta.cell)
        assert number_of_electrons(dos, energies, *at_qe_fermi) == pytest.approx(96, rel=5e-3)
        states = meta.provenance["kohn_sham_states"]
        eigenvalue_dos = broadened_dos(
            np.array(states["eigenvalues_ev"]),
            np.array(states["k_weights"]),
            meta.energy_grid,
            meta.broadening,
        )
        assert band_energy(dos, energies, *at_qe_fermi) == pytest.approx(
            band_energy(eigenvalue_dos, energies, *at_qe_fermi), rel=1e-4
        )
        total = snapshot_energies(snapshot.ldos(), snapshot, setup, True).total_free_energy_ev
        assert abs(total - meta.reference["total_free_energy"]) / 32 < 0.004, name
