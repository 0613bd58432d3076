"""The study layer every search method shares (`ldos_surrogate.search.study`), on the storages a
user can choose: what it relies on in Optuna's storages (a waiting trial goes to one worker
only; a stale trial is failed and queued again with its attributes), planned trials added
twice run once, results read back as written, and the export ``results.csv``.

Each case would fail on an Optuna release that changed the behaviour the searches rely on."""

from __future__ import annotations

import csv
import math
import multiprocessing
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState
from study_storages import storage_setting

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.results import TrialResult, best_trial, write_results
from ldos_surrogate.search.space import parse_space
from ldos_surrogate.search.study import (
    DUPLICATE,
    PARAMS,
    PLAN,
    RESULT,
    SearchStudy,
    StudySettings,
    open_study,
    trial_result,
)

SPACE = parse_space(
    {
        "model.network.layer_widths": "choice([null,32,null],[null,64,null])",
        "model.optimizer.lr": "choice(1e-3,1e-2)",
    }
)
KEYS = SPACE.keys
WIDTHS, LR = KEYS


def planned(count: int) -> dict[int, dict]:
    """``count`` planned trials over SPACE (search number -> params)."""
    grid = list(SPACE.grid("params"))
    return {number: grid[number % len(grid)] for number in range(count)}


def study_of(folder: Path, name: str, kind: str = "sqlite", **settings) -> SearchStudy:
    study = StudySettings(storage=storage_setting(kind), **settings)
    return open_study(study, folder, name, "minimize", KEYS, "hydra.sweeper")


def _take_all(folder: Path, name: str, kind: str, wanted: dict, found) -> None:
    """A worker process: take waiting trials one at a time until none is left."""
    study = study_of(folder, name, kind)
    taken = []
    while trials := study.take(wanted, 1):
        taken.extend(trial.number for trial in trials)
    found.put(taken)


