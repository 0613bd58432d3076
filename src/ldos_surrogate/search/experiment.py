"""The best trial of a search as a Hydra experiment file: ``python train.py experiment=<name>``.

The file holds exactly what the trial's config changes relative to ``train.yaml``: the config
groups it chose differently (``override /data: be2``) and every value that differs from the
training config composed with those groups (search dimensions, fixed overrides of the search,
values set by the ``hparams_search`` file, the seed). Composing ``train`` with the experiment
therefore gives the trial's config, so training reproduces the trial.

Where config files of a search go (`ConfigOutput`): ``<group>/<search.name>.yaml`` in the
search folder's ``configs/`` and in the user configs (the folder above
``search.experiment_dir``, ``configs/`` of the workspace by default, on Hydra's search path);
never into the shipped configs. Every such file starts with `SEARCH_MARK`; a file without it
is never overwritten, and a name the shipped configs already use for that group is refused
(Hydra would find the shipped file first). Both are checked before any trial runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate import CONFIG_DIR
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_write_text

TRAIN_CONFIG = "train"
EXPERIMENT_GROUP = "experiment"
EXPERIMENT_DIR_KEY = "search.experiment_dir"
SEARCH_CONFIGS = "configs"  # the folder of a search's config files inside its search folder
# the first comment of every config file a search writes: such a file may be written again
SEARCH_MARK = "Written by the ldos-surrogate search"
FILE = "file://"  # the scheme of a folder on Hydra's search path
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


@dataclass(frozen=True)
class ConfigOutput:
    """The config files ``<group>/<name>.yaml`` of one search (module docstring).

    Args:
        name: ``search.name``.
        sweep_dir: the search folder.
        experiment_dir: ``search.experiment_dir``; the folder above it is the user config
            folder the files go to.
    """

    name: str
    sweep_dir: Path
    experiment_dir: Path

    @property
    def user_dir(self) -> Path:
        """The user config folder (absolute): ``experiment/`` and the other groups in it."""
        return Path(self.experiment_dir).absolute().parent

    def paths(self, group: str) -> tuple[Path, Path]:
        """Where ``group``'s file goes: in the search folder, in the user configs."""
        file = f"{self.name}.yaml"
        return self.sweep_dir / SEARCH_CONFIGS / group / file, self.user_dir / group / file

    def check(self, groups: Sequence[str]) -> None:
        """InputError, before any trial, for a file of ``groups`` that must not be written:
        see the module docstring."""
        if Path(self.experiment_dir).name != EXPERIMENT_GROUP:
            raise InputError(
                f"{EXPERIMENT_DIR_KEY}: {self.experiment_dir}: must be a folder named "
                f"'{EXPERIMENT_GROUP}' (Hydra finds experiment=<name> in <folder on its search "
                f"path>/{EXPERIMENT_GROUP}/)"
            )
        if self.user_dir.resolve().is_relative_to(CONFIG_DIR):
            raise InputError(
                f"{EXPERIMENT_DIR_KEY}: {self.experiment_dir} lies in the shipped configs "
                f"{CONFIG_DIR}; searches write to a user config folder"
            )
        for group in groups:
            shipped = CONFIG_DIR / group / f"{self.name}.yaml"
            if shipped.exists():
                raise InputError(
                    f"search.name: {self.name!r} is the shipped {group} config {shipped}, "
                    f"which Hydra would find first; choose another name"
                )
            user_file = self.paths(group)[1]
            if user_file.exists() and SEARCH_MARK not in user_file.read_text():
                raise InputError(
                    f"search.name: {user_file} exists and was not written by a search; "
                    f"choose another name or move that file"
                )

    def write(self, group: str, text: str) -> Path:
        """Write ``text`` (starting with a `SEARCH_MARK` comment) as ``group``'s file, in the
        search folder and in the user configs, each atomically; return the user file."""
        for path in self.paths(group):
            atomic_write_text(path, text)
        return self.paths(group)[1]

    def on_search_path(self, config: DictConfig) -> bool:
        """Whether a plain ``train experiment=<name>``, from this working directory, finds
        the user configs: they are a folder of ``train.yaml``'s own search path (``config``:
        ``train`` composed without overrides)."""
        entries = OmegaConf.to_container(config.hydra.searchpath, resolve=True)
        folders = {Path(e.removeprefix(FILE)).absolute() for e in entries if e.startswith(FILE)}
        return self.user_dir in folders

    def searchpath_override(self) -> str:
        """The override that puts the user configs on Hydra's search path."""
        return f"hydra.searchpath=[{FILE}{self.user_dir}]"


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
