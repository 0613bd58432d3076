"""Does the NASWOT score rank architectures like their trained error? (seed Fig. 5)

The trained trials of an Optuna TPE study through ``search.py`` (the ``optuna`` search of
``hpo_comparison.py`` at the same scale: run both on one ``--scratch`` and the study is
shared), and the NASWOT mean score S' (seed Eq. 14, T = 5 initialisations, 64 grid points of
the first training snapshot, the search's own scorer ``NaswotScorer``) of every architecture
of the space under both sign conventions. Against the validation band-energy MAE (meV/atom,
seed Eq. 12): Kendall tau and Spearman rho with p-values and bootstrap 95% intervals

- per trial (each trained network against its architecture's score), and
- per architecture (its best error over the training settings Optuna tried against its
  score): what a score of the untrained network can know;

and where Optuna's best trial lies in NASWOT's order, among the trials and among all the
architectures of the space (1 = highest score; NASWOT fixed trains its rank 1). The seed
paper reports tau = -0.318 and Optuna's best within NASWOT's top 20.

    .venv/bin/python benchmarks/naswot_correlation.py --quick   # 6 trials: CI smoke test
    .venv/bin/python benchmarks/naswot_correlation.py           # 4-atom set, 50 trials
    .venv/bin/python benchmarks/naswot_correlation.py --data al32_298K --scratch DIR  # 60

Writes ``<out>/naswot_correlation[_<data set>].json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from harness import (  # noqa: E402
    arguments,
    compose_train,
    data_folder,
    run_search,
    scratch_dir,
    write_outputs,
)
from rank_statistics import best_per_architecture, score_study  # noqa: E402
from search_scales import (  # noqa: E402
    AL32,
    FULL,
    NASWOT_BATCH_POINTS,
    QUICK,
    architectures,
    method_yaml,
)

from ldos_surrogate.scores.naswot import CONVENTIONS  # noqa: E402
from ldos_surrogate.search.naswot_scoring import NaswotScorer, NaswotSettings  # noqa: E402

QUICK_STUDY = replace(QUICK, optuna_trials=6, optuna_startup=3)
STUDIES = {
    "al_fcc_298K": replace(FULL, optuna_trials=50, optuna_startup=10, max_epochs=6),
    "al32_298K": AL32,  # the Optuna study of hpo_comparison --data al32_298K
}
PAPER = {"kendall_tau": -0.318, "rank_of_optuna_best": "within top 20"}


def naswot_scores(
    architectures: list[tuple[str, ...]], data: tuple[str, ...], scratch: Path
) -> dict[str, dict[tuple[str, ...], float]]:
    """S' of every architecture (its overrides) under each sign convention (higher = better)."""
    scores: dict[str, dict[tuple[str, ...], float]] = {}
    for convention in CONVENTIONS:
        scorer = NaswotScorer(
            NaswotSettings(
                score="jacobian", convention=convention, batch_points=NASWOT_BATCH_POINTS
            ),
            "naswot",
        )
        scores[convention] = {
            overrides: scorer.score(compose_train(scratch / "unused", *data, *overrides))
            for overrides in architectures
        }
    return scores


def study(
    rows: list[dict[str, str]], keys: list[str], scores: dict[tuple[str, ...], float]
) -> dict[str, Any]:
    """``score_study`` of the trained rows against their validation band-energy MAE, the
    best being Optuna's (the lowest loss), ranked among the trials and the whole space."""
    return score_study(
        [overrides_of(r, keys) for r in rows],
        [float(r["band_energy_mae_mev_per_atom"]) for r in rows],
        scores,
        min(range(len(rows)), key=lambda i: float(rows[i]["loss"])),
    )


def overrides_of(row: dict[str, str], keys: list[str]) -> tuple[str, ...]:
    return tuple(f"{key}={row[key]}" for key in keys)


