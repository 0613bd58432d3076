"""The two Hydra applications: training and hyperparameter search.

``ldos-train`` and ``ldos-search`` (console scripts of the installed package) and the scripts
``train.py`` and ``search.py`` at the top of a clone run the same applications and take the
same command line: Hydra overrides (``group=option``, ``key=value``) and Hydra's own flags
(``--cfg job``, ``--help``). The configs ship inside the package (``ldos_surrogate/conf``).

The workspace: data, logs and user configs are found under ``paths.root_dir``, the folder
named by the environment variable ``LDOS_SURROGATE_ROOT``, else the working directory; the
scripts of a clone set the variable to the clone. Its ``configs/`` folder is on Hydra's search
path (``hydra.searchpath`` in ``train.yaml``): searches write their best trial there as
``configs/experiment/<search.name>.yaml``, and files of one's own (``configs/data/``,
``configs/hparams_search/``, ...) are found there too.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from ldos_surrogate import CONFIG_DIR, hydra_app, tasks
from ldos_surrogate.errors import InputError
from ldos_surrogate.search.trial import train_trial

ROOT_VARIABLE = "LDOS_SURROGATE_ROOT"
TRAIN_SCRIPT = "train.py"
SEARCH_SCRIPT = "search.py"
TRAIN_COMMAND = "ldos-train"
# Hydra warns about every folder of its search path that does not exist; the user configs of
# train.yaml's search path exist only once a search or the user wrote one
ABSENT_USER_CONFIGS = r"provider=hydra\.searchpath in main, path=.* is not available"


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def train_app(cfg: DictConfig) -> float | None:
    """Train, test and return the optimised metric (to a sweeper that runs train.py)."""
    try:
        metrics = tasks.train(cfg)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    return metrics.get(cfg.optimized_metric)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="search")
def search_app(cfg: DictConfig) -> dict[str, Any]:
    """One trained trial of a search (the sweeper in ``hydra.sweeper`` runs the search)."""
    return train_trial(cfg)


def train() -> None:
    """``ldos-train [override ...]``: the console script and ``train.py``."""
    _run(train_app)


def search() -> None:
    """``ldos-search [override ...]``: the console script and ``search.py``."""
    _run(search_app)


def _run(app: Any) -> None:
    """Run a Hydra application as `hydra_app.run` does, quiet about absent user configs."""
    warnings.filterwarnings("ignore", message=ABSENT_USER_CONFIGS)
    hydra_app.run(app)


def use_clone_as_root(script: str) -> None:
    """Make the clone that holds ``script`` the workspace, unless one is set already."""
    os.environ.setdefault(ROOT_VARIABLE, str(Path(script).resolve().parent))


def train_command() -> list[str]:
    """The command that trains, in the form this search was started with: the ``train.py``
    beside a ``search.py`` (with this Python), else ``ldos-train``; each program as short as
    still finds the same file from the working directory."""
    program = Path(sys.argv[0])
    if program.name == SEARCH_SCRIPT:
        return [
            _short_program(sys.executable, "python"),
            _short_path(program.parent / TRAIN_SCRIPT),
        ]
    return [_short_program(str(Path(sys.executable).parent / TRAIN_COMMAND), TRAIN_COMMAND)]


def shell_command(words: list[str]) -> str:
    """``words`` as one line to paste into a shell."""
    return shlex.join(words)


def _short_program(path: str, name: str) -> str:
    """``name`` when the shell's PATH finds ``path`` under it, else ``path`` itself (short)."""
    found = shutil.which(name)
    if found and os.path.abspath(found) == os.path.abspath(path):
        return name
    return _short_path(Path(path))


def _short_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)
