"""The feed-forward LDOS network M[lambda]: SNAP descriptors B(j, r) -> LDOS d(eps, r) (Eq. 9).

Every grid point is mapped independently. The architecture is fully given by
`NetworkConfig` (the ``model.network`` config group): the widths of all layers from input to
output, one activation per hidden layer, and an explicit choice of output activation (MALA
puts an activation after every Linear layer, the output one included; here ``None`` keeps
the output linear, which a standardised LDOS needs since it takes negative values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ldos_surrogate.errors import InputError
from ldos_surrogate.models.config import from_mapping

CONFIG_KEY = "model.network"

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "ELU": nn.ELU,
    "Softplus": nn.Softplus,
}


def activation_module(name: str, key: str) -> nn.Module:
    """The activation called ``name`` (a torch.nn class name, case-insensitive)."""
    by_lower_name = {known.lower(): cls for known, cls in ACTIVATIONS.items()}
    if not isinstance(name, str) or name.lower() not in by_lower_name:
        raise InputError(f"{key}: unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return by_lower_name[name.lower()]()


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture of the LDOS network.

    layer_widths: widths of all layers, input (descriptor features) first, output (energy
        grid points) last; ``None`` at either end means "take it from the data".
    activations: one activation name per hidden layer, or a single name for all of them.
    output_activation: activation after the output layer, or ``None`` for a linear output.
    """

    layer_widths: tuple[int | None, ...]
    activations: tuple[str, ...] | str = "LeakyReLU"
    output_activation: str | None = None

    def __post_init__(self) -> None:
        widths = tuple(self.layer_widths)
        object.__setattr__(self, "layer_widths", widths)
        if len(widths) < 2:
            raise InputError(
                f"{CONFIG_KEY}.layer_widths: need at least input and output widths, got {list(widths)}"
            )
        for index, width in enumerate(widths):
            at_end = index in (0, len(widths) - 1)
            if (width is None and not at_end) or (
                width is not None and (int(width) != width or width < 1)
            ):
                raise InputError(
                    f"{CONFIG_KEY}.layer_widths[{index}]: must be a positive integer"
                    f"{' or null (from the data)' if at_end else ''}, got {width!r}"
                )
        n_hidden = len(widths) - 2
        names = self.activations
        names = (names,) * n_hidden if isinstance(names, str) else tuple(names)
        if len(names) != n_hidden:
            raise InputError(
                f"{CONFIG_KEY}.activations: {len(names)} given for {n_hidden} hidden layers "
                f"(layer_widths {list(widths)})"
            )
        for index, name in enumerate(names):
            activation_module(name, f"{CONFIG_KEY}.activations[{index}]")
        if self.output_activation is not None:
            activation_module(self.output_activation, f"{CONFIG_KEY}.output_activation")
        object.__setattr__(self, "activations", names)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkConfig:
        """Build from a plain mapping (e.g. a Hydra config); unknown keys are an InputError."""
        return from_mapping(cls, data, CONFIG_KEY)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, not tuples), as saved in checkpoints."""
        data = asdict(self)
        data["layer_widths"] = list(self.layer_widths)
        data["activations"] = list(self.activations)
        return data

    def for_data(self, n_features: int, n_energies: int) -> NetworkConfig:
        """The same architecture with the input and output widths of the data filled in.

        An explicit end width that differs from the data is an InputError.
        """
        widths = list(self.layer_widths)
        for index, actual, what in (
            (0, n_features, "descriptor features"),
            (-1, n_energies, "energy grid points"),
        ):
            if widths[index] is not None and widths[index] != actual:
                position = 0 if index == 0 else len(widths) - 1
                raise InputError(
                    f"{CONFIG_KEY}.layer_widths[{position}]: {widths[index]} does not match the "
                    f"{actual} {what} of the data (set it to null to take it from the data)"
                )
            widths[index] = actual
        return NetworkConfig(tuple(widths), self.activations, self.output_activation)


class LdosNetwork(nn.Module):
    """Multilayer perceptron: Linear -> activation for each hidden layer, then Linear
    (-> output activation). Input (N, n_features) scaled descriptors, output (N, n_energies)
    scaled LDOS."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        if None in config.layer_widths:
            raise InputError(
                f"{CONFIG_KEY}.layer_widths: input/output widths unresolved; call for_data first"
            )
        self.config = config
        widths = config.layer_widths
        layers: list[nn.Module] = []
        for index, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.Linear(n_in, n_out))
            if index < len(config.activations):
                layers.append(activation_module(config.activations[index], CONFIG_KEY))
        if config.output_activation is not None:
            layers.append(activation_module(config.output_activation, CONFIG_KEY))
        self.layers = nn.Sequential(*layers)

    def forward(self, descriptors: torch.Tensor) -> torch.Tensor:
        return self.layers(descriptors)

    @property
    def output_layer(self) -> nn.Linear:
        """The last Linear layer, which maps `hidden_features` to the output."""
        return self.layers[self._output_index]

    def hidden_features(self, descriptors: torch.Tensor) -> torch.Tensor:
        """Activations of the last hidden layer (the scaled descriptors for no hidden layer)."""
        return self.layers[: self._output_index](descriptors)

    @property
    def _output_index(self) -> int:
        return -1 if self.config.output_activation is None else -2

    def flops_per_point(self) -> int:
        """Floating-point operations of one forward pass per grid point (2 per weight)."""
        widths = self.config.layer_widths
        return sum(2 * n_in * n_out for n_in, n_out in zip(widths[:-1], widths[1:], strict=True))


def network_from_config(
    config: NetworkConfig | Mapping[str, Any], n_features: int, n_energies: int
) -> LdosNetwork:
    """Build the network for data with ``n_features`` descriptors and ``n_energies`` outputs."""
    if not isinstance(config, NetworkConfig):
        config = NetworkConfig.from_dict(config)
    return LdosNetwork(config.for_data(n_features, n_energies))
