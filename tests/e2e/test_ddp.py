"""``train.py trainer=ddp`` as Lightning DDP with 2 CPU processes (gloo) on MALA's Be2 data:
the second process is started by Lightning, both train, and rank 0 tests and writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from reference_data import BE2_ENERGY_GRID
from test_train_cli import BE2_RCUT, BE2_TEST, BE2_TWOJMAX, run_train

from ldos_surrogate.io.mala_import import import_mala_dataset

TWO_CPU_PROCESSES = [
    "trainer=ddp",
    "trainer.accelerator=cpu",
    "trainer.devices=2",
    "trainer.precision=32-true",
    "trainer.max_epochs=2",
    "logger=csv",
    "callbacks.rich_progress_bar=null",
]
SINGLE_PROCESS_BATCHES = math.ceil(2 * 18 * 18 * 27 / 256)  # 2 training snapshots, batch 256


@pytest.fixture(scope="module")
def ddp_run(mala_be2: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The run directory and the output of a 2-process DDP run of 2 epochs."""
    store = tmp_path_factory.mktemp("be2") / "store"
    import_mala_dataset(mala_be2, BE2_ENERGY_GRID, store, BE2_RCUT, BE2_TWOJMAX)
    run_dir = tmp_path_factory.mktemp("ddp") / "run"
    result = run_train(run_dir, store, *TWO_CPU_PROCESSES)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result.stdout + result.stderr


def test_two_gloo_processes_train_and_test_the_band_energy(ddp_run: tuple[Path, str]) -> None:
    run_dir, output = ddp_run
    assert "distributed_backend=gloo" in output
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in output
    assert (run_dir / "train_ddp_process_1.log").exists()  # the process Lightning started
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["history"]) == 2
    result = metrics["test_snapshots"][BE2_TEST]
    # the DFT LDOS of Be2 snapshot 3 on its 11-point energy grid, as in a single-process run
    assert result["dft_ldos_ev"]["band_energy_ev"] == pytest.approx(12.424254, abs=1e-5)
    # two epochs of a 32x32 network: tens of meV/atom (single process measured: 38)
    assert abs(result["errors"]["band_energy_error_mev_per_atom"]) < 200.0
    assert abs(result["errors"]["fermi_energy_error_mev"]) < 200.0


def test_each_process_trains_on_half_of_the_epoch(ddp_run: tuple[Path, str]) -> None:
    run_dir, _ = ddp_run
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] <= 2 * math.ceil(SINGLE_PROCESS_BATCHES / 2)
