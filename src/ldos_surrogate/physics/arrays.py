"""numpy or torch: the physics functions take either and answer in kind.

A torch tensor in gives a torch tensor out, differentiable through the operations used; the
quadrature weights themselves are computed in float64 numpy and enter as constants.
"""

from __future__ import annotations

from types import ModuleType
from typing import TypeAlias

import numpy as np
import torch

Array: TypeAlias = np.ndarray | torch.Tensor


def namespace(array: Array) -> ModuleType:
    """The module (`torch` or `numpy`) whose functions apply to `array`."""
    return torch if isinstance(array, torch.Tensor) else np


def like(values: np.ndarray, array: Array) -> Array:
    """`values` as an array of the kind (and, for torch, device and dtype) of `array`."""
    if isinstance(array, torch.Tensor):
        return torch.as_tensor(values, dtype=array.dtype, device=array.device)
    return values


def to_numpy(array: Array) -> np.ndarray:
    """A float64 numpy copy of the values of `array` (detached from any autograd graph)."""
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy().astype(np.float64)
    return np.asarray(array, dtype=np.float64)
