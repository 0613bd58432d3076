"""NASWOT searches: choose the architecture by its score at initialisation, train only it.

Fixed: every architecture of the space (all combinations of the dimensions, which must be
choices or ranges) gets its NASWOT mean score S' (seed Eq. 14, T initialisations); only the
highest-scoring one is trained, with the training hyperparameters of the config.

Optimized: the same, then a reduced Optuna study over the training hyperparameters (learning
rate, batch size, patience, ...) with that architecture fixed (`optuna_search`).

The scored architectures are trials 0 ... n-1 (status ``scored``, value S'), the training of
the best one is trial n, the Optuna trials follow; the workers of a search split the scoring
and all choose the same architecture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
) -> tuple[list[TrialResult], TrialResult, str]:
    """Score every architecture, train the best; return (all results, the trained best, a
    summary line). ``training`` are dimensions of the runner's space that are not part of
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
    return [*scored, trained], trained, note


def run_naswot_fixed(runner: TrialRunner, scorer: NaswotScorer, key: str) -> SearchOutcome:
    """The fixed NASWOT search (module docstring)."""
    results, trained, note = run_naswot(runner, scorer, key)
    return SearchOutcome(results, best_trial([trained]), [note], view=_scores_view(results))


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
    results, trained, note = run_naswot(runner, scorer, key, training, settings.n_trials)
    architecture = {k: v for k, v in trained.params.items() if k not in {p.key for p in training}}
    tuned = optimize(runner.study, runner, training, settings, architecture, len(results))
    candidates = [trained, *tuned]
    return SearchOutcome(
        [*results, *tuned],
        best_of(candidates, settings),
        [note, f"Optuna over {[p.key for p in training]}: {len(tuned)} trials"],
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
