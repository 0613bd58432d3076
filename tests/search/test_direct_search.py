"""Direct search end to end on the shipped Al data: one hyperparameter at a time, the best
value kept, and ``train.py experiment=<name>`` reproduces the best trial exactly."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import optuna
from search_runs import BAND_ENERGY, REPO, environment, run_search, write_method

from ldos_surrogate.search.report import loss_view
from ldos_surrogate.search.study import trial_result

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
    run.assert_followable(total=3, method_view=False)

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


DIVERGING = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_direct
hydra:
  sweeper:
    repeats: 1
    params:
      model.optimizer.lr: choice(3e-3,1e30)
"""


def test_a_trial_without_a_finite_loss_fails_and_is_never_chosen(tmp_path: Path) -> None:
    """A learning rate of 1e30 makes the network's output NaN: its predicted LDOS gives no
    band energy, the validation error is inf. The trial is failed, the other one chosen, and
    report.png shows the failure apart from the losses."""
    write_method(tmp_path, "diverging", DIVERGING)
    run = run_search(tmp_path, "al_diverging", "hparams_search=diverging")
    assert run.returncode == 0, run.stderr[-3000:]
    finite, diverged = run.results
    assert (finite["status"], diverged["status"]) == ("complete", "failed")
    metrics = json.loads((run.sweep_dir / "trial_0001" / "seed_42" / "metrics.json").read_text())
    assert metrics[BAND_ENERGY] == math.inf and diverged["loss"] == "inf"
    assert f"best: trial 0, loss {float(finite['loss']):.6g}" in run.stdout
    assert "  optimizer:\n    lr: 0.003\n" in run.experiment.read_text()
    run.assert_followable(total=2, method_view=False)

    # the loss panel: the trained trial and the best so far, the failed one as a cross
    storage = f"sqlite:///{run.sweep_dir / 'optuna.db'}"
    trials = optuna.load_study(study_name="al_diverging", storage=storage).trials
    results = [trial_result(trial) for trial in trials]
    figure, axes = plt.subplots()
    loss_view(axes, results, BAND_ENERGY)
    points, best, failed = (line.get_xydata().tolist() for line in axes.lines[:3])
    assert points == best == [[0.0, float(finite["loss"])]]
    assert [x for x, _ in failed] == [1.0]
    plt.close(figure)
