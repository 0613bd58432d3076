"""Search methods side by side (seed Fig. 3/4): cost of the search and accuracy of its choice.

The same search space and data for direct search, Optuna TPE, Optuna + NASWOT pruner, OAT,
NASWOT fixed and NASWOT optimized, each run through ``search.py`` into a scratch folder (its
own logs and experiment files; nothing lands in the repository's ``logs/`` or ``conf/``).
For each method: wall and CPU seconds of the whole search (``search.py`` and its children),
networks trained, then the chosen network (the experiment file the search wrote) trained with
several seeds and tested on the held-out snapshots: mean and standard deviation over seeds of
the band-energy and total-free-energy MAE (meV/atom, seed Eq. 12).

    .venv/bin/python benchmarks/hpo_comparison.py --quick   # minutes: CI smoke test
    .venv/bin/python benchmarks/hpo_comparison.py           # the scaled full run

Writes ``<out>/hpo_comparison.json`` and ``<out>/hpo_comparison.png`` (MAE vs CPU seconds).
``run_search`` and the search space serve the other benchmarks of the seed paper's claims.
"""

from __future__ import annotations

import csv
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from harness import (  # noqa: E402
    BAND,
    QUIET,
    REPO,
    TOTAL,
    arguments,
    compose_train,
    mean_std,
    scratch_dir,
    train_quietly,
    write_outputs,
)
from omegaconf import OmegaConf  # noqa: E402


@dataclass(frozen=True)
class Scale:
    """Data, epochs and search sizes of one mode."""

    data: tuple[str, ...]  # overrides of the data split
    max_epochs: int
    # of every training whose rate is not searched (NASWOT's); quick: 4 epochs at 1e-3 left
    # networks whose DOS cannot hold the electrons (an infinite loss fails the trial)
    learning_rate: float
    architecture: dict[str, str]  # config key -> Hydra choice()
    training: dict[str, str]
    optuna_trials: int
    optuna_startup: int
    naswot_inits: int
    training_trials: int  # of NASWOT optimized
    seeds: tuple[int, ...]  # retraining of each choice


QUICK = Scale(
    data=("data.train=[snapshot_0000,snapshot_0001]", "data.val=[snapshot_0005]"),
    max_epochs=4,
    learning_rate=1e-2,
    architecture={
        "model.network.layer_widths": "choice([null,32,null],[null,64,64,null])",
        "model.network.activations": "choice(ReLU,Tanh)",
    },
    training={"model.optimizer.lr": "choice(1e-3,1e-2)"},
    optuna_trials=4,
    optuna_startup=2,
    naswot_inits=2,
    training_trials=2,
    seeds=(0, 1),
)
FULL = Scale(
    data=(),  # train 0-4, validate 5, test 6-7 (data/al_fcc_298K)
    max_epochs=10,
    learning_rate=1e-3,  # the config's
    architecture={
        "model.network.layer_widths": (
            "choice([null,32,null],[null,64,64,null],[null,128,128,null],[null,64,64,64,64,null])"
        ),
        "model.network.activations": "choice(ReLU,LeakyReLU,Sigmoid,Tanh)",
    },
    training={
        "model.optimizer.lr": "choice(1e-4,1e-3,3e-3,1e-2)",
        "callbacks.early_stopping.patience": "choice(3,5,10)",
    },
    optuna_trials=20,
    optuna_startup=8,
    naswot_inits=5,
    training_trials=6,
    seeds=(0, 1, 2, 3, 4),
)
METHODS = ("direct", "optuna", "optuna_naswot", "oat", "naswot", "naswot_optimized")


@dataclass
class SearchRun:
    """A finished ``search.py`` run: its cost and the rows of its ``results.csv``."""

    name: str
    wall_s: float
    cpu_s: float
    rows: list[dict[str, str]]

    @property
    def n_trained(self) -> int:
        """Training runs: one per seed of every trained trial."""
        trained = [r for r in self.rows if r["status"] in ("complete", "failed")]
        return sum(len(r["seeds"].split(";")) for r in trained)