def _open(folder: Path, name: str, kind: str, found) -> None:
    """A worker process: open the study, report what went wrong (None: nothing)."""
    try:
        study_of(folder, name, kind)
        found.put(None)
    except InputError as error:
        found.put(str(error))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_workers_creating_a_new_storage_at_once_all_open_it(tmp_path: Path, kind: str) -> None:
    """Workers started together on a storage without tables race to create them (SQLite:
    "UNIQUE constraint failed: alembic_version" for the loser; 7 of 15 rounds of 3 workers
    failed before the losers tried again): every worker opens the study."""
    context = multiprocessing.get_context("spawn")
    for round_ in range(3):
        name, folder = f"open_{uuid.uuid4().hex[:8]}", tmp_path / str(round_)
        folder.mkdir()
        found = context.Queue()
        workers = [
            context.Process(target=_open, args=(folder, name, kind, found)) for _ in range(3)
        ]
        for worker in workers:
            worker.start()
        errors = [found.get(timeout=300) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
        if kind == "postgresql":
            optuna.delete_study(study_name=name, storage=storage_setting(kind))
        assert errors == [None, None, None]


@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgresql"])
def test_a_waiting_trial_is_taken_by_one_worker_only(tmp_path: Path, kind: str) -> None:
    """Four processes race for 60 waiting trials: each is taken exactly once. (SQLite needs
    immediate transactions for this: with Optuna's default, 4 processes took 3 of 200 twice.)"""
    name = f"take_{uuid.uuid4().hex[:8]}"
    wanted = planned(60)
    study = study_of(tmp_path, name, kind)
    results, waiting = study.plan(wanted, SPACE.params)
    assert (results, waiting) == ({}, True)
    context = multiprocessing.get_context("spawn")
    found = context.Queue()
    workers = [
        context.Process(target=_take_all, args=(tmp_path, name, kind, wanted, found))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    taken = [number for _ in workers for number in found.get(timeout=300)]
    for worker in workers:
        worker.join(timeout=60)
    try:
        assert sorted(taken) == list(range(60))
        assert all(trial.state == TrialState.RUNNING for trial in study.trials())
    finally:
        if kind == "postgresql":
            optuna.delete_study(study_name=name, storage=study.storage)


def test_a_trial_whose_worker_died_is_queued_again_and_run_once(tmp_path: Path) -> None:
    study = study_of(tmp_path, "stale", heartbeat_interval=1, grace_period=2, max_retry=1)
    wanted = planned(1)
    study.plan(wanted, SPACE.params)
    (dead,) = study.take(wanted, 1)  # taken with one heartbeat, then its worker is gone
    time.sleep(3.5)
    results, waiting = study.plan(wanted, SPACE.params)  # fails it, queues its retry
    assert (results, waiting) == ({}, True)
    failed, retry = study.trials()
    assert failed.state == TrialState.FAIL and retry.state == TrialState.WAITING
    assert RetryHeartbeatStaleTrialCallback.retried_trial_number(retry) == dead.number
    assert retry.params == failed.params and retry.user_attrs == {PLAN: 0, PARAMS: wanted[0]}

    (again,) = study.take(wanted, 1)
    assert again.number == retry.number
    result = TrialResult(0, wanted[0], "complete", loss=12.5, losses=(12.5,), seeds=(42,))
    assert study.record(again.number, result)
    assert study.plan(wanted, SPACE.params) == ({0: result}, False)
    assert [trial_result(t) for t in study.trials()] == [None, result]

    # a trial whose workers died more than max_retry times counts as failed
    second = {1: planned(2)[1]}
    for _ in range(2):
        study.plan(second, SPACE.params)
        study.take(second, 1)
        time.sleep(3.5)
    results, waiting = study.plan(second, SPACE.params)
    assert results[1].status == "failed" and not waiting


def test_copies_of_a_planned_trial_added_at_once_run_once(tmp_path: Path) -> None:
    """Two workers that both found planned trial 0 missing added it twice: whoever takes the
    later copy while the earlier one is waiting or running fails it, unrun, as a duplicate."""
    here, there = study_of(tmp_path, "copies"), study_of(tmp_path, "copies")
    wanted = planned(1)
    here.plan(wanted, SPACE.params)
    there.study.add_trial(here.trials()[0])  # the same waiting trial, added again
    (first,) = here.take(wanted, 1)
    assert there.take(wanted, 1) == []
    original, copy = there.trials()
    assert first.number == original.number and copy.state == TrialState.FAIL
    assert copy.user_attrs[DUPLICATE] == original.number and trial_result(copy) is None
    result = TrialResult(0, wanted[0], "scored", score=-3.25, wall_seconds=0.5)
    here.record(first.number, result)
    assert there.plan(wanted, SPACE.params) == ({0: result}, False)


def test_results_read_back_as_recorded_and_export_as_override_values(tmp_path: Path) -> None:
    study = study_of(tmp_path, "results")
    wanted = planned(4)
    study.plan(wanted, SPACE.params)
    taken = study.take(wanted, 4)
    results = [
        TrialResult(0, wanted[0], "complete", 125.5, (120.5, 130.5), 125.5, None, 1.25, (42, 43)),
        TrialResult(1, wanted[1], "scored", score=0.47, score_parts=(0.5, 0.44), seeds=(42,)),
        TrialResult(2, wanted[2], "pruned", score=-math.inf),
        TrialResult(3, wanted[3], "failed", math.inf, (math.inf,), seeds=(42,)),
    ]
    for trial, result in zip(taken, results, strict=True):
        assert study.record(trial.number, result)
    assert study.results() == results
    trials = study.trials()
    assert [t.state for t in trials] == [
        TrialState.COMPLETE,
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.FAIL,
    ]
    assert (trials[0].value, trials[1].value) == (125.5, 0.47)  # a loss, a score
    assert trials[0].params == {WIDTHS: "[null,32,null]", LR: 0.001}
    assert (
        trials[0].user_attrs[RESULT]["worker"].endswith(f":{multiprocessing.current_process().pid}")
    )
    assert best_trial(study.results()) == results[0]  # the inf loss never wins

    write_results(tmp_path / "results.csv", study.results(), KEYS)
    with (tmp_path / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0][WIDTHS] == "[null,32,null]" and rows[0]["loss"] == "125.5"
    assert (rows[0]["loss_per_seed"], rows[0]["seeds"]) == ("120.5;130.5", "42;43")
    assert (rows[2]["status"], rows[2]["pruned"], rows[2]["loss"]) == ("pruned", "true", "")
    assert rows[3]["loss"] == "inf"

    # the same study planned with other values is another search's
    other = {0: {WIDTHS: [None, 64, None], LR: 1e-3}}
    with pytest.raises(InputError, match="trial 0 was planned with other hyperparameters"):
        study.plan(other, SPACE.params)


def test_running_trials_of_a_journal_study_are_retried_on_request(tmp_path: Path) -> None:
    """The journal storage has no heartbeats: a killed worker's trial stays running until a
    worker opened with ``retry_running`` fails it and queues it again."""
    study = study_of(tmp_path, "journal", "journal")
    wanted = planned(2)
    study.plan(wanted, SPACE.params)
    study.take(wanted, 1)
    study.fail_stale()  # nothing to do without heartbeats
    assert [t.state for t in study.trials()] == [TrialState.RUNNING, TrialState.WAITING]
    again = study_of(tmp_path, "journal", "journal", retry_running=True)
    states = [t.state for t in again.trials()]
    assert states == [TrialState.FAIL, TrialState.WAITING, TrialState.WAITING]
    assert again.trials()[2].user_attrs[PLAN] == 0
    assert (tmp_path / "optuna.journal").exists()
