"""Training-free scores: NASWOT for network architectures, ACSD for descriptors."""

from ldos_surrogate.scores.acsd import AcsdResult, acsd, acsd_of_pairs
from ldos_surrogate.scores.naswot import naswot_mean_score, naswot_score

__all__ = ["AcsdResult", "acsd", "acsd_of_pairs", "naswot_mean_score", "naswot_score"]
