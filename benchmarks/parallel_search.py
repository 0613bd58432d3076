"""One search run by 1 worker, then by 2 workers at once: wall time for the same trials.

Each worker is a ``search.py`` process (the basic launcher, one torch thread) on the shipped Al
data set (2 training snapshots, 1 validation snapshot, --epochs epochs per trial). Methods:

- ``optuna``: the workers share one SQLite study (``optuna.db`` in the search folder) and take
  trials until the study holds --trials finished ones;
- ``oat``: the 16 rows of an orthogonal array over 4 widths x 4 learning rates, then the
  chosen levels, split among the workers by claims;
- ``naswot``: 12 architectures scored (1024 grid points, 10 initialisations each), split by
  claims, then the best one trained.

The 1-worker search is the baseline, run first in the same invocation; each search starts
from an empty folder. The time is from the start of the first process to the exit of the
last one (Python and Lightning start-up included: that is what a user waits for). Every
search must end with each trial in ``results.csv`` exactly once.

    .venv/bin/python benchmarks/parallel_search.py [--method optuna] [--trials 8] [--epochs 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

REPO = Path(__file__).resolve().parents[1]
HEADER = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_{sweeper}
hydra:
  sweeper:
    heartbeat_interval: 5
    grace_period: 30
"""
METHODS = {
    "optuna": """    n_trials: {trials}
    params:
      model.network.layer_widths: choice([null,32,null],[null,64,null],[null,64,64,null])
      model.optimizer.lr: tag(log, interval(3e-3, 3e-2))
""",
    "oat": """    repeats: 1
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,64,null],[null,32,32,null])
      model.optimizer.lr: choice(3e-3,6e-3,1e-2,2e-2)
""",
    "naswot": """    naswot: {{n_inits: 10, batch_points: 1024}}
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,64,null])
      model.network.activations: choice(ReLU,Tanh,Sigmoid,LeakyReLU)
""",
}


def search(root: Path, method: str, workers: int, trials: int, epochs: int) -> dict:
    """Run ``workers`` search processes on one new search; return time and trial counts."""
    conf = root / "conf"
    (conf / "hparams_search").mkdir(parents=True)
    text = HEADER.format(sweeper=method) + METHODS[method].format(trials=trials)
    (conf / "hparams_search" / "bench.yaml").write_text(text)
    command = [
        sys.executable,
        str(REPO / "search.py"),
        "hparams_search=bench",
        f"hydra.searchpath=[file://{conf}]",
        f"paths.log_dir={root / 'logs'}",
        f"search.experiment_dir={conf / 'experiment'}",
        "search.name=bench",
        "data.train=[snapshot_0000,snapshot_0001]",
        "data.val=[snapshot_0005]",
        "data.test=[]",
        f"trainer.max_epochs={epochs}",
        "callbacks.early_stopping=null",
        "logger=csv",
        "callbacks.rich_progress_bar=null",
    ]
    environment = os.environ | {"LDOS_SURROGATE_ROOT": str(REPO), "WANDB_MODE": "offline"}
    started = time.perf_counter()
    processes = []
    for index in range(workers):
        with open(root / f"worker_{index}.log", "w") as log:  # the child keeps its own copy
            processes.append(
                subprocess.Popen(
                    command, cwd=root, env=environment, stdout=subprocess.DEVNULL, stderr=log
                )
            )
    codes = [process.wait() for process in processes]
    seconds = time.perf_counter() - started
    if any(codes):
        raise RuntimeError(f"a worker failed ({codes}); see {root}/worker_*.log")
    sweep = root / "logs" / "search" / "bench"
    with (sweep / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    numbers = [row["trial"] for row in rows]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"a trial was run twice: {sorted(numbers)}; see {sweep}")
    if method == "optuna":
        study = optuna.load_study(study_name="bench", storage=f"sqlite:///{sweep / 'optuna.db'}")
        complete = sum(t.state == TrialState.COMPLETE for t in study.trials)
        if complete != len(rows):
            raise RuntimeError(f"{complete} complete trials in the study, {len(rows)} rows")
    return {
        "seconds": seconds,
        "trials": len(rows),
        "trained": sum(row["status"] == "complete" for row in rows),
        "trial_seconds": sum(float(row["wall_seconds"]) for row in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=sorted(METHODS), default="optuna")
    parser.add_argument("--trials", type=int, default=8, help="Optuna's n_trials")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = {}
    for workers in (1, args.workers):
        with tempfile.TemporaryDirectory() as scratch:
            results[workers] = search(Path(scratch), args.method, workers, args.trials, args.epochs)
    baseline = results[1]["seconds"]
    print(f"{args.method}: {args.epochs} epochs per training, {os.cpu_count()} CPU cores")
    print("workers | wall s | trials (each once) | trained | sum of trial s | speed-up")
    print("---|---|---|---|---|---")
    for workers, result in results.items():
        print(
            f"{workers} | {result['seconds']:.1f} | {result['trials']} | {result['trained']} | "
            f"{result['trial_seconds']:.1f} | {baseline / result['seconds']:.2f}x"
        )


if __name__ == "__main__":
    main()
