"""Several ``search.py`` processes working on one search (a plain module, imported as
``search_workers``): the shipped Al data, 2 training snapshots, 1 validation snapshot,
2 epochs per trial, CSV logs, one torch thread per process.

A `Workspace` is one working directory with its own search folder and method file; workers of
one search run in one workspace (one machine) or in several that share nothing but the study's
storage URL (machines that share only a database server). A worker that should die mid-trial
gets the `kill_at_batch.KillAtBatch` callback (`Workspace.doomed_overrides`).
"""

from __future__ import annotations

import json
import os
import re
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
HEADER = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_{sweeper}
hydra:
  sweeper:
    heartbeat_interval: 1
    grace_period: 5
"""
# a line a worker prints once it has finished a trial or waits for other workers' trials
ACTIVE = re.compile(r"^\[\w+\] (trial \d+ of \d+|waiting for)", re.MULTILINE)


class Workspace:
    """A working directory ``root`` running the search ``name`` of the ``hparams_search`` file
    ``method`` (`HEADER` for sweeper ``ldos_<sweeper>`` plus ``method``), its study in
    ``storage`` (None: the SQLite file of its search folder)."""

    def __init__(
        self, root: Path, name: str, sweeper: str, method: str, storage: str | None = None
    ) -> None:
        self.root, self.name, self.storage = root, name, storage
        method_file = root / "conf" / "hparams_search" / "workers.yaml"
        method_file.parent.mkdir(parents=True, exist_ok=True)
        method_file.write_text(HEADER.format(sweeper=sweeper) + method)
        self.workers: dict[str, subprocess.Popen] = {}

    @property
    def sweep_dir(self) -> Path:
        return self.root / "logs" / "search" / self.name

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{self.sweep_dir / 'optuna.db'}"

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
            f"data.cache_dir={self.root / 'descriptor_cache'}",
            *([f"hydra.sweeper.storage={self.storage}"] if self.storage else []),
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
            self.workers[worker] = subprocess.Popen(
                self.command(*overrides),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=self.root,
                start_new_session=True,
            )
        return self.workers[worker]

    def log(self, worker: str) -> str:
        return (self.root / f"{worker}.log").read_text()

    def wait_for(self, what: str, done, worker: str, timeout: float = 240) -> None:
        """Poll ``done()`` until it holds while ``worker`` runs; fail naming ``what``."""
        deadline = time.monotonic() + timeout
        while not done():
            assert self.workers[worker].poll() is None, (
                f"{worker} ended: {self.log(worker)[-3000:]}"
            )
            assert time.monotonic() < deadline, f"{worker}: no {what} within {timeout} s"
            time.sleep(0.2)

    def training(self) -> bool:
        """Whether a training job has started in this search folder (looking at files, not at
        the study, creates no tables)."""
        return bool(list(self.sweep_dir.glob("trial_*/seed_*")))

    def doomed_overrides(self, kill_file: Path) -> tuple[str, ...]:
        """Overrides that make a worker hold its first training at batch 5 of the first epoch
        until ``kill_file`` exists, then SIGKILL itself: it dies mid-trial when the test says."""
        return (
            "+callbacks.kill._target_=kill_at_batch.KillAtBatch",
            "+callbacks.kill.epoch=0",
            "+callbacks.kill.batch=5",
            f"+callbacks.kill.wait_for='{kill_file}'",
        )

    def trials(self) -> list[FrozenTrial]:
        return optuna.load_study(study_name=self.name, storage=self.storage_url).trials

    def trial_metrics(self, number: int, seed: int) -> dict:
        """``metrics.json`` of a trained trial's run in this workspace."""
        path = self.sweep_dir / f"trial_{number:04d}" / f"seed_{seed}" / "metrics.json"
        return json.loads(path.read_text())


def stop(*workers: subprocess.Popen | None) -> None:
    """SIGKILL the workers still running (and their children)."""
    for worker in workers:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
