"""How stable the NASWOT ranking is: Kendall tau between the rankings of independent batch
draws and initialisation seeds, as a function of the batch size N and of T.

Candidates: the architectures of the comparison's space (``search_scales.AL32``: 1-4 hidden
layers of 32 or 512 x ReLU, LeakyReLU, Sigmoid, Tanh = 32). Each is scored by the search's own
scorer (``NaswotScorer``: S' = mean + std over T initialisations, seed Eq. 14, on N grid points
of the first training snapshot of ``experiment=al32``, descriptors scaled as for training)
for N = 64, 256, 1024 and T = 2, 5, 10 under R repetitions, each a ranking of all candidates:

- ``both``: repetition r draws the batch with seed 1000 + r and initialises with seeds
  100 r ... 100 r + T - 1 (no initialisation shared between repetitions);
- ``init``: the batch of repetition 0, the initialisations of repetition r;
- ``batch``: the initialisations of repetition 0, the batch of repetition r.

Per source and (N, T), over the R (R - 1) / 2 pairs of repetitions: mean and standard
deviation of Kendall's tau-b between the two rankings; how often the top candidate of one
repetition is the top of another (over ordered pairs) and its mean rank there (1 = top);
seconds per candidate (mean over the scorings, the snapshot read before). Repetition 0 of
the first (N, T) scored by two new scorers gives ``identical_tau`` (must be 1: the scores
depend only on the seeds).

The defaults: the cheapest (N, T) of ``both`` whose mean tau lies within one standard
deviation of the best mean tau.

Run: .venv/bin/python benchmarks/naswot_stability.py --data al32_298K
(--quick: 4 candidates, N = 16, 32, T = 2, 3, R = 2; seconds). Writes
``<out>/naswot_stability.json`` and ``<out>/naswot_stability.png``.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import torch
from omegaconf import DictConfig
from scipy.stats import kendalltau, rankdata

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from harness import (  # noqa: E402
    al32_parser,
    arguments,
    compose_train,
    data_folder,
    scratch_dir,
    timed,
    write_outputs,
)
from rank_statistics import rank_in_order  # noqa: E402
from search_scales import AL32, architectures  # noqa: E402

from ldos_surrogate.search.naswot_scoring import NaswotScorer, NaswotSettings  # noqa: E402

SOURCES = ("both", "init", "batch")
FULL = {"batch_points": (64, 256, 1024), "n_inits": (2, 5, 10), "repeats": 5}
QUICK = {"batch_points": (16, 32), "n_inits": (2, 3), "repeats": 2}


def seeds(source: str, repetition: int) -> tuple[int, int]:
    """(batch seed, initialisation seed) of ``repetition`` under ``source``."""
    batch, init = 1000 + repetition, 100 * repetition
    return {"both": (batch, init), "init": (1000, init), "batch": (batch, 0)}[source]


def rank_agreement(rankings: list[np.ndarray]) -> dict[str, float]:
    """Kendall tau-b over all pairs of score vectors (mean, std), and how the top candidate
    of each fares in every other (fraction on top, mean rank, 1 = top)."""
    taus = [tau(a, b) for a, b in itertools.combinations(rankings, 2)]
    top_ranks = [
        rank_in_order(rankings[other], int(np.argmax(rankings[one])))
        for one, other in itertools.permutations(range(len(rankings)), 2)
    ]
    return {
        "kendall_tau_mean": float(np.mean(taus)),
        "kendall_tau_std": float(np.std(taus, ddof=1)) if len(taus) > 1 else 0.0,
        "top_stays_top": float(np.mean(np.asarray(top_ranks) == 1)),
        "top_mean_rank": float(np.mean(top_ranks)),
    }


def tau(first: np.ndarray, second: np.ndarray) -> float:
    """Kendall tau-b of two score vectors (on their ranks: a dead network's -inf ties last)."""
    return float(kendalltau(rankdata(first), rankdata(second)).statistic)


def score_all(scorer: NaswotScorer, configs: list[DictConfig], batch_seed: int, init_seed: int):
    """S' of every candidate (initialisations seeded by ``init_seed``) and the seconds taken."""
    for cfg in configs:
        cfg.seed = init_seed
    return timed(lambda: np.array([scorer.score(cfg, batch_seed) for cfg in configs]))


def measure(configs: list[DictConfig], batch_points: int, n_inits: int, repeats: int) -> dict:
    """Every source's agreement at one (N, T) and the seconds per candidate."""
    scorer = NaswotScorer(
        NaswotSettings(score="jacobian", n_inits=n_inits, batch_points=batch_points), "naswot"
    )
    scorer.score(configs[0])  # reads the snapshot
    scores: dict[tuple[int, int], np.ndarray] = {}
    seconds = []
    for source, repetition in itertools.product(SOURCES, range(repeats)):
        pair = seeds(source, repetition)
        if pair not in scores:
            scores[pair], wall = score_all(scorer, configs, *pair)
            seconds.append(wall)
    result: dict[str, Any] = {
        source: rank_agreement([scores[seeds(source, r)] for r in range(repeats)])
        for source in SOURCES
    }
    result["seconds_per_candidate"] = float(np.mean(seconds) / len(configs))
    result["scores_both"] = [scores[seeds("both", r)].tolist() for r in range(repeats)]
    return result


def choose_defaults(results: dict[str, dict]) -> dict[str, Any]:
    """The cheapest (N, T) whose mean tau (``both``) is within one std of the best mean."""
    best = max(results.values(), key=lambda r: r["both"]["kendall_tau_mean"])
    floor = best["both"]["kendall_tau_mean"] - best["both"]["kendall_tau_std"]
    eligible = [(key, r) for key, r in results.items() if r["both"]["kendall_tau_mean"] >= floor]
    key, chosen = min(eligible, key=lambda item: item[1]["seconds_per_candidate"])
    return {
        "rule": "cheapest (N, T) with mean tau >= best mean tau - its std (source both)",
        "setting": key,
        "batch_points": chosen["batch_points"],
        "n_inits": chosen["n_inits"],
        "tau_floor": floor,
    }


def plot(results: dict[str, dict], grid: dict, path: Path) -> None:
    """Mean Kendall tau +- std against N, one line per T, one panel per source."""
    figure, panels = plt.subplots(1, len(SOURCES), figsize=(14, 4.2), sharey=True)
    for axes, source in zip(panels, SOURCES, strict=True):
        for n_inits in grid["n_inits"]:
            rows = [results[f"N{n}_T{n_inits}"][source] for n in grid["batch_points"]]
            axes.errorbar(
                grid["batch_points"],
                [r["kendall_tau_mean"] for r in rows],
                yerr=[r["kendall_tau_std"] for r in rows],
                marker="o",
                capsize=3,
                label=f"T = {n_inits}",
            )
        axes.set_xscale("log", base=2)
        axes.set_xlabel("grid points N of the batch")
        axes.set_title(
            {"both": "batch and seeds vary", "init": "seeds vary", "batch": "batch varies"}[source]
        )
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    panels[0].set_ylabel("Kendall tau between repetitions")
    figure.suptitle("NASWOT ranking stability, 32 architectures, 32-atom Al")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    args = arguments(__doc__.splitlines()[0], al32_parser())
    torch.set_num_threads(1)
    grid = QUICK if args.quick else FULL
    dataset, scratch = data_folder(args.data), scratch_dir(args)
    candidates = architectures(AL32)
    if args.quick:
        candidates = candidates[::8]
    # data.seed only orders training batches: fixed, so every candidate and seed shares
    # the scorer's one read of the snapshot
    data = (*AL32.data, f"data.dataset_dir={dataset}", "data.seed=0")
    configs = [compose_train(scratch / "run", *data, *overrides) for overrides in candidates]

    def run() -> dict[str, dict]:
        results = {}
        for n, n_inits in itertools.product(grid["batch_points"], grid["n_inits"]):
            result = measure(configs, n, n_inits, grid["repeats"])
            results[f"N{n}_T{n_inits}"] = {"batch_points": n, "n_inits": n_inits, **result}
            both = result["both"]
            print(
                f"N = {n:4d}, T = {n_inits:2d}: tau {both['kendall_tau_mean']:.3f} +- "
                f"{both['kendall_tau_std']:.3f} (init only {result['init']['kendall_tau_mean']:.3f}, "
                f"batch only {result['batch']['kendall_tau_mean']:.3f}), top stays top "
                f"{both['top_stays_top']:.2f}, its mean rank {both['top_mean_rank']:.2f}, "
                f"{1e3 * result['seconds_per_candidate']:.1f} ms per candidate",
                flush=True,
            )
        return results

    results, wall = timed(run)
    settings = NaswotSettings(
        score="jacobian", n_inits=grid["n_inits"][0], batch_points=grid["batch_points"][0]
    )
    identical = [
        score_all(NaswotScorer(settings, "naswot"), configs, *seeds("both", 0))[0] for _ in range(2)
    ]
    defaults = choose_defaults(results)
    payload = {
        "data": str(dataset),
        "candidates": [" ".join(overrides) for overrides in candidates],
        "grid": grid,
        "sources": {
            source: [seeds(source, r) for r in range(grid["repeats"])] for source in SOURCES
        },
        "results": results,
        "defaults": defaults,
        "identical_tau": tau(*identical),
        "wall_s": wall,
    }
    path = write_outputs("naswot_stability", args.out, payload)
    plot(results, grid, args.out / "naswot_stability.png")
    print(
        f"defaults: N = {defaults['batch_points']}, T = {defaults['n_inits']} ({defaults['rule']})"
    )
    print(f"{len(candidates)} candidates, {wall:.0f} s; {path}")


if __name__ == "__main__":
    main()
