"""Rank statistics of a training-free score against trained errors, shared by the score
benchmarks (``naswot_correlation``, ``zero_cost_scores``): Kendall tau and Spearman rho with
their p-values and bootstrap 95% intervals, the trials of a search grouped per architecture,
and ranks in a score's order.

A score is "higher is better", an error "lower is better": a score that ranks networks like
their trained error has a negative correlation with it (tau = -1: the order is the same)."""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def architecture_of(row: dict[str, str], keys: Sequence[str]) -> tuple[str, ...]:
    """The architecture of a ``results.csv`` row: its values of the architecture ``keys``."""
    return tuple(row[key] for key in keys)


def best_per_architecture(
    rows: Sequence[dict[str, str]], keys: Sequence[str], errors: Sequence[float]
) -> dict[tuple[str, ...], float]:
    """Each architecture's lowest error over the trials that trained it (its best training
    settings): what a score of the untrained architecture can hope to rank."""
    best: dict[tuple[str, ...], float] = {}
    for row, error in zip(rows, errors, strict=True):
        architecture = architecture_of(row, keys)
        best[architecture] = min(error, best.get(architecture, math.inf))
    return best
