"""The best trial of a search as a Hydra experiment file: ``python train.py experiment=<name>``.

The file holds exactly what the trial's config changes relative to ``train.yaml``: the config
groups it chose differently (``override /data: be2``) and every value that differs from the
training config composed with those groups (search dimensions, fixed overrides of the search,
values set by the ``hparams_search`` file, the seed). Composing ``train`` with the experiment
therefore gives the trial's config, so training reproduces the trial.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.io.atomic import atomic_write_text

TRAIN_CONFIG = "train"
# Not part of what a trial trains: Hydra's and the search's own settings, and whether the
# test split is evaluated afterwards (searches skip it; the experiment keeps train.yaml's).
SEARCH_ONLY_KEYS = ("hydra", "search", "task_name", "test")
SEARCH_ONLY_GROUPS = ("experiment", "hparams_search")


def experiment_yaml(hydra_context: HydraContext, trial_config: DictConfig, header: str) -> str:
    """The experiment file text that makes ``train`` compose to ``trial_config``.

    Args:
        hydra_context: the search's Hydra context (its config loader composes ``train``).
        trial_config: the trial's full config (``hydra`` node included).
        header: comment lines (without ``#``) to put on top.
    """
    loader = hydra_context.config_loader
    default = loader.load_configuration(TRAIN_CONFIG, overrides=[], run_mode=RunMode.RUN)
    group_overrides = changed_groups(default, trial_config)
    base = loader.load_configuration(
        TRAIN_CONFIG,
        overrides=[f"{g}={o}" for g, o in group_overrides.items()],
        run_mode=RunMode.RUN,
    )
    values = changed_values(_task_values(base), _task_values(trial_config))
    lines = ["# @package _global_", *(f"# {line}" for line in header.splitlines())]
    if group_overrides:
        lines.append("defaults:")
        lines.extend(f"  - override /{g}: {o}" for g, o in group_overrides.items())
    if values:
        lines.append(OmegaConf.to_yaml(OmegaConf.create(values)).rstrip())
    return "\n".join(lines) + "\n"


def write_experiment(
    path: str | Path, hydra_context: HydraContext, trial_config: DictConfig, header: str
) -> Path:
    """Write `experiment_yaml` to ``path`` atomically and return the path."""
    atomic_write_text(path, experiment_yaml(hydra_context, trial_config, header))
    return Path(path)


def changed_groups(default: DictConfig, trial_config: DictConfig) -> dict[str, str]:
    """Top-level config groups of ``train`` whose option the trial chose differently."""
    defaults = default.hydra.runtime.choices
    chosen = trial_config.hydra.runtime.choices
    return {
        group: chosen[group]
        for group in defaults
        if "/" not in group
        and group not in SEARCH_ONLY_GROUPS
        and group in chosen
        and chosen[group] != defaults[group]
    }


def changed_values(base: Any, trial: Any) -> dict[str, Any]:
    """The leaves of the mapping ``trial`` that differ from (or are missing in) ``base``,
    nested as in ``trial``; lists count as leaves."""
    changed: dict[str, Any] = {}
    for key, value in trial.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            nested = changed_values(base[key], value)
            if nested:
                changed[key] = nested
        elif key not in base or base[key] != value:
            changed[key] = value
    return changed


def _task_values(config: DictConfig) -> dict[str, Any]:
    """The config without Hydra's and the search's own nodes, interpolations kept."""
    values = OmegaConf.to_container(config, resolve=False)
    return {key: value for key, value in values.items() if key not in SEARCH_ONLY_KEYS}
