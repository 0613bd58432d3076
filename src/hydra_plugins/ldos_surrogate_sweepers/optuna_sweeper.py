"""Sweepers ``ldos_optuna`` (TPE by default) and ``ldos_optuna_naswot`` (with the NASWOT
pruner) over `ldos_surrogate.search.optuna_search`."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from ldos_surrogate.search.naswot_pruner import NaswotPruner, PrunerSettings
from ldos_surrogate.search.naswot_scoring import NaswotScorer, NaswotSettings
from ldos_surrogate.search.optuna_search import OptunaSettings, run_optuna
from ldos_surrogate.search.results import SearchOutcome
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.study import StudySettings, split_settings
from ldos_surrogate.search.sweeper import SETTINGS_KEY, SearchSweeper


@dataclass
class OptunaSweeperConf(StudySettings, OptunaSettings):
    _target_: str = "hydra_plugins.ldos_surrogate_sweepers.optuna_sweeper.OptunaSweeper"
    params: dict[str, Any] | None = None
    repeats: int = 1


@dataclass
class OptunaNaswotSweeperConf(OptunaSweeperConf):
    _target_: str = "hydra_plugins.ldos_surrogate_sweepers.optuna_sweeper.OptunaNaswotSweeper"
    naswot: NaswotSettings = field(default_factory=NaswotSettings)
    pruner: PrunerSettings = field(default_factory=PrunerSettings)


ConfigStore.instance().store(
    group="hydra/sweeper", name="ldos_optuna", node=OptunaSweeperConf, provider="ldos_surrogate"
)
ConfigStore.instance().store(
    group="hydra/sweeper",
    name="ldos_optuna_naswot",
    node=OptunaNaswotSweeperConf,
    provider="ldos_surrogate",
)


class OptunaSweeper(SearchSweeper):
    """Optuna ask/tell search; each trial the mean loss over ``repeats`` seeds."""

    method = "optuna"

    def __init__(
        self, params: Mapping[str, Any] | None = None, repeats: int = 1, **settings: Any
    ) -> None:
        study, sampling = split_settings(settings)
        super().__init__(params, repeats, study)
        self.settings = OptunaSettings(**sampling)

    def direction(self) -> str:
        return self.settings.direction

    def search(self, runner: TrialRunner) -> SearchOutcome:
        return run_optuna(runner, self.settings, SETTINGS_KEY)


class OptunaNaswotSweeper(OptunaSweeper):
    """Optuna search whose trials are scored by NASWOT first and pruned when weak."""

    method = "optuna_naswot"

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        repeats: int = 1,
        naswot: Mapping[str, Any] | None = None,
        pruner: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(params, repeats, **settings)
        self.naswot = NaswotSettings(**(naswot or {}))
        self.pruner = PrunerSettings(**(pruner or {}))

    def search(self, runner: TrialRunner) -> SearchOutcome:
        scorer = NaswotScorer(self.naswot, f"{SETTINGS_KEY}.naswot")
        pruner = NaswotPruner(scorer, self.pruner, f"{SETTINGS_KEY}.pruner")
        return run_optuna(runner, self.settings, SETTINGS_KEY, pruner)
