"""Trials in parallel through Hydra's launchers: the trials of one batch of an Optuna search in
joblib processes, each recorded loss the metric its run wrote; the SLURM preset composes.
(Several workers on one search, and a worker killed among them: `test_shared_trials.py`.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from optuna.trial import TrialState
from search_workers import METRIC, REPO, Workspace

WORKER_TIMEOUT = 240  # s
OPTUNA = """    n_trials: 2
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,32,32,null])
      model.optimizer.lr: tag(log, interval(3e-3, 3e-2))
"""


def test_trials_of_one_batch_run_in_joblib_processes(tmp_path: Path) -> None:
    """``hydra/launcher=joblib``: the 2 trials asked at once train in 2 local processes, and
    each recorded loss is the metric its run wrote."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="extra 'parallel'")
    search = Workspace(tmp_path, "joblib", "optuna", OPTUNA)
    launcher = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2")
    worker = search.start("worker", *launcher)
    assert worker.wait(timeout=WORKER_TIMEOUT) == 0, search.log("worker")[-3000:]
    complete = [t for t in search.trials() if t.state == TrialState.COMPLETE]
    assert len(complete) == 2
    for trial in complete:
        assert search.trial_metrics(trial.number, 42)[METRIC] == trial.value


def test_slurm_launcher_preset_composes() -> None:
    """``hydra/launcher=slurm_gpu``: submitit's SLURM launcher with one GPU per trial."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="extra 'parallel'")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(
            "search",
            overrides=["hydra/launcher=slurm_gpu", "hydra.launcher.partition=gpu"],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.gpus_per_node, launcher.tasks_per_node, launcher.partition) == (1, 1, "gpu")
    folder = OmegaConf.to_container(launcher)["submitit_folder"]  # unresolved: no run yet
    assert folder == "${hydra.sweep.dir}/.submitit/%j"
