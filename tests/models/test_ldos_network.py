"""The LDOS network is fully given by its config; bad configs name the offending key."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ldos_surrogate.errors import InputError
from ldos_surrogate.models.config import OptimizerConfig, SchedulerConfig, from_mapping
from ldos_surrogate.models.network import NetworkConfig, network_from_config

BE2_FEATURES, BE2_ENERGIES = 91, 11


def layers_of(network: nn.Module) -> list[str]:
    return [type(layer).__name__ for layer in network.layers]


def test_widths_and_activations_come_from_config_and_data() -> None:
    config = {"layer_widths": [None, 64, 32, None], "activations": ["Tanh", "relu"]}
    network = network_from_config(config, BE2_FEATURES, BE2_ENERGIES)
    assert layers_of(network) == ["Linear", "Tanh", "Linear", "ReLU", "Linear"]
    assert [layer.weight.shape for layer in network.layers if isinstance(layer, nn.Linear)] == [
        (64, 91),
        (32, 64),
        (11, 32),
    ]
    assert network.flops_per_point() == 2 * (91 * 64 + 64 * 32 + 32 * 11)


def test_output_activation_is_an_explicit_choice() -> None:
    linear = network_from_config({"layer_widths": [None, 8, None]}, 4, 3)
    assert layers_of(linear) == ["Linear", "LeakyReLU", "Linear"]
    bounded = network_from_config(
        {"layer_widths": [None, 8, None], "output_activation": "Sigmoid"}, 4, 3
    )
    assert layers_of(bounded)[-1] == "Sigmoid"
    output = bounded(100.0 * torch.randn(256, 4))
    assert bool(((output >= 0) & (output <= 1)).all())


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"layer_widths": [None, 8, None], "activations": "Swoosh"}, r"activations\[0\]"),
        ({"layer_widths": [None, 8, 8, None], "activations": ["ReLU"]}, "1 given for 2 hidden"),
        ({"layer_widths": [None, 8, None], "output_activation": "Step"}, "output_activation"),
        ({"layer_widths": [None, 0, None]}, r"layer_widths\[1\]: must be a positive"),
        ({"layer_widths": [None, None, None]}, r"layer_widths\[1\]"),
        ({"layer_widths": [None]}, "at least input and output"),
        ({"layer_widths": [None, 8, None], "dropout": 0.1}, r"unknown keys \['dropout'\]"),
        ({"activations": "ReLU"}, "layer_widths"),
    ],
)
def test_bad_network_config_names_the_key(config: dict, message: str) -> None:
    with pytest.raises(InputError, match=f"model.network.*{message}"):
        network_from_config(config, BE2_FEATURES, BE2_ENERGIES)


def test_explicit_end_widths_must_match_the_data() -> None:
    config = NetworkConfig.from_dict({"layer_widths": [91, 16, 11]})
    assert config.for_data(BE2_FEATURES, BE2_ENERGIES).layer_widths == (91, 16, 11)
    with pytest.raises(InputError, match=r"layer_widths\[2\]: 11 does not match the 250 energy"):
        config.for_data(BE2_FEATURES, 250)
    with pytest.raises(InputError, match=r"layer_widths\[0\]: 91 does not match the 30 desc"):
        config.for_data(30, BE2_ENERGIES)


def test_config_round_trips_through_plain_values() -> None:
    config = NetworkConfig.from_dict(
        {"layer_widths": [None, 8, 4, None], "activations": "GELU", "output_activation": "ReLU"}
    )
    plain = config.to_dict()
    assert plain == {
        "layer_widths": [None, 8, 4, None],
        "activations": ["GELU", "GELU"],
        "output_activation": "ReLU",
    }
    assert NetworkConfig.from_dict(plain) == config


@pytest.mark.parametrize(
    ("cls", "values", "message"),
    [
        (OptimizerConfig, {"name": "adagrad"}, "model.optimizer.name"),
        (OptimizerConfig, {"lr": 0.0}, "model.optimizer.lr: must be > 0"),
        (OptimizerConfig, {"weight_decay": -1e-4}, "model.optimizer.weight_decay"),
        (OptimizerConfig, {"beta": 0.9}, r"model.optimizer: unknown keys \['beta'\]"),
        (SchedulerConfig, {"name": "warmup"}, "model.scheduler.name"),
        (SchedulerConfig, {"name": "plateau", "factor": 1.5}, "model.scheduler.factor"),
        (SchedulerConfig, {"name": "step", "step_epochs": 0}, "model.scheduler.step_epochs"),
        (SchedulerConfig, {}, "model.scheduler"),
    ],
)
def test_bad_training_config_names_the_key(cls: type, values: dict, message: str) -> None:
    key = "model.optimizer" if cls is OptimizerConfig else "model.scheduler"
    with pytest.raises(InputError, match=message):
        from_mapping(cls, values, key)


def test_optimizers_and_schedulers_are_built_as_configured() -> None:
    parameters = [nn.Parameter(torch.zeros(3))]
    sgd = OptimizerConfig(name="sgd", lr=0.1, momentum=0.9, weight_decay=1e-5).build(parameters)
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["momentum"] == 0.9 and sgd.defaults["weight_decay"] == 1e-5
    step = SchedulerConfig(name="step", factor=0.1, step_epochs=2).build(sgd, max_epochs=10)
    for _ in range(2):
        sgd.step()
        step["scheduler"].step()
    assert sgd.param_groups[0]["lr"] == pytest.approx(0.01)
    plateau = SchedulerConfig(name="plateau").build(OptimizerConfig().build(parameters), 10)
    assert plateau["monitor"] == "val/band_energy_mae_mev_per_atom"
