"""Scalers that map descriptors and LDOS to the ranges a network trains well on.

Every scaler here is affine, column by column: x_scaled = (x - shift) / scale, with
``shift`` and ``scale`` of shape (n_columns,). Fitting streams over (n_points, n_columns)
chunks, e.g. slices of memory-mapped snapshot arrays, and accumulates in float64:

- "standard" (`StandardFit`): shift = mean, scale = standard deviation of each column (population,
  1/N). Chunk moments are merged with the pairwise update of Chan, Golub and LeVeque
  (1979): for parts a and b with counts n, means m and sums of squared deviations M2,
  delta = m_b - m_a, m = m_a + delta n_b / n, M2 = M2_a + M2_b + delta^2 n_a n_b / n.
  This is exact and stable, unlike the running sum of x^2. A column with zero spread
  (e.g. a descriptor that is the same at every grid point) gets scale 1.
- "minmax" (`MinMaxFit`): one global minimum and maximum over all columns, so x_scaled lies in
  [0, 1]. For the LDOS this keeps the ratio between energies: a squared-error loss on the
  scaled LDOS weights every energy as the physical LDOS does, and energies where the LDOS is
  nearly zero everywhere (below the band bottom, in gaps) are not blown up to unit range.

The state is plain tensors plus a string, loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ldos_surrogate.errors import InputError

SCALER_KINDS = ("standard", "minmax")


@dataclass(frozen=True)
class AffineScaler:
    """x_scaled = (x - shift) / scale per column; ``kind`` names how it was fitted."""

    kind: str
    shift: torch.Tensor  # (n_columns,) float64
    scale: torch.Tensor  # (n_columns,) float64, > 0

    @property
    def n_columns(self) -> int:
        return int(self.shift.numel())

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Scale ``x`` of shape (..., n_columns); returns a new tensor of x's dtype."""
        return (x - self.shift.to(x)) / self.scale.to(x)

    def transform_(self, x: torch.Tensor) -> torch.Tensor:
        """Scale ``x`` in place (it must own its memory) and return it."""
        return x.sub_(self.shift.to(x)).div_(self.scale.to(x))

    def inverse_transform(self, x_scaled: torch.Tensor) -> torch.Tensor:
        """Undo `transform`: x = x_scaled * scale + shift, in x_scaled's dtype."""
        return x_scaled * self.scale.to(x_scaled) + self.shift.to(x_scaled)

    def state_dict(self) -> dict[str, torch.Tensor | str]:
        """Plain tensors and a string: safe for ``torch.load(weights_only=True)``."""
        return {"kind": self.kind, "shift": self.shift.clone(), "scale": self.scale.clone()}

    @classmethod
    def from_state_dict(cls, state: dict) -> AffineScaler:
        try:
            kind, shift, scale = state["kind"], state["shift"], state["scale"]
        except (KeyError, TypeError) as error:
            raise InputError(f"scaler state: missing entry {error}") from error
        if kind not in SCALER_KINDS or shift.shape != scale.shape or shift.ndim != 1:
            raise InputError(
                f"scaler state: invalid kind {kind!r} or shapes {shift.shape}, {scale.shape}"
            )
        return cls(kind, shift.to(torch.float64), scale.to(torch.float64))


class StandardFit:
    """Streaming per-column mean and spread (count, mean, M2), float64 accumulation, and
    each column's range (``low``, ``high``: what inference compares new inputs with)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None

    def update(self, chunk: np.ndarray) -> None:
        """Merge a chunk of shape (n_points, n_columns) (Chan-Golub-LeVeque update)."""
        chunk = np.asarray(chunk, dtype=np.float64)
        n_b = chunk.shape[0]
        if n_b == 0:
            return
        mean_b = chunk.mean(axis=0)
        m2_b = ((chunk - mean_b) ** 2).sum(axis=0)
        low_b, high_b = chunk.min(axis=0), chunk.max(axis=0)
        if self.mean is None:
            self.count, self.mean, self.m2 = n_b, mean_b, m2_b
            self.low, self.high = low_b, high_b
            return
        self.low, self.high = np.minimum(self.low, low_b), np.maximum(self.high, high_b)
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (self.count * n_b / n)
        self.count = n

    def scaler(self) -> AffineScaler:
        """shift = mean, scale = population standard deviation sqrt(M2 / N) (1 where 0)."""
        if self.mean is None:
            raise InputError("scaler: no data to fit on (empty training split)")
        std = np.sqrt(self.m2 / self.count)
        scale = np.where(std > 0, std, 1.0)
        return AffineScaler("standard", torch.from_numpy(self.mean), torch.from_numpy(scale))


class MinMaxFit:
    """Streaming global minimum and maximum over all columns."""

    def __init__(self) -> None:
        self.low = np.inf
        self.high = -np.inf
        self.n_columns: int | None = None

    def update(self, chunk: np.ndarray) -> None:
        """Merge a chunk of shape (n_points, n_columns)."""
        if chunk.size:
            self.low = min(self.low, float(chunk.min()))
            self.high = max(self.high, float(chunk.max()))
            self.n_columns = chunk.shape[1]

    def scaler(self) -> AffineScaler:
        """shift = global minimum, scale = maximum - minimum (1 where they are equal)."""
        if self.n_columns is None:
            raise InputError("scaler: no data to fit on (empty training split)")
        spread = self.high - self.low if self.high > self.low else 1.0
        return AffineScaler(
            "minmax",
            torch.full((self.n_columns,), self.low, dtype=torch.float64),
            torch.full((self.n_columns,), spread, dtype=torch.float64),
        )


ScalerFit = StandardFit | MinMaxFit


def scaler_fit(kind: str, key: str) -> ScalerFit:
    """An empty fit for the scaler named ``kind``; ``key`` names the config key in errors."""
    if kind == "standard":
        return StandardFit()
    if kind == "minmax":
        return MinMaxFit()
    raise InputError(f"{key}: expected one of {SCALER_KINDS}, got {kind!r}")
