"""How ``train.py`` and ``search.py`` report a config that Hydra cannot compose.

Hydra reports a group option it cannot find (``data=nonexistent``), an override of a key that
is not in the config (``foo=1``) or an override it cannot parse (``model.x=[``) over several
lines and exits with status 1; with the environment variable ``HYDRA_FULL_ERROR=1`` it raises
the exception instead. `run` sets that variable while Hydra composes the config and prints
these errors as one line ``error: ...`` with exit status 2, like any other bad input. Once the
config is composed, the Hydra callback `RestoreErrorReporting` (``hydra.callbacks`` of
``conf/base.yaml``) gives the variable back the user's value, before a run or a sweep starts,
so that Hydra reports a failing task (in this process or in a launcher's worker processes,
which inherit the variable) as it always does. When the user sets ``HYDRA_FULL_ERROR=1``,
every error is Hydra's full one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

FULL_ERROR = "HYDRA_FULL_ERROR"
COMPOSITION_ERRORS = (ConfigCompositionException, OverrideParseException)

# The variable as the user set it (read on import, before `run` changes it); worker processes
# that inherit the variable from `run` read "1" and leave it so.
USERS_FULL_ERROR = os.environ.get(FULL_ERROR)


def run(app: Callable[[], Any]) -> None:
    """Call ``app`` (a function decorated with ``hydra.main``); a composition error ends the
    program with one line ``error: ...`` on stderr and exit status 2."""
    if USERS_FULL_ERROR == "1":
        app()
        return
    os.environ[FULL_ERROR] = "1"
    try:
        app()
    except COMPOSITION_ERRORS as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        sys.exit(2)


class RestoreErrorReporting(Callback):
    """Hydra callback: the config is composed, Hydra reports the errors from now on."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        restore_full_error()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        restore_full_error()


def restore_full_error() -> None:
    """Give ``HYDRA_FULL_ERROR`` back the value the user set (or none)."""
    if USERS_FULL_ERROR is None:
        os.environ.pop(FULL_ERROR, None)
    else:
        os.environ[FULL_ERROR] = USERS_FULL_ERROR


def one_line(error: ConfigCompositionException | OverrideParseException) -> str:
    """Hydra's first line of ``error`` with what else Hydra shows, kept short: the options of a
    missing group option, the override that cannot be parsed (when that line does not name
    it), the first line of the OmegaConf error behind it."""
    line = first_line(error)
    if isinstance(error, MissingConfigException) and error.options:
        line += f"; available options: {', '.join(error.options)}"
    if isinstance(error, OverrideParseException) and error.override not in line:
        line = f"override '{error.override}': {line}"
    if isinstance(error.__cause__, OmegaConfBaseException):
        line += f" ({first_line(error.__cause__)})"
    return line


def first_line(error: BaseException) -> str:
    """The first line of the message of ``error``."""
    return str(error).strip().partition("\n")[0]
