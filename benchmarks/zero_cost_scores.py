"""Which training-free score ranks LDOS networks? Every zero-cost score on the same trained
networks, then a NASWOT search with the best-ranking score against the seed's.

The trained networks are the trials a ``naswot_correlation.py`` run recorded (its JSON: each
trial's hyperparameters and validation band-energy MAE, meV/atom, seed Eq. 12): the 32-atom
study (``--trials benchmarks/results/naswot_correlation_al32_298K.json``) and, for contrast,
the 4-atom one (``naswot_correlation.json``). Every architecture of those trials is scored at
initialisation by every score of ``ldos_surrogate.scores`` through the search's own scorer
(``NaswotScorer``, ``hydra.sweeper.naswot.score=<name>``: T = 5 initialisations, 64 grid
points of the first training snapshot). Per score: Kendall tau and Spearman rho against the
validation error with p-values and bootstrap 95% intervals (``rank_statistics``), per trial and
per architecture (its best error over the training settings tried); the rank of the best
trained network in the score's order (1 = highest score); seconds per candidate.

Then (``--search``, on the 32-atom set) the NASWOT-fixed search of ``hpo_comparison`` run once
with the seed's score and once with the score of the most negative per-architecture tau: the
cost of each search and the test MAE of its choice over 5 seeds, beside the constant guess.

    .venv/bin/python benchmarks/zero_cost_scores.py --quick --trials T.json   # CI smoke test
    .venv/bin/python benchmarks/zero_cost_scores.py \\
        --trials benchmarks/results/naswot_correlation_al32_298K.json --search --scratch DIR

Writes ``<out>/zero_cost_scores[_<data set>].json`` and ``.png`` (one panel per score; no
suffix for the 4-atom set).
"""

from __future__ import annotations

import argparse
import json
import math
import time
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
    timed,
    write_outputs,
)
from rank_statistics import score_study  # noqa: E402
from search_scales import (  # noqa: E402
    AL32,
    FULL,
    NASWOT_BATCH_POINTS,
    QUICK,
    evaluate_choice,
    method_yaml,
)

from ldos_surrogate.scores import ZERO_COST_SCORES  # noqa: E402
from ldos_surrogate.search.naswot_scoring import NaswotScorer, NaswotSettings  # noqa: E402

SEED_SCORE = "jacobian"  # the seed's Eq. 13-14
SCALES = {"al_fcc_298K": FULL, "al32_298K": AL32}
ARCHITECTURE_KEYS = ("model.network.layer_widths", "model.network.activations")


def score_names(quick: bool) -> list[str]:
    """Every registered score; quick: the first three."""
    names = list(ZERO_COST_SCORES)
    return names[:3] if quick else names


def architecture_overrides(trial: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f"{key}={trial[key]}" for key in ARCHITECTURE_KEYS)


def score_architectures(
    names: list[str], architectures: list[tuple[str, ...]], data: tuple[str, ...], scratch: Path
) -> dict[str, dict[str, Any]]:
    """Each score of every architecture (higher = better) and the seconds per candidate."""
    results = {}
    for name in names:
        scorer = NaswotScorer(
            NaswotSettings(score=name, batch_points=NASWOT_BATCH_POINTS), "naswot"
        )
        scores, seconds = {}, []
        for overrides in architectures:
            cfg = compose_train(scratch / "unused", *data, *overrides)
            scorer.score(cfg)  # the first call of a config loads its batch: not timed
            scores[overrides], elapsed = timed(scorer.score, cfg)
            seconds.append(elapsed)
        results[name] = {"scores": scores, "seconds_per_candidate": sum(seconds) / len(seconds)}
    return results


def rank_study(
    trials: list[dict[str, Any]], scores: dict[tuple[str, ...], float]
) -> dict[str, Any]:
    """``score_study`` of the recorded trials, the best being the lowest error."""
    errors = [t["band_mae_mev_per_atom"] for t in trials]
    return score_study(
        [architecture_overrides(t) for t in trials],
        errors,
        scores,
        min(range(len(trials)), key=lambda i: errors[i]),
    )


