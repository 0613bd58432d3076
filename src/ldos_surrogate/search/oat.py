"""Orthogonal array tuning (OAT): train the rows of a strength-2 orthogonal array over the
levels of the search space, then choose each factor's level by range analysis.

Every dimension of the space is a factor; its values (a choice or a range) are its levels.
The array (`orthogonal_arrays.orthogonal_design`, padded when that takes fewer runs or no
unpadded array exists) gives N rows, each a combination of levels. Every distinct row is
trained with ``repeats`` seeds (its loss the mean over them); rows that coincide after padding
share one training. Range analysis (Taguchi's method): for factor f and level l the mean loss
of the rows using l,

    k_f(l) = mean_{rows r with level l of f} loss(r),

the chosen level minimises k_f, and the factor's importance is its range
max_l k_f(l) - min_l k_f(l). A row without a finite loss (training failed, or predictions too
poor to give a band energy) counts as the worst finite loss of the search: as bad as the worst
row that trained, which keeps every level mean over the same balanced rows (an infinite value
would make every level it touches infinite and every range undefined). The combination of
chosen levels is trained too, unless it is one of the rows: it is the search's answer and its
experiment.

Trials are numbered in row order (distinct rows only), the chosen combination last, so
running the same search again resumes it from its study.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.checks import require_int
from ldos_surrogate.search.orthogonal_arrays import OrthogonalDesign, orthogonal_design, run_sizes
from ldos_surrogate.search.report import oat_view
from ldos_surrogate.search.results import SearchOutcome, TrialResult, best_trial
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.space import encode, signature


@dataclass
class OatSettings:
    """max_runs: the most rows the orthogonal array may have; time_limit_s: seconds one
    construction attempt (one run size of one candidate space) may take."""

    max_runs: int = 64
    time_limit_s: float = 20.0

    def check(self, key: str) -> None:
        """InputError naming ``key.<field>`` for a bad value."""
        require_int(self.max_runs, f"{key}.max_runs", minimum=2)
        if not (isinstance(self.time_limit_s, int | float) and self.time_limit_s > 0):
            raise InputError(f"{key}.time_limit_s: must be > 0 seconds, got {self.time_limit_s!r}")


@dataclass(frozen=True)
class FactorEffect:
    """Range analysis of one factor: mean loss per level, the best level, its importance."""

    key: str
    level_means: tuple[float, ...]
    best_level: int
    importance: float  # max - min of level_means, in the loss's units


def range_analysis(
    design: OrthogonalDesign, losses: Sequence[float], keys: Sequence[str]
) -> list[FactorEffect]:
    """k_f(l), the best level (first minimum) and the importance of every factor.

    ``losses`` holds one finite loss per row of the design; ``keys`` names the factors in
    column order.
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.shape != (design.n_runs,) or not np.isfinite(losses).all():
        raise InputError(
            f"range analysis: needs {design.n_runs} finite losses, one per row, got {losses}"
        )
    levels = design.levels
    effects = []
    for column, key in enumerate(keys):
        means = tuple(
            float(np.mean(losses[levels[:, column] == level]))
            for level in range(design.level_counts[column])
        )
        effects.append(
            FactorEffect(key, means, int(np.argmin(means)), float(max(means) - min(means)))
        )
    return effects


def run_oat(runner: TrialRunner, settings: OatSettings, key: str) -> SearchOutcome:
    """The OAT search over the runner's space (module docstring); ``key`` names the sweeper
    settings (``<key>.params``, ``<key>.max_runs``) in error messages."""
    settings.check(key)
    params = runner.space.params
    runner.space.check_enumerable(f"{key}.params")
    design = orthogonal_design(
        {f"{key}.params.{param.key}": len(param.values) for param in params},
        settings.max_runs,
        settings.time_limit_s,
        key,
    )
    rows = [
        {param.key: param.values[level] for param, level in zip(params, row, strict=True)}
        for row in design.levels.tolist()
    ]
    trial_of_row, trials = _distinct(rows)
    runner.progress.plan(len(trials))
    results = runner.train(trials)
    row_losses = np.array([_loss(results[trial]) for trial in trial_of_row])
    notes = [
        f"OAT: {design.n_runs} rows of a strength-2 orthogonal array with levels "
        f"{list(design.array_levels)}, {len(trials)} distinct, repeats = {len(runner.seeds)}",
        *(f"OAT: no array with {attempt}" for attempt in design.failed),
        *_padding_notes(design, runner.space.keys, settings.max_runs),
    ]
    finite = np.isfinite(row_losses)
    if not finite.any():
        return SearchOutcome(results, None, [*notes, "OAT: no row has a finite loss"])
    if not finite.all():
        worst = float(row_losses[finite].max())
        row_losses[~finite] = worst
        notes.append(
            f"OAT: {int((~finite).sum())} rows without a finite loss count as the worst "
            f"finite loss {worst:.4g}"
        )

    effects = range_analysis(design, row_losses, runner.space.keys)
    chosen = {
        param.key: param.values[effect.best_level]
        for param, effect in zip(params, effects, strict=True)
    }
    notes.extend(
        _effect_line(param.values, effect) for param, effect in zip(params, effects, strict=True)
    )
    known = {signature(trial_params): number for number, trial_params in trials}
    if signature(chosen) in known:
        answer = results[known[signature(chosen)]]
        notes.append(f"OAT: the chosen levels are row trial {answer.trial}")
    else:
        runner.progress.plan(len(trials) + 1)
        (answer,) = runner.train([(len(trials), chosen)])
        results.append(answer)
        notes.append(f"OAT: the chosen levels trained as trial {answer.trial}")
    view = oat_view(effects, [param.values for param in params])
    return SearchOutcome(results, best_trial([answer]), notes, view=view)


def _distinct(
    rows: Sequence[dict[str, Any]],
) -> tuple[list[int], list[tuple[int, dict[str, Any]]]]:
    """Trial number of every row, and the distinct trials (number, params) in row order."""
    numbers: dict[tuple[str, ...], int] = {}
    trials: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        if signature(row) not in numbers:
            numbers[signature(row)] = len(trials)
            trials.append((len(trials), row))
    return [numbers[signature(row)] for row in rows], trials


def _padding_notes(design: OrthogonalDesign, keys: Sequence[str], max_runs: int) -> list[str]:
    """Why the levels were padded and how, for the summary (none when not padded)."""
    if not design.padded:
        return []
    sizes = run_sizes(design.level_counts, max_runs)
    unpadded = f"{sizes[0]} runs at least" if sizes else f"more than max_runs = {max_runs} runs"
    return [
        f"OAT padding: unpadded, levels {list(design.level_counts)} need {unpadded}",
        *(f"OAT padding: {line}" for line in design.padding_notes(keys)),
    ]


def _loss(result: TrialResult) -> float:
    """The trial's loss; NaN when it has none (failed)."""
    return result.loss if result.trained else math.nan


def _effect_line(values: Sequence[Any], effect: FactorEffect) -> str:
    means = ", ".join(
        f"{encode(value)}: {mean:.4g}"
        for value, mean in zip(values, effect.level_means, strict=True)
    )
    return (
        f"OAT range analysis: {effect.key} = {encode(values[effect.best_level])} "
        f"(importance {effect.importance:.4g}; mean loss per level {means})"
    )
