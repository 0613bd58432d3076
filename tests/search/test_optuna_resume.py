"""Kill a running Optuna search with SIGKILL and run the same command again: the trials
completed before the kill are kept, the killed trial is failed (its heartbeat stopped) and
retried with the same hyperparameters, and the study finishes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import sqlalchemy.exc
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState
from search_runs import environment, run_search, search_command, write_method

N_TRIALS = 4
TINY_OPTUNA = f"""# @package _global_
defaults:
  - override /hydra/sweeper: ldos_optuna
hydra:
  sweeper:
    n_trials: {N_TRIALS}
    heartbeat_interval: 1
    grace_period: 2
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,32,null])
      model.optimizer.lr: tag(log, interval(5e-3, 3e-2))
"""
OVERRIDES = ("hparams_search=tiny_optuna", "trainer.max_epochs=3")


def wait_for_training_after_a_complete_trial(
    process: subprocess.Popen, sweep_dir: Path, deadline: float
) -> None:
    """Poll until a trial trains after a completed one: the study's last trial is running and
    its job has started (its folder exists) but not finished (no metrics.json), which leaves
    about a second of training to kill it in."""
    database = sweep_dir / "optuna.db"
    while time.monotonic() < deadline:
        assert process.poll() is None, "the search ended before it could be killed"
        trials = []
        if database.exists():
            # the study is not created yet, or the search is creating its tables right now
            with contextlib.suppress(KeyError, sqlalchemy.exc.OperationalError):
                trials = optuna.load_study(
                    study_name="resumable", storage=f"sqlite:///{database}"
                ).trials
        states = [trial.state for trial in trials]
        if TrialState.COMPLETE in states and states[-1] == TrialState.RUNNING:
            job = sweep_dir / f"trial_{trials[-1].number:04d}" / "seed_42"
            if job.exists() and not (job / "metrics.json").exists():
                return
        time.sleep(0.05)
    raise AssertionError("no trial was training after a completed one within the time limit")


def test_killed_search_resumes_and_retries_the_killed_trial(tmp_path: Path) -> None:
    write_method(tmp_path, "tiny_optuna", TINY_OPTUNA)
    sweep_dir = tmp_path / "logs" / "search" / "resumable"
    storage = f"sqlite:///{sweep_dir / 'optuna.db'}"
    process = subprocess.Popen(
        search_command(tmp_path, "resumable", *OVERRIDES),
        env=environment(),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_training_after_a_complete_trial(process, sweep_dir, time.monotonic() + 180)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    before = optuna.load_study(study_name="resumable", storage=storage).trials
    completed_before = {t.number: (t.params, t.value) for t in before if t.state.is_finished()}
    killed = [t.number for t in before if t.state == TrialState.RUNNING]
    assert completed_before and killed

    run = run_search(tmp_path, "resumable", *OVERRIDES)
    assert run.returncode == 0, run.stderr[-3000:]
    after = {t.number: t for t in optuna.load_study(study_name="resumable", storage=storage).trials}
    complete = [t for t in after.values() if t.state == TrialState.COMPLETE]
    assert len(complete) == N_TRIALS
    for number, (params, value) in completed_before.items():
        assert (after[number].params, after[number].value) == (params, value)
    for number in killed:
        assert after[number].state == TrialState.FAIL
        (retry,) = [
            t
            for t in after.values()
            if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == number
        ]
        assert retry.state == TrialState.COMPLETE
        assert retry.params == after[number].params
    rows = run.results
    assert sorted(int(row["trial"]) for row in rows) == sorted(t.number for t in complete)
    assert {int(r["trial"]): float(r["loss"]) for r in rows} == {
        t.number: t.value for t in complete
    }
