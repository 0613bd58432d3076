"""Rank statistics of a training-free score against trained errors, shared by the score
benchmarks (``naswot_correlation``, ``zero_cost_scores``): Kendall tau and Spearman rho with
their p-values and bootstrap 95% intervals, per trial and per architecture (the trials of a
search grouped by their architecture), and ranks in a score's order.

A score is "higher is better", an error "lower is better": a score that ranks networks like
their trained error has a negative correlation with it (tau = -1: the order is the same)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

N_BOOTSTRAP = 2000
BOOTSTRAP_SEED = 0


def correlation(scores: Sequence[float], errors: Sequence[float]) -> dict[str, Any]:
    """Kendall tau (tau-b) and Spearman rho of ``scores`` against ``errors``, each with its
    two-sided p-value (scipy) and a percentile bootstrap 95% interval over ``N_BOOTSTRAP``
    resamples of the pairs (seeded: the same data give the same interval). Pairs whose score
    is not finite (a network that scored -inf) are dropped first; ``n`` counts the rest."""
    pairs = [(s, e) for s, e in zip(scores, errors, strict=True) if math.isfinite(s)]
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    tau, tau_p = kendalltau(x, y)
    rho, rho_p = spearmanr(x, y)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    taus, rhos = [], []
    for _ in range(N_BOOTSTRAP):
        pick = rng.integers(0, len(x), len(x))
        if np.ptp(x[pick]) == 0 or np.ptp(y[pick]) == 0:
            continue  # a resample without two distinct values has no rank correlation
        taus.append(kendalltau(x[pick], y[pick])[0])
        rhos.append(spearmanr(x[pick], y[pick])[0])
    return {
        "n": len(x),
        "kendall_tau": float(tau),
        "kendall_p_value": float(tau_p),
        "kendall_tau_ci95": _interval(taus),
        "spearman_rho": float(rho),
        "spearman_p_value": float(rho_p),
        "spearman_rho_ci95": _interval(rhos),
    }


def _interval(values: list[float]) -> list[float]:
    finite = [v for v in values if math.isfinite(v)]
    return [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))]


def rank_in_order(scores: Sequence[float], index: int) -> int:
    """1-based rank of ``scores[index]`` when sorted from the highest score down (ties share
    the best rank)."""
    return 1 + sum(score > scores[index] for score in scores)


def best_per_architecture(
    trial_architectures: Sequence[Hashable], errors: Sequence[float]
) -> dict[Hashable, float]:
    """Each architecture's lowest error over the trials that trained it (its best training
    settings): what a score of the untrained architecture can hope to rank."""
    best: dict[Hashable, float] = {}
    for architecture, error in zip(trial_architectures, errors, strict=True):
        best[architecture] = min(error, best.get(architecture, math.inf))
    return best


def score_study(
    trial_architectures: Sequence[Hashable],
    errors: Sequence[float],
    scores: Mapping[Hashable, float],
    best: int,
) -> dict[str, Any]:
    """How a score of the architectures orders trained networks: the correlation per trial
    (trial i's error against the score of its architecture ``trial_architectures[i]``) and
    per architecture (its best error), and where the best trial ``best`` lies in the score's
    order, among the trials and among every architecture ``scores`` holds."""
    trial_scores = [scores[a] for a in trial_architectures]
    per_architecture = best_per_architecture(trial_architectures, errors)
    return {
        "per_trial": correlation(trial_scores, errors),
        "per_architecture": correlation(
            [scores[a] for a in per_architecture], list(per_architecture.values())
        ),
        "rank_of_best_among_trials": rank_in_order(trial_scores, best),
        "rank_of_best_among_scored": 1 + sum(s > trial_scores[best] for s in scores.values()),
        "n_scored": len(scores),
    }
