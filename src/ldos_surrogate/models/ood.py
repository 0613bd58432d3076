"""Out-of-distribution flag: how many grid points of a new cell lie outside what the
network was trained on, and how far.

The training range of feature f is [low_f, high_f], the smallest and largest value of that
descriptor over every grid point of the training snapshots (saved in the checkpoint by the
data module). A grid point is outside when any of its descriptors lies outside its range;
its excess is the largest distance beyond a range end, in units of the feature's standard
deviation over the training points (the descriptor scaler's scale, so "how far" reads the
same for every feature). A network extrapolates at such points: on the shipped 4-atom set,
the test snapshot whose points were 4% outside the range of five training snapshots missed
its band energy by 155 meV/atom, the others (0.1%) by under 4 meV/atom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ldos_surrogate.data.scalers import AffineScaler

DEFAULT_OOD_THRESHOLD = 0.01
"""Fraction of grid points outside the training range above which a prediction warns."""


@dataclass(frozen=True)
class TrainingRange:
    """Per-feature range of the training descriptors, ``low`` and ``high`` (n_features,),
    in their own units, and ``scale``, the training standard deviation of each feature."""

    low: torch.Tensor
    high: torch.Tensor
    scale: torch.Tensor

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], scaler: AffineScaler) -> TrainingRange:
        """From a checkpoint's data module state and its (standard) descriptor scaler."""
        return cls(state["low"], state["high"], scaler.scale)

    def count(self, descriptors: torch.Tensor) -> OutOfRange:
        """Points of ``descriptors`` (n_points, n_features, unscaled) outside the range, and
        their excess in standard deviations. The range holds values of the training arrays
        (float32), so a training point is never outside by rounding."""
        low, high = self.low.to(descriptors), self.high.to(descriptors)
        beyond = torch.maximum(descriptors - high, low - descriptors).clamp(min=0.0)
        outside = beyond.amax(dim=1) > 0
        excess = (beyond[outside] / self.scale.to(descriptors)).amax(dim=1)
        return OutOfRange(
            n_points=len(descriptors),
            n_outside=int(outside.sum()),
            excess_sum=float(excess.sum(dtype=torch.float64)),
            excess_max=float(excess.max()) if len(excess) else 0.0,
        )


@dataclass(frozen=True)
class OutOfRange:
    """Counts over some grid points; ``+`` merges two disjoint sets of points."""

    n_points: int
    n_outside: int
    excess_sum: float
    excess_max: float

    def __add__(self, other: OutOfRange) -> OutOfRange:
        return OutOfRange(
            self.n_points + other.n_points,
            self.n_outside + other.n_outside,
            self.excess_sum + other.excess_sum,
            max(self.excess_max, other.excess_max),
        )

    @property
    def fraction(self) -> float:
        return self.n_outside / self.n_points if self.n_points else 0.0

    def to_json(self, threshold: float) -> dict[str, Any]:
        """Fraction outside, their mean and largest excess (standard deviations)."""
        return {
            "fraction_outside_training_range": self.fraction,
            "points_outside": self.n_outside,
            "points": self.n_points,
            "mean_excess_std": self.excess_sum / self.n_outside if self.n_outside else 0.0,
            "max_excess_std": self.excess_max,
            "threshold": threshold,
            "flagged": self.fraction > threshold,
        }

    def warning(self, threshold: float) -> str | None:
        """One line when more than ``threshold`` of the points are outside, else None."""
        if self.fraction <= threshold:
            return None
        return (
            f"{100 * self.fraction:.2f}% of the grid points have descriptors outside the "
            f"training range (up to {self.excess_max:.3g} standard deviations beyond it; "
            f"threshold {100 * threshold:g}%): the network extrapolates there"
        )
