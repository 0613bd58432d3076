"""`SearchSweeper`: the Hydra sweeper every search method of the project derives from.

``sweep`` does what all methods share, in this order: parse the search space (the sweeper's
``params`` plus command-line sweeps), check that every dimension names a config key and that
each of its values composes, open the search's study (`ldos_surrogate.search.study`, shared
with any other worker of the same search), run the method (`search`, the one method a subclass
writes), export the study's trials as ``results.csv``, print the summary table, draw ``report.png``
in the search folder and write the best trial as ``experiment/<search.name>.yaml`` (with the
method's other config files) into the search folder's ``configs/`` and into the user configs
(`ldos_surrogate.search.experiment.ConfigOutput`), then print the command that trains it.
Bad input (an InputError, from the checks or from a trial) ends the search with one line
``error: ...`` and exit status 2, before any trial runs when the checks can tell.
"""

from __future__ import annotations

import os
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
from hydra.types import HydraContext, RunMode, TaskFunction
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.apps import ROOT_VARIABLE, shell_command, train_command
from ldos_surrogate.errors import InputError
from ldos_surrogate.search.experiment import (
    EXPERIMENT_GROUP,
    SEARCH_MARK,
    TRAIN_CONFIG,
    ConfigOutput,
    experiment_yaml,
)
from ldos_surrogate.search.report import REPORT_FILE, write_report
from ldos_surrogate.search.results import (
    RESULTS_FILE,
    STATUSES,
    SearchOutcome,
    TrialResult,
    summary_table,
    write_results,
)
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.space import SearchSpace, check_keys_exist, parse_space
from ldos_surrogate.search.study import StudySettings, open_study

SETTINGS_KEY = "hydra.sweeper"
PARAMS_KEY = f"{SETTINGS_KEY}.params"


class SearchSweeper(Sweeper, ABC):
    """Base of the project's sweepers (see the module docstring).

    Args:
        params: the search space, config key -> sweep expression (`ldos_surrogate.search.space`).
        repeats: seeds per trained trial; a trial's loss is the mean over them.
        study: where the search's study lives and how its workers share it (None: defaults).
    """

    method: ClassVar[str]
    # config groups the method writes a file of (experiment: the best trial)
    config_groups: ClassVar[tuple[str, ...]] = (EXPERIMENT_GROUP,)

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        repeats: int = 1,
        study: StudySettings | None = None,
    ) -> None:
        super().__init__()
        self.params = params
        self.repeats = repeats
        self.study = study or StudySettings()
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

    def direction(self) -> str:
        """Whether the study minimises or maximises its trials' values (the losses)."""
        return "minimize"

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
        outputs = ConfigOutput(name, sweep_dir, Path(str(self.config.search.experiment_dir)))
        outputs.check(self.config_groups)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        space = self.search_space(arguments)
        check_keys_exist(space, self.config, PARAMS_KEY)
        study = open_study(self.study, sweep_dir, name, self.direction(), space.keys, SETTINGS_KEY)
        runner = TrialRunner(
            self.hydra_context, self.launcher, self.config, space, study, self.repeats
        )
        runner.check_space()
        outcome = self.search(runner)
        write_results(sweep_dir / RESULTS_FILE, study.results(), space.keys)
        self._report(name, runner, outcome, outputs, time.perf_counter() - started)
        return outcome.results

    def _report(
        self,
        name: str,
        runner: TrialRunner,
        outcome: SearchOutcome,
        outputs: ConfigOutput,
        seconds: float,
    ) -> None:
        assert self.hydra_context is not None and self.config is not None
        sweep_dir = outputs.sweep_dir
        counts = {status: sum(r.status == status for r in outcome.results) for status in STATUSES}
        tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        print(
            f"\nSearch '{name}' ({self.method}): {len(outcome.results)} trials ({tally}), "
            f"{seconds:.1f} s; loss = {runner.metric}"
        )
        print(summary_table(outcome.results, runner.space.keys))
        for note in outcome.notes:
            print(note)
        print(f"results: {sweep_dir / RESULTS_FILE} (exported from study '{runner.study.name}')")
        report = write_report(
            sweep_dir / REPORT_FILE,
            outcome.results,
            runner.metric,
            f"search '{name}' ({self.method})",
            outcome.view,
        )
        print(f"report: {report}")
        elsewhere = len({r.trial for r in outcome.results} - runner.run_here)
        if elsewhere:
            print(
                f"this worker ran {len(runner.run_here)} of the trials; {elsewhere} came from "
                f"the study (run by other workers, or by an earlier run)"
            )
        for group, text in outcome.configs.items():
            hint = self._train_hint(outputs, group)
            mark = "".join(f"# {line}\n" for line in self._mark(name, sweep_dir, hint))
            path = outputs.write(group, mark + text)
            print(f"{group} config: {path}\ntrain with it: {hint}")
        best = outcome.best
        if best is None:
            print("no trial finished training with a finite loss: no experiment written")
            return
        hint = self._train_hint(outputs, EXPERIMENT_GROUP)
        header = [
            *self._mark(name, sweep_dir, hint),
            f"Best trial {best.trial} ({self.method}): {runner.metric} = {best.loss:.6g} "
            f"(mean over seeds {list(best.seeds)}: {list(best.losses)}).",
        ]
        trial_config = runner.compose(best.params, seed=best.seeds[0])
        text = experiment_yaml(self.hydra_context, trial_config, "\n".join(header))
        path = outputs.write(EXPERIMENT_GROUP, text)
        print(f"best: trial {best.trial}, loss {best.loss:.6g}; experiment: {path}")
        print(f"train it: {hint}")
        if ROOT_VARIABLE not in os.environ:
            print(
                f"(in {Path.cwd()}, the workspace; from anywhere with {ROOT_VARIABLE}={Path.cwd()})"
            )

    @staticmethod
    def _mark(name: str, sweep_dir: Path, hint: str) -> list[str]:
        """The comment lines (without ``#``) every config file of the search starts with."""
        return [f"{SEARCH_MARK} '{name}' ({sweep_dir}).", f"Train it: {hint}"]

    def _train_hint(self, outputs: ConfigOutput, group: str) -> str:
        """The command that trains with ``group=<search.name>``, as the search was started,
        from this working directory; with the search-path override when ``train.yaml``'s own
        search path does not hold the user configs written to."""
        assert self.hydra_context is not None
        plain = self.hydra_context.config_loader.load_configuration(
            TRAIN_CONFIG, overrides=[], run_mode=RunMode.RUN
        )
        searchpath = [] if outputs.on_search_path(plain) else [outputs.searchpath_override()]
        return shell_command([*train_command(), *searchpath, f"{group}={outputs.name}"])
