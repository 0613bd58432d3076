"""The Hydra configs compose for every trainer (no GPU needed to check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from ldos_surrogate.models.config import OptimizerConfig, SchedulerConfig, from_mapping
from ldos_surrogate.models.network import NetworkConfig

REPO = Path(__file__).resolve().parents[2]


def compose_config(name: str, *overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(name, overrides=["paths.output_dir=/tmp/unused", *overrides])


@pytest.mark.parametrize(
    ("trainer", "accelerator", "precision", "strategy"),
    [
        ("cpu", "cpu", "32-true", None),
        ("gpu", "gpu", "bf16-mixed", None),
        ("ddp", "gpu", "bf16-mixed", "ddp"),
    ],
)
def test_trainer_configs(trainer: str, accelerator: str, precision: str, strategy: str) -> None:
    cfg = compose_config("train", f"trainer={trainer}")
    assert cfg.trainer.accelerator == accelerator
    assert cfg.trainer.precision == precision
    assert cfg.trainer.get("strategy") == strategy
    assert cfg.trainer._target_ == "lightning.pytorch.trainer.Trainer"


def test_default_config_is_valid_and_monitors_the_band_energy_error() -> None:
    cfg = compose_config("train")
    NetworkConfig.from_dict(cfg.model.network)
    from_mapping(OptimizerConfig, cfg.model.optimizer, "model.optimizer")
    from_mapping(SchedulerConfig, cfg.model.scheduler, "model.scheduler")
    metric = "val/band_energy_mae_mev_per_atom"
    assert cfg.optimized_metric == metric
    assert cfg.callbacks.early_stopping.monitor == metric
    assert cfg.callbacks.model_checkpoint.monitor == metric
    assert cfg.logger.wandb.offline is True
    assert cfg.data.descriptor_params == cfg.descriptor
