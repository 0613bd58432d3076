"""`SearchSweeper`: the Hydra sweeper every search method of the project derives from.

``sweep`` does what all methods share, in this order: parse the search space (the sweeper's
``params`` plus command-line sweeps), check that every dimension names a config key and that
each of its values composes, open ``results.csv`` in the sweep folder, run the method
(sharing its trials with any other worker of the same search, `ldos_surrogate.search.claims`)
(`search`, the one method a subclass writes), print the summary table and write the best
trial as ``<search.experiment_dir>/<search.name>.yaml``. Bad input (an InputError, from the
checks or from a trial) ends the search with one line ``error: ...`` and exit status 2,
before any trial runs when the checks can tell.
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.claims import SharingSettings
from ldos_surrogate.search.experiment import write_experiment
from ldos_surrogate.search.results import (
    RESULTS_FILE,
    ResultsTable,
    SearchOutcome,
    TrialResult,
    summary_table,
)
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.space import SearchSpace, check_keys_exist, parse_space

SETTINGS_KEY = "hydra.sweeper"
PARAMS_KEY = f"{SETTINGS_KEY}.params"


class SearchSweeper(Sweeper, ABC):
    """Base of the project's sweepers (see the module docstring).

    Args:
        params: the search space, config key -> sweep expression (`ldos_surrogate.search.space`).
        repeats: seeds per trained trial; a trial's loss is the mean over them.
        sharing: how workers of the same search split its trials (None: the defaults).
    """

    method: ClassVar[str]

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        repeats: int = 1,
        sharing: SharingSettings | None = None,
    ) -> None:
        super().__init__()
        self.params = params
        self.repeats = repeats
        self.sharing = sharing or SharingSettings()
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.hydra_context = hydra_context
        self.config = config
        # Hydra sets this only inside jobs; the search's own settings use ${hydra:...} too.
        HydraConfig.instance().set_config(config)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list[TrialResult]:
        try:
            return self._sweep(arguments)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(2) from None

    @abstractmethod
    def search(self, runner: TrialRunner) -> SearchOutcome:
        """Run the method's trials through ``runner``; return what it found."""

    def search_space(self, arguments: Sequence[str]) -> SearchSpace:
        """The space the runner composes trials over (a method may add dimensions)."""
        return parse_space(self.params, arguments, PARAMS_KEY)

    def _sweep(self, arguments: Sequence[str]) -> list[TrialResult]:
        assert self.config is not None and self.hydra_context is not None and self.launcher
        started = time.perf_counter()
        name = str(self.config.search.name)
        if not name or "/" in name or name.startswith("."):
            raise InputError(f"search.name: {name!r} cannot name a folder and an experiment file")
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        space = self.search_space(arguments)
        check_keys_exist(space, self.config, PARAMS_KEY)
        results = ResultsTable(sweep_dir / RESULTS_FILE, space.keys)
        self.sharing.check(SETTINGS_KEY)
        runner = TrialRunner(
            self.hydra_context,
            self.launcher,
            self.config,
            space,
            results,
            self.repeats,
            self.sharing,
        )
        runner.check_space()
        outcome = self.search(runner)
        self._report(name, runner, outcome, sweep_dir, time.perf_counter() - started)
        return outcome.results

    def _report(
        self,
        name: str,
        runner: TrialRunner,
        outcome: SearchOutcome,
        sweep_dir: Path,
        seconds: float,
    ) -> None:
        assert self.hydra_context is not None and self.config is not None
        counts = {
            status: sum(r.status == status for r in outcome.results)
            for status in ("complete", "pruned", "scored", "failed")
        }
        tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        print(
            f"\nSearch '{name}' ({self.method}): {len(outcome.results)} trials ({tally}), "
            f"{seconds:.1f} s; loss = {runner.metric}"
        )
        print(summary_table(outcome.results, runner.space.keys))
        for note in outcome.notes:
            print(note)
        print(f"results: {sweep_dir / RESULTS_FILE}")
        elsewhere = len({r.trial for r in outcome.results} - runner.run_here)
        if elsewhere:
            print(
                f"this worker ran {len(runner.run_here)} of the trials; {elsewhere} were read "
                f"from {RESULTS_FILE} (run by other workers, or by an earlier run)"
            )
        best = outcome.best
        if best is None:
            print("no trial finished training: no experiment written")
            return
        header = (
            f"Best trial {best.trial} of search '{name}' ({self.method}): {runner.metric} = "
            f"{best.loss:.6g} (mean over seeds {list(best.seeds)}: {list(best.losses)}).\n"
            f"Written by search.py. Train it: python train.py experiment={name}"
        )
        path = Path(str(self.config.search.experiment_dir)) / f"{name}.yaml"
        trial_config = runner.compose(best.params, seed=best.seeds[0])
        write_experiment(path, self.hydra_context, trial_config, header)
        print(f"best: trial {best.trial}, loss {best.loss:.6g}; experiment: {path}")
        print(f"train it: python train.py experiment={name}")
