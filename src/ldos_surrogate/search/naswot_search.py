"""NASWOT searches: choose the architecture by its score at initialisation, train only it.

Fixed: every architecture of the space (all combinations of the dimensions, which must be
choices or ranges) gets its NASWOT mean score S' (seed Eq. 14, T initialisations); only the
highest-scoring one is trained, with the training hyperparameters of the config.

Optimized: the same, then a reduced Optuna study over the training hyperparameters (learning
rate, batch size, patience, ...) with that architecture fixed (`optuna_search`).

The scored architectures are trials 0 ... n-1 (status ``scored``, value S'), the training of
the best one is trial n, the Optuna trials follow; the workers of a search split the scoring
and all choose the same architecture.

The summary says how stable the choice is: every architecture is scored again, with the same
initialisations, on a second batch (drawn with the trial seed + 1); it gives the chosen
architecture's rank under that draw and Kendall's tau between the two rankings (1: the same
order; benchmarks/README.md measures how both depend on the batch size and T).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scipy.stats import kendalltau

from ldos_surrogate.search.naswot_scoring import NaswotScorer
from ldos_surrogate.search.optuna_search import OptunaSettings, best_of, optimize
from ldos_surrogate.search.report import View, score_rank_view
from ldos_surrogate.search.results import SearchOutcome, TrialResult, best_trial
from ldos_surrogate.search.runner import TrialRunner, timed
from ldos_surrogate.search.space import Param, SearchSpace, encode


def run_naswot(
    runner: TrialRunner,
    scorer: NaswotScorer,
    key: str,
    training: Sequence[Param] = (),
    trials_after: int = 0,
) -> tuple[list[TrialResult], TrialResult, list[str]]:
    """Score every architecture, train the best; return (all results, the trained best, the
    summary lines: the scoring, its stability under a second batch draw). ``training`` are dimensions of the runner's space that are not part of
    the architecture: they keep the config's values here. ``trials_after``: how many trials
    the search runs after these (for its progress lines)."""
    training_keys = {param.key for param in training}
    architecture = SearchSpace(tuple(p for p in runner.space.params if p.key not in training_keys))
    defaults = {param.key: runner.current_value(param.key) for param in training}
    candidates = [
        (number, architecture_params | defaults)
        for number, architecture_params in enumerate(architecture.grid(key))
    ]
    runner.progress.plan(len(candidates) + 1 + trials_after, scored=len(candidates))
    scored = runner.planned(
        candidates,
        lambda batch: [_score(runner, scorer, number, params) for number, params in batch],
        architecture.params,
    )
    best = max(scored, key=lambda result: result.score)
    number = len(scored)
    (trained,) = runner.train([(number, best.params)], {number: best.score}, architecture.params)
    seconds = sum(result.wall_seconds for result in scored)
    shown = ", ".join(f"{k} = {encode(best.params[k])}" for k in architecture.keys)
    note = (
        f"NASWOT: {len(scored)} architectures scored ({scorer.settings.n_inits} initialisations "
        f"each, {len(scored) / max(seconds, 1e-9):.1f} per second); best S' = {best.score:.6g}: "
        f"{shown}"
    )
    return [*scored, trained], trained, [note, second_draw_note(runner, scorer, scored, best)]


def second_draw_note(
    runner: TrialRunner, scorer: NaswotScorer, scored: Sequence[TrialResult], best: TrialResult
) -> str:
    """The summary line on the second batch draw (module docstring): every architecture of
    ``scored`` scored again on the batch drawn with its trial seed + 1."""
    seeds, again = set(), []
    for result in scored:
        cfg = runner.compose(result.params)
        seeds.add(int(cfg.seed) + 1)
        again.append(scorer.score(cfg, batch_seed=int(cfg.seed) + 1))
    chosen = again[list(scored).index(best)]
    rank = 1 + sum(value > chosen for value in again)
    tau = kendalltau([result.score for result in scored], again).statistic
    return (
        f"NASWOT stability: on a second batch (seed {', '.join(map(str, sorted(seeds)))}) the "
        f"chosen architecture scores S' = {chosen:.6g}, rank {rank} of {len(again)}; Kendall "
        f"tau between the two rankings {tau:.3f}"
    )


def run_naswot_fixed(runner: TrialRunner, scorer: NaswotScorer, key: str) -> SearchOutcome:
    """The fixed NASWOT search (module docstring)."""
    results, trained, notes = run_naswot(runner, scorer, key)
    return SearchOutcome(results, best_trial([trained]), notes, view=_scores_view(results))


def run_naswot_optimized(
    runner: TrialRunner,
    scorer: NaswotScorer,
    training: Sequence[Param],
    settings: OptunaSettings,
    key: str,
    training_key: str,
) -> SearchOutcome:
    """The optimized NASWOT search: `run_naswot`, then Optuna over the ``training``
    dimensions with the chosen architecture fixed (``training_key`` names their settings)."""
    settings.check(training_key)
    results, trained, notes = run_naswot(runner, scorer, key, training, settings.n_trials)
    architecture = {k: v for k, v in trained.params.items() if k not in {p.key for p in training}}
    tuned = optimize(runner.study, runner, training, settings, architecture, len(results))
    candidates = [trained, *tuned]
    return SearchOutcome(
        [*results, *tuned],
        best_of(candidates, settings),
        [*notes, f"Optuna over {[p.key for p in training]}: {len(tuned)} trials"],
        view=_scores_view(results),
    )


def _scores_view(results: Sequence[TrialResult]) -> View:
    """Score against rank of the architectures (`run_naswot`'s results: the scored ones and
    the training of the best, which stands in for its scored row)."""
    *scored, trained = results
    best = max(scored, key=lambda result: result.score)
    return score_rank_view([*(r for r in scored if r is not best), trained])


def _score(
    runner: TrialRunner, scorer: NaswotScorer, number: int, params: Mapping[str, Any]
) -> TrialResult:
    """Score trial ``number``."""
    score, seconds = timed(scorer.score, runner.compose(params))
    return TrialResult(number, dict(params), "scored", score=score, wall_seconds=seconds)
