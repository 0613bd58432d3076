"""Several ``search.py`` processes working on one search (a plain module, imported as
``search_workers``): the shipped Al data, 2 training snapshots, 1 validation snapshot,
2 epochs per trial, CSV logs, one torch thread per process. The search method is an Optuna
study unless a test gives its own method file.

Every worker gets the same ``search.name`` (so the same search folder, ``results.csv`` and,
by default, the SQLite study ``optuna.db`` in it) and its own log file. A worker that should
die mid-trial gets the `kill_at_batch.KillAtBatch` callback (`kill_in_first_trial`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial

REPO = Path(__file__).resolve().parents[2]
METRIC = "val/band_energy_mae_mev_per_atom"
SMALL_TRAINING = (
    "data.train=[snapshot_0000,snapshot_0001]",
    "data.val=[snapshot_0005]",
    "data.test=[]",
    "trainer.max_epochs=2",
    "logger=csv",
    "callbacks.rich_progress_bar=null",
)
# the search method file put on each worker's config search path
OPTUNA_METHOD = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_optuna
hydra:
  sweeper:
    n_trials: {n_trials}
    heartbeat_interval: 1
    grace_period: 3
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,32,32,null])
      model.optimizer.lr: tag(log, interval(3e-3, 3e-2))
"""


class SearchFolder:
    """One search (``search.name``) run by workers in ``root``; ``method`` is the text of its
    ``hparams_search`` file (default: the Optuna study of ``n_trials`` trials)."""

    def __init__(
        self,
        root: Path,
        name: str,
        n_trials: int,
        storage: str | None = None,
        method: str | None = None,
    ) -> None:
        self.root, self.name, self.n_trials = root, name, n_trials
        self.storage = storage or f"sqlite:///{self.sweep_dir / 'optuna.db'}"
        method_file = root / "conf" / "hparams_search" / "workers.yaml"
        method_file.parent.mkdir(parents=True, exist_ok=True)
        method_file.write_text(method or OPTUNA_METHOD.format(n_trials=n_trials))
        self.method_overrides = () if method else (f"hydra.sweeper.storage={self.storage}",)

    @property
    def sweep_dir(self) -> Path:
        return self.root / "logs" / "search" / self.name

    def command(self, *overrides: str) -> list[str]:
        conf = self.root / "conf"
        return [
            sys.executable,
            str(REPO / "search.py"),
            "hparams_search=workers",
            f"hydra.searchpath=[file://{conf}]",
            f"paths.log_dir={self.root / 'logs'}",
            f"search.experiment_dir={conf / 'experiment'}",
            f"search.name={self.name}",
            *self.method_overrides,
            *SMALL_TRAINING,
            *overrides,
        ]

    def start(self, worker: str, *overrides: str) -> subprocess.Popen:
        """Start a worker; its output goes to ``<root>/<worker>.log``."""
        paths = [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
        environment = os.environ | {
            "LDOS_SURROGATE_ROOT": str(REPO),
            "PYTHONPATH": os.pathsep.join(filter(None, paths)),
            "WANDB_MODE": "offline",
        }
        with open(self.root / f"{worker}.log", "w") as log:  # the child keeps its own copy
            return subprocess.Popen(
                self.command(*overrides),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=self.root,
                start_new_session=True,
            )

    def kill_in_first_trial(self) -> tuple[str, ...]:
        """Overrides that make a worker hold its first trial at batch 5 of the first epoch
        until another worker has finished a trial (its ``metrics.json`` exists), then SIGKILL
        itself: it dies mid-trial while the other worker is at work."""
        finished = self.sweep_dir / "trial_*" / "seed_*" / "metrics.json"
        return (
            "+callbacks.kill._target_=kill_at_batch.KillAtBatch",
            "+callbacks.kill.epoch=0",
            "+callbacks.kill.batch=5",
            f"+callbacks.kill.wait_for='{finished}'",
        )

    def run_two_killing_one(self, timeout: float = 300) -> None:
        """A worker ``doomed`` that dies in its first trial (`kill_in_first_trial`) and a
        worker ``survivor`` started once the doomed one trains; the survivor must finish."""
        doomed = self.start("doomed", *self.kill_in_first_trial())
        survivor = None
        try:
            self.wait_for_running_trial(doomed)
            survivor = self.start("survivor")
            assert doomed.wait(timeout=timeout) == -signal.SIGKILL, self.log("doomed")
            assert survivor.wait(timeout=timeout) == 0, self.log("survivor")
        finally:
            stop(doomed, survivor)

    def log(self, worker: str) -> str:
        return (self.root / f"{worker}.log").read_text()[-3000:]

    def trials(self) -> list[FrozenTrial]:
        return optuna.load_study(study_name=self.name, storage=self.storage).trials

    def wait_for_running_trial(self, worker: subprocess.Popen, timeout: float = 120) -> None:
        """Wait until ``worker`` (alive meanwhile) has started training a trial: its trial
        folder exists (looking at files, not at the study, creates no tables)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert worker.poll() is None, "the worker ended before it ran a trial"
            if list(self.sweep_dir.glob("trial_*/seed_*")):
                return
            time.sleep(0.2)
        raise AssertionError(f"no trial running within {timeout} s")

    def trial_metrics(self, number: int, seed: int) -> dict:
        """``metrics.json`` of a trained trial's run."""
        path = self.sweep_dir / f"trial_{number:04d}" / f"seed_{seed}" / "metrics.json"
        return json.loads(path.read_text())


def stop(*workers: subprocess.Popen | None) -> None:
    """SIGKILL the workers still running (and their children)."""
    for worker in workers:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
