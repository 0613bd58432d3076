"""Search spaces in Hydra's override grammar and their Optuna distributions."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.optuna_search import decode, distribution
from ldos_surrogate.search.space import parse_space


def test_every_sweep_kind_parses_as_hydra_optuna_sweeper_spells_it() -> None:
    space = parse_space(
        {
            "model.network.layer_widths": "choice([null,32,null],[null,64,64,null])",
            "model.optimizer.lr": "tag(log, interval(1e-4, 1e-2))",
            "callbacks.early_stopping.patience": "range(2, 11, 4)",
            "data.batch_size": "int(interval(64, 1024))",
            "trainer.max_epochs": 5,
        },
        ["model.network.activations=choice(ReLU,Tanh)", "trainer.accelerator=cpu"],
    )
    assert space.keys == (
        "model.network.layer_widths",
        "model.optimizer.lr",
        "callbacks.early_stopping.patience",
        "data.batch_size",
        "model.network.activations",
    )
    assert space["model.network.layer_widths"].values == ([None, 32, None], [None, 64, 64, None])
    lr = space["model.optimizer.lr"]
    assert (lr.kind, lr.low, lr.high, lr.log, lr.integer) == ("interval", 1e-4, 1e-2, True, False)
    # range excludes its stop, as in Python and Hydra's basic sweeper
    assert space["callbacks.early_stopping.patience"].values == (2, 6, 10)
    assert space["data.batch_size"].integer
    assert space.fixed == ("trainer.max_epochs=5", "trainer.accelerator=cpu")
    assert space.overrides({"model.network.layer_widths": [None, 32, None]}) == [
        "trainer.max_epochs=5",
        "trainer.accelerator=cpu",
        "model.network.layer_widths=[null,32,null]",
    ]


def test_command_line_sweep_replaces_the_configured_one() -> None:
    space = parse_space(
        {"model.optimizer.lr": "choice(1e-3,1e-2)"}, ["model.optimizer.lr=choice(0.1)"]
    )
    assert space["model.optimizer.lr"].values == (0.1,)


def test_optuna_distributions_and_back() -> None:
    space = parse_space(
        {
            "widths": "choice([null,32,null],[null,64,null])",
            "activation": "choice(ReLU,Tanh)",
            "lr": "tag(log, interval(1e-4, 1e-2))",
            "batch": "int(interval(64, 1024))",
            "patience": "range(2, 11, 4)",
            "dropout": "range(0.0, 0.3, 0.1)",
        }
    )
    widths = distribution(space["widths"])
    assert isinstance(widths, CategoricalDistribution)
    assert widths.choices == ("[null,32,null]", "[null,64,null]")
    assert decode(space["widths"], "[null,64,null]") == [None, 64, None]
    assert decode(space["activation"], "Tanh") == "Tanh"
    assert distribution(space["lr"]) == FloatDistribution(1e-4, 1e-2, log=True)
    assert distribution(space["batch"]) == IntDistribution(64, 1024)
    assert distribution(space["patience"]) == IntDistribution(2, 10, step=4)
    assert isinstance(distribution(space["dropout"]), CategoricalDistribution)


@pytest.mark.parametrize(
    ("params", "arguments", "message"),
    [
        ({}, [], "params: the search space is empty"),
        ({"trainer.max_epochs": 3}, [], "params: the search space is empty"),
        ({"seed": "choice(1,2)"}, [], "params.seed: set by the search"),
        ({"lr": "interval(1e-2, 1e-4)"}, [], "params.lr: interval needs low < high"),
        ({"lr": "tag(log, interval(0, 1))"}, [], "params.lr: a log interval needs low > 0"),
        ({"lr": "choice(1,"}, [], "params: cannot parse"),
        ({"x": "range(3, 1)"}, [], "params.x: 'x=range(3, 1)' is an empty range"),
        ({}, ["+model.extra=choice(1,2)"], "params.model.extra: search dimensions must name"),
    ],
)
def test_bad_spaces_name_the_key(params: dict, arguments: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_space(params, arguments)


def test_an_interval_cannot_be_enumerated() -> None:
    space = parse_space({"model.optimizer.lr": "interval(1e-4, 1e-2)", "x": "choice(1,2)"})
    with pytest.raises(InputError, match=r"hydra.sweeper.params.model.optimizer.lr: .*interval"):
        list(space.grid("hydra.sweeper.params"))
