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

The T initialisations of the mean score (Eq. 14) can be scored in one pass (``one_pass=True``):
the network is built once, re-initialised in place under each seed (``reset_parameters`` of
its layers in construction order draws what a fresh build draws), its T parameter sets are
stacked, and one batched forward/backward (``torch.baddbmm``) gives the T Jacobians, whose T
correlation matrices are diagonalised in one call. It gives the scores of T separate builds
(equal to float64 round-off) at a fraction of the cost of building T torch networks.
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
    one_pass: bool = False,
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
        one_pass: build the network once and score the T initialisations in one batched pass
            (module docstring; ``stacked_initialisations``): the same scores, for networks
            made of ``nn.Linear`` layers and parameter-free point-wise modules applied in
            construction order (``LdosNetwork``, such an ``nn.Sequential``).
    """
    if isinstance(n_inits, bool) or not isinstance(n_inits, int) or n_inits < 2:
        raise InputError(f"n_inits: needs an integer >= 2 (std of the scores), got {n_inits!r}")
    _check_settings(k, convention)
    _check_inputs(inputs)
    if one_pass:
        layers = stacked_initialisations(build_network, n_inits, seed, inputs.device)
        scores = jacobian_scores(stacked_batch_jacobians(layers, inputs, n_inits), k, convention)
    else:
        scores = [
            _score_on_device(_seeded_cpu_build(build_network, seed + t), inputs, k, convention)
            for t in range(n_inits)
        ]
    values = torch.as_tensor(scores, dtype=torch.float64)
    if bool(torch.any(values == -math.inf)):
        return -math.inf
    return float(values.mean() + values.std(correction=1))


StackedLayers = list[tuple[nn.Module, tuple[torch.Tensor, torch.Tensor] | None]]


def stacked_initialisations(
    build_network: Callable[[], nn.Module], n_inits: int, seed: int, device: torch.device
) -> StackedLayers:
    """The layers of ``build_network()``, each with its T initialisations stacked.

    Initialisation t = 0 ... T-1 is what ``build_network()`` draws from the CPU generator
    seeded with ``seed + t``. The network is built once; its layers are drawn again in place,
    in construction order, under each re-seeded generator with ``nn.Linear``'s default
    initialisation (torch's ``reset_parameters``): weight ~ U(-b, b) with b = sqrt(3) gain /
    sqrt(fan_in), gain = sqrt(2 / (1 + a^2)) at a = sqrt(5) (i.e. b = 1 / sqrt(fan_in)), then
    bias ~ U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)). Draws t = 0 must equal the weights the
    build drew, else the network initialises otherwise and this is an InputError. The
    generator's state is restored afterwards.

    Returns:
        The leaf modules in construction order, each with, for an ``nn.Linear``, its stacked
        (weight (T, n_out, n_in), bias (T, n_out)) on the CPU, then moved to ``device``, or
        None for a parameter-free module. Any other leaf with parameters (or a Linear without
        bias) is an InputError.
    """
    network = _seeded_cpu_build(build_network, seed)
    layers = [module for module in network.modules() if not list(module.children())]
    for layer in layers:
        if isinstance(layer, nn.Linear) and layer.bias is not None:
            continue
        if isinstance(layer, nn.Linear) or any(True for _ in layer.parameters()):
            raise InputError(
                f"one_pass: needs nn.Linear layers with bias and parameter-free modules, got "
                f"{layer!r}"
            )
    linears = [layer for layer in layers if isinstance(layer, nn.Linear)]
    gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    stacks = {}
    for layer in linears:
        fan_in = layer.in_features
        bounds = (math.sqrt(3.0) * (gain / math.sqrt(fan_in)), 1 / math.sqrt(fan_in))
        stacks[id(layer)] = [
            (torch.empty((n_inits, *tensor.shape), dtype=tensor.dtype), bound)
            for tensor, bound in zip((layer.weight, layer.bias), bounds, strict=True)
        ]
    state = torch.get_rng_state()
    try:
        for t in range(n_inits):
            torch.random.default_generator.manual_seed(seed + t)
            for layer in linears:
                for stack, bound in stacks[id(layer)]:
                    stack[t].uniform_(-bound, bound)
    finally:
        torch.set_rng_state(state)
    for layer in linears:
        (weights, _), (biases, _) = stacks[id(layer)]
        if not (torch.equal(weights[0], layer.weight) and torch.equal(biases[0], layer.bias)):
            raise InputError(
                "one_pass: the network does not initialise its Linear layers as nn.Linear does "
                "(in construction order); score it with one_pass=False"
            )
    on_device = {
        key: tuple(stack.to(device) for stack, _ in drawn) for key, drawn in stacks.items()
    }
    return [(layer, on_device.get(id(layer))) for layer in layers]


def stacked_batch_jacobians(
    layers: StackedLayers, inputs: torch.Tensor, n_inits: int
) -> torch.Tensor:
    """``batch_jacobian`` of T networks at once, (T, N, n_features): the layers applied in
    order to the batch repeated T times, a Linear as ``baddbmm`` with its stacked (weight,
    bias), any other layer point-wise as it is; one backward pass (``stacked_initialisations``).
    """
    points = inputs.detach().expand(n_inits, *inputs.shape).requires_grad_(True)
    values = points
    for layer, stack in layers:
        if stack is None:
            values = layer(values)
        else:
            weights, biases = stack
            values = torch.baddbmm(biases[:, None, :], values, weights.transpose(1, 2))
    (jacobians,) = torch.autograd.grad(values.sum(), points)
    return jacobians


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
    return float(jacobian_scores(jacobian[None], k, convention)[0])


def jacobian_scores(jacobians: torch.Tensor, k: float, convention: str) -> torch.Tensor:
    """Eq. 13 for each of T Jacobians (T, N, n_features): the T scores (float64), all -inf
    when a row of any of them is constant over the features."""
    sigma = correlation_eigenvalues(jacobians)
    if sigma is None:
        return torch.full(jacobians.shape[:1], -math.inf, dtype=torch.float64)
    shifted = sigma + k
    totals = torch.sum(torch.log(shifted) + 1.0 / shifted, dim=-1)
    return totals if convention == "seed" else -totals


def correlation_eigenvalues(jacobian: torch.Tensor) -> torch.Tensor | None:
    """Eigenvalues (float64, ascending) of the rows' correlation matrix clamped to [-1, 1].

    ``jacobian``: (N, n_features), or (..., N, n_features) for a stack of them (eigenvalues
    (..., N)). Returns None when a row is constant over the features (its correlation is
    undefined).

    With U the centred rows scaled to unit length, C = U U^T has rank <= n_features: for
    N > n_features its eigenvalues are those of the n_features x n_features matrix U^T U and
    N - n_features zeros (exactly; the N x N solver returns them as round-off of order 1e-13,
    which moves S by ~1e-10 relative), at a fraction of the cost (N = 1024: 91 x 91).
    """
    rows = jacobian.to(torch.float64)
    centred = rows - rows.mean(dim=-1, keepdim=True)
    norms = torch.linalg.vector_norm(centred, dim=-1)
    if not bool(torch.all(norms > 0)):
        return None
    unit_rows = centred / norms[..., None]
    n_points, n_features = unit_rows.shape[-2:]
    if n_points <= n_features:
        correlation = torch.clamp(unit_rows @ unit_rows.transpose(-1, -2), -1.0, 1.0)
        return torch.linalg.eigvalsh(correlation)
    nonzero = torch.linalg.eigvalsh(unit_rows.transpose(-1, -2) @ unit_rows)
    zeros = nonzero.new_zeros((*nonzero.shape[:-1], n_points - n_features))
    return torch.sort(torch.cat([zeros, nonzero], dim=-1), dim=-1).values


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
