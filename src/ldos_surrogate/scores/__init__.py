"""Training-free scores: NASWOT for network architectures, ACSD for descriptors.

"Eq. N" and "seed Eq. N" are the equations of the seed paper (Fiedler et al., Mach. Learn.:
Sci. Technol. 3, 045008 (2022)); NASWOT is Mellor et al., ICML 2021. All references: the
docstring of `ldos_surrogate`.
"""

from ldos_surrogate.scores.acsd import AcsdResult, acsd, acsd_of_pairs
from ldos_surrogate.scores.naswot import naswot_mean_score, naswot_score

__all__ = ["AcsdResult", "acsd", "acsd_of_pairs", "naswot_mean_score", "naswot_score"]
