"""The plain mean of a zero-cost score over T seeded initialisations of a network.

Initialisation t = 0 ... T-1 is ``build_network()`` under torch's CPU generator seeded with
``seed + t`` (the seeded build of `naswot_mean_score`, so every score sees the same T networks
for the same seed), moved to the device of the batch: CPU and CUDA score the same networks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ldos_surrogate.errors import InputError
from ldos_surrogate.scores.naswot import _check_inputs, _seeded_cpu_build


def mean_over_initialisations(
    score_network: Callable[[nn.Module], float],
    build_network: Callable[[], nn.Module],
    inputs: torch.Tensor,
    n_inits: int,
    seed: int,
) -> float:
    """(1/T) sum_t score_network(network_t): the plain mean (no spread term, unlike Eq. 14).

    Args:
        score_network: the score of one initialised network, on the device of ``inputs``.
        build_network: returns a freshly initialised network, its parameters on the CPU.
        inputs: descriptors (N >= 2, n_features) of the batch, CPU or CUDA.
        n_inits: T >= 1.
        seed: seed of the first initialisation.

    Returns:
        The mean; -inf when an initialisation scores -inf (the worst value of every score).
    """
    if isinstance(n_inits, bool) or not isinstance(n_inits, int) or n_inits < 1:
        raise InputError(f"n_inits: needs an integer >= 1, got {n_inits!r}")
    _check_inputs(inputs)
    scores = [
        score_network(_seeded_cpu_build(build_network, seed + t).to(inputs.device))
        for t in range(n_inits)
    ]
    return sum(scores) / n_inits
