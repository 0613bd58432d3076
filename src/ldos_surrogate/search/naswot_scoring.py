"""NASWOT mean score of a trial's network, before any training (seed Eq. 13-14).

The batch is ``batch_points`` grid points drawn (seeded by the trial's ``seed``) from the first
snapshot of a split, with the descriptors scaled as training scales them; the network is built
from the trial's ``model.network`` for the data's widths and initialised ``n_inits`` times.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.data.datamodule import SPLITS, LdosDataModule
from ldos_surrogate.errors import InputError
from ldos_surrogate.models.network import NetworkConfig, network_from_config
from ldos_surrogate.scores.naswot import CONVENTIONS, naswot_mean_score
from ldos_surrogate.search.checks import require_int


@dataclass
class NaswotSettings:
    """n_inits: initialisations T of the mean score (>= 2, Eq. 14); batch_points: grid points
    N_batch per score (>= 2); k: regulariser of Eq. 13; convention: "seed" (Eq. 13 as written)
    or "original" (the sign of Mellor et al., ICML 2021); split: where the batch is drawn from."""

    n_inits: int = 5
    batch_points: int = 64
    k: float = 1e-4
    convention: str = "seed"
    split: str = "train"

    def check(self, key: str) -> None:
        """InputError naming ``key.<field>`` for a bad value."""
        require_int(self.n_inits, f"{key}.n_inits", minimum=2)
        require_int(self.batch_points, f"{key}.batch_points", minimum=2)
        if not (isinstance(self.k, int | float) and self.k > 0):
            raise InputError(f"{key}.k: must be a positive number, got {self.k!r}")
        if self.convention not in CONVENTIONS:
            raise InputError(
                f"{key}.convention: must be one of {CONVENTIONS}, got {self.convention!r}"
            )
        if self.split not in SPLITS:
            raise InputError(f"{key}.split: must be one of {SPLITS}, got {self.split!r}")


class NaswotScorer:
    """Scores trial configs; the scoring batch is built once per distinct data config."""

    def __init__(self, settings: NaswotSettings, key: str) -> None:
        settings.check(key)
        self.settings = settings
        self.key = key
        self._batches: dict[str, tuple[torch.Tensor, int]] = {}

    def score(self, cfg: DictConfig) -> float:
        """S' = mean + std of the NASWOT scores of T initialisations (Eq. 14); higher is better."""
        if cfg.get("torch_threads"):
            torch.set_num_threads(cfg.torch_threads)
        inputs, n_energies = self._batch(cfg)
        network = NetworkConfig.from_dict(OmegaConf.to_container(cfg.model.network, resolve=True))
        return naswot_mean_score(
            lambda: network_from_config(network, inputs.shape[1], n_energies),
            inputs,
            n_inits=self.settings.n_inits,
            seed=int(cfg.seed),
            k=self.settings.k,
            convention=self.settings.convention,
        )

    def _batch(self, cfg: DictConfig) -> tuple[torch.Tensor, int]:
        """(scaled descriptors of the batch points, energies per point) for ``cfg.data``."""
        key = OmegaConf.to_yaml(cfg.data, resolve=True)
        if key not in self._batches:
            datamodule: LdosDataModule = instantiate(cfg.data, _convert_="all")
            datamodule.setup("fit")
            split = self.settings.split
            if not datamodule.snapshots(split):
                raise InputError(f"data.{split}: no snapshots to draw the NASWOT batch from")
            points = datamodule.snapshot_inputs(split, 0).cpu()
            if points.shape[0] < self.settings.batch_points:
                raise InputError(
                    f"{self.key}.batch_points: {self.settings.batch_points} exceeds the "
                    f"{points.shape[0]} grid points of a {split} snapshot"
                )
            generator = torch.Generator().manual_seed(int(cfg.seed))
            chosen = torch.randperm(points.shape[0], generator=generator)[
                : self.settings.batch_points
            ]
            self._batches[key] = (points[chosen], datamodule.n_energies)
        return self._batches[key]
