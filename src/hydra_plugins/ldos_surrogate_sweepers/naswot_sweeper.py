"""Sweepers ``ldos_naswot`` (fixed) and ``ldos_naswot_optimized`` over
`ldos_surrogate.search.naswot_search`."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.naswot_scoring import NaswotScorer, NaswotSettings
from ldos_surrogate.search.naswot_search import run_naswot_fixed, run_naswot_optimized
from ldos_surrogate.search.optuna_search import OptunaSettings
from ldos_surrogate.search.results import SearchOutcome
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.space import SearchSpace, parse_space
from ldos_surrogate.search.study import StudySettings
from ldos_surrogate.search.sweeper import PARAMS_KEY, SETTINGS_KEY, SearchSweeper

TRAINING_KEY = f"{SETTINGS_KEY}.training"


@dataclass
class NaswotSweeperConf(StudySettings):
    _target_: str = "hydra_plugins.ldos_surrogate_sweepers.naswot_sweeper.NaswotSweeper"
    params: dict[str, Any] | None = None
    repeats: int = 1
    naswot: NaswotSettings = field(default_factory=NaswotSettings)


@dataclass
class TrainingSearchConf(OptunaSettings):
    """The reduced Optuna search over the training hyperparameters (in the search's study)."""

    params: dict[str, Any] | None = None
    n_trials: int = 10


@dataclass
class NaswotOptimizedSweeperConf(NaswotSweeperConf):
    _target_: str = "hydra_plugins.ldos_surrogate_sweepers.naswot_sweeper.NaswotOptimizedSweeper"
    training: TrainingSearchConf = field(default_factory=TrainingSearchConf)


ConfigStore.instance().store(
    group="hydra/sweeper", name="ldos_naswot", node=NaswotSweeperConf, provider="ldos_surrogate"
)
ConfigStore.instance().store(
    group="hydra/sweeper",
    name="ldos_naswot_optimized",
    node=NaswotOptimizedSweeperConf,
    provider="ldos_surrogate",
)


class NaswotSweeper(SearchSweeper):
    """Score every architecture of ``params`` with NASWOT, train only the best."""

    method = "naswot"

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        repeats: int = 1,
        naswot: Mapping[str, Any] | None = None,
        **study: Any,
    ) -> None:
        super().__init__(params, repeats, StudySettings(**study))
        self.naswot = NaswotSettings(**(naswot or {}))

    def scorer(self) -> NaswotScorer:
        return NaswotScorer(self.naswot, f"{SETTINGS_KEY}.naswot")

    def search(self, runner: TrialRunner) -> SearchOutcome:
        return run_naswot_fixed(runner, self.scorer(), PARAMS_KEY)


class NaswotOptimizedSweeper(NaswotSweeper):
    """`NaswotSweeper`, then Optuna over ``training.params`` with the architecture fixed."""

    method = "naswot_optimized"

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        repeats: int = 1,
        naswot: Mapping[str, Any] | None = None,
        training: Mapping[str, Any] | None = None,
        **study: Any,
    ) -> None:
        super().__init__(params, repeats, naswot, **study)
        settings = dict(training or {})
        self.training_params = settings.pop("params", None)
        self.training = OptunaSettings(**settings)

    def direction(self) -> str:
        return self.training.direction

    def search_space(self, arguments: Sequence[str]) -> SearchSpace:
        """Architecture dimensions (``params`` and command-line sweeps), then the training
        dimensions (``training.params``)."""
        architecture = parse_space(self.params, arguments, PARAMS_KEY)
        training = parse_space(self.training_params, (), f"{TRAINING_KEY}.params")
        shared = set(architecture.keys) & set(training.keys)
        if shared:
            raise InputError(f"{TRAINING_KEY}.params: {sorted(shared)} are also in {PARAMS_KEY}")
        self.training_dimensions = training.params
        return SearchSpace(
            architecture.params + training.params, architecture.fixed + training.fixed
        )

    def search(self, runner: TrialRunner) -> SearchOutcome:
        return run_naswot_optimized(
            runner, self.scorer(), self.training_dimensions, self.training, PARAMS_KEY, TRAINING_KEY
        )
