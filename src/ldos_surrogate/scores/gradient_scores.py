"""Zero-cost scores from the gradients of an untrained network.

The parameters theta are those of every layer, weights and biases (the reference codes of
Abdelfattah et al. and of ZiCo take the weights only; a bias adds n_out values beside the
n_in n_out weights). Except for synflow, which needs no data, the gradients are those of the
training loss of the batch: the mean squared error

    L = 1/(N n_eps) sum_i sum_eps (M(B_i)_eps - d_i,eps)^2

between the network's output and the targets d, the LDOS of the same N grid points scaled as
training scales them (`LdosModule` trains on this loss). Each score is the plain mean over T
initialisations (`mean_over_initialisations`), dimensionless apart from where stated, and
higher is better:

- `grad_norm_score`: sum over parameter tensors of ||dL/dtheta||_2 (Abdelfattah, Mehrotra,
  Dudziak, Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).
- `snip_score`: sum |theta * dL/dtheta|, SNIP's connection sensitivity (Lee, Ajanthan, Torr,
  "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019), summed over
  the network as in Abdelfattah et al.
- `synflow_score`: sum theta * dR/dtheta with R the output of the network whose parameters
  are |theta| on an input of ones (Tanaka, Kunin, Yamins, Ganguli, "Pruning neural networks
  without any data by iteratively conserving synaptic flow", NeurIPS 2020).
- `zico_score`: ZiCo, the inverse coefficient of variation of the gradients over mini-batches
  (Li, Yang, Bhardwaj, Marculescu, "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation
  on Gradients", ICLR 2023).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.functional import mse_loss

from ldos_surrogate.errors import InputError
from ldos_surrogate.scores.initialisations import mean_over_initialisations
from ldos_surrogate.scores.naswot import _check_inputs

DEFAULT_ZICO_BATCHES = 2  # the split of the ZiCo paper's experiments


def grad_norm_score(
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    n_inits: int = 5,
    seed: int = 0,
) -> float:
    """Mean over T initialisations of sum_theta ||dL/dtheta||_2, L the MSE loss of the batch.

    Args:
        build_network: returns a freshly initialised network, parameters on the CPU.
        inputs: scaled descriptors (N >= 2, n_features), CPU or CUDA.
        targets: scaled LDOS (N, n_energies) of the same grid points, on the same device.
        n_inits: T >= 1; seed: seed of the first initialisation.
    """
    return _summed_over_parameters(
        lambda _theta, g: torch.linalg.vector_norm(g), build_network, inputs, targets, n_inits, seed
    )


def snip_score(
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    n_inits: int = 5,
    seed: int = 0,
) -> float:
    """Mean over T initialisations of sum |theta * dL/dtheta| (arguments as `grad_norm_score`)."""
    return _summed_over_parameters(
        lambda theta, g: (theta * g).abs().sum(), build_network, inputs, targets, n_inits, seed
    )


def synflow_score(
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    n_inits: int = 5,
    seed: int = 0,
) -> float:
    """Mean over T initialisations of synflow = sum_theta theta * dR/dtheta.

    The network's parameters are replaced by |theta| (each initialisation is a fresh build,
    so nothing is restored), R = sum of the outputs for one input of ones (1, n_features):
    the data enter only through n_features and the device of ``inputs``. Computed in float64,
    since R grows like the product of the layers' weight sums. For a network of D Linear
    layers without biases and with ReLU activations (which pass the non-negative values of
    |theta| on ones unchanged), R is homogeneous of degree D in theta and the score is D R
    (Euler's theorem).
    """

    def score(network: nn.Module) -> float:
        network.double()
        with torch.no_grad():
            for theta in network.parameters():
                theta.abs_()
        ones = torch.ones(1, inputs.shape[1], dtype=torch.float64, device=inputs.device)
        parameters = list(network.parameters())
        gradients = torch.autograd.grad(network(ones).sum(), parameters)
        return math.fsum(
            float((theta.detach() * g).sum())
            for theta, g in zip(parameters, gradients, strict=True)
        )

    return mean_over_initialisations(score, build_network, inputs, n_inits, seed)


def zico_score(
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    n_inits: int = 5,
    seed: int = 0,
    n_batches: int = DEFAULT_ZICO_BATCHES,
) -> float:
    """Mean over T initialisations of ZiCo (Li et al., ICLR 2023):

        ZiCo = sum_l log( sum_{theta in layer l} E_b[|g_theta,b|] / sigma_b(g_theta,b) ),

    g_theta,b = dL_b/dtheta the gradient of the MSE loss L_b of mini-batch b, E_b and sigma_b
    the mean and the (population, ddof = 0) standard deviation over the B mini-batches, a
    layer the parameters of one module (weight and bias of a Linear layer). As in the authors'
    code, parameters whose gradient does not vary (sigma = 0) are left out and a layer whose
    sum is 0 adds nothing. The mini-batches are the batch split in order into ``n_batches``
    contiguous parts of floor(N/B) or ceil(N/B) points (``torch.tensor_split``).

    Args:
        n_batches: B, 2 <= B <= N (the standard deviation needs two gradients).
        Others as in `grad_norm_score`.
    """
    _check_targets(inputs, targets)
    if isinstance(n_batches, bool) or not isinstance(n_batches, int):
        raise InputError(f"n_batches: needs an integer, got {n_batches!r}")
    if not 2 <= n_batches <= inputs.shape[0]:
        raise InputError(
            f"n_batches: needs 2 <= n_batches <= {inputs.shape[0]} (the batch points), "
            f"got {n_batches}"
        )

    def score(network: nn.Module) -> float:
        parts = zip(
            torch.tensor_split(inputs, n_batches),
            torch.tensor_split(targets, n_batches),
            strict=True,
        )
        per_batch = [loss_gradients(network, *part) for part in parts]
        layer_of = _layer_index(network)
        ratio_sums = [0.0] * (max(layer_of) + 1)
        for index, gradients in enumerate(zip(*per_batch, strict=True)):
            stacked = torch.stack(gradients).double()
            spread = stacked.std(dim=0, correction=0)
            varying = spread > 0
            ratio = stacked.abs().mean(dim=0)[varying] / spread[varying]
            ratio_sums[layer_of[index]] += float(ratio.sum())
        return math.fsum(math.log(total) for total in ratio_sums if total > 0)

    return mean_over_initialisations(score, build_network, inputs, n_inits, seed)


def loss_gradients(
    network: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """dL/dtheta of the MSE loss for every parameter tensor, in ``network.parameters()`` order."""
    return torch.autograd.grad(mse_loss(network(inputs), targets), list(network.parameters()))


def _summed_over_parameters(
    term: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    n_inits: int,
    seed: int,
) -> float:
    """Mean over T initialisations of sum over parameter tensors of term(theta, dL/dtheta),
    both in float64."""
    _check_targets(inputs, targets)

    def score(network: nn.Module) -> float:
        gradients = loss_gradients(network, inputs, targets)
        return math.fsum(
            float(term(theta.detach().double(), g.double()))
            for theta, g in zip(network.parameters(), gradients, strict=True)
        )

    return mean_over_initialisations(score, build_network, inputs, n_inits, seed)


def _layer_index(network: nn.Module) -> list[int]:
    """For each tensor of ``network.parameters()``, the index of the module that owns it."""
    owners = [module for module in network.modules() if list(module.parameters(recurse=False))]
    return [index for index, module in enumerate(owners) for _ in module.parameters(recurse=False)]


def _check_targets(inputs: torch.Tensor, targets: torch.Tensor) -> None:
    _check_inputs(inputs)
    if not isinstance(targets, torch.Tensor) or targets.ndim != 2:
        shape = tuple(targets.shape) if hasattr(targets, "shape") else type(targets).__name__
        raise InputError(f"targets: need a torch tensor (N points, n_energies), got {shape}")
    if targets.shape[0] != inputs.shape[0]:
        raise InputError(
            f"targets: {targets.shape[0]} points, but inputs have {inputs.shape[0]} "
            f"(the LDOS of the same grid points)"
        )
    if not bool(torch.isfinite(targets).all()):
        raise InputError("targets: contain NaN or infinite values")
