"""One search run by 1 worker, then by 2 workers at once: wall time for the same trials.

Each worker is a ``search.py`` process (the basic launcher, one torch thread) on the shipped Al
data set (2 training snapshots, 1 validation snapshot, --epochs epochs per trial). The workers
share the search through its study alone (the SQLite file ``optuna.db`` in the search folder):

- ``optuna``: trials taken until the study holds --trials finished ones;
- ``oat``: the 16 rows of an orthogonal array over 4 widths x 4 learning rates, then the
  chosen levels;
- ``naswot``: 12 architectures scored (1024 grid points, 10 initialisations each), then the
  best one trained;
- ``direct``: 4 learning rates, then 3 more widths at the best rate;
- ``acsd``: 8 descriptor settings (4 cutoffs x 2 twojmax, descriptors of both training
  snapshots computed for each), then the chosen one trained.

The 1-worker search is the baseline, run first in the same invocation; each search starts
from an empty folder (descriptor cache included). The time is from the start of the first
process to the exit of the last one (Python and Lightning start-up included: that is what a
user waits for). Every search must end with each trial finished exactly once in the study and
no trial started twice.

    .venv/bin/python benchmarks/parallel_search.py [--method optuna] [--trials 8] [--epochs 8] [--workers 2]
    .venv/bin/python benchmarks/parallel_search.py --quick   # 2 trials of 1 epoch: CI

Writes ``<out>/parallel_search_<method>.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
from harness import REPO, arguments, scratch_dir, timed, write_outputs
from optuna.trial import TrialState

from ldos_surrogate.search.study import DUPLICATE, trial_result

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
    "direct": """    repeats: 1
    params:
      model.optimizer.lr: choice(3e-3,6e-3,1e-2,2e-2)
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,64,null],[null,32,32,null])
""",
    "acsd": """    n_points: 200
    params:
      descriptor.rcut: choice(2.0,3.0,4.0,5.0)
      descriptor.twojmax: choice(2,4)
""",
}
# the config's network trains to a finite loss in a few epochs at this rate (naswot, acsd)
RATE = "model.optimizer.lr=1e-2"


def run_workers(command: list[str], root: Path, environment: dict, workers: int) -> list[int]:
    """``workers`` copies of ``command`` started together in ``root``; their exit codes."""
    processes = []
    for index in range(workers):
        with open(root / f"worker_{index}.log", "w") as log:  # the child keeps its own copy
            processes.append(
                subprocess.Popen(
                    command, cwd=root, env=environment, stdout=subprocess.DEVNULL, stderr=log
                )
            )
    return [process.wait() for process in processes]


def search(root: Path, method: str, workers: int, trials_wanted: int, epochs: int) -> dict:
    """Run ``workers`` search processes on one new search; return time and trial counts."""
    conf = root / "conf"
    (conf / "hparams_search").mkdir(parents=True)
    text = HEADER.format(sweeper=method) + METHODS[method].format(trials=trials_wanted)
    (conf / "hparams_search" / "bench.yaml").write_text(text)
    command = [
        sys.executable,
        str(REPO / "search.py"),
        "hparams_search=bench",
        f"hydra.searchpath=[file://{conf}]",
        f"paths.log_dir={root / 'logs'}",
        f"search.experiment_dir={conf / 'experiment'}",
        "search.name=bench",
        f"data.cache_dir={root / 'descriptor_cache'}",
        *([RATE] if method in ("naswot", "acsd") else []),
        "data.train=[snapshot_0000,snapshot_0001]",
        "data.val=[snapshot_0005]",
        "data.test=[]",
        f"trainer.max_epochs={epochs}",
        "callbacks.early_stopping=null",
        "logger=csv",
        "callbacks.rich_progress_bar=null",
    ]
    environment = os.environ | {"LDOS_SURROGATE_ROOT": str(REPO), "WANDB_MODE": "offline"}
    codes, seconds = timed(run_workers, command, root, environment, workers)
    if any(codes):
        raise RuntimeError(f"a worker failed ({codes}); see {root}/worker_*.log")
    sweep = root / "logs" / "search" / "bench"
    trials = optuna.load_study(
        study_name="bench", storage=f"sqlite:///{sweep / 'optuna.db'}"
    ).trials
    results = [result for result in map(trial_result, trials) if result]
    numbers = sorted(result.trial for result in results)
    run_once = [t for t in trials if DUPLICATE not in t.user_attrs]  # duplicates never ran
    if len(set(numbers)) != len(numbers) or len(results) != len(run_once):
        raise RuntimeError(f"a trial ran twice or did not finish: {numbers}; see {sweep}")
    if method == "optuna" and sum(t.state == TrialState.COMPLETE for t in trials) != trials_wanted:
        raise RuntimeError(f"not {trials_wanted} complete trials in the study; see {sweep}")
    return {
        "seconds": seconds,
        "trials": len(results),
        "trained": sum(result.status == "complete" for result in results),
        "trial_seconds": sum(result.wall_seconds for result in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", choices=sorted(METHODS), default="optuna")
    parser.add_argument("--trials", type=int, default=8, help="Optuna's n_trials")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = arguments(__doc__.split("\n\n")[0], parser)
    if args.quick:
        args.trials, args.epochs = 2, 1
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = {}
    load_before = os.getloadavg()[0]
    parent = scratch_dir(args) if args.scratch else None
    for workers in (1, args.workers):
        with tempfile.TemporaryDirectory(dir=parent) as scratch:
            results[workers] = search(Path(scratch), args.method, workers, args.trials, args.epochs)
    baseline = results[1]["seconds"]
    print(
        f"{args.method}: {args.epochs} epochs per training, {os.cpu_count()} CPU cores, load "
        f"average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print("workers | wall s | trials (each once) | trained | sum of trial s | speed-up")
    print("---|---|---|---|---|---")
    for workers, result in results.items():
        print(
            f"{workers} | {result['seconds']:.1f} | {result['trials']} | {result['trained']} | "
            f"{result['trial_seconds']:.1f} | {baseline / result['seconds']:.2f}x"
        )
    payload = {
        "mode": "quick" if args.quick else "full",
        "method": args.method,
        "trials": args.trials,
        "epochs": args.epochs,
        "cpu_cores": os.cpu_count(),
        "load_average": [load_before, os.getloadavg()[0]],
        "workers": {str(workers): result for workers, result in results.items()},
        "speedup": baseline / results[args.workers]["seconds"],
    }
    print(f"wrote {write_outputs(f'parallel_search_{args.method}', args.out, payload)}")


if __name__ == "__main__":
    main()
