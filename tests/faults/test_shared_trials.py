"""Workers of one search share it through its Optuna study alone (`ldos_surrogate.search.study`),
whatever the method: NASWOT, OAT, direct search, ACSD and Optuna.

For every method, on SQLite (two workers in one folder) and on PostgreSQL (two workers in
separate working directories and search folders, sharing nothing but the URL, as on two
machines): one worker is killed with SIGKILL in the middle of a training, when the other has
finished a trial or waits for it; the killed worker is started again. Every planned trial
finishes exactly once, none finished before the kill is lost or run again, the killed trial is
run again by a live worker with the same hyperparameters, every recorded loss is the metric its
run wrote, both workers end with the same answer, and Optuna's own command line lists the
study's trials. Then two NASWOT workers started together on a journal file each score a share
of the candidates, together each candidate once.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from search_workers import ACTIVE, METRIC, Workspace, stop
from study_storages import storage_setting

from ldos_surrogate.search.study import DUPLICATE, PARAMS, PLAN, RESULT, trial_result

WORKER_TIMEOUT = 300  # s
RATE = "model.optimizer.lr=1e-2"  # trains the config's network to a finite loss in 2 epochs
METHODS = {  # method: (its sweeper, its settings, overrides)
    "optuna": (
        "optuna",
        """    n_trials: 3
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,32,32,null])
      model.optimizer.lr: tag(log, interval(5e-3, 3e-2))
""",
        (),
    ),
    "naswot": (
        "naswot",
        """    naswot: {n_inits: 2, batch_points: 64}
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null])
      model.network.activations: choice(ReLU,Tanh)
""",
        (RATE,),
    ),
    "oat": (  # the 4 rows of a 2 x 2 orthogonal array, one seed each
        "oat",
        """    repeats: 1
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null])
      model.optimizer.lr: choice(5e-3,1e-2)
""",
        (),
    ),
    "direct": (
        "direct",
        """    repeats: 1
    params:
      model.optimizer.lr: choice(5e-3,1e-2)
      model.network.activations: choice(LeakyReLU,Tanh)
""",
        (),
    ),
    "acsd": (
        "acsd",
        """    n_points: 100
    params:
      descriptor.rcut: choice(2.0,4.0)
      descriptor.twojmax: choice(2)
