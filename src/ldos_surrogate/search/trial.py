"""One trained trial of a search: the task function that ``search.py`` hands to Hydra."""

from __future__ import annotations

import time
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from ldos_surrogate import tasks


def train_trial(cfg: DictConfig) -> dict[str, Any]:
    """Train as ``train.py`` does and return the scalar metrics plus ``wall_seconds``.

    A W&B logger, if configured, groups the runs of one search under ``search.name`` and names
    each after its trial folder (``trial_0003/seed_42``).
    """
    started = time.perf_counter()
    if "wandb" in (cfg.get("logger") or {}):
        with open_dict(cfg):
            cfg.logger.wandb.group = cfg.search.name
            cfg.logger.wandb.name = f"{cfg.search.name}/{HydraConfig.get().sweep.subdir}"
    metrics = tasks.train(cfg)
    scalars = {key: value for key, value in metrics.items() if isinstance(value, int | float)}
    return scalars | {"wall_seconds": time.perf_counter() - started}
