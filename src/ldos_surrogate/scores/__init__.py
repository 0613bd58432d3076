"""Training-free scores: zero-cost scores of network architectures, ACSD for descriptors.

"Eq. N" and "seed Eq. N" are the equations of the seed paper (Fiedler et al., Mach. Learn.:
Sci. Technol. 3, 045008 (2022)); NASWOT is Mellor et al., ICML 2021. All references: the
docstring of `ldos_surrogate`; the other zero-cost scores cite theirs (`zero_cost`).
"""

from ldos_surrogate.scores.acsd import AcsdResult, acsd, acsd_of_pairs
from ldos_surrogate.scores.naswot import naswot_mean_score, naswot_score
from ldos_surrogate.scores.zero_cost import ZERO_COST_SCORES, ZeroCostScore

__all__ = [
    "ZERO_COST_SCORES",
    "AcsdResult",
    "ZeroCostScore",
    "acsd",
    "acsd_of_pairs",
    "naswot_mean_score",
    "naswot_score",
]
