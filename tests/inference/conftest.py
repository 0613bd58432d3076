"""A small network trained on the shipped Al set (snapshots 0-4), for the inference tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AL_DATASET = REPO / "data" / "al_fcc_298K"


@pytest.fixture(scope="session")
def al_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """best.ckpt of ``train.py`` on the shipped set (train 0-4, val 5, test 6-7), a 32 x 32
    network for 2 epochs: real data, seconds to train."""
    if not (AL_DATASET / "manifest.json").exists():
        pytest.skip(f"shipped Al data set not found at {AL_DATASET}")
    run_dir = tmp_path_factory.mktemp("al_model") / "run"
    command = [
        sys.executable,
        str(REPO / "train.py"),
        f"hydra.run.dir={run_dir}",
        "logger=csv",
        "test=false",
        "trainer.max_epochs=2",
        "model.network.layer_widths=[null,32,32,null]",
        "data.batch_size=256",
        "model.scheduler=null",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir / "checkpoints" / "best.ckpt"
