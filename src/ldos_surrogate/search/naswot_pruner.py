"""Optuna with a NASWOT pruner: score each trial's network before training, skip weak ones.

Before a trial trains, its NASWOT mean score S' (seed Eq. 14, higher is better) is computed.
Once ``warmup`` preceding trials have a finite score, the trial is pruned when

    S' < quantile_q( S' of the preceding trials )

(a -inf score, a dead network, is below any threshold). Before the warm-up every trial trains.
The scores are stored with the trials (user attribute ``naswot_score``), so a resumed study
estimates its threshold from all of its trials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.checks import require_int
from ldos_surrogate.search.naswot_scoring import NaswotScorer
from ldos_surrogate.search.results import TrialResult


@dataclass
class PrunerSettings:
    """quantile: q in [0, 1) of the preceding scores that a trial must reach to be trained;
    warmup: preceding trials with a finite score needed before any pruning (>= 1)."""

    quantile: float = 0.5
    warmup: int = 5

    def check(self, key: str) -> None:
        """InputError naming ``key.<field>`` for a bad value."""
        if not (isinstance(self.quantile, int | float) and 0 <= self.quantile < 1):
            raise InputError(f"{key}.quantile: must be in [0, 1), got {self.quantile!r}")
        require_int(self.warmup, f"{key}.warmup", minimum=1)


class NaswotPruner:
    """Scores a trial's config and decides whether to prune it (module docstring)."""

    def __init__(self, scorer: NaswotScorer, settings: PrunerSettings, key: str) -> None:
        settings.check(key)
        self.scorer = scorer
        self.settings = settings

    def score(self, cfg: DictConfig) -> float:
        """The trial's NASWOT mean score S'."""
        return self.scorer.score(cfg)

    def threshold(self, preceding: Sequence[float]) -> float | None:
        """The quantile of the finite preceding scores; None during the warm-up."""
        finite = [score for score in preceding if math.isfinite(score)]
        if len(finite) < self.settings.warmup:
            return None
        return float(np.quantile(finite, self.settings.quantile))

    def prunes(self, score: float, preceding: Sequence[float]) -> bool:
        """Whether a trial scoring ``score`` is pruned after the ``preceding`` scores."""
        threshold = self.threshold(preceding)
        return threshold is not None and score < threshold

    def summary(self, results: Sequence[TrialResult]) -> str:
        """One line for the search summary: pruned vs trained trials."""
        pruned = sum(r.status == "pruned" for r in results)
        trained = sum(r.status == "complete" for r in results)
        return (
            f"NASWOT pruner: {pruned} pruned, {trained} trained (threshold: the "
            f"{self.settings.quantile:g}-quantile of the preceding scores, after "
            f"{self.settings.warmup} warm-up trials)"
        )
