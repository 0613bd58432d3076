"""Every method of ``search.py``, run from the clone with its default outputs, leaves ``git
status`` as it was (ignored files included: no new logs, configs or caches outside the
workspace folders ``logs/`` and ``configs/``), writes its best trial to ``configs/experiment/``
of the clone, and ``train.py experiment=<name>`` trains it. Each search is shrunk on the
command line (2 trials or candidates, 2 epochs); the files it wrote are removed afterwards."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "data.train=[snapshot_0000,snapshot_0001]",
    "data.val=[snapshot_0005]",
    "data.test=[]",
    "trainer.max_epochs=2",
    "hydra.sweeper.params=null",
]
LEARNING_RATES = "model.optimizer.lr=choice(3e-3,1e-2)"
WIDTHS = "model.network.layer_widths=choice([null,16,null],[null,32,null])"
# where the rate is not searched: enough to train in 2 epochs (an inf loss would fail the
# trial and leave the search without a best one)
RATE = "model.optimizer.lr=1e-2"
METHODS = {
    "optuna": ["hydra.sweeper.n_trials=2", "model.optimizer.lr=interval(3e-3,1e-2)"],
    "optuna_naswot": [
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.naswot.n_inits=2",
        "model.optimizer.lr=interval(3e-3,1e-2)",
    ],
    "direct": ["hydra.sweeper.repeats=1", LEARNING_RATES],
    "oat": [
        "hydra.sweeper.repeats=1",
        LEARNING_RATES,
        "model.network.activations=choice(ReLU,Tanh)",
    ],
    "naswot": ["hydra.sweeper.naswot.n_inits=2", WIDTHS, RATE],
    "naswot_optimized": [
        "hydra.sweeper.naswot.n_inits=2",
        WIDTHS,
        RATE,
        "hydra.sweeper.training.n_trials=1",
    ],
    "acsd": [
        RATE,
        "hydra.sweeper.n_points=50",
        "descriptor.rcut=choice(3.0,4.0)",
        "descriptor.twojmax=choice(2)",
    ],
}
# what a run may add to the clone's ignored files besides its own outputs: Python's bytecode
# and the descriptor cache in each snapshot folder (data.cache_dir: null, recomputable)
MAY_APPEAR = ("__pycache__/", ".descriptor_cache/")


def git_status() -> set[str]:
    lines = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {line for line in lines if not any(part in line for part in MAY_APPEAR)}


def in_clone(command: list[str]) -> subprocess.CompletedProcess:
    """``command`` from the clone with the environment of a user (no workspace set)."""
    env = {k: v for k, v in os.environ.items() if k != "LDOS_SURROGATE_ROOT"}
    return subprocess.run(
        command,
        cwd=REPO,
        env=env | {"WANDB_MODE": "offline"},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def outputs():
    """Names of the searches a test runs; their outputs in the clone are removed after it."""
    names: list[str] = []
    configs_existed = (REPO / "configs").exists()
    yield names
    for name in names:
        shutil.rmtree(REPO / "logs" / "search" / name, ignore_errors=True)
        for group in ("experiment", "descriptor"):
            (REPO / "configs" / group / f"{name}.yaml").unlink(missing_ok=True)
    if not configs_existed:
        shutil.rmtree(REPO / "configs", ignore_errors=True)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_leaves_the_clone_as_it_was(method: str, outputs: list[str], tmp_path) -> None:
    before = git_status()
    name = f"clean_clone_{method}_{os.getpid()}"
    outputs.append(name)
    search = in_clone(
        [
            sys.executable,
            "search.py",
            f"hparams_search={method}",
            f"search.name={name}",
            *SMALL,
            *METHODS[method],
        ]
    )
    assert search.returncode == 0, search.stderr[-3000:]
    experiment = REPO / "configs" / "experiment" / f"{name}.yaml"
    assert experiment.exists()
    assert not (REPO / "conf" / "experiment" / f"{name}.yaml").exists()

    # the printed command trains the best trial (its run folder moved out of the clone)
    (hint,) = [line for line in search.stdout.splitlines() if line.startswith("train it: ")]
    command = shlex.split(hint.removeprefix("train it: "))
    assert command[1:] == ["train.py", f"experiment={name}"]
    if method == "naswot":
        trained = in_clone([*command, f"hydra.run.dir={tmp_path / 'run'}"])
        assert trained.returncode == 0, trained.stderr[-3000:]
        assert (tmp_path / "run" / "metrics.json").exists()

    shutil.rmtree(REPO / "logs" / "search" / name)
    for group in ("experiment", "descriptor"):
        (REPO / "configs" / group / f"{name}.yaml").unlink(missing_ok=True)
    after = git_status()
    assert after - before <= {"!! configs/", "!! logs/"}, after - before
    assert before - after <= {"!! configs/", "!! logs/"}, before - after
