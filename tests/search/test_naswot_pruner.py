"""The NASWOT pruner: its threshold rule, and Optuna with it end to end on the shipped Al
data (pruned trials are exactly those scoring below the quantile of the preceding scores)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from search_runs import run_search, write_method

from ldos_surrogate.search.naswot_pruner import NaswotPruner, PrunerSettings
from ldos_surrogate.search.naswot_scoring import NaswotScorer, NaswotSettings

QUANTILE, WARMUP = 0.75, 2
TINY_OPTUNA_NASWOT = f"""# @package _global_
defaults:
  - override /hydra/sweeper: ldos_optuna_naswot
hydra:
  sweeper:
    n_trials: 5
    sampler:
      _target_: optuna.samplers.TPESampler
      seed: 3
    naswot: {{n_inits: 2, batch_points: 32}}
    pruner: {{quantile: {QUANTILE}, warmup: {WARMUP}}}
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,32,null],[null,8,8,8,null])
      model.network.activations: choice(ReLU,Tanh,Sigmoid)
"""


def pruner(quantile: float, warmup: int) -> NaswotPruner:
    scorer = NaswotScorer(NaswotSettings(n_inits=2), "naswot")
    return NaswotPruner(scorer, PrunerSettings(quantile, warmup), "pruner")


def test_threshold_waits_for_the_warmup_and_ignores_dead_networks() -> None:
    rule = pruner(quantile=0.5, warmup=3)
    assert rule.threshold([5.0, -math.inf, 7.0]) is None  # two finite scores < warm-up
    assert rule.threshold([5.0, -math.inf, 7.0, 9.0]) == 7.0
    assert rule.prunes(6.9, [5.0, 7.0, 9.0])
    assert not rule.prunes(7.0, [5.0, 7.0, 9.0])
    assert rule.prunes(-math.inf, [5.0, 7.0, 9.0])
    assert not rule.prunes(-math.inf, [5.0, 7.0])


def test_optuna_with_naswot_prunes_below_the_quantile_of_preceding_scores(tmp_path: Path) -> None:
    write_method(tmp_path, "tiny_optuna_naswot", TINY_OPTUNA_NASWOT)
    # 1e-2 trains the tiny networks in 2 epochs far enough for finite losses (an infinite
    # one fails its trial, and Optuna would run another in its place)
    run = run_search(
        tmp_path, "al_pruned", "hparams_search=tiny_optuna_naswot", "model.optimizer.lr=1e-2"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = sorted(run.results, key=lambda r: int(r["trial"]))
    assert len(rows) == 5
    for index, row in enumerate(rows):
        preceding = [float(r["score"]) for r in rows[:index]]
        finite = [s for s in preceding if math.isfinite(s)]
        expected = len(finite) >= WARMUP and float(row["score"]) < np.quantile(finite, QUANTILE)
        assert (row["status"] == "pruned") == expected, row
        assert (row["loss"] == "") == expected
    pruned = sum(r["status"] == "pruned" for r in rows)
    assert pruned >= 1
    assert f"NASWOT pruner: {pruned} pruned, {5 - pruned} trained" in run.stdout
    run.assert_followable(total=5, method_view=True)
