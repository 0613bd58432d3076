"""Least-squares fit of the network's linear output layer on the training grid points.

The output layer maps the last hidden layer's features h (with a constant 1 appended for the
bias) to the scaled LDOS, y = h W. For fixed hidden layers the W of lowest training loss is
not found by stochastic steps but solved for:

    L(W) = (1/N) sum_p |h_p W - y_p|^2                                  (training MSE)
         + lambda sum_s (N_s / N) |hbar_s W - ybar_s|^2                 (snapshot DOS)
         + rho t |W|^2,                                                  (ridge)

with p over all N training grid points, s over the training snapshots (N_s points each),
hbar_s and ybar_s the means of h and y over snapshot s, and t the mean diagonal of the
first term's Gram matrix (so that rho is scale-free). Setting dL/dW = 0 gives the normal
equations

    [G / N + lambda sum_s (N_s / N) hbar_s hbar_s^T + rho t I] W
        = C / N + lambda sum_s (N_s / N) hbar_s ybar_s^T,

G = sum_p h_p h_p^T and C = sum_p h_p y_p^T, accumulated in float64 over chunks of points.

Why: an Adam step moves the output bias by about the learning rate, and such a shift,
shared by every grid point, moves the electron count, the Fermi level and the band energy of
a whole cell while the per-point MSE barely sees it; the solved layer has no such noise, and
with it the training residuals average to zero at every energy. The snapshot term weights
ybar_s, which is the DOS of Eq. (5) per grid point in scaled units, i.e. what the energies
integrate: a network that regresses every snapshot's DOS towards the mean of the training
set is pulled towards each snapshot's own DOS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

Chunks = Iterable[tuple[torch.Tensor, torch.Tensor]]


def _with_bias_column(features: torch.Tensor) -> torch.Tensor:
    ones = torch.ones(len(features), 1, dtype=features.dtype, device=features.device)
    return torch.cat([features, ones], dim=1)


@torch.no_grad()
def fit_output_layer(
    hidden: Callable[[torch.Tensor], torch.Tensor],
    output: nn.Linear,
    snapshots: Iterator[Chunks],
    snapshot_weight: float,
    ridge: float,
) -> None:
    """Replace the weight and bias of ``output`` by the minimiser of L(W) (module docstring).

    Args:
        hidden: maps scaled descriptors (n, n_features) to the features entering ``output``.
        output: the linear output layer, overwritten in place.
        snapshots: per training snapshot, its (scaled descriptors, scaled LDOS) in chunks.
        snapshot_weight: lambda, the weight of the snapshot DOS term (0: plain least squares).
        ridge: rho, relative to the mean diagonal of G / N.
    """
    device = output.weight.device
    n_in = output.in_features + 1
    gram = torch.zeros(n_in, n_in, dtype=torch.float64, device=device)
    cross = torch.zeros(n_in, output.out_features, dtype=torch.float64, device=device)
    means: list[tuple[torch.Tensor, torch.Tensor, int]] = []
    for chunks in snapshots:
        feature_sum = torch.zeros(n_in, dtype=torch.float64, device=device)
        target_sum = torch.zeros(output.out_features, dtype=torch.float64, device=device)
        count = 0
        for inputs, targets in chunks:
            features = _with_bias_column(hidden(inputs.to(device)).double())
            targets = targets.to(device).double()
            gram += features.T @ features
            cross += features.T @ targets
            feature_sum += features.sum(dim=0)
            target_sum += targets.sum(dim=0)
            count += len(features)
        means.append((feature_sum / count, target_sum / count, count))
    n_points = sum(count for _, _, count in means)
    lhs, rhs = gram / n_points, cross / n_points
    trace_scale = torch.diagonal(lhs).mean()
    for feature_mean, target_mean, count in means:
        lhs += snapshot_weight * (count / n_points) * torch.outer(feature_mean, feature_mean)
        rhs += snapshot_weight * (count / n_points) * torch.outer(feature_mean, target_mean)
    lhs += ridge * trace_scale * torch.eye(n_in, dtype=torch.float64, device=device)
    solution = torch.linalg.solve(lhs, rhs)
    output.weight.copy_(solution[:-1].T.to(output.weight.dtype))
    output.bias.copy_(solution[-1].to(output.bias.dtype))
