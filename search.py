"""Hyperparameter search: ``python search.py [hparams_search=<method>] [key=value ...]``.

Methods (``conf/hparams_search/``): optuna (the default), optuna_naswot, direct, naswot,
naswot_optimized. Multirun is implied (``conf/search.yaml``); each trained trial runs the
task function of train.py. The search folder ``logs/search/<search.name>`` holds
``results.csv``, the Optuna study and one folder per trial and seed; the best trial is
written as ``conf/experiment/<search.name>.yaml`` (``python train.py experiment=<name>``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

os.environ.setdefault("LDOS_SURROGATE_ROOT", str(Path(__file__).resolve().parent))

from ldos_surrogate import hydra_app  # noqa: E402
from ldos_surrogate.search.trial import train_trial  # noqa: E402


@hydra.main(version_base="1.3", config_path="conf", config_name="search")
def main(cfg: DictConfig) -> dict[str, Any]:
    return train_trial(cfg)


if __name__ == "__main__":
    hydra_app.run(main)
