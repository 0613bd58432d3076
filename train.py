"""Train the LDOS network: ``python train.py [group=option ...] [key=value ...]``.

Examples: ``python train.py trainer=gpu``, ``python train.py logger=csv model.optimizer.lr=3e-4``,
``python train.py experiment=be2_small``. The configs live in ``conf/`` (train.yaml and its
groups); the run directory ``logs/train/runs/<time>`` keeps the composed config, the
checkpoints, ``metrics.json`` and the plots. Returns the optimised metric to sweepers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

os.environ.setdefault("LDOS_SURROGATE_ROOT", str(Path(__file__).resolve().parent))

from ldos_surrogate import hydra_app, tasks  # noqa: E402
from ldos_surrogate.errors import InputError  # noqa: E402


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics = tasks.train(cfg)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    return metrics.get(cfg.optimized_metric)


if __name__ == "__main__":
    hydra_app.run(main)
