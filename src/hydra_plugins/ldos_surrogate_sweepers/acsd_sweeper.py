"""Sweeper ``ldos_acsd`` over `ldos_surrogate.search.acsd_search`."""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore

from ldos_surrogate.search.acsd_search import DESCRIPTOR_GROUP, AcsdSettings, run_acsd
from ldos_surrogate.search.experiment import EXPERIMENT_GROUP
from ldos_surrogate.search.results import SearchOutcome
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.study import StudySettings, split_settings
from ldos_surrogate.search.sweeper import SETTINGS_KEY, SearchSweeper


@dataclass
class AcsdSweeperConf(StudySettings, AcsdSettings):
    _target_: str = "hydra_plugins.ldos_surrogate_sweepers.acsd_sweeper.AcsdSweeper"
    params: dict[str, Any] | None = None
    repeats: int = 1


ConfigStore.instance().store(
    group="hydra/sweeper", name="ldos_acsd", node=AcsdSweeperConf, provider="ldos_surrogate"
)


class AcsdSweeper(SearchSweeper):
    """ACSD of every (descriptor.rcut, descriptor.twojmax) of ``params``, the descriptor chosen
    by the rule of `ldos_surrogate.search.acsd_search` written as a config and trained."""

    method = "acsd"
    config_groups = (EXPERIMENT_GROUP, DESCRIPTOR_GROUP)

    def __init__(
        self, params: dict[str, Any] | None = None, repeats: int = 1, **settings: Any
    ) -> None:
        study, method_settings = split_settings(settings)
        super().__init__(params, repeats, study)
        self.settings = AcsdSettings(**method_settings)

    def search(self, runner: TrialRunner) -> SearchOutcome:
        return run_acsd(runner, self.settings, SETTINGS_KEY)
