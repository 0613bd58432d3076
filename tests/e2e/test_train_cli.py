"""`python train.py` on MALA's Be2 data: fast_dev_run, 2 real epochs, logs, checkpoint,
inference from the checkpoint, and bad input rejected before training."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from ldos_surrogate import tasks
from ldos_surrogate.descriptors import cached_descriptors
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala_import import import_mala_dataset
from ldos_surrogate.io.store import EnergyGrid, read_dataset
from ldos_surrogate.models.metrics import (
    EnergySetup,
    electron_count_error,
    energy_errors,
    ldos_rmse,
    snapshot_energies,
)
from ldos_surrogate.models.predictor import LdosPredictor
from ldos_surrogate.physics.constants import BOHR_ANGSTROM
from ldos_surrogate.physics.dos import density_of_states

BE2_TEST = "Be_snapshot3"
REPO = Path(__file__).resolve().parents[2]
AL_DATASET = REPO / "data" / "al_fcc_298K"
BE2_RCUT, BE2_TWOJMAX = 4.67637, 10  # MALA's SNAP settings for these files
BE2_ENERGY_GRID = EnergyGrid(start_ev=-5.0, spacing_ev=2.5, count=11)
# a small network keeps a run to seconds on two CPU cores; ~100 steps per epoch train it
TINY_MODEL = [
    "model.network.layer_widths=[null,32,32,null]",
    "data.batch_size=256",
    "model.optimizer.lr=3e-3",
    "model.scheduler=null",
]


def run_train(
    run_dir: Path, dataset_dir: Path | None, *overrides: str
) -> subprocess.CompletedProcess:
    """``python train.py data=be2 ...`` (the default data set when ``dataset_dir`` is None)
    with a tiny network and its run directory at ``run_dir``."""
    data = [] if dataset_dir is None else ["data=be2", f"data.dataset_dir={dataset_dir}"]
    command = [
        sys.executable,
        str(REPO / "train.py"),
        *data,
        f"hydra.run.dir={run_dir}",
        *TINY_MODEL,
        *overrides,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)


@pytest.fixture(scope="session")
def be2_store(mala_be2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Be2 (4 snapshots, 18x18x27 grid, 11 energies) in the store, MALA's descriptors cached."""
    store = tmp_path_factory.mktemp("be2") / "store"
    import_mala_dataset(mala_be2, BE2_ENERGY_GRID, store, BE2_RCUT, BE2_TWOJMAX)
    return store


