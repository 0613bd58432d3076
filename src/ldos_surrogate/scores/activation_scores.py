"""Zero-cost scores from the activations of an untrained network on a batch of grid points.

Both read the values the layers produce in one forward pass of the N batch points (no
gradients). A "Linear layer" is an ``nn.Linear`` module, an "activation" a module of
``torch.nn.modules.activation``; for the LDOS network (`LdosNetwork`: Linear -> activation per
hidden layer, then Linear -> optional output activation) the hidden units are the outputs of
every Linear layer but the last.

- `activation_kernel_score`: NASWOT's log-determinant of the kernel of binary activation codes
  (Mellor, Turner, Storkey, Crowley, "Neural Architecture Search without Training", ICML 2021).
- `near_score`: NEAR, the effective ranks of the pre- and post-activation matrices (Husistein,
  Reiher, Eckhoff, "NEAR: A Training-Free Pre-Estimator of Machine Learning Model
  Performance", arXiv:2408.08776, ICLR 2025).

Both are dimensionless, higher is better, and computed in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ldos_surrogate.scores.initialisations import mean_over_initialisations

ACTIVATION_TYPES: tuple[type[nn.Module], ...] = tuple(
    getattr(nn, name) for name in nn.modules.activation.__all__
)


def activation_kernel_score(
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    n_inits: int = 5,
    seed: int = 0,
) -> float:
    """Mean over T initialisations of log|K_H| (Mellor et al., ICML 2021).

    Every batch point i gets the binary code c_i of its N_A hidden units (all hidden layers
    concatenated), and the N x N kernel counts the units on which two points agree,

        K_H[i, j] = N_A - d_H(c_i, c_j),     score = log |K_H|,

    d_H the Hamming distance. A unit's code is 1 when its pre-activation z (the Linear
    output) is > 0, whatever the activation: for ReLU the unit is active, for LeakyReLU, ELU,
    GELU and SiLU it is on its (near-)linear branch, for Tanh its output is > 0, for Sigmoid
    > 1/2, for Softplus > log 2, i.e. z is on the positive side of the activation's centre.
    Mellor et al., ICML 2021, define the code for ReLU; for the others it is this choice.

    K_H = C C^T + (1 - C)(1 - C)^T (C the N x N_A code matrix) is positive semi-definite; its
    log-determinant is taken in float64 (`kernel_log_determinant`). Two points with the same
    code make K_H singular: that network scores -inf (the worst value), as does one without
    hidden units.
    """
    return mean_over_initialisations(
        lambda network: kernel_log_determinant(activation_codes(network, inputs)),
        build_network,
        inputs,
        n_inits,
        seed,
    )


def activation_codes(network: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Codes c_i (N, N_A) in {0, 1}, float64: pre-activation > 0 of every hidden unit."""
    linear_outputs = layer_outputs(network, inputs, lambda module: isinstance(module, nn.Linear))
    hidden = linear_outputs[:-1]
    if not hidden:
        return torch.zeros(inputs.shape[0], 0, dtype=torch.float64, device=inputs.device)
    return torch.cat([(z > 0).to(torch.float64) for z in hidden], dim=1)


def kernel_log_determinant(codes: torch.Tensor) -> float:
    """log |K_H| of the codes (N, N_A) in {0, 1}, float64; -inf when K_H is singular.

    K_H is symmetric positive semi-definite, so log |K_H| = sum_i log lambda_i over its
    eigenvalues (``eigvalsh``). Eigenvalues up to N eps lambda_max (the rank tolerance of
    ``torch.linalg.matrix_rank``) count as zero: a singular K_H, e.g. from two points with
    the same code, scores -inf, where ``slogdet`` would return whatever its roundoff gives.
    """
    agreeing = codes @ codes.T + (1 - codes) @ (1 - codes).T
    eigenvalues = torch.linalg.eigvalsh(agreeing)
    tolerance = len(eigenvalues) * torch.finfo(torch.float64).eps * float(eigenvalues[-1])
    if not float(eigenvalues[0]) > tolerance:
        return -math.inf
    return float(torch.log(eigenvalues).sum())


def near_score(
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    n_inits: int = 5,
    seed: int = 0,
) -> float:
    """Mean over T initialisations of NEAR (Husistein, Reiher, Eckhoff, arXiv:2408.08776).

    NEAR sums the effective ranks of the activation matrices of the network: the
    pre-activations (the output of every Linear layer, the output layer included) and the
    post-activations (the output of every activation module),

        NEAR = sum_l [ erank(Z_l) + erank(H_l) ],

    where a layer of m units gives the n x m matrix of its values on the first n = min(N, m)
    batch points: square (m x m) as in the paper when the batch has at least m points, and of
    rank <= N otherwise (so use N >= the widest layer). `effective_rank` is Roy & Vetterli's.
    """
    return mean_over_initialisations(
        lambda network: near_of_network(network, inputs), build_network, inputs, n_inits, seed
    )


def near_of_network(network: nn.Module, inputs: torch.Tensor) -> float:
    """NEAR of one initialised network (see `near_score`)."""
    matrices = layer_outputs(
        network, inputs, lambda module: isinstance(module, (nn.Linear, *ACTIVATION_TYPES))
    )
    return sum(effective_rank(values[: values.shape[1]]) for values in matrices)


def effective_rank(matrix: torch.Tensor) -> float:
    """erank(A) = exp(-sum_k p_k ln p_k), p_k = sigma_k / sum_j sigma_j (Roy & Vetterli, "The
    effective rank: a measure of effective dimensionality", EUSIPCO 2007), float64.

    sigma are the singular values of A; 0 ln 0 = 0. Between 1 and rank(A) for a non-zero
    matrix (equal to the rank when the non-zero sigma are equal); 0 for the zero matrix.
    """
    sigma = torch.linalg.svdvals(matrix.to(torch.float64))
    total = sigma.sum()
    if not float(total) > 0:
        return 0.0
    p = sigma[sigma > 0] / total
    return math.exp(float(-(p * torch.log(p)).sum()))


def layer_outputs(
    network: nn.Module, inputs: torch.Tensor, selects: Callable[[nn.Module], bool]
) -> list[torch.Tensor]:
    """Outputs (N, m) of the modules that ``selects`` picks, in the order the forward pass of
    ``inputs`` calls them (no gradients)."""
    outputs: list[torch.Tensor] = []
    hooks = [
        module.register_forward_hook(lambda _module, _args, output: outputs.append(output))
        for module in network.modules()
        if selects(module)
    ]
    try:
        with torch.no_grad():
            network(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return outputs
