"""Optuna search by ask/tell: TPE by default, resumable, shared by any number of workers.

Each trial asks the sampler for values of the search dimensions (Optuna distributions:
`ldos_surrogate.search.study.distribution`), trains them (mean loss over the repeats) and tells
the search's study, until the study holds ``n_trials`` finished (complete or pruned) sampled
trials. Trials other workers run count as taken: a worker waits for them rather than exceed
``n_trials`` (counting and asking are two steps, so workers asking in the same instant can add
a trial or two, never run one twice).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.checks import require_int
from ldos_surrogate.search.naswot_pruner import NaswotPruner
from ldos_surrogate.search.report import score_rank_view
from ldos_surrogate.search.results import SearchOutcome, TrialResult, best_trial
from ldos_surrogate.search.runner import TrialRunner, timed
from ldos_surrogate.search.space import Param
from ldos_surrogate.search.study import (
    PARAMS,
    PLAN,
    SearchStudy,
    decode,
    distribution,
    quiet_optuna,
)

log = logging.getLogger(__name__)

DIRECTIONS = ("minimize", "maximize")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SCORE_ATTR = "naswot_score"


@dataclass
class OptunaSettings:
    """The sampling keys of hydra-optuna-sweeper (sampler, n_trials, direction); its storage,
    study_name and n_jobs are `ldos_surrogate.search.study.StudySettings`. Also the schema of
    these keys in the sweepers' structured configs.

    n_trials: finished (complete or pruned) trials the study should hold.
    direction: whether the loss is minimised or maximised.
    sampler: an Optuna sampler (a ``_target_`` config, instantiated by Hydra); None: TPE
        seeded with the config's seed.
    """

    n_trials: int = 20
    direction: str = "minimize"
    sampler: Any = None

    def check(self, key: str) -> None:
        """InputError naming ``key.<field>`` for a bad value."""
        require_int(self.n_trials, f"{key}.n_trials", minimum=1)
        if self.direction not in DIRECTIONS:
            raise InputError(
                f"{key}.direction: must be one of {DIRECTIONS}, got {self.direction!r}"
            )
        if self.sampler is not None and not isinstance(self.sampler, optuna.samplers.BaseSampler):
            raise InputError(f"{key}.sampler: not an Optuna sampler: {self.sampler!r}")


def optimize(
    study: SearchStudy,
    runner: TrialRunner,
    dimensions: Sequence[Param],
    settings: OptunaSettings,
    fixed_params: Mapping[str, Any] | None = None,
    trials_before: int = 0,
    prune: NaswotPruner | None = None,
) -> list[TrialResult]:
    """Run sampled trials until the study holds ``settings.n_trials`` finished ones, the trials
    of other workers included; return the results of all its sampled trials (earlier runs
    included). While the trials still missing are all running elsewhere, wait for them: a trial
    whose worker died turns stale and comes back to be retried here.

    A trial's params are ``fixed_params`` plus the sampled dimensions; ``trials_before`` are the
    search's trials before these (for the progress lines). ``prune`` scores each trial before
    training and may prune it.
    """
    distributions = {param.key: distribution(param) for param in dimensions}
    fixed = dict(fixed_params or {})
    sampler = settings.sampler or optuna.samplers.TPESampler(seed=runner.seeds[0])
    sampling = study.sampling(sampler)
    runner.progress.seen(study.results(planned=False))
    failures = 0
    while failures < settings.n_trials:
        # a failed trial does not count towards n_trials: one more is run in its place
        runner.progress.plan(trials_before + settings.n_trials + failures)
        study.fail_stale()
        states = [trial.state for trial in study.trials() if PLAN not in trial.user_attrs]
        finished = sum(state in FINISHED for state in states)
        if finished >= settings.n_trials:
            break
        running = states.count(TrialState.RUNNING)
        free = settings.n_trials - finished - running
        if free <= 0:
            runner.progress.waiting(running)
            time.sleep(study.settings.poll_interval)
            continue
        with quiet_optuna():
            trials = [sampling.ask(distributions) for _ in range(min(study.settings.n_jobs, free))]
        with study.heartbeats([trial.number for trial in trials]):
            to_train: list[tuple[int, dict[str, Any]]] = []
            scores: dict[int, float] = {}
            seconds: dict[int, float] = {}
            for trial in trials:
                number = trial.number
                params = fixed | {p.key: decode(p, trial.params[p.key]) for p in dimensions}
                trial.set_user_attr(PARAMS, params)
                if prune is not None:
                    scores[number], seconds[number] = timed(prune.score, runner.compose(params))
                    trial.set_user_attr(SCORE_ATTR, scores[number])
                    if prune.prunes(scores[number], preceding_scores(study, number)):
                        pruned = TrialResult(
                            number,
                            params,
                            "pruned",
                            score=scores[number],
                            wall_seconds=seconds[number],
                        )
                        runner.record(number, pruned)
                        continue
                to_train.append((number, params))
            results = runner.launch(to_train, scores, seconds)
            for (number, _), result in zip(to_train, results, strict=True):
                runner.record(number, result)
            failures += sum(result.status != "complete" for result in results)
    if failures >= settings.n_trials:
        log.warning("stopped after %d failed trials", failures)
    return study.results(planned=False)


def preceding_scores(study: SearchStudy, number: int) -> list[float]:
    """NASWOT scores of the study's trials numbered before ``number``."""
    return [
        trial.user_attrs[SCORE_ATTR]
        for trial in study.trials()
        if trial.number < number and SCORE_ATTR in trial.user_attrs
    ]


def run_optuna(
    runner: TrialRunner,
    settings: OptunaSettings,
    key: str,
    pruner: NaswotPruner | None = None,
) -> SearchOutcome:
    """The whole Optuna search over the runner's space (``key`` names the settings)."""
    settings.check(key)
    results = optimize(runner.study, runner, runner.space.params, settings, prune=pruner)
    notes, view = ([pruner.summary(results)], score_rank_view(results)) if pruner else ([], None)
    return SearchOutcome(results, best_of(results, settings), notes, view)


def best_of(results: Sequence[TrialResult], settings: OptunaSettings) -> TrialResult | None:
    """The best trained trial in the study's direction."""
    return best_trial(results, maximize=settings.direction == "maximize")
