"""Direct search: one hyperparameter at a time, in the order given, the others held fixed.

Every dimension starts at the config's value (its first value when the config's is not
among them). For each dimension in turn, every value is trained with the others at their
current best (``repeats`` seeds each, the loss their mean); the value with the lowest loss
is kept and the search moves to the next dimension. A combination trained before is not
trained again. Trial numbers follow the order of evaluation, so running the same search
again resumes it from its study, and every worker of the search plans the same trials.
"""

from __future__ import annotations

from typing import Any

from ldos_surrogate.search.results import SearchOutcome, TrialResult, best_trial
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.space import encode, signature


def run_direct(runner: TrialRunner, key: str) -> SearchOutcome:
    """Direct search over the runner's space (``key`` names it in error messages)."""
    space = runner.space
    space.check_enumerable(key)
    current = {param.key: _start_value(runner, param.key, param.values) for param in space.params}
    # the first dimension trains all its values, each later one all but the value it starts at
    runner.progress.plan(sum(len(p.values) for p in space.params) - len(space.params) + 1)
    trained: dict[tuple[str, ...], TrialResult] = {}
    notes = []
    for param in space.params:
        candidates = [{**current, param.key: value} for value in param.values]
        new = [params for params in candidates if signature(params) not in trained]
        numbered = [(len(trained) + index, params) for index, params in enumerate(new)]
        for (_, params), result in zip(numbered, runner.train(numbered), strict=True):
            trained[signature(params)] = result
        best = best_trial([trained[signature(params)] for params in candidates])
        if best is not None:
            current[param.key] = best.params[param.key]
        notes.append(
            f"direct: {param.key} = {encode(current[param.key])}"
            + (f" (loss {best.loss:.6g})" if best is not None else " (no value trained)")
        )
    results = sorted(trained.values(), key=lambda result: result.trial)
    return SearchOutcome(results, best_trial(results), notes)


def _start_value(runner: TrialRunner, key: str, values: tuple[Any, ...]) -> Any:
    value = runner.current_value(key)
    return value if encode(value) in {encode(v) for v in values} else values[0]
