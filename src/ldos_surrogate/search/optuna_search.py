"""Optuna search by ask/tell (optuna >= 4): TPE by default, resumable, with stale-trial retry.

Each trial asks the sampler for values of the search dimensions, trains them (mean loss over
the repeats) and tells the study. The study lives in ``storage`` (default: the SQLite file
``optuna.db`` in the search folder), so running the same command again resumes it: the
search continues until the study holds ``n_trials`` finished (complete or pruned) trials.
Several workers (processes or machines) can share one study: each counts the trials the
others are running as taken and waits for them rather than exceed ``n_trials`` (counting
and asking are two steps: workers asking in the same instant can add a trial or two, never
run one twice). While a trial runs its worker records a heartbeat every
``heartbeat_interval`` seconds; a trial whose worker died (no heartbeat for ``grace_period``
seconds) is failed by the next worker that looks and retried with the same values
(``RetryFailedTrialCallback``, up to ``max_retry`` times).

Dimensions map to Optuna distributions as in hydra-optuna-sweeper: choice -> categorical
(values that are not numbers, strings or null, e.g. lists, as their override text), integer
range -> IntDistribution with its step, other ranges -> categorical, interval ->
FloatDistribution (IntDistribution for ``int(interval(...))``), ``log`` when tagged.
"""

from __future__ import annotations

import inspect
import logging
import random
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, fail_stale_trials
from optuna.trial import Trial, TrialState

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.checks import require_int
from ldos_surrogate.search.claims import SharingSettings, heartbeat
from ldos_surrogate.search.naswot_pruner import NaswotPruner
from ldos_surrogate.search.report import score_rank_view
from ldos_surrogate.search.results import SearchOutcome, TrialResult, best_trial
from ldos_surrogate.search.runner import TrialRunner, timed
from ldos_surrogate.search.space import Param, encode

log = logging.getLogger(__name__)

STORAGE_FILE = "optuna.db"
DIRECTIONS = ("minimize", "maximize")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SCORE_ATTR = "naswot_score"
# Errors of workers creating the storage's tables at the same moment (SQLite, PostgreSQL):
# the tables exist when the loser tries again.
CONCURRENT_CREATION = ("already exists", "duplicate key")
STORAGE_ATTEMPTS = 3


@dataclass
class OptunaSettings(SharingSettings):
    """The hydra-optuna-sweeper keys (sampler, storage, study_name, n_trials, n_jobs,
    direction) plus the stale-trial handling; also the schema of these keys in the
    sweepers' structured configs.

    n_trials: finished (complete or pruned) trials the study should hold.
    n_jobs: trials asked at once and launched as one batch (concurrently under a parallel
        Hydra launcher, one after another under the basic one).
    sampler: an Optuna sampler (a ``_target_`` config, instantiated by Hydra); None: TPE
        seeded with the config's seed.
    storage: an RDB URL; None: SQLite ``optuna.db`` in the search folder.
    study_name: None: ``search.name``.
    heartbeat_interval, grace_period: seconds between heartbeats, and without one before a
        running trial counts as stale (None: twice the interval).
    max_retry: retries of a stale trial.
    """

    n_trials: int = 20
    direction: str = "minimize"
    storage: str | None = None
    study_name: str | None = None
    sampler: Any = None
    max_retry: int = 3

    def check(self, key: str) -> None:
        """InputError naming ``key.<field>`` for a bad value."""
        super().check(key)
        require_int(self.n_trials, f"{key}.n_trials", minimum=1)
        require_int(self.max_retry, f"{key}.max_retry", minimum=0)
        if self.direction not in DIRECTIONS:
            raise InputError(
                f"{key}.direction: must be one of {DIRECTIONS}, got {self.direction!r}"
            )
        if self.sampler is not None and not isinstance(self.sampler, optuna.samplers.BaseSampler):
            raise InputError(f"{key}.sampler: not an Optuna sampler: {self.sampler!r}")