@pytest.fixture(scope="session")
def two_epoch_run(be2_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory of ``train.py`` for 2 epochs on Be2 with W&B (offline) and CSV logs."""
    run_dir = tmp_path_factory.mktemp("two_epochs") / "run"
    result = run_train(run_dir, be2_store, "trainer.max_epochs=2", "logger=many")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 2
    return run_dir


def metrics_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def predict_cli(checkpoint: str | Path, atoms_file: Path, grid: tuple[int, ...], out: Path) -> dict:
    """``ldos-surrogate predict``; returns its energies.json."""
    command = [sys.executable, "-m", "ldos_surrogate.cli", "predict", str(checkpoint)]
    grid_args = ["--grid", *map(str, grid), "--out", str(out)]
    result = subprocess.run(
        [*command, str(atoms_file), *grid_args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "energies.json").read_text())


def test_fast_dev_run_trains_and_tests_one_batch(be2_store: Path, tmp_path: Path) -> None:
    result = run_train(tmp_path / "run", be2_store, "trainer.fast_dev_run=true", "logger=csv")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(tmp_path / "run")
    # one batch trains nothing yet (its LDOS may not even hold the 4 electrons: an infinite
    # band-energy error), but the test snapshot was evaluated on its full grid
    result = metrics["test_snapshots"][BE2_TEST]
    assert result["dft_ldos_ev"]["band_energy_ev"] == pytest.approx(12.424254, abs=1e-5)
    assert 0 < result["errors"]["ldos_rmse"] < 1.0
    assert "test/band_energy_mae_mev_per_atom" in metrics


def test_two_epochs_log_band_energy_error_per_epoch(two_epoch_run: Path) -> None:
    metrics = metrics_of(two_epoch_run)
    history = [entry["val/band_energy_mae_mev_per_atom"] for entry in metrics["history"]]
    assert len(history) == 2
    assert metrics["val/band_energy_mae_mev_per_atom"] == min(history)
    with open(two_epoch_run / "csv" / "metrics.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["val/band_energy_mae_mev_per_atom"]]
    logged = [float(row["val/band_energy_mae_mev_per_atom"]) for row in rows]
    np.testing.assert_allclose(logged, history, rtol=1e-6)  # CSV holds float32
    assert list((two_epoch_run / "wandb").glob("offline-run-*")), "no offline W&B run"
    for name in ("config.yaml", f"dos_{BE2_TEST}.png", "training_curve.png"):
        assert (two_epoch_run / name).stat().st_size > 0


def test_every_epoch_is_kept_when_an_earlier_epoch_is_tested(
    be2_store: Path, tmp_path: Path
) -> None:
    """At learning rate 1e-30 (steps below float32 precision) the second epoch does not improve
    on the first, so the first is tested: ``metrics.json`` still holds both epochs' validation
    errors (testing the best checkpoint reloads its history, which ends at that epoch)."""
    run_dir = tmp_path / "run"
    result = run_train(
        run_dir, be2_store, "trainer.max_epochs=2", "logger=csv", "model.optimizer.lr=1e-30"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(run_dir)
    assert [entry["epoch"] for entry in metrics["history"]] == [0, 1]
    assert torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=False)["epoch"] == 0


def test_two_epochs_predict_the_band_energy(two_epoch_run: Path) -> None:
    """Two epochs of a 32x32 network place the Be2 band energy within tens of meV/atom of
    the DFT LDOS's (measured: 38 meV/atom; a network after 26 steps misses by 5 eV/atom)
    and the Fermi level within tens of meV; the coarse 11-point energy grid is the same on
    both sides."""
    result = metrics_of(two_epoch_run)["test_snapshots"][BE2_TEST]
    assert abs(result["errors"]["band_energy_error_mev_per_atom"]) < 200.0
    assert abs(result["errors"]["fermi_energy_error_mev"]) < 200.0
    # the DFT LDOS of Be2 snapshot 3 on its energy grid (MALA's band energy convention)
    assert result["dft_ldos_ev"]["band_energy_ev"] == pytest.approx(12.424254, abs=1e-5)


def test_checkpoint_loads_weights_only_and_reproduces_test_metrics_exactly(
    two_epoch_run: Path, be2_store: Path
) -> None:
    metrics = metrics_of(two_epoch_run)
    checkpoint = Path(metrics["best_checkpoint"])
    torch.load(checkpoint, weights_only=True)  # no pickled objects
    predictor = LdosPredictor.from_checkpoint(checkpoint)
    snapshot = next(s for s in read_dataset(be2_store) if s.name == BE2_TEST)
    ldos = predictor.ldos(cached_descriptors(snapshot, predictor.descriptor_params))
    errors = energy_errors(
        snapshot_energies(ldos, snapshot, predictor.setup, with_total=True),
        snapshot_energies(snapshot.ldos(), snapshot, predictor.setup, with_total=True),
    )
    errors["ldos_rmse"] = ldos_rmse(ldos, snapshot.ldos())
    reference = metrics["test_snapshots"][BE2_TEST]["dft_ldos_ev"]
    errors["electron_count_error"] = electron_count_error(
        density_of_states(ldos, snapshot.meta.cell),
        density_of_states(snapshot.ldos(), snapshot.meta.cell),
        snapshot.meta.energy_grid,
        reference["fermi_energy_ev"],
        snapshot.meta.temperature_k,
    )
    assert errors == metrics["test_snapshots"][BE2_TEST]["errors"]


def test_solved_output_layer_is_what_is_validated_tested_and_saved(
    be2_store: Path, tmp_path: Path
) -> None:
    """With ``model.output_fit`` every validation scores the network with its output layer
    solved, the best epoch's network is solved again after training and saved as
    ``output_fit.ckpt``: it reproduces the best validation error and the logged test errors
    exactly."""
    run_dir = tmp_path / "run"
    result = run_train(
        run_dir, be2_store, "trainer.max_epochs=2", "logger=csv", "model.output_fit={}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(run_dir)
    checkpoint = Path(metrics["best_checkpoint"])
    assert checkpoint == run_dir / "checkpoints" / "output_fit.ckpt"
    history = metrics["history"]
    assert all(
        entry["val/band_energy_mae_mev_per_atom"]
        != entry["val/band_energy_mae_trained_layer_mev_per_atom"]
        for entry in history
    )
    predictor = LdosPredictor.from_checkpoint(checkpoint)
    snapshots = {s.name: s for s in read_dataset(be2_store)}

    def errors_of(name: str) -> dict[str, float]:
        snapshot = snapshots[name]
        ldos = predictor.ldos(cached_descriptors(snapshot, predictor.descriptor_params))
        return energy_errors(
            snapshot_energies(ldos, snapshot, predictor.setup, with_total=True),
            snapshot_energies(snapshot.ldos(), snapshot, predictor.setup, with_total=True),
        )

    validation = abs(errors_of("Be_snapshot2")["band_energy_error_mev_per_atom"])
    assert validation == pytest.approx(metrics["val/band_energy_mae_mev_per_atom"], rel=1e-9)
    logged = metrics["test_snapshots"][BE2_TEST]["errors"]
    errors = errors_of(BE2_TEST)
    assert errors == {key: logged[key] for key in errors}
    assert set(logged) - set(errors) == {"ldos_rmse", "electron_count_error"}


def test_predict_cli_writes_density_cube_and_energies(
    two_epoch_run: Path, be2_store: Path, tmp_path: Path
) -> None:
    checkpoint = metrics_of(two_epoch_run)["best_checkpoint"]
    atoms_file = be2_store / BE2_TEST / "atoms.extxyz"
    energies = predict_cli(checkpoint, atoms_file, (18, 18, 27), tmp_path)
    # the Fermi level is fitted to 2 valence electrons per Be atom: the density holds them
    cube = ase.io.read(tmp_path / "density.cube", read_data=True, full_output=True)
    atoms, density = cube["atoms"], cube["data"]
    voxel_bohr3 = atoms.get_volume() / BOHR_ANGSTROM**3 / density.size
    assert density.sum() * voxel_bohr3 == pytest.approx(4.0, rel=1e-5)
    assert energies["n_electrons"] == 4.0
    # LAMMPS descriptors of the atoms give what MALA's stored ones gave at test time
    logged = metrics_of(two_epoch_run)["test_snapshots"][BE2_TEST]["predicted_ev"]
    assert energies["energies_ev"]["band_energy_ev"] == pytest.approx(
        logged["band_energy_ev"], rel=1e-6
    )
    # the same from Python
    prediction = LdosPredictor.from_checkpoint(checkpoint).predict(
        ase.io.read(atoms_file), (18, 18, 27)
    )
    assert prediction.energies_json() == energies


def test_shipped_al_run_is_reproduced_by_predict_from_atoms(tmp_path: Path) -> None:
    """Two epochs on the shipped Al set; predicting a test snapshot from its atoms alone
    (LAMMPS descriptors, the checkpoint's scalers and energy setup) gives the logged test
    energies bit for bit, the total free energy (Eq. 7, Al.pz-vbc) included."""
    if not (AL_DATASET / "manifest.json").exists():
        pytest.skip(f"shipped Al data set not found at {AL_DATASET}")
    result = run_train(tmp_path / "run", None, "trainer.max_epochs=2", "logger=csv")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = metrics_of(tmp_path / "run")
    name = "snapshot_0006"
    energies = predict_cli(
        metrics["best_checkpoint"], AL_DATASET / name / "atoms.extxyz", (18, 18, 18), tmp_path
    )
    logged = metrics["test_snapshots"][name]["predicted_ev"]
    assert energies["energies_ev"] == {k: v for k, v in logged.items() if k != "n_atoms"}
    assert energies["energies_ev"]["total_free_energy_ev"] is not None
    assert energies["n_electrons"] == 12.0  # 3 valence electrons per Al (Al.pz-vbc)
    check_skill_against_the_constant_guess(metrics, tmp_path / "run")


def check_skill_against_the_constant_guess(metrics: dict, run_dir: Path) -> None:
    """The test report of a run on the shipped Al set puts the constant guess (the mean
    per-atom DFT-LDOS energy of training snapshots 0-4) beside every energy error: its
    errors are recomputed here from the snapshots, the ratios are model / constant, and the
    parity plot is written."""
    dataset = read_dataset(AL_DATASET)
    setup = EnergySetup.from_snapshots(dataset[:5])
    training = [snapshot_energies(s.ldos(), s, setup, with_total=True) for s in dataset[:5]]
    for energy in ("band_energy", "total_free_energy"):
        guess = np.mean([getattr(e, f"{energy}_ev") / e.n_atoms for e in training])
        constant_errors = []
        for name in ("snapshot_0006", "snapshot_0007"):
            result = metrics["test_snapshots"][name]
            dft = result["dft_ldos_ev"][f"{energy}_ev"] / result["dft_ldos_ev"]["n_atoms"]
            constant_errors.append(1000 * (guess - dft))
            constant_error = result["constant_guess_errors"][
                f"constant_{energy}_error_mev_per_atom"
            ]
            assert constant_error == pytest.approx(constant_errors[-1], abs=1e-9)
        constant = metrics[f"test/{energy}_constant_mae_mev_per_atom"]
        assert constant == pytest.approx(np.mean(np.abs(constant_errors)), abs=1e-9)
        model = metrics[f"test/{energy}_mae_mev_per_atom"]
        assert metrics[f"test/{energy}_mae_ratio_to_constant"] == pytest.approx(model / constant)
    # the thermal spread of the 4-atom snapshots: the constant guess misses by ~52 meV/atom
    assert metrics["test/band_energy_constant_mae_mev_per_atom"] == pytest.approx(52.46, abs=0.01)
    assert (run_dir / "parity.png").stat().st_size > 0


# ---- bad input: one InputError naming the key or file, before any training ----------------


def composed(be2_store: Path, tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                "data=be2",
                f"data.dataset_dir={be2_store}",
                f"paths.output_dir={tmp_path}",
                "logger=csv",
                *TINY_MODEL,
                *overrides,
            ],
        )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.network.activations=[ReLU,Swoosh]", "model.network.activations[1]: unknown"),
        ("model.network.layer_widths=[90,32,null]", "model.network.layer_widths[0]: 90 does not"),
        ("model.network.layer_widths=[null,32,12]", "11 energy grid points"),
        ("model.optimizer.name=adagrad", "model.optimizer.name"),
        ("data.val=[Be_snapshot9]", "val: snapshot 'Be_snapshot9' is not listed"),
    ],
)
def test_bad_config_fails_before_training(
    be2_store: Path, tmp_path: Path, override: str, message: str
) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        tasks.train(composed(be2_store, tmp_path, override))
    assert not (tmp_path / "checkpoints").exists()


def test_resume_from_checkpoint_with_other_descriptors_fails(
    two_epoch_run: Path, be2_store: Path, tmp_path: Path
) -> None:
    checkpoint = metrics_of(two_epoch_run)["best_checkpoint"]
    cfg = composed(be2_store, tmp_path, "descriptor.twojmax=4", f"+ckpt_path={checkpoint}")
    with pytest.raises(InputError, match="trained with descriptors"):
        tasks.train(cfg)


def test_cli_reports_bad_input_in_one_line(be2_store: Path, tmp_path: Path) -> None:
    result = run_train(tmp_path / "run", be2_store, "model.network.activations=Swoosh")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: model.network.activations[0]: unknown activation 'Swoosh'")
    )
