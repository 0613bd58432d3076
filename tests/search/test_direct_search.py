"""Direct search end to end on the shipped Al data: one hyperparameter at a time, the best
value kept, and ``train.py experiment=<name>`` reproduces the best trial exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from search_runs import BAND_ENERGY, REPO, environment, run_search, write_method

TINY_DIRECT = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_direct
hydra:
  sweeper:
    repeats: 2
    params:
      model.optimizer.lr: choice(1e-3,1e-2)
      model.network.activations: choice(LeakyReLU,Tanh)
"""


def test_direct_search_keeps_each_best_value_and_its_experiment_reproduces(
    tmp_path: Path,
) -> None:
    write_method(tmp_path, "tiny_direct", TINY_DIRECT)
    run = run_search(tmp_path, "al_direct", "hparams_search=tiny_direct")
    assert run.returncode == 0, run.stderr[-3000:]
    rows = run.results
    lr, activation = "model.optimizer.lr", "model.network.activations"
    # first the learning rate at the config's activation (LeakyReLU), each over seeds 42, 43
    assert [(r[lr], r[activation]) for r in rows[:2]] == [
        ("0.001", "LeakyReLU"),
        ("0.01", "LeakyReLU"),
    ]
    assert all(r["seeds"] == "42;43" and r["status"] == "complete" for r in rows)
    kept_lr = min(rows[:2], key=lambda r: float(r["loss"]))[lr]
    # then the activation at the kept rate; (kept rate, LeakyReLU) is not trained again
    assert len(rows) == 3
    assert (rows[2][lr], rows[2][activation]) == (kept_lr, "Tanh")
    assert f"direct: {lr} = {kept_lr}" in run.stdout

    best = min(rows, key=lambda r: float(r["loss"]))
    seed_42_loss = float(best["loss_per_seed"].split(";")[0])
    reproduced = tmp_path / "reproduced"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "train.py"),
            "experiment=al_direct",
            f"hydra.searchpath=[file://{run.conf_dir}]",
            f"hydra.run.dir={reproduced}",
        ],
        check=True,
        capture_output=True,
        env=environment(),
        cwd=tmp_path,
        timeout=240,
    )
    metrics = json.loads((reproduced / "metrics.json").read_text())
    assert metrics[BAND_ENERGY] == seed_42_loss
