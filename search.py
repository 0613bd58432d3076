"""Hyperparameter search entry point: ``python search.py hparams_search=<method>``.

A placeholder: it composes ``conf/search.yaml`` (the training config plus the search
settings) and prints it. The search methods (direct, Optuna TPE, NASWOT, OAT, ACSD) arrive
with the hyperparameter-search issue; each trial will run ``ldos_surrogate.tasks.train``.
"""

from __future__ import annotations

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

os.environ.setdefault("LDOS_SURROGATE_ROOT", str(Path(__file__).resolve().parent))


@hydra.main(version_base="1.3", config_path="conf", config_name="search")
def main(cfg: DictConfig) -> None:
    print(OmegaConf.to_yaml(cfg))
    print("No search methods yet: they arrive with the hyperparameter-search issue.")


if __name__ == "__main__":
    main()
