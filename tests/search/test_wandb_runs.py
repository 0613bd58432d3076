"""One W&B run per trained job of a search, whatever runs the jobs: Hydra's basic launcher (all
trials in the search's own process) and the joblib launcher (worker processes that take job
after job); each run named after its trial folder, grouped by the search, holding that job's
metrics, and closed, with exit code 1 when its training failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from search_runs import BAND_ENERGY, run_search, write_method
from wandb_runs import OfflineRun, offline_runs

DIRECT = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_direct
hydra:
  sweeper:
    repeats: {repeats}
    n_jobs: {n_jobs}
    params:
      {key}: {values}
"""
THREE_TRIALS = DIRECT.format(
    repeats=1, n_jobs=1, key="model.optimizer.lr", values="choice(3e-3,1e-2,2e-2)"
)
# Early stopping on a metric nobody logs raises inside training (after the W&B run started):
# the second trial fails, the first trains.
FAILING_SECOND = DIRECT.format(
    repeats=2,
    n_jobs=2,
    key="callbacks.early_stopping.monitor",
    values="choice(val/band_energy_mae_mev_per_atom,val/not_logged)",
)


def run_of(runs: list[OfflineRun], job_dir: Path) -> OfflineRun:
    (run,) = [run for run in runs if run.path.is_relative_to(job_dir)]
    return run


def assert_holds_the_metrics_of(run: OfflineRun, job_dir: Path) -> None:
    """The run logged every epoch's validation band-energy error of its job (float32)."""
    history = json.loads((job_dir / "metrics.json").read_text())["history"]
    assert run.values(BAND_ENERGY) == pytest.approx([h[BAND_ENERGY] for h in history], rel=1e-6)
    assert run.exit_code == 0


def test_every_trial_of_an_in_process_search_is_its_own_run(tmp_path: Path) -> None:
    write_method(tmp_path, "three_trials", THREE_TRIALS)
    search = run_search(tmp_path, "al_wandb", "hparams_search=three_trials", logger="wandb")
    assert search.returncode == 0, search.stderr[-3000:]
    runs = offline_runs(search.sweep_dir)
    assert len(runs) == 3
    for trial in range(3):
        job_dir = search.sweep_dir / f"trial_{trial:04d}" / "seed_42"
        run = run_of(runs, job_dir)
        assert (run.name, run.group) == (f"al_wandb/trial_{trial:04d}/seed_42", "al_wandb")
        assert_holds_the_metrics_of(run, job_dir)


def test_joblib_workers_open_a_run_per_job_and_close_failed_ones(tmp_path: Path) -> None:
    """4 jobs (2 trials x 2 seeds) on 2 worker processes: each worker runs 2 jobs."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="extra 'parallel'")
    write_method(tmp_path, "failing_second", FAILING_SECOND)
    search = run_search(
        tmp_path,
        "al_joblib",
        "hparams_search=failing_second",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        logger="wandb",
    )
    assert search.returncode == 0, search.stderr[-3000:]
    assert [row["status"] for row in search.results] == ["complete", "failed"]
    runs = offline_runs(search.sweep_dir)
    assert len(runs) == 4
    assert len({run.name for run in runs}) == 4
    for seed in (42, 43):
        trained = search.sweep_dir / "trial_0000" / f"seed_{seed}"
        assert_holds_the_metrics_of(run_of(runs, trained), trained)
        failed = run_of(runs, search.sweep_dir / "trial_0001" / f"seed_{seed}")
        assert (failed.name, failed.group) == (f"al_joblib/trial_0001/seed_{seed}", "al_joblib")
        assert failed.exit_code == 1