""",
        (RATE,),
    ),
}
BEST = re.compile(r"^best: trial (\d+), loss (\S+);", re.MULTILINE)


def cli_trials(name: str, storage: str, *options: str) -> list[dict]:
    """The study's trials as ``optuna trials`` (Optuna's command line) lists them."""
    command = [str(Path(sys.executable).parent / "optuna"), "trials", "--study-name", name]
    listed = subprocess.run(
        [*command, "--storage", storage, *options, "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(listed.stdout)


def task_lines(workspace: Workspace, group: str) -> list[str]:
    """The ``group`` config file the search wrote in ``workspace``, without its comments (which
    name the search folder) and with the workspace's own folder as ``<root>``."""
    text = (workspace.root / "conf" / group / f"{workspace.name}.yaml").read_text()
    text = text.replace(str(workspace.root), "<root>")
    return [line for line in text.splitlines() if not line.startswith("#")]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_worker_killed_mid_trial_loses_nothing(tmp_path: Path, method: str, kind: str) -> None:
    sweeper, settings, overrides = METHODS[method]
    storage = storage_setting(kind)
    name = f"{method}_{uuid.uuid4().hex[:6]}"  # PostgreSQL studies outlive the test folder
    here = Workspace(tmp_path / "here", name, sweeper, settings, storage)
    there = (
        here if storage is None else Workspace(tmp_path / "there", name, sweeper, settings, storage)
    )
    kill_file = tmp_path / "kill_now"
    try:
        doomed = here.start("doomed", *overrides, *here.doomed_overrides(kill_file))
        here.wait_for("training", here.training, "doomed")
        there.start("survivor", *overrides)
        there.wait_for("trial", lambda: ACTIVE.search(there.log("survivor")), "survivor")
        kill_file.touch()
        assert doomed.wait(timeout=WORKER_TIMEOUT) == -signal.SIGKILL
        here.start("rerun", *overrides)  # the killed worker, started again
        for workspace, worker in ((there, "survivor"), (here, "rerun")):
            returncode = workspace.workers[worker].wait(timeout=WORKER_TIMEOUT)
            assert returncode == 0, workspace.log(worker)[-3000:]
        trials = here.trials()
        listed = cli_trials(name, here.storage_url)
    finally:
        stop(*here.workers.values(), *there.workers.values())
        if storage is not None:
            optuna.delete_study(study_name=name, storage=storage)

    results = {trial.number: trial_result(trial) for trial in trials}
    finished = {number: result for number, result in results.items() if result}
    numbers = sorted(result.trial for result in finished.values())
    assert len(set(numbers)) == len(numbers)  # every trial finished once
    if method == "optuna":
        assert sum(result.status == "complete" for result in finished.values()) == 3
    else:
        assert numbers == list(range(len(numbers)))  # every planned trial, none lost
    # one trial died, the one the killed worker trained; a live worker ran it again
    (killed,) = [t for t in trials if not results[t.number] and DUPLICATE not in t.user_attrs]
    (redone,) = [
        t
        for t in trials
        if finished.get(t.number)
        and (
            RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed.number
            or (PLAN in t.user_attrs and t.user_attrs[PLAN] == killed.user_attrs.get(PLAN))
        )
    ]
    assert redone.user_attrs[PARAMS] == killed.user_attrs[PARAMS]
    pids = {worker: process.pid for worker, process in here.workers.items()}
    pids |= {worker: process.pid for worker, process in there.workers.items()}
    ran_by = {
        t.number: next(
            w for w, pid in pids.items() if t.user_attrs[RESULT]["worker"].endswith(f":{pid}")
        )
        for t in trials
        if finished.get(t.number)
    }
    assert ran_by[redone.number] in ("survivor", "rerun")
    if method in ("naswot", "acsd"):  # the killed worker scored all before it trained
        assert [w for n, w in ran_by.items() if finished[n].status == "scored"] == ["doomed"] * (
            len(numbers) - 1
        )
    # every trained trial's loss is what its run wrote, in the folder of the worker that ran it
    for number, result in finished.items():
        if result.status in ("complete", "failed"):
            workspace = here if ran_by[number] in ("doomed", "rerun") else there
            metrics = [workspace.trial_metrics(result.trial, seed) for seed in result.seeds]
            assert list(result.losses) == [m[METRIC] for m in metrics]
    # both workers end with the same answer, and write the same experiment
    answers = [
        BEST.findall(workspace.log(worker))
        for workspace, worker in ((there, "survivor"), (here, "rerun"))
    ]
    assert answers[0] == answers[1] and len(answers[0]) == 1
    assert task_lines(here, "experiment") == task_lines(there, "experiment")
    # Optuna's command line lists every trial of the study, with what it found
    assert [trial["number"] for trial in listed] == [t.number for t in trials]
    for trial in listed:
        if finished.get(trial["number"]):
            assert trial["user_attrs"][RESULT]["status"] == finished[trial["number"]].status


NASWOT_TOGETHER = """    naswot: {n_inits: 10, batch_points: 1024}
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,64,null])
      model.network.activations: choice(ReLU,Tanh,Sigmoid,LeakyReLU)
"""


def test_two_workers_started_together_on_a_journal_file_share_the_candidates(
    tmp_path: Path,
) -> None:
    """12 architectures, each scored on 1024 grid points with 10 initialisations (about a
    second each on one CPU core), so that both workers are still scoring when the other one
    starts; Optuna's journal storage, for a shared file system without a database server."""
    workspace = Workspace(tmp_path, "together", "naswot", NASWOT_TOGETHER, storage="journal")
    try:
        for worker in ("first", "second"):
            workspace.start(worker, RATE)
        for worker in ("first", "second"):
            returncode = workspace.workers[worker].wait(timeout=WORKER_TIMEOUT)
            assert returncode == 0, workspace.log(worker)[-3000:]
    finally:
        stop(*workspace.workers.values())
    journal = workspace.sweep_dir / "optuna.journal"
    trials = optuna.load_study(
        study_name="together",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(journal))
        ),
    ).trials
    results = [result for result in map(trial_result, trials) if result]
    assert sorted(r.trial for r in results if r.status == "scored") == list(range(12))
    (trained,) = [r for r in results if r.status == "complete"]
    assert trained.trial == 12
    assert trained.score == max(r.score for r in results if r.status == "scored")
    shares = [
        int(re.search(r"this worker ran (\d+) of the trials", workspace.log(w)).group(1))
        for w in ("first", "second")
    ]
    assert sum(shares) == 13 and min(shares) >= 1, shares
    for worker in ("first", "second"):
        assert "best: trial 12," in workspace.log(worker)
    listed = cli_trials("together", str(journal), "--storage-class", "JournalFileBackend")
    assert len(listed) == len(trials)
