"""Sweeper ``ldos_oat`` over `ldos_surrogate.search.oat`."""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore

from ldos_surrogate.search.oat import OatSettings, run_oat
from ldos_surrogate.search.results import SearchOutcome
from ldos_surrogate.search.runner import TrialRunner
from ldos_surrogate.search.study import StudySettings, split_settings
from ldos_surrogate.search.sweeper import SETTINGS_KEY, SearchSweeper


@dataclass
class OatSweeperConf(StudySettings, OatSettings):
    _target_: str = "hydra_plugins.ldos_surrogate_sweepers.oat_sweeper.OatSweeper"
    params: dict[str, Any] | None = None
    repeats: int = 2


ConfigStore.instance().store(
    group="hydra/sweeper", name="ldos_oat", node=OatSweeperConf, provider="ldos_surrogate"
)


class OatSweeper(SearchSweeper):
    """Every row of a strength-2 orthogonal array over ``params`` trained, each factor's level
    chosen by range analysis."""

    method = "oat"

    def __init__(
        self, params: dict[str, Any] | None = None, repeats: int = 2, **settings: Any
    ) -> None:
        study, method_settings = split_settings(settings)
        super().__init__(params, repeats, study)
        self.settings = OatSettings(**method_settings)

    def search(self, runner: TrialRunner) -> SearchOutcome:
        return run_oat(runner, self.settings, SETTINGS_KEY)
