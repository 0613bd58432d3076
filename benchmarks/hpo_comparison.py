"""Search methods side by side (seed Fig. 3/4): cost of the search and accuracy of its choice.

The same search space and data for direct search, Optuna TPE, Optuna + NASWOT pruner, OAT,
NASWOT fixed and NASWOT optimized, each run through ``search.py`` into a scratch folder (its
own logs and experiment files; nothing lands in the repository's ``logs/`` or ``conf/``).
For each method: wall and CPU seconds of the whole search (``search.py`` and its children),
networks trained, then the chosen network (the experiment file the search wrote) trained with
several seeds and tested on the held-out snapshots: mean and standard deviation over seeds of
the band-energy and total-free-energy MAE (meV/atom, seed Eq. 12), beside the constant guess.
The anytime view (seed Fig. 3/4): Optuna's best-so-far validation band-energy MAE against the
compute its trials spent, and the compute Optuna needs to first reach the validation MAE of
NASWOT's choice over the compute of the NASWOT search (the speed-up at equal accuracy).

    .venv/bin/python benchmarks/hpo_comparison.py --quick   # minutes: CI smoke test
    .venv/bin/python benchmarks/hpo_comparison.py           # the 4-atom set, scaled full run
    .venv/bin/python benchmarks/hpo_comparison.py --data al32_298K --scratch DIR   # 32 atoms

Every search and every retraining is a resumable step: run again with the same ``--scratch``
after an interrupt and the finished ones are read back. ``--methods`` runs a subset (two
processes on the same scratch share the work; a last run without it writes the results).
Writes ``<out>/hpo_comparison[_<data set>].json`` and ``.png`` (MAE vs CPU seconds, and the
anytime view).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from harness import (  # noqa: E402
    SearchRun,
    arguments,
    data_folder,
    ratio_of_means_ci95,
    run_search,
    scratch_dir,
    write_outputs,
)
from search_scales import METHODS, Scale, evaluate_choice, method_yaml, scale_of  # noqa: E402


def search_and_evaluate(
    method: str, scale: Scale, scratch: Path, data: tuple[str, ...]
) -> tuple[SearchRun, dict[str, Any]]:
    """One method: its search (resumed where it stopped), then its choice retrained and
    tested; the search and a summary of both."""
    run = run_search(scratch, f"bench_{method}", method_yaml(method, scale), data)
    keys = list(scale.architecture | scale.training)
    summary = {
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
        "n_trained": run.n_trained,
        "n_trials": len(run.rows),
    } | evaluate_choice(scratch, run.name, scale, keys)
    print(f"{method:17s} {json.dumps(summary)}", file=sys.stderr, flush=True)
    return run, summary


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Speed-up of NASWOT (fixed) over Optuna and direct search, and its accuracy relative
    to Optuna's choice (the goal: >= 100x cheaper at a test MAE within 1.2x of Optuna's)."""
    naswot, optuna, direct = results["naswot"], results["optuna"], results["direct"]
    return {
        "naswot_speedup_cpu_vs_optuna": optuna["cpu_s"] / naswot["cpu_s"],
        "naswot_speedup_cpu_vs_direct": direct["cpu_s"] / naswot["cpu_s"],
        "naswot_speedup_wall_vs_optuna": optuna["wall_s"] / naswot["wall_s"],
        "naswot_speedup_wall_vs_direct": direct["wall_s"] / naswot["wall_s"],
        "naswot_band_mae_over_optuna": naswot["mae_band_mev_per_atom_mean"]
        / optuna["mae_band_mev_per_atom_mean"],
        "naswot_total_mae_over_optuna": naswot["mae_total_mev_per_atom_mean"]
        / optuna["mae_total_mev_per_atom_mean"],
        # over the seeds of both choices
        "naswot_band_mae_over_optuna_ci95": ratio_of_means_ci95(
            naswot["mae_band_per_seed"], optuna["mae_band_per_seed"]
        ),
        "naswot_total_mae_over_optuna_ci95": ratio_of_means_ci95(
            naswot["mae_total_per_seed"], optuna["mae_total_per_seed"]
        ),
    }


def trial_number(row: dict[str, str]) -> int:
    return int(row["trial"])


def validation_mae(row: dict[str, str]) -> float:
    """A trained trial's validation band-energy MAE (meV/atom); inf for any other."""
    value = row["band_energy_mae_mev_per_atom"]
    return float(value) if row["status"] == "complete" and value else math.inf


