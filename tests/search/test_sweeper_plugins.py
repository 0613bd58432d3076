"""The sweepers are found by Hydra's plugin discovery, and every shipped search config composes
with a valid space over existing keys (checked without running a search)."""

from __future__ import annotations

import pytest
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from search_runs import REPO, compose_with

from ldos_surrogate.search.space import check_keys_exist, parse_space

METHODS = {
    "optuna": "optuna_sweeper.OptunaSweeper",
    "optuna_naswot": "optuna_sweeper.OptunaNaswotSweeper",
    "direct": "direct_sweeper.DirectSweeper",
    "naswot": "naswot_sweeper.NaswotSweeper",
    "naswot_optimized": "naswot_sweeper.NaswotOptimizedSweeper",
}
PACKAGE = "hydra_plugins.ldos_surrogate_sweepers"


def test_hydra_discovers_the_sweepers() -> None:
    found = {f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(Sweeper)}
    assert {f"{PACKAGE}.{name}" for name in METHODS.values()} <= found


def test_search_defaults_to_optuna_in_multirun_mode() -> None:
    cfg = compose_with(REPO / "conf", "search", return_hydra_config=True)
    assert cfg.hydra.mode.name == "MULTIRUN"
    assert cfg.hydra.sweeper._target_ == f"{PACKAGE}.{METHODS['optuna']}"


@pytest.mark.parametrize("method", sorted(METHODS))
def test_shipped_search_configs_compose_over_existing_keys(method: str) -> None:
    cfg = compose_with(
        REPO / "conf", "search", f"hparams_search={method}", return_hydra_config=True
    )
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == f"{PACKAGE}.{METHODS[method]}"
    spaces = [sweeper.params] + ([sweeper.training.params] if "training" in sweeper else [])
    for params in spaces:
        check_keys_exist(parse_space(params), cfg, "params")
    space = parse_space(sweeper.params)
    widths = space["model.network.layer_widths"].values
    assert {len(w) - 2 for w in widths} == {1, 2, 3, 4}  # hidden layers
    assert set(space["model.network.activations"].values) == {
        "ReLU",
        "LeakyReLU",
        "Sigmoid",
        "Tanh",
    }