def open_study(
    settings: OptunaSettings, sweep_dir: Path, default_name: str, seed: int, key: str
) -> optuna.Study:
    """Create or load the study; a storage that cannot be opened is an InputError."""
    url = settings.storage or f"sqlite:///{sweep_dir / STORAGE_FILE}"
    for attempt in range(1, STORAGE_ATTEMPTS + 1):
        try:
            storage = _rdb_storage(url, settings)
            break
        except Exception as error:  # SQLAlchemy, database driver and URL errors alike
            reason = str(error).splitlines()[0]
            if attempt < STORAGE_ATTEMPTS and any(s in reason for s in CONCURRENT_CREATION):
                time.sleep(random.uniform(0.5, 1.5))  # another worker is creating the tables
                continue
            raise InputError(f"{key}.storage: cannot open {url!r}: {reason}") from error
    return optuna.create_study(
        storage=storage,
        study_name=settings.study_name or default_name,
        sampler=settings.sampler or optuna.samplers.TPESampler(seed=seed),
        direction=settings.direction,
        load_if_exists=True,
    )


def _rdb_storage(url: str, settings: OptunaSettings) -> RDBStorage:
    """Optuna's RDB storage at ``url`` with the heartbeat and the stale-trial retry."""
    with _quiet_optuna():
        return RDBStorage(
            url,
            heartbeat_interval=settings.heartbeat_interval,
            grace_period=settings.stale_after,
            **{_STALE_CALLBACK_ARGUMENT: _RetryStaleTrial(max_retry=settings.max_retry)},
        )


def distribution(param: Param) -> BaseDistribution:
    """The Optuna distribution of a search dimension (see the module docstring)."""
    if param.kind == "interval":
        distribution_type = IntDistribution if param.integer else FloatDistribution
        return distribution_type(param.low, param.high, log=param.log)
    if param.kind == "range" and all(isinstance(v, int) for v in param.values):
        step = abs(param.values[1] - param.values[0]) if len(param.values) > 1 else 1
        return IntDistribution(int(param.low), int(param.high), step=step)
    return CategoricalDistribution([_optuna_choice(value) for value in param.values])


def decode(param: Param, value: Any) -> Any:
    """The Python value of a dimension from the value Optuna reports."""
    if param.kind == "interval" or (param.kind == "range" and isinstance(value, int)):
        return value
    for choice in param.values:
        if _optuna_choice(choice) == value:
            return choice
    raise KeyError(f"{param.key}: {value!r} is not among {param.values}")


def optimize(
    study: optuna.Study,
    runner: TrialRunner,
    dimensions: Sequence[Param],
    settings: OptunaSettings,
    fixed_params: Mapping[str, Any] | None = None,
    trial_offset: int = 0,
    prune: NaswotPruner | None = None,
) -> list[TrialResult]:
    """Run trials until the study holds ``settings.n_trials`` finished ones, the trials of
    other workers included; return the results of all its finished trials (earlier runs
    included). While the trials still missing are all running elsewhere, wait for them: a
    trial whose worker died turns stale and comes back to be retried here.

    A trial's number in ``results.csv`` is ``trial_offset`` + its Optuna number; its params are
    ``fixed_params`` plus the sampled dimensions. ``prune`` scores each trial before training
    and may prune it.
    """
    distributions = {param.key: distribution(param) for param in dimensions}
    fixed = dict(fixed_params or {})
    runner.progress.seen(study_results(study, runner, dimensions, fixed, trial_offset))
    failures = 0
    while failures < settings.n_trials:
        # a failed trial does not count towards n_trials: one more is run in its place
        runner.progress.plan(trial_offset + settings.n_trials + failures)
        with _quiet_optuna():
            fail_stale_trials(study)
        finished = len(study.get_trials(deepcopy=False, states=FINISHED))
        if finished >= settings.n_trials:
            break
        running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        free = settings.n_trials - finished - running
        if free <= 0:
            log.info("waiting for %d trials running in other workers", running)
            time.sleep(settings.poll_interval)
            continue
        with _quiet_optuna():
            trials = [study.ask(distributions) for _ in range(min(settings.n_jobs, free))]
        with _heartbeats(study, trials):
            to_train: list[tuple[Trial, dict[str, Any]]] = []
            scores: dict[int, float] = {}
            seconds: dict[int, float] = {}
            for trial in trials:
                params = fixed | {p.key: decode(p, trial.params[p.key]) for p in dimensions}
                number = trial_offset + trial.number
                if prune is not None:
                    scores[number], seconds[number] = timed(prune.score, runner.compose(params))
                    trial.set_user_attr(SCORE_ATTR, scores[number])
                    if prune.prunes(scores[number], preceding_scores(study, trial.number)):
                        result = TrialResult(
                            number,
                            params,
                            "pruned",
                            score=scores[number],
                            wall_seconds=seconds[number],
                        )
                        runner.record(result)
                        study.tell(trial, state=TrialState.PRUNED)
                        continue
                to_train.append((trial, params))
            failures += _train_and_tell(study, runner, to_train, trial_offset, scores, seconds)
    if failures >= settings.n_trials:
        log.warning("stopped after %d failed trials", failures)
    return study_results(study, runner, dimensions, fixed, trial_offset)