def plot(
    rows: list[dict[str, str]],
    keys: list[str],
    scores: dict[tuple[str, ...], float],
    result: dict[str, Any],
    title: str,
    path: Path,
) -> None:
    """Per trial and per architecture: validation error against the seed-convention score."""
    errors = [float(r["band_energy_mae_mev_per_atom"]) for r in rows]
    best = min(range(len(rows)), key=lambda i: float(rows[i]["loss"]))
    per_architecture = best_per_architecture([overrides_of(r, keys) for r in rows], errors)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    trial_scores = [scores[overrides_of(r, keys)] for r in rows]
    axes[0].scatter(trial_scores, errors, s=16, label="Optuna trial")
    axes[0].scatter(
        [trial_scores[best]],
        [errors[best]],
        s=90,
        marker="*",
        color="tab:red",
        label="Optuna's best",
    )
    axes[1].scatter(
        [scores[a] for a in per_architecture],
        list(per_architecture.values()),
        s=16,
        color="tab:green",
        label="architecture (best over its trials)",
    )
    for ax, view in zip(axes, ("per_trial", "per_architecture"), strict=True):
        c = result[view]
        low, high = c["kendall_tau_ci95"]
        ax.set_xscale("symlog")
        ax.set_yscale("log")
        ax.set_xlabel("NASWOT mean score S' (Eq. 14, seed convention, dimensionless)")
        ax.set_ylabel("validation band-energy MAE (meV/atom)")
        ax.set_title(
            f"{view.replace('_', ' ')}, {title}: tau = {c['kendall_tau']:+.3f} "
            f"[{low:+.2f}, {high:+.2f}], p = {c['kendall_p_value']:.2g}",
            fontsize=9,
        )
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="al_fcc_298K", help="al_fcc_298K, al32_298K or a folder")
    args = arguments(__doc__.splitlines()[0], parser)
    folder = data_folder(args.data)
    scale = QUICK_STUDY if args.quick else STUDIES[folder.name]
    data = (*scale.data, f"data.dataset_dir={folder}")
    scratch = scratch_dir(args)
    started = time.perf_counter()
    run = run_search(scratch, "bench_optuna", method_yaml("optuna", scale), data)
    keys = list(scale.architecture)
    trained = [r for r in run.rows if r["status"] == "complete" and math.isfinite(float(r["loss"]))]
    scores = naswot_scores([tuple(a) for a in architectures(scale)], data, scratch)
    suffix = "" if folder.name == "al_fcc_298K" else f"_{folder.name}"
    payload = {
        "mode": "quick" if args.quick else "full",
        "data": folder.name,
        "wall_s_total": time.perf_counter() - started,
        "search_wall_s": run.wall_s,
        "n_trials": len(run.rows),
        "n_unusable": len(run.rows) - len(trained),  # the DOS could not hold the electrons
        "n_architectures_trained": len({overrides_of(r, keys) for r in trained}),
        "max_epochs": scale.max_epochs,
        "space": scale.architecture | scale.training,
        "conventions": {c: study(trained, keys, scores[c]) for c in CONVENTIONS},
        "paper": PAPER,
        "trials": [
            {key: row[key] for key in scale.architecture | scale.training}
            | {"band_mae_mev_per_atom": float(row["band_energy_mae_mev_per_atom"])}
            | {f"score_{c}": scores[c][overrides_of(row, keys)] for c in CONVENTIONS}
            for row in trained
        ],
        "space_scores": [
            dict(o.split("=", 1) for o in overrides)
            | {f"score_{c}": scores[c][overrides] for c in CONVENTIONS}
            for overrides in scores["seed"]
        ],
    }
    path = write_outputs(f"naswot_correlation{suffix}", args.out, payload)
    plot(
        trained,
        keys,
        scores["seed"],
        payload["conventions"]["seed"],
        folder.name,
        args.out / f"naswot_correlation{suffix}.png",
    )
    for convention, result in payload["conventions"].items():
        print(convention, {v: result[v]["kendall_tau"] for v in ("per_trial", "per_architecture")})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
