"""Two ``search.py`` workers on one Optuna study, one of them killed with SIGKILL in the middle
of a trial: the survivor finishes, the killed trial is retried, and the study ends with
exactly ``n_trials`` complete trials whose recorded losses are their runs' metrics. Once with
the default SQLite file, once with a PostgreSQL server on loopback (``.ci/postgres.sh``)."""

from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from optuna.trial import TrialState
from search_workers import METRIC, REPO, SearchFolder

N_TRIALS = 4
WORKER_TIMEOUT = 240  # s
POSTGRES_VARIABLE = "LDOS_SURROGATE_TEST_POSTGRES"
POSTGRES_DEFAULT = "postgresql+psycopg://ldos:ldos@127.0.0.1:5432/ldos_test"


def postgres_url() -> str:
    """The test server's URL, or skip saying why none is reachable."""
    url = os.environ.get(POSTGRES_VARIABLE, POSTGRES_DEFAULT)
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (extra 'parallel')")
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(plain, connect_timeout=3).close()
    except psycopg.Error as error:
        pytest.skip(
            f"no PostgreSQL server at {url} ({str(error).strip()}); start one with "
            f"`bash .ci/postgres.sh` or set {POSTGRES_VARIABLE}"
        )
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def search(request: pytest.FixtureRequest, tmp_path: Path):
    name = f"workers_{uuid.uuid4().hex[:8]}"  # PostgreSQL studies outlive the test folder
    storage = postgres_url() if request.param == "postgresql" else None
    folder = SearchFolder(tmp_path, name, N_TRIALS, storage)
    yield folder
    if storage is not None:
        optuna.delete_study(study_name=name, storage=storage)


def test_killed_worker_loses_nothing(search: SearchFolder) -> None:
    # the doomed worker takes the first trial and holds it until the survivor has finished one
    search.run_two_killing_one(WORKER_TIMEOUT)

    trials = {trial.number: trial for trial in search.trials()}
    states = [trial.state for trial in trials.values()]
    complete = {n: t for n, t in trials.items() if t.state == TrialState.COMPLETE}
    assert len(complete) == N_TRIALS
    # the one trial the killed worker was running: failed when its heartbeat stopped, then
    # run again with the same hyperparameters by the survivor
    (killed,) = [n for n, t in trials.items() if t.state == TrialState.FAIL]
    assert states.count(TrialState.FAIL) == 1 and len(states) == N_TRIALS + 1
    (retry,) = [t for t in trials.values() if t.system_attrs.get("failed_trial") == killed]
    assert retry.number in complete and retry.params == trials[killed].params

    # one results row per complete trial, its loss the metric its training run wrote
    with (search.sweep_dir / "results.csv").open(newline="") as handle:
        rows = {int(row["trial"]): row for row in csv.DictReader(handle)}
    assert set(rows) == set(complete)
    for number, trial in complete.items():
        assert rows[number]["status"] == "complete"
        assert float(rows[number]["loss"]) == trial.value
        seed = int(rows[number]["seeds"])
        assert search.trial_metrics(number, seed)[METRIC] == trial.value


def test_trials_of_one_batch_run_in_joblib_processes(tmp_path: Path) -> None:
    """``hydra/launcher=joblib``: the 2 trials asked at once train in 2 local processes, and
    each recorded loss is the metric its run wrote."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="extra 'parallel'")
    search = SearchFolder(tmp_path, "joblib", n_trials=2)
    launcher = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2")
    worker = search.start("worker", *launcher)
    assert worker.wait(timeout=WORKER_TIMEOUT) == 0, search.log("worker")
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