def _train_and_tell(
    study: optuna.Study,
    runner: TrialRunner,
    trials: Sequence[tuple[Trial, dict[str, Any]]],
    trial_offset: int,
    scores: Mapping[int, float],
    seconds: Mapping[int, float],
) -> int:
    """Train the trials as one batch, tell the study; return how many failed."""
    numbered = [(trial_offset + trial.number, params) for trial, params in trials]
    results = runner.train(numbered, scores, seconds)
    for (trial, _), result in zip(trials, results, strict=True):
        if result.status == "complete":
            study.tell(trial, result.loss)
        else:
            study.tell(trial, state=TrialState.FAIL)
    return sum(result.status != "complete" for result in results)


def study_results(
    study: optuna.Study,
    runner: TrialRunner,
    dimensions: Sequence[Param],
    fixed_params: Mapping[str, Any],
    trial_offset: int,
) -> list[TrialResult]:
    """Results (from ``results.csv``) of the study's finished trials."""
    results = []
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        params = dict(fixed_params) | {p.key: decode(p, trial.params[p.key]) for p in dimensions}
        result = runner.finished(trial_offset + trial.number, params)
        if result is not None:
            results.append(result)
    return results


def preceding_scores(study: optuna.Study, number: int) -> list[float]:
    """NASWOT scores of the study's trials numbered before ``number``."""
    return [
        trial.user_attrs[SCORE_ATTR]
        for trial in study.get_trials(deepcopy=False)
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
    study = open_study(settings, runner.sweep_dir, runner.name, runner.seeds[0], key)
    results = optimize(study, runner, runner.space.params, settings, prune=pruner)
    if pruner is None:
        return SearchOutcome(results, best_of(results, settings))
    return SearchOutcome(
        results, best_of(results, settings), [pruner.summary(results)], score_rank_view(results)
    )


def best_of(results: Sequence[TrialResult], settings: OptunaSettings) -> TrialResult | None:
    """The best trained trial in the study's direction."""
    return best_trial(results, maximize=settings.direction == "maximize")


def _optuna_choice(value: Any) -> Any:
    """Optuna categorical choices are None, bool, int, float or str; others as override text."""
    return value if value is None or isinstance(value, bool | int | float | str) else encode(value)


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Silence Optuna's notes on what this module uses on purpose: the experimental
    heartbeat API, the deprecated retry callback's name, heartbeats outside Study.optimize."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage", category=UserWarning)
        yield


def _heartbeats(study: optuna.Study, trials: Sequence[Trial]) -> AbstractContextManager[None]:
    """Record the trials' heartbeats every heartbeat interval while the block runs (what
    ``Study.optimize`` does; Optuna has no public accessor for the storage or trial id)."""
    storage = study._storage

    def beat() -> None:
        for trial in trials:
            storage.record_heartbeat(trial._trial_id)

    return heartbeat(beat, storage.get_heartbeat_interval())


# Optuna 4.9 renamed the stale-trial retry (RetryFailedTrialCallback ->
# RetryHeartbeatStaleTrialCallback, RDBStorage's failed_trial_callback ->
# heartbeat_stale_trial_callback); both spellings work up to Optuna 6.
_RetryStaleTrial = getattr(
    optuna.storages, "RetryHeartbeatStaleTrialCallback", optuna.storages.RetryFailedTrialCallback
)
_STALE_CALLBACK_ARGUMENT = (
    "heartbeat_stale_trial_callback"
    if "heartbeat_stale_trial_callback" in inspect.signature(RDBStorage).parameters
    else "failed_trial_callback"
)
