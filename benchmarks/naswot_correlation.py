"""Does the NASWOT score rank architectures like their trained error? (seed Fig. 5)

An Optuna TPE study through ``search.py`` (scratch folder), then the NASWOT mean score S'
(seed Eq. 14, T = 5 initialisations, 64 grid points of the first training snapshot, the
search's own scorer ``NaswotScorer``) of every trained trial's network under both sign
conventions, against the trial's validation band-energy MAE (meV/atom): Kendall tau and its
p-value, and the rank of Optuna's best trial in the NASWOT order (1 = highest score). The
seed paper reports tau = -0.318 and Optuna's best within NASWOT's top 20.

    .venv/bin/python benchmarks/naswot_correlation.py --quick   # 6 trials: CI smoke test
    .venv/bin/python benchmarks/naswot_correlation.py           # 50 trials

Writes ``<out>/naswot_correlation.json`` and ``<out>/naswot_correlation.png``.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from harness import arguments, compose_train, run_search, scratch_dir, write_outputs
from scipy.stats import kendalltau
from search_scales import FULL, QUICK, method_yaml

from ldos_surrogate.scores.naswot import CONVENTIONS
from ldos_surrogate.search.naswot_scoring import NaswotScorer, NaswotSettings

QUICK_STUDY = replace(QUICK, optuna_trials=6, optuna_startup=3)
FULL_STUDY = replace(FULL, optuna_trials=50, optuna_startup=10, max_epochs=6)


def naswot_scores(
    rows: list[dict[str, str]], keys: list[str], data: tuple[str, ...], scratch: Path
) -> dict[str, list[float]]:
    """S' of every row's network under each sign convention (higher = better)."""
    scores: dict[str, list[float]] = {}
    for convention in CONVENTIONS:
        scorer = NaswotScorer(NaswotSettings(convention=convention), "naswot")
        scores[convention] = [
            scorer.score(compose_train(scratch / "unused", *data, *(f"{k}={row[k]}" for k in keys)))
            for row in rows
        ]
    return scores


def rank_in_order(scores: list[float], index: int) -> int:
    """1-based rank of ``scores[index]`` when sorted from the highest score down."""
    return 1 + sum(score > scores[index] for score in scores)


def correlate(scores: list[float], errors: list[float], best: int) -> dict[str, Any]:
    tau, p_value = kendalltau(scores, errors)
    return {
        "kendall_tau": float(tau),
        "p_value": float(p_value),
        "rank_of_optuna_best": rank_in_order(scores, best),
    }


def plot(scores: list[float], errors: list[float], best: int, tau: float, path: Path) -> None:
    figure, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(scores, errors, s=18, label="Optuna trial")
    ax.scatter(
        [scores[best]], [errors[best]], s=80, marker="*", color="tab:red", label="Optuna's best"
    )
    ax.set_xscale("symlog")
    ax.set_yscale("log")
    ax.set_xlabel("NASWOT mean score S' (Eq. 14, seed convention, dimensionless)")
    ax.set_ylabel("validation band-energy MAE (meV/atom)")
    ax.set_title(f"NASWOT score vs trained error, Al: Kendall tau = {tau:.3f}")
    ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    scale = QUICK_STUDY if args.quick else FULL_STUDY
    scratch = scratch_dir(args)
    started = time.perf_counter()
    run = run_search(scratch, "bench_correlation", method_yaml("optuna", scale), scale.data)
    keys = list(scale.architecture | scale.training)
    trained = [r for r in run.rows if r["status"] == "complete" and math.isfinite(float(r["loss"]))]
    errors = [float(r["band_energy_mae_mev_per_atom"]) for r in trained]
    best = min(range(len(trained)), key=lambda i: float(trained[i]["loss"]))
    scores = naswot_scores(trained, keys, scale.data, scratch)
    payload = {
        "mode": "quick" if args.quick else "full",
        "wall_s_total": time.perf_counter() - started,
        "search_wall_s": run.wall_s,
        "n_trials": len(run.rows),
        "n_unusable": len(run.rows) - len(trained),  # the DOS could not hold the electrons
        "max_epochs": scale.max_epochs,
        "space": scale.architecture | scale.training,
        "conventions": {c: correlate(scores[c], errors, best) for c in CONVENTIONS},
        "paper": {"kendall_tau": -0.318, "rank_of_optuna_best": "within top 20"},
        "trials": [
            {key: row[key] for key in keys}
            | {"band_mae_mev_per_atom": error, "score_seed": s, "score_original": o}
            for row, error, s, o in zip(
                trained, errors, scores["seed"], scores["original"], strict=True
            )
        ],
    }
    path = write_outputs("naswot_correlation", args.out, payload)
    plot(
        scores["seed"],
        errors,
        best,
        payload["conventions"]["seed"]["kendall_tau"],
        args.out / "naswot_correlation.png",
    )
    print({c: v for c, v in payload["conventions"].items()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
