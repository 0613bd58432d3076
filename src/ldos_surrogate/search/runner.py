"""Run the trials of a search: compose their configs, train them through Hydra's launcher.

A trial is a set of hyperparameters (config key -> value). Training it launches one job per
seed (``seed = config seed + repeat``) with the task function of ``search.py``, i.e.
``ldos_surrogate.tasks.train``; its loss is the mean over seeds of ``optimized_metric``. Each
job runs in ``<sweep dir>/trial_<number>/seed_<seed>``. Every finished trial is appended to
``results.csv``; a trial whose row is already there (a re-run of the same search) is read back
instead of trained again. A trial whose loss is not finite (NaN, or inf: a prediction that
cannot hold the electrons) is recorded as failed, so that no method chooses it. Each trial
this worker finishes prints its progress line (`ldos_surrogate.search.progress`).
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn
from hydra.errors import HydraException
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.checks import require_int
from ldos_surrogate.search.claims import ClaimBoard, SharingSettings
from ldos_surrogate.search.progress import Progress
from ldos_surrogate.search.results import (
    BAND_ENERGY_METRIC,
    ResultsTable,
    TrialResult,
    result_from_row,
)
from ldos_surrogate.search.space import SearchSpace
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
        results: the search's results table.
        repeats: seeds per trained trial.
        sharing: how the workers of the search split its trials.
    """

    def __init__(
        self,
        hydra_context: HydraContext,
        launcher: Launcher,
        config: DictConfig,
        space: SearchSpace,
        results: ResultsTable,
        repeats: int,
        sharing: SharingSettings,
    ) -> None:
        require_int(repeats, "hydra.sweeper.repeats", minimum=1)
        self.hydra_context = hydra_context
        self.launcher = launcher
        self.config = config
        self.space = space
        self.results = results
        self.seeds = tuple(int(config.seed) + repeat for repeat in range(repeats))
        self.sharing = sharing
        self.claims = ClaimBoard(self.sweep_dir, sharing)
        # failed rows already there are retried; later ones are other workers' failures
        self._failed_before = Counter(
            int(row["trial"]) for row in results.rows() if row["status"] == "failed"
        )
        self.run_here: set[int] = set()  # trials this worker recorded
        self.progress = Progress(self.name)
        self._next_job = 0

    @property
    def name(self) -> str:
        """``search.name``: names the folder, the study and the experiment file."""
        return str(self.config.search.name)

    @property
    def sweep_dir(self) -> Path:
        """The search folder (``hydra.sweep.dir``)."""
        return Path(self.config.hydra.sweep.dir)

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

    def finished(self, trial: int, params: Mapping[str, Any]) -> TrialResult | None:
        """The result of ``trial`` if ``results.csv`` already has it (a resumed search)."""
        row = self.results.finished_row(trial, params)
        return None if row is None else result_from_row(row, self.space.keys, params)

    def record(self, result: TrialResult) -> TrialResult:
        """Append a trial this worker scored, pruned or trained to the table."""
        self.results.append(result)
        self.run_here.add(result.trial)
        self.progress.finished(result)
        return result

    def share(
        self, trials: Sequence[tuple[int, Mapping[str, Any]]], run: TrialBatch, batch: int
    ) -> list[TrialResult]:
        """The results of ``trials`` (number, params) in order, each run once among the
        workers of this search: ``run`` (which records what it returns) runs a batch of at
        most ``batch`` trials that this worker has claimed; trials claimed by other workers
        are waited for, trials already in ``results.csv`` read back."""
        wanted = {number: dict(params) for number, params in trials}
        own: dict[int, TrialResult] = {}
        waiting_logged = False
        while True:
            found = own | self._recorded(wanted)
            self.progress.seen(found.values())
            missing = [number for number in wanted if number not in found]
            if not missing:
                return [found[number] for number, _ in trials]
            claimed = self.claims.take(missing, batch)
            done = self._recorded({number: wanted[number] for number in claimed})
            if done:  # finished elsewhere between the look at the table and the claim
                self.claims.release(list(done))
                claimed = [number for number in claimed if number not in done]
            if not claimed:
                if not waiting_logged:
                    log.info("waiting for %d trials claimed by other workers", len(missing))
                    waiting_logged = True
                time.sleep(self.sharing.poll_interval)
                continue
            with self.claims.holding(claimed):
                for result in run([(number, wanted[number]) for number in claimed]):
                    own[result.trial] = result

    def train(
        self,
        trials: Sequence[tuple[int, Mapping[str, Any]]],
        scores: Mapping[int, float] | None = None,
        score_seconds: Mapping[int, float] | None = None,
        batch: int | None = None,
    ) -> list[TrialResult]:
        """Train the trials ``(number, params)``, shared with the other workers (`share`),
        ``batch`` (default ``n_jobs``) trials, all seeds, at a time as one batch of jobs;
        record and return their results in order. ``scores`` and ``score_seconds`` carry a
        training-free score already computed for a trial and the time it took.

        A job failing with an InputError aborts the search (bad input); any other failure
        marks its trial ``failed``.
        """
        scores = scores or {}
        score_seconds = score_seconds or {}

        def launch(pending: list[tuple[int, dict[str, Any]]]) -> list[TrialResult]:
            jobs = [
                [
                    *self.space.overrides(params),
                    f"seed={seed}",
                    f"hydra.sweep.subdir=trial_{number:04d}/seed_{seed}",
                ]
                for number, params in pending
                for seed in self.seeds
            ]
            returns = self.launcher.launch(jobs, initial_job_idx=self._next_job)
            self._next_job += len(jobs)
            per_trial = len(self.seeds)
            return [
                self.record(
                    self._trial_result(
                        number,
                        params,
                        returns[index * per_trial : (index + 1) * per_trial],
                        scores.get(number),
                        score_seconds.get(number, 0.0),
                    )
                )
                for index, (number, params) in enumerate(pending)
            ]

        return self.share(trials, launch, batch or self.sharing.n_jobs)

    def _recorded(self, trials: Mapping[int, Mapping[str, Any]]) -> dict[int, TrialResult]:
        """Those of ``trials`` (number -> params) with a result in ``results.csv``: a finished
        row, or a failed one that another worker wrote after this worker started."""
        rows: dict[int, list[dict[str, str]]] = {}
        for row in self.results.rows():
            rows.setdefault(int(row["trial"]), []).append(row)
        found = {}
        for number, params in trials.items():
            finished = self.results.finished_row(number, params, rows.get(number, []))
            failed = [row for row in rows.get(number, []) if row["status"] == "failed"]
            if finished is None and len(failed) > self._failed_before[number]:
                finished = failed[-1]
            if finished is not None:
                found[number] = result_from_row(finished, self.space.keys, params)
        return found

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