def run_search(
    scratch: Path, name: str, method_yaml: dict[str, Any], overrides: tuple[str, ...]
) -> SearchRun:
    """``python search.py`` with the method ``scratch/conf/hparams_search/<name>.yaml`` (written
    from ``method_yaml``), logs under ``scratch/logs``, the experiment in ``scratch/conf``."""
    conf = scratch / "conf"
    method_file = conf / "hparams_search" / f"{name}.yaml"
    method_file.parent.mkdir(parents=True, exist_ok=True)
    method_file.write_text("# @package _global_\n" + OmegaConf.to_yaml(method_yaml))
    command = [
        sys.executable,
        str(REPO / "search.py"),
        f"hydra.searchpath=[file://{conf}]",
        f"hparams_search={name}",
        f"search.name={name}",
        f"paths.log_dir={scratch / 'logs'}",
        f"search.experiment_dir={conf / 'experiment'}",
        *QUIET,
        *overrides,
    ]
    environment = os.environ | {"LDOS_SURROGATE_ROOT": str(REPO), "WANDB_MODE": "offline"}
    cpu_before = _children_cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=scratch)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"search {name} failed:\n{result.stderr[-3000:]}")
    with (scratch / "logs" / "search" / name / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return SearchRun(name, wall, _children_cpu_seconds() - cpu_before, rows)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def method_yaml(method: str, scale: Scale) -> dict[str, Any]:
    """The search config of ``method`` over the shared space of ``scale``."""
    everything = scale.architecture | scale.training
    optuna = {
        "n_trials": scale.optuna_trials,
        "repeats": 1,
        "sampler": {
            "_target_": "optuna.samplers.TPESampler",
            "seed": 42,
            "n_startup_trials": scale.optuna_startup,
        },
    }
    naswot = {"n_inits": scale.naswot_inits, "batch_points": 64}
    sweeper: dict[str, Any] = {
        "direct": {"repeats": 1, "params": everything},
        "optuna": optuna | {"params": everything},
        "optuna_naswot": optuna
        | {
            "params": everything,
            "naswot": naswot,
            "pruner": {"quantile": 0.5, "warmup": scale.optuna_startup},
        },
        "oat": {"repeats": 1, "params": everything},
        "naswot": {"params": scale.architecture, "naswot": naswot},
        "naswot_optimized": {
            "params": scale.architecture,
            "naswot": naswot,
            "training": {
                "n_trials": scale.training_trials,
                "params": scale.training,
                "sampler": optuna["sampler"] | {"n_startup_trials": scale.training_trials // 2},
            },
        },
    }[method]
    return {
        "defaults": [{"override /hydra/sweeper": f"ldos_{method}"}],
        "trainer": {"max_epochs": scale.max_epochs},
        "model": {"optimizer": {"lr": scale.learning_rate}},
        "hydra": {"sweeper": sweeper},
    }


def evaluate_choice(scratch: Path, name: str, scale: Scale, keys: list[str]) -> dict[str, Any]:
    """Train ``experiment=<name>`` with every seed of ``scale``; test MAEs, mean and std."""
    band, total = [], []
    chosen = {}
    for seed in scale.seeds:
        cfg = compose_train(
            scratch / "eval" / name / f"seed_{seed}",
            f"experiment={name}",
            f"seed={seed}",
            "test=true",
            conf=scratch / "conf",
        )
        chosen = {key: _plain(OmegaConf.select(cfg, key)) for key in keys}
        metrics = train_quietly(cfg)
        band.append(metrics[BAND])
        total.append(metrics[TOTAL])
    return {
        "chosen": chosen,
        **mean_std("mae_band_mev_per_atom", band),
        **mean_std("mae_total_mev_per_atom", total),
        "mae_band_per_seed": band,
        "mae_total_per_seed": total,
    }


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


def compare(scale: Scale, scratch: Path) -> dict[str, dict[str, Any]]:
    """Every method: search, then its choice retrained and tested."""
    keys = list(scale.architecture | scale.training)
    results = {}
    for method in METHODS:
        run = run_search(scratch, f"bench_{method}", method_yaml(method, scale), scale.data)
        results[method] = {
            "wall_s": run.wall_s,
            "cpu_s": run.cpu_s,
            "n_trained": run.n_trained,
            "n_trials": len(run.rows),
        } | evaluate_choice(scratch, run.name, scale, keys)
        print(f"{method:17s} {json.dumps(results[method])}", file=sys.stderr, flush=True)
    return results


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Speed-up of NASWOT (fixed) over Optuna and direct search, and its accuracy relative
    to Optuna's choice (the goal: >= 100x faster at an MAE within 1.5x of Optuna's)."""
    naswot, optuna, direct = results["naswot"], results["optuna"], results["direct"]
    return {
        "naswot_speedup_cpu_vs_optuna": optuna["cpu_s"] / naswot["cpu_s"],
        "naswot_speedup_cpu_vs_direct": direct["cpu_s"] / naswot["cpu_s"],
        "naswot_speedup_wall_vs_optuna": optuna["wall_s"] / naswot["wall_s"],
        "naswot_speedup_wall_vs_direct": direct["wall_s"] / naswot["wall_s"],
        "naswot_band_mae_over_optuna": naswot["mae_band_mev_per_atom_mean"]
        / optuna["mae_band_mev_per_atom_mean"],
    }


def plot(results: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    """Test MAE (mean +- std over seeds) against search CPU seconds, one point per method;
    a method whose choice gave an unusable prediction (MAE inf) is named in the legend."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, quantity, label in (
        (axes[0], "band", "band energy"),
        (axes[1], "total", "total free energy"),
    ):
        for method, r in results.items():
            mean = r[f"mae_{quantity}_mev_per_atom_mean"]
            ax.errorbar(
                r["cpu_s"],
                mean if math.isfinite(mean) else np.nan,
                yerr=r[f"mae_{quantity}_mev_per_atom_std"],
                marker="o",
                capsize=3,
                label=method if math.isfinite(mean) else f"{method}: MAE inf (unusable)",
            )
        ax.set_xscale("log")
        ax.set_xlabel("search compute (CPU seconds, log scale)")
        ax.set_ylabel("test MAE (meV/atom)")
        ax.set_title(f"{label}, mean +- std over seeds; {title}", fontsize=10)
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    scale = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    results = compare(scale, scratch_dir(args))
    payload = {
        "mode": mode,
        "wall_s_total": time.perf_counter() - started,
        "space": scale.architecture | scale.training,
        "max_epochs": scale.max_epochs,
        "seeds": list(scale.seeds),
        "methods": results,
        "ratios": ratios(results),
    }
    path = write_outputs("hpo_comparison", args.out, payload)
    plot(results, args.out / "hpo_comparison.png", f"search methods, Al ({mode})")
    print(json.dumps(payload["ratios"], indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
