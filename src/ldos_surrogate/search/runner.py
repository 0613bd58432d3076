"""Run the trials of a search: compose their configs, train them through Hydra's launcher.

A trial is a set of hyperparameters (config key -> value). Training it launches one job per
seed (``seed = config seed + repeat``) with the task function of ``search.py``, i.e.
``ldos_surrogate.tasks.train``; its loss is the mean over seeds of ``optimized_metric``. Each
job runs in ``<sweep dir>/trial_<number>/seed_<seed>``. A trial whose loss is not finite (NaN,
or inf: a prediction that cannot hold the electrons) is recorded as failed, so that no method
chooses it. Every trial ends in the search's study (`ldos_surrogate.search.study`), where a
planned trial already finished (by another worker, or an earlier run) is read back, not run
again; each trial this worker finishes prints its line (`ldos_surrogate.search.progress`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.errors import HydraException
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.checks import require_int
from ldos_surrogate.search.progress import Progress
from ldos_surrogate.search.results import BAND_ENERGY_METRIC, TrialResult
from ldos_surrogate.search.space import Param, SearchSpace
from ldos_surrogate.search.study import SearchStudy, search_number
from ldos_surrogate.tasks import model_settings

log = logging.getLogger(__name__)

TrialBatch = Callable[[list[tuple[int, dict[str, Any]]]], list[TrialResult]]


class TrialRunner:
    """Composes, trains and records the trials of one search.

    Args:
        hydra_context: the sweeper's Hydra context (its config loader composes trials).
        launcher: the launcher that runs the training jobs.
        config: the search's composed config (``hydra`` node included).
        space: the search dimensions and the fixed overrides of every trial.
        study: the search's study, shared with its other workers.
        repeats: seeds per trained trial.
    """

    def __init__(
        self,
        hydra_context: HydraContext,
        launcher: Launcher,
        config: DictConfig,
        space: SearchSpace,
        study: SearchStudy,
        repeats: int,
    ) -> None:
        require_int(repeats, "hydra.sweeper.repeats", minimum=1)
        self.hydra_context = hydra_context
        self.launcher = launcher
        self.config = config
        self.space = space
        self.study = study
        self.seeds = tuple(int(config.seed) + repeat for repeat in range(repeats))
        self.run_here: set[int] = set()  # trials this worker recorded
        self.progress = Progress(self.name)
        self._next_job = 0

    @property
    def name(self) -> str:
        """``search.name``: names the folder, the study and the experiment file."""
        return str(self.config.search.name)

    @property
    def metric(self) -> str:
        """The config's ``optimized_metric``: each trained trial's loss."""
        return str(self.config.optimized_metric)

    def current_value(self, key: str) -> Any:
        """The value of ``key`` in the search's config (plain Python)."""
        value = OmegaConf.select(self.config, key)
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value

    def compose(self, params: Mapping[str, Any], seed: int | None = None) -> DictConfig:
        """The full config of a trial (``hydra`` node included), as its jobs see it."""
        overrides = self.space.overrides(params)
        if seed is not None:
            overrides.append(f"seed={seed}")
        try:
            return self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
        except HydraException as error:
            reason = str(error).splitlines()[0]
            raise InputError(f"hydra.sweeper.params: {overrides}: {reason}") from error

    def check_space(self) -> None:
        """Compose every listed value of every dimension (interval ends for intervals) and
        check the model settings, so that a bad value fails before any trial runs."""
        for param in self.space.params:
            values = param.values if param.enumerable else (param.low, param.high)
            for value in values:
                if param.integer:
                    value = int(value)
                model_settings(self.compose({param.key: value}).model)

    def record(self, number: int, result: TrialResult) -> TrialResult:
        """Store a trial this worker scored, pruned or trained as the end of study trial
        ``number`` (Optuna's number) and print its progress line."""
        if self.study.record(number, result):
            self.run_here.add(result.trial)
            self.progress.finished(result)
        return result

    def planned(
        self,
        trials: Sequence[tuple[int, Mapping[str, Any]]],
        run: TrialBatch,
        dimensions: Sequence[Param] | None = None,
    ) -> list[TrialResult]:
        """The results of the planned ``trials`` (number, params) in order, each run once among
        the workers of this search: ``run`` runs a batch of at most ``n_jobs`` of them that this
        worker has taken; trials running elsewhere are waited for, trials the study holds
        finished are read back. ``dimensions`` (default: the space's) are the trials' values
        stored as Optuna parameters."""
        wanted = {number: dict(params) for number, params in trials}
        dimensions = self.space.params if dimensions is None else dimensions
        while True:
            results, waiting = self.study.plan(wanted, dimensions)
            self.progress.seen(results.values())
            if len(results) == len(wanted) and not waiting:
                return [results[number] for number in wanted]
            taken = self.study.take(wanted, self.study.settings.n_jobs)
            if not taken:
                self.progress.waiting(len(wanted) - len(results))
                time.sleep(self.study.settings.poll_interval)
                continue
            with self.study.heartbeats([copy.number for copy in taken]):
                batch = [(search_number(copy), wanted[search_number(copy)]) for copy in taken]
                for copy, result in zip(taken, run(batch), strict=True):
                    self.record(copy.number, result)

    def train(
        self,
        trials: Sequence[tuple[int, Mapping[str, Any]]],
        scores: Mapping[int, float] | None = None,
        dimensions: Sequence[Param] | None = None,
    ) -> list[TrialResult]:
        """Train the planned trials ``(number, params)`` (`planned`), ``n_jobs`` trials, all
        seeds, at a time as one batch of jobs; ``scores`` carry a training-free score already
        computed for a trial."""
        return self.planned(trials, lambda batch: self.launch(batch, scores), dimensions)

    def launch(
        self,
        trials: Sequence[tuple[int, Mapping[str, Any]]],
        scores: Mapping[int, float] | None = None,
        score_seconds: Mapping[int, float] | None = None,
    ) -> list[TrialResult]:
        """Train the trials ``(number, params)`` as one batch of jobs (all seeds of each) and
        return their results in order. ``scores`` and ``score_seconds`` carry a training-free
        score already computed for a trial and the time it took.

        A job failing with an InputError aborts the search (bad input); any other failure
        marks its trial ``failed``.
        """
        scores = scores or {}
        score_seconds = score_seconds or {}
        jobs = [
            [
                *self.space.overrides(params),
                f"seed={seed}",
                f"hydra.sweep.subdir=trial_{number:04d}/seed_{seed}",
            ]
            for number, params in trials
            for seed in self.seeds
        ]
        returns = self.launcher.launch(jobs, initial_job_idx=self._next_job)
        self._next_job += len(jobs)
        per_trial = len(self.seeds)
        return [
            self._trial_result(
                number,
                dict(params),
                returns[index * per_trial : (index + 1) * per_trial],
                scores.get(number),
                score_seconds.get(number, 0.0),
            )
            for index, (number, params) in enumerate(trials)
        ]

    def _trial_result(
        self,
        number: int,
        params: dict[str, Any],
        returns: Sequence[JobReturn],
        score: float | None,
        score_seconds: float,
    ) -> TrialResult:
        metrics = []
        for job in returns:
            try:
                metrics.append(job.return_value)  # re-raises the job's exception
            except InputError:
                raise
            except Exception as error:  # any other failure fails this trial only
                log.warning("trial %d failed: %s: %s", number, type(error).__name__, error)
                return TrialResult(number, params, "failed", score=score, seeds=self.seeds)
        losses = tuple(float(m[self.metric]) for m in metrics)
        band_errors = [m.get(BAND_ENERGY_METRIC) for m in metrics]
        return TrialResult(
            trial=number,
            params=params,
            status="complete" if all(math.isfinite(v) for v in losses) else "failed",
            loss=sum(losses) / len(losses),
            losses=losses,
            band_energy_mae=(
                sum(band_errors) / len(band_errors) if None not in band_errors else None
            ),
            score=score,
            wall_seconds=score_seconds + sum(m["wall_seconds"] for m in metrics),
            seeds=self.seeds,
        )


def timed(function: Any, *args: Any) -> tuple[Any, float]:
    """``function(*args)`` and the wall seconds it took."""
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started