def anytime(optuna: SearchRun, naswot: SearchRun) -> dict[str, Any]:
    """Optuna's best-so-far validation MAE against the seconds its trials spent (in trial
    order), and the seconds it needs to first reach the validation MAE of NASWOT's trained
    choice over the seconds of NASWOT's trials (scoring every candidate and the training).
    When Optuna never reaches it, the speed-up is at least its whole compute over NASWOT's."""
    rows = sorted(optuna.rows, key=trial_number)
    seconds = np.cumsum([float(r["wall_seconds"]) for r in rows])
    best = np.minimum.accumulate([validation_mae(r) for r in rows])
    target = min(validation_mae(r) for r in naswot.rows)
    naswot_seconds = sum(float(r["wall_seconds"]) for r in naswot.rows)
    reached = np.flatnonzero(best <= target)
    matched = float(seconds[reached[0]]) if reached.size else None
    return {
        "optuna_trial_seconds": seconds.tolist(),
        "optuna_best_so_far_val_mae": best.tolist(),
        "naswot_val_mae": target,
        "naswot_trial_seconds": naswot_seconds,
        "optuna_seconds_to_reach_naswot": matched,
        "optuna_trials_to_reach_naswot": int(reached[0]) + 1 if reached.size else None,
        "speedup_at_equal_accuracy": (matched or float(seconds[-1])) / naswot_seconds,
        "speedup_is_lower_bound": matched is None,
    }


def plot(results: dict[str, dict[str, Any]], curve: dict[str, Any], path: Path, title: str) -> None:
    """Test MAE (mean +- std over seeds) against search CPU seconds, one point per method (a
    method whose choice gave an unusable prediction, MAE inf, is named in the legend), and
    the anytime view."""
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.2))
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
        constant = next(iter(results.values())).get(f"constant_guess_{quantity}_mev_per_atom")
        if constant is not None:
            ax.axhline(constant, color="grey", linestyle=":", label="constant guess")
        ax.set_xscale("log")
        ax.set_xlabel("search compute (CPU seconds, log scale)")
        ax.set_ylabel("test MAE (meV/atom)")
        ax.set_title(f"{label}, mean +- std over seeds; {title}", fontsize=9)
        ax.legend(fontsize=7)
    ax = axes[2]
    ax.step(
        curve["optuna_trial_seconds"],
        curve["optuna_best_so_far_val_mae"],
        where="post",
        label="Optuna, best so far",
    )
    ax.scatter(
        [curve["naswot_trial_seconds"]],
        [curve["naswot_val_mae"]],
        marker="*",
        s=120,
        color="tab:red",
        label="NASWOT's choice",
        zorder=3,
    )
    ax.axhline(curve["naswot_val_mae"], color="tab:red", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute of the trials (wall seconds, log scale)")
    ax.set_ylabel("validation band-energy MAE (meV/atom)")
    bound = ">= " if curve["speedup_is_lower_bound"] else ""
    ax.set_title(
        f"anytime view: equal accuracy at {bound}{curve['speedup_at_equal_accuracy']:.1f}x "
        "NASWOT's compute",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="al_fcc_298K", help="al_fcc_298K, al32_298K or a folder")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = arguments(__doc__.splitlines()[0], parser)
    folder = data_folder(args.data)
    scale = scale_of(folder, args.quick)
    data = (*scale.data, f"data.dataset_dir={folder}")
    scratch = scratch_dir(args)
    started = time.perf_counter()
    runs, results = {}, {}
    for method in args.methods:
        runs[method], results[method] = search_and_evaluate(method, scale, scratch, data)
    if set(args.methods) != set(METHODS):
        print(f"done: {args.methods}; run without --methods to write the results")
        return
    mode = "quick" if args.quick else "full"
    suffix = "" if folder.name == "al_fcc_298K" else f"_{folder.name}"
    curve = anytime(runs["optuna"], runs["naswot"])
    payload = {
        "mode": mode,
        "data": folder.name,
        "wall_s_total": time.perf_counter() - started,
        "space": scale.architecture | scale.training,
        "data_overrides": list(scale.data),
        "max_epochs": scale.max_epochs,
        "trial_budget": {
            "optuna": scale.optuna_trials,
            "optuna_naswot": scale.pruner_trials,
            "naswot_optimized_training_trials": scale.training_trials,
            **{m: results[m]["n_trials"] for m in ("direct", "oat", "naswot")},
        },
        "seeds": list(scale.seeds),
        "methods": results,
        "ratios": ratios(results),
        "anytime": curve,
    }
    path = write_outputs(f"hpo_comparison{suffix}", args.out, payload)
    plot(results, curve, args.out / f"hpo_comparison{suffix}.png", f"{folder.name} ({mode})")
    print(
        json.dumps(
            payload["ratios"] | {"speedup_at_equal_accuracy": curve["speedup_at_equal_accuracy"]},
            indent=2,
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
