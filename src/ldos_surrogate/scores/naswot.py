"""NASWOT: score an untrained network by how its input Jacobians correlate (seed Eq. 13-14).

For a batch of N grid points with descriptors B_1 ... B_N, row i of the Jacobian J is

    J_i = d( sum_eps M(B)_eps ) / dB  at B = B_i                       (n_features values)

i.e. the gradient of the network output summed over the energies. Because the network maps
every grid point independently, all N rows come from one backward pass of the output summed
over the whole batch. C is the N x N correlation matrix of the rows (Pearson, clamped to
[-1, 1]) with eigenvalues sigma_1 ... sigma_N (they sum to N), and

    S = sum_i [ log(sigma_i + k) + 1 / (sigma_i + k) ]                 (seed Eq. 13)

with k = 1e-4 (MALA's value; the original NASWOT used 1e-5). Each term is smallest (= 1) at
sigma_i = 1 - k and largest at sigma_i = 0: S is smallest for uncorrelated rows (C = identity,
all sigma_i = 1) and largest for identical rows (sigma = N, 0, ..., 0).

Which end is "good" is a convention; both return a value where higher = better:

- ``"seed"``: the score is S, maximised as written in the seed's Eq. 13 and as MALA 1.4.0 does
  (its loss is -S and it keeps the trial with the largest S): favours correlated Jacobians.
- ``"original"``: the score is -S, maximised as in the original NASWOT (Mellor et al., ICML 2021):
  favours uncorrelated Jacobians, i.e. inputs the untrained network already tells apart.

The sum is dominated by near-zero eigenvalues (1/k = 1e4 each), so C and its eigenvalues are
computed in float64 with a symmetric solver, whatever the network's precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ldos_surrogate.errors import InputError

CONVENTIONS = ("seed", "original")
DEFAULT_K = 1e-4


def naswot_score(
    network: nn.Module, inputs: torch.Tensor, k: float = DEFAULT_K, convention: str = "seed"
) -> float:
    """NASWOT score of one initialised network on a batch of grid points (seed Eq. 13).

    Args:
        network: maps descriptors (N, n_features) to LDOS (N, n_energies), each row on its own
            (no batch-coupling layers); it is moved to the device of ``inputs``.
        inputs: descriptors of N >= 2 grid points, (N, n_features), in the units the network
            is trained on (usually scaled descriptors); CPU or CUDA.
        k: positive regulariser of Eq. 13.
        convention: ``"seed"`` (returns S) or ``"original"`` (returns -S); see the module
            docstring. Higher is better under either.

    Returns:
        The score (dimensionless). A Jacobian row that is constant over the features (e.g. every
        ReLU inactive at that point) has no correlation; such a network scores -inf, the worst
        value under either convention.
    """
    _check_settings(k, convention)
    _check_inputs(inputs)
    return _score_on_device(network, inputs, k, convention)


def naswot_mean_score(
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    n_inits: int = 5,
    seed: int = 0,
    k: float = DEFAULT_K,
    convention: str = "seed",
) -> float:
    """Mean score over T initialisations, S' = mean + std of the T scores (seed Eq. 14).

    Initialisation t = 0 ... T-1 calls ``build_network()`` with torch's CPU random generator
    seeded with ``seed + t`` (and restored afterwards), so the result depends only on the
    arguments; ``build_network`` creates its parameters on the CPU (torch's default) and the
    network then moves to the device of ``inputs``: CPU and CUDA score the same networks.
    The standard deviation is the sample one (ddof = 1; MALA's ``mean_std`` uses ddof = 0).
    Under either convention a larger spread raises S' (an optimistic estimate). If any
    initialisation scores -inf, so does the mean score.

    Args:
        build_network: returns a freshly initialised network (see ``naswot_score``).
        inputs: descriptors (N, n_features), CPU or CUDA; the networks follow their device.
        n_inits: T >= 2 (the standard deviation needs two scores).
        seed: seed of the first initialisation.
        k, convention: as in ``naswot_score``.
    """
    if isinstance(n_inits, bool) or not isinstance(n_inits, int) or n_inits < 2:
        raise InputError(f"n_inits: needs an integer >= 2 (std of the scores), got {n_inits!r}")
    _check_settings(k, convention)
    _check_inputs(inputs)
    scores = []
    for t in range(n_inits):
        network = _seeded_cpu_build(build_network, seed + t)
        scores.append(_score_on_device(network, inputs, k, convention))
    if -math.inf in scores:
        return -math.inf
    values = torch.tensor(scores, dtype=torch.float64)
    return float(values.mean() + values.std(correction=1))


def batch_jacobian(network: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Rows J_i = d(sum_eps M(B)_eps)/dB at B = B_i, shape (N, n_features), one backward pass.

    The output summed over batch and energies has, for row i, only B_i's own contribution, so
    its gradient with respect to the batch is the stack of the per-point gradients.
    """
    points = inputs.detach().requires_grad_(True)
    (jacobian,) = torch.autograd.grad(network(points).sum(), points)
    return jacobian


def jacobian_score(jacobian: torch.Tensor, k: float = DEFAULT_K, convention: str = "seed") -> float:
    """Eq. 13 for a given Jacobian (N, n_features): S, or -S under ``"original"``."""
    _check_settings(k, convention)
    sigma = correlation_eigenvalues(jacobian)
    if sigma is None:
        return -math.inf
    shifted = sigma + k
    total = float(torch.sum(torch.log(shifted) + 1.0 / shifted))
    return total if convention == "seed" else -total


def correlation_eigenvalues(jacobian: torch.Tensor) -> torch.Tensor | None:
    """Eigenvalues (float64, ascending) of the rows' correlation matrix clamped to [-1, 1].

    Returns None when a row is constant over the features (its correlation is undefined).
    """
    rows = jacobian.to(torch.float64)
    centred = rows - rows.mean(dim=1, keepdim=True)
    norms = torch.linalg.vector_norm(centred, dim=1)
    if not bool(torch.all(norms > 0)):
        return None
    unit_rows = centred / norms[:, None]
    correlation = torch.clamp(unit_rows @ unit_rows.T, -1.0, 1.0)
    return torch.linalg.eigvalsh(correlation)


def _seeded_cpu_build(build_network: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``build_network()`` under the CPU generator seeded with ``seed``; its state is restored."""
    state = torch.get_rng_state()
    torch.random.default_generator.manual_seed(seed)
    try:
        return build_network()
    finally:
        torch.set_rng_state(state)


def _score_on_device(network: nn.Module, inputs: torch.Tensor, k: float, convention: str) -> float:
    if any(parameter.device != inputs.device for parameter in network.parameters()):
        network.to(inputs.device)
    return jacobian_score(batch_jacobian(network, inputs), k, convention)


def _check_settings(k: float, convention: str) -> None:
    if convention not in CONVENTIONS:
        raise InputError(f"convention: must be one of {CONVENTIONS}, got {convention!r}")
    if not (isinstance(k, int | float) and math.isfinite(k) and k > 0):
        raise InputError(f"k: must be a positive number (Eq. 13 takes log(sigma + k)), got {k!r}")


def _check_inputs(inputs: torch.Tensor) -> None:
    if not isinstance(inputs, torch.Tensor) or inputs.ndim != 2 or inputs.shape[0] < 2:
        shape = tuple(inputs.shape) if hasattr(inputs, "shape") else type(inputs).__name__
        raise InputError(f"inputs: need a torch tensor (N >= 2 points, n_features), got {shape}")
    if not bool(torch.isfinite(inputs).all()):
        raise InputError("inputs: contain NaN or infinite values")
