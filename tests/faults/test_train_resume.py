"""Kill ``train.py`` with SIGKILL in the middle of an epoch, resume from ``last.ckpt``: the
resumed run ends where an uninterrupted run with the same seed ends (CPU, one thread)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.io.mala_import import import_mala_dataset

REPO = Path(__file__).resolve().parents[2]
BE2_RCUT, BE2_TWOJMAX = 4.67637, 10  # MALA's SNAP settings of the Be2 files
EPOCHS = 4
KILL_EPOCH, KILL_BATCH = 2, 30  # of 69 batches per epoch
TINY_RUN = [
    "data=be2",
    "logger=csv",
    "model.network.layer_widths=[null,32,32,null]",
    "data.batch_size=256",
    "model.optimizer.lr=3e-3",
    "model.scheduler.patience=1",  # the plateau scheduler state must survive the kill too
    f"trainer.max_epochs={EPOCHS}",
    "seed=7",
]


@pytest.fixture(scope="module")
def be2_store(mala_be2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("be2") / "store"
    import_mala_dataset(mala_be2, BE2_ENERGY_GRID, store, BE2_RCUT, BE2_TWOJMAX)
    return store


def train(run_dir: Path, store: Path, *overrides: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        str(REPO / "train.py"),
        *TINY_RUN,
        f"data.dataset_dir={store}",
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]
    paths = [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    environment = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, paths))}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=REPO, env=environment
    )


def test_resumed_run_ends_like_an_uninterrupted_one(be2_store: Path, tmp_path: Path) -> None:
    whole, killed = tmp_path / "uninterrupted", tmp_path / "killed"
    result = train(whole, be2_store)
    assert result.returncode == 0, result.stderr[-3000:]

    kill = "+callbacks.kill._target_=kill_at_batch.KillAtBatch"
    at = [f"+callbacks.kill.epoch={KILL_EPOCH}", f"+callbacks.kill.batch={KILL_BATCH}"]
    result = train(killed, be2_store, kill, *at)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    last = killed / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == KILL_EPOCH - 1  # the last full epoch
    assert not (killed / "metrics.json").exists()

    result = train(killed, be2_store, f"ckpt_path={last}")
    assert result.returncode == 0, result.stderr[-3000:]

    expected = json.loads((whole / "metrics.json").read_text())
    resumed = json.loads((killed / "metrics.json").read_text())
    assert resumed["epochs"] == expected["epochs"] == EPOCHS
    # the epochs trained after the resume repeat the uninterrupted run's, bit for bit
    assert resumed["history"] == expected["history"][-len(resumed["history"]) :]
    for key, value in expected.items():
        if key.startswith(("val/", "test/")):
            assert resumed[key] == value, key
    assert resumed["test_snapshots"] == expected["test_snapshots"]
    # the same weights, optimiser moments and scheduler state at the end
    final = [
        torch.load(run / "checkpoints" / "last.ckpt", weights_only=True) for run in (whole, killed)
    ]
    for name, tensor in final[0]["state_dict"].items():
        assert torch.equal(tensor, final[1]["state_dict"][name]), name
    assert (
        final[0]["optimizer_states"][0]["state"].keys()
        == final[1]["optimizer_states"][0]["state"].keys()
    )
    for index, moments in final[0]["optimizer_states"][0]["state"].items():
        for name, value in moments.items():
            assert torch.equal(value, final[1]["optimizer_states"][0]["state"][index][name])
    assert final[0]["lr_schedulers"] == final[1]["lr_schedulers"]
