"""Sweeper ``ldos_direct`` over `ldos_surrogate.search.direct`."""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore

from ldos_surrogate.search.direct import run_direct
from ldos_surrogate.search.results import SearchOutcome
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.study import StudySettings
from ldos_surrogate.search.sweeper import PARAMS_KEY, SearchSweeper


@dataclass
class DirectSweeperConf(StudySettings):
    _target_: str = "hydra_plugins.ldos_surrogate_sweepers.direct_sweeper.DirectSweeper"
    params: dict[str, Any] | None = None
    repeats: int = 2


ConfigStore.instance().store(
    group="hydra/sweeper", name="ldos_direct", node=DirectSweeperConf, provider="ldos_surrogate"
)


class DirectSweeper(SearchSweeper):
    """One hyperparameter at a time, in the order of ``params``, the best value kept."""

    method = "direct"

    def __init__(
        self, params: dict[str, Any] | None = None, repeats: int = 2, **study: Any
    ) -> None:
        super().__init__(params, repeats, StudySettings(**study))

    def search(self, runner: TrialRunner) -> SearchOutcome:
        return run_direct(runner, PARAMS_KEY)
