"""Typed training settings of the ``model`` config group, validated before training starts.

Each dataclass checks its values on construction and raises an InputError naming the config
key (e.g. ``model.optimizer.lr``); `from_mapping` also rejects unknown keys, so a typo in a
YAML file or a command-line override fails at start-up instead of being ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import torch

from ldos_surrogate.errors import InputError

T = TypeVar("T")


def from_mapping(cls: type[T], data: Mapping[str, Any] | None, key: str) -> T:
    """``cls(**data)`` for a dataclass; unknown keys are an InputError naming ``key``."""
    data = dict(data or {})
    unknown = set(data) - {field.name for field in fields(cls)}
    if unknown:
        raise InputError(f"{key}: unknown keys {sorted(unknown)}")
    try:
        return cls(**data)
    except TypeError as error:  # a required key is missing
        raise InputError(f"{key}: {error}") from error


def _check_positive(value: float, key: str, allow_zero: bool = False) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{key}: must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError(f"{key}: must be {'>= 0' if allow_zero else '> 0'}, got {value}")


OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass(frozen=True)
class OptimizerConfig:
    """``model.optimizer``: name (adam, adamw, sgd), learning rate, L2 weight decay and the
    momentum of SGD."""

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise InputError(f"model.optimizer.name: {self.name!r} is not one of {OPTIMIZERS}")
        _check_positive(self.lr, "model.optimizer.lr")
        _check_positive(self.weight_decay, "model.optimizer.weight_decay", allow_zero=True)
        _check_positive(self.momentum, "model.optimizer.momentum", allow_zero=True)

    def build(self, parameters) -> torch.optim.Optimizer:
        if self.name == "sgd":
            return torch.optim.SGD(
                parameters, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay
            )
        optimizer = torch.optim.Adam if self.name == "adam" else torch.optim.AdamW
        return optimizer(parameters, lr=self.lr, weight_decay=self.weight_decay)


SCHEDULERS = ("plateau", "cosine", "step")


@dataclass(frozen=True)
class SchedulerConfig:
    """``model.scheduler`` (null: constant learning rate):

    plateau: multiply the rate by ``factor`` after ``patience`` epochs without improvement
        of ``monitor``;
    cosine: cosine decay to 0 over the trainer's max_epochs;
    step: multiply the rate by ``factor`` every ``step_epochs`` epochs.
    """

    name: str
    factor: float = 0.5
    patience: int = 5
    step_epochs: int = 10
    monitor: str = "val/band_energy_mae_mev_per_atom"

    def __post_init__(self) -> None:
        if self.name not in SCHEDULERS:
            raise InputError(f"model.scheduler.name: {self.name!r} is not one of {SCHEDULERS}")
        if not 0 < self.factor < 1:
            raise InputError(f"model.scheduler.factor: must lie in (0, 1), got {self.factor}")
        for key in ("patience", "step_epochs"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"model.scheduler.{key}: must be an integer >= 1, got {value!r}")

    def build(self, optimizer: torch.optim.Optimizer, max_epochs: int) -> dict[str, Any]:
        """The ``lr_scheduler`` entry Lightning expects from configure_optimizers."""
        if self.name == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=self.factor, patience=self.patience
            )
            return {"scheduler": scheduler, "monitor": self.monitor, "interval": "epoch"}
        if self.name == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)
        else:
            scheduler = torch.optim.lr_scheduler.StepLR(
                optimizer, step_size=self.step_epochs, gamma=self.factor
            )
        return {"scheduler": scheduler, "interval": "epoch"}


@dataclass(frozen=True)
class OutputFitConfig:
    """``model.output_fit`` (null: keep the trained output layer): after training, solve for
    the linear output layer by least squares on the training grid points
    (`ldos_surrogate.models.output_fit`), with ``snapshot_weight`` the weight of the training
    snapshots' DOS and ``ridge`` the relative L2 penalty."""

    snapshot_weight: float = 0.0
    ridge: float = 1e-6

    def __post_init__(self) -> None:
        _check_positive(self.snapshot_weight, "model.output_fit.snapshot_weight", allow_zero=True)
        _check_positive(self.ridge, "model.output_fit.ridge", allow_zero=True)