def searches(
    names: list[str], folder: Path, scratch: Path, quick: bool
) -> dict[str, dict[str, Any]]:
    """The NASWOT-fixed search with each score in ``names``: its cost, its choice tested."""
    scale = QUICK if quick else SCALES[folder.name]
    data = (*scale.data, f"data.dataset_dir={folder}")
    results = {}
    for name in names:
        method = method_yaml("naswot", scale)
        method["hydra"]["sweeper"]["naswot"]["score"] = name
        run = run_search(scratch, f"bench_naswot_{name}", method, data)
        results[name] = {
            "wall_s": run.wall_s,
            "cpu_s": run.cpu_s,
        } | evaluate_choice(scratch, run.name, scale, list(scale.architecture | scale.training))
    return results


def plot(
    trials: list[dict[str, Any]],
    scored: dict[str, dict[str, Any]],
    study: dict[str, Any],
    title: str,
    path: Path,
) -> None:
    """One panel per score: validation error of every trial against its architecture's score."""
    columns = 3
    rows = math.ceil(len(scored) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    errors = [t["band_mae_mev_per_atom"] for t in trials]
    for ax, (name, result) in zip(axes.flat, scored.items(), strict=False):
        x = [result["scores"][architecture_overrides(t)] for t in trials]
        ax.scatter(x, errors, s=12)
        c = study[name]["per_architecture"]
        low, high = c["kendall_tau_ci95"]
        ax.set_title(
            f"{name}: tau(arch) = {c['kendall_tau']:+.2f} [{low:+.2f}, {high:+.2f}]", fontsize=9
        )
        ax.set_yscale("log")
        if all(v > 0 for v in x if math.isfinite(v)) and max(x) / max(min(x), 1e-300) > 100:
            ax.set_xscale("log")
        ax.set_xlabel(f"{name} score (higher = better)", fontsize=8)
        ax.set_ylabel("val. band MAE (meV/atom)", fontsize=8)
    for ax in list(axes.flat)[len(scored) :]:
        ax.axis("off")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--trials", type=Path, required=True, help="the JSON of a naswot_correlation.py run"
    )
    parser.add_argument(
        "--search",
        action="store_true",
        help="also run the NASWOT search with the best score against the seed's",
    )
    args = arguments(__doc__.splitlines()[0], parser)
    recorded = json.loads(args.trials.read_text())
    folder = data_folder(recorded.get("data", "al_fcc_298K"))
    # the networks are scored on the data split of the study that trained them
    data = (*SCALES[folder.name].data, f"data.dataset_dir={folder}")
    scratch = scratch_dir(args)
    trials = [t for t in recorded["trials"] if math.isfinite(t["band_mae_mev_per_atom"])]
    architectures = sorted({architecture_overrides(t) for t in trials})[: 4 if args.quick else None]
    trials = [t for t in trials if architecture_overrides(t) in architectures]
    started = time.perf_counter()
    names = score_names(args.quick)
    scored = score_architectures(names, architectures, data, scratch)
    study = {name: rank_study(trials, result["scores"]) for name, result in scored.items()}
    best = min(study, key=lambda n: study[n]["per_architecture"]["kendall_tau"])
    payload = {
        "mode": "quick" if args.quick else "full",
        "data": folder.name,
        "trials_from": str(args.trials),
        "n_trials": len(trials),
        "n_architectures": len(architectures),
        "scores": {
            name: study[name] | {"seconds_per_candidate": scored[name]["seconds_per_candidate"]}
            for name in names
        },
        "best_ranking_score": best,
        "architecture_scores": [
            dict(o.split("=", 1) for o in a) | {n: scored[n]["scores"][a] for n in names}
            for a in architectures
        ],
    }
    if args.search:
        payload["searches"] = searches(sorted({SEED_SCORE, best}), folder, scratch, args.quick)
    payload["wall_s_total"] = time.perf_counter() - started
    stem = "zero_cost_scores" + ("" if folder.name == "al_fcc_298K" else f"_{folder.name}")
    path = write_outputs(stem, args.out, payload)
    plot(
        trials,
        scored,
        study,
        f"zero-cost scores against trained error, {folder.name}",
        args.out / f"{stem}.png",
    )
    for name in names:
        c = study[name]["per_architecture"]
        print(f"{name:18s} tau(arch) {c['kendall_tau']:+.3f} {c['kendall_tau_ci95']}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
