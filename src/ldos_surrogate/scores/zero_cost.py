"""The zero-cost scores by name: every training-free score of a network architecture.

Each entry of `ZERO_COST_SCORES` is a function of (build_network, inputs[, targets], n_inits,
seed, ...) returning a float, higher is better, deterministic for a seed; ``needs_targets``
says whether it also takes the scaled LDOS of the batch points (the loss-based scores).

========================  ====================================================  ==========
name                      score                                                 targets
========================  ====================================================  ==========
``jacobian``              the seed's NASWOT, Eq. 13-14 (`naswot_mean_score`)    no
``activation_kernel``     log|K_H| of activation codes (NASWOT, ICML 2021)      no
``grad_norm``             sum ||dL/dtheta|| (Abdelfattah et al.)                 yes
``snip``                  sum |theta dL/dtheta| (Lee et al.)                    yes
``synflow``               sum theta dR/dtheta on |theta| (Tanaka et al.)        no
``zico``                  inverse coefficient of variation of gradients (Li)    yes
``near``                  effective ranks of activations (Husistein et al.)     no
``param_count``           number of trainable parameters                        no
========================  ====================================================  ==========

``jacobian`` is the mean + std of Eq. 14 and takes ``k`` and ``convention``; the others are
plain means over the T initialisations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ldos_surrogate.scores.activation_scores import activation_kernel_score, near_score
from ldos_surrogate.scores.gradient_scores import (
    grad_norm_score,
    snip_score,
    synflow_score,
    zico_score,
)
from ldos_surrogate.scores.initialisations import mean_over_initialisations
from ldos_surrogate.scores.naswot import naswot_mean_score


def param_count_score(
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    n_inits: int = 5,
    seed: int = 0,
) -> float:
    """Number of trainable parameters (entries of tensors with ``requires_grad``).

    A baseline proxy (larger networks often train to lower errors): it does not depend on the
    initialisation or the data, so the mean over the T builds is the count of any one of them.
    """
    return mean_over_initialisations(
        lambda network: float(sum(p.numel() for p in network.parameters() if p.requires_grad)),
        build_network,
        inputs,
        n_inits,
        seed,
    )


@dataclass(frozen=True)
class ZeroCostScore:
    """A score function and whether it takes the batch's targets after its inputs."""

    function: Callable[..., float]
    needs_targets: bool


ZERO_COST_SCORES: dict[str, ZeroCostScore] = {
    "jacobian": ZeroCostScore(naswot_mean_score, needs_targets=False),
    "activation_kernel": ZeroCostScore(activation_kernel_score, needs_targets=False),
    "grad_norm": ZeroCostScore(grad_norm_score, needs_targets=True),
    "snip": ZeroCostScore(snip_score, needs_targets=True),
    "synflow": ZeroCostScore(synflow_score, needs_targets=False),
    "zico": ZeroCostScore(zico_score, needs_targets=True),
    "near": ZeroCostScore(near_score, needs_targets=False),
    "param_count": ZeroCostScore(param_count_score, needs_targets=False),
}
