"""The zero-cost score of a trial's network, before any training (default: synflow).

``score`` names the score (`ZERO_COST_SCORES`; default ``synflow``, Tanaka et al. 2020, the
score that ranked the 32-atom networks best, benchmarks/README.md ``zero_cost_scores``;
``jacobian`` is the seed's NASWOT, Eq. 13-14, with its ``convention``). The batch is ``batch_points`` grid points drawn (seeded by the trial's
``seed``, or by a given batch seed) from the first snapshot of a split, with the descriptors
scaled as training scales them; the loss-based scores (grad_norm, snip, zico) also get the
LDOS of the same points, scaled as training scales it. The network is built from the trial's
``model.network`` for the data's widths and initialised ``n_inits`` times (seeded by the
trial's ``seed``; ``jacobian`` scores them in one pass).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.data.datamodule import SPLITS, LdosDataModule
from ldos_surrogate.errors import InputError
from ldos_surrogate.models.network import NetworkConfig, network_from_config
from ldos_surrogate.scores.naswot import CONVENTIONS
from ldos_surrogate.scores.zero_cost import ZERO_COST_SCORES
from ldos_surrogate.search.checks import require_int

# Measured (benchmarks/README.md, zero_cost_scores): on the 60 trained networks of the 32-atom
# study synflow's Kendall tau against the validation error is -0.37 [-0.59, -0.06] per
# architecture, the seed's jacobian +0.19 [-0.15, +0.50] (the wrong sign)
DEFAULT_SCORE = "synflow"


@dataclass
class NaswotSettings:
    """score: name in `ZERO_COST_SCORES` (higher is better under each); n_inits:
    initialisations T (>= 2 for jacobian's mean + std, Eq. 14; >= 1 for the plain means of
    the others); batch_points: grid points N_batch per score (>= 2); k: regulariser of Eq. 13
    and convention: "seed" (Eq. 13 as written) or "original" (the sign of
    Mellor et al., ICML 2021), both for jacobian only; split: where the batch is drawn from.

    The default score is synflow (module docstring); it scores an input of ones, so the batch
    does not enter it. The defaults T = 5, N_batch = 1024 are the cheapest setting whose
    jacobian rankings agree as well as the best measured (benchmarks/README.md, naswot_stability): at N_batch = 64 the
    top architecture stayed on top under another batch and seeds in 30-60% of the
    repetitions. ``activation_kernel``'s N x N kernel has rank <= 2 x the hidden units: give
    it a batch no larger (e.g. 64), or every narrow network scores -inf."""

    score: str = DEFAULT_SCORE
    n_inits: int = 5
    batch_points: int = 1024
    k: float = 1e-4
    convention: str = "seed"
    split: str = "train"

    def check(self, key: str) -> None:
        """InputError naming ``key.<field>`` for a bad value."""
        if self.score not in ZERO_COST_SCORES:
            raise InputError(
                f"{key}.score: must be one of {sorted(ZERO_COST_SCORES)}, got {self.score!r}"
            )
        require_int(self.n_inits, f"{key}.n_inits", minimum=2 if self.score == "jacobian" else 1)
        require_int(self.batch_points, f"{key}.batch_points", minimum=2)
        if not (isinstance(self.k, int | float) and self.k > 0):
            raise InputError(f"{key}.k: must be a positive number, got {self.k!r}")
        if self.convention not in CONVENTIONS:
            raise InputError(
                f"{key}.convention: must be one of {CONVENTIONS}, got {self.convention!r}"
            )
        if self.split not in SPLITS:
            raise InputError(f"{key}.split: must be one of {SPLITS}, got {self.split!r}")


@dataclass(frozen=True)
class ScoringBatch:
    """Scaled descriptors (N, n_features) and LDOS (N, n_energies) of the batch points."""

    inputs: torch.Tensor
    targets: torch.Tensor


class NaswotScorer:
    """Scores trial configs; the data is set up once per distinct data config, each batch
    drawn once per batch seed."""

    def __init__(self, settings: NaswotSettings, key: str) -> None:
        settings.check(key)
        self.settings = settings
        self.key = key
        self._datamodules: dict[str, tuple[LdosDataModule, int]] = {}  # and its grid points
        self._batches: dict[tuple[str, int], ScoringBatch] = {}

    def score(self, cfg: DictConfig, batch_seed: int | None = None) -> float:
        """The ``settings.score`` of the trial's network (dimensionless); higher is better.

        The initialisations are seeded by ``cfg.seed``, the batch draw by ``batch_seed``
        (default ``cfg.seed``): another batch seed scores the same networks on other points.
        """
        if cfg.get("torch_threads"):
            torch.set_num_threads(cfg.torch_threads)
        batch = self._batch(cfg, int(cfg.seed) if batch_seed is None else batch_seed)
        network = NetworkConfig.from_dict(OmegaConf.to_container(cfg.model.network, resolve=True))
        n_features, n_energies = batch.inputs.shape[1], batch.targets.shape[1]
        entry = ZERO_COST_SCORES[self.settings.score]
        data = (batch.inputs, batch.targets) if entry.needs_targets else (batch.inputs,)
        options = (
            {"k": self.settings.k, "convention": self.settings.convention, "one_pass": True}
            if self.settings.score == "jacobian"
            else {}
        )
        return entry.function(
            lambda: network_from_config(network, n_features, n_energies),
            *data,
            n_inits=self.settings.n_inits,
            seed=int(cfg.seed),
            **options,
        )

    def _batch(self, cfg: DictConfig, seed: int) -> ScoringBatch:
        """The scoring batch for ``cfg.data`` drawn with ``seed`` (the data set up once per
        data config, each batch drawn once)."""
        key = OmegaConf.to_yaml(cfg.data, resolve=True)
        if key not in self._datamodules:
            datamodule: LdosDataModule = instantiate(cfg.data, _convert_="all")
            datamodule.setup("fit")
            split = self.settings.split
            snapshots = datamodule.snapshots(split)
            if not snapshots:
                raise InputError(f"data.{split}: no snapshots to draw the NASWOT batch from")
            n_points = math.prod(snapshots[0].meta.grid_shape)
            if n_points < self.settings.batch_points:
                raise InputError(
                    f"{self.key}.batch_points: {self.settings.batch_points} exceeds the "
                    f"{n_points} grid points of a {split} snapshot"
                )
            self._datamodules[key] = (datamodule, n_points)
        if (key, seed) not in self._batches:
            datamodule, n_points = self._datamodules[key]
            generator = torch.Generator().manual_seed(seed)
            chosen = torch.randperm(n_points, generator=generator)[: self.settings.batch_points]
            points = datamodule.snapshot_points(self.settings.split, 0, chosen)
            self._batches[key, seed] = ScoringBatch(*points)
        return self._batches[key, seed]
