"""Search spaces written in Hydra's override grammar, as hydra-optuna-sweeper spells them.

A space maps config keys to a sweep expression (YAML ``params:`` of a sweeper, or a sweep on
the command line). The expressions are parsed by Hydra's own override parser:

- ``choice(a, b, ...)``: categorical values; any override value works, lists included
  (``choice([null,32,null],[null,64,64,null])``).
- ``range(start, stop[, step])``: evenly spaced numbers, ``stop`` excluded as in Python and
  in Hydra's basic sweeper (hydra-optuna-sweeper includes ``stop``; write ``range(1,5)``
  there for 1 ... 4 here).
- ``interval(low, high)``: a continuous interval of floats; ``int(interval(low, high))``
  of integers; ``tag(log, interval(...))`` samples it on a log scale.
- any other value is a fixed override applied to every trial (e.g. ``trainer.max_epochs: 5``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.errors import InputError

# Set by the search itself (one value per repeat), never a search dimension.
RESERVED_KEYS = ("seed",)


def encode(value: Any) -> str:
    """A Python value in override syntax: ``[null,32,null]``, ``ReLU``, ``0.001``."""
    return Transformer.str(value)


def signature(params: Mapping[str, Any]) -> tuple[str, ...]:
    """A trial's values in override syntax, in the order of ``params``: equal for equal trials."""
    return tuple(encode(value) for value in params.values())


@dataclass(frozen=True)
class Param:
    """One search dimension over the config key ``key``.

    kind: ``"choice"`` (``values`` lists the options), ``"range"`` (``values`` lists the
        numbers of the range), ``"interval"`` (continuous from ``low`` to ``high``,
        ``integer`` when both ends are integers, ``log``-scaled when tagged).
    """

    key: str
    kind: str
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    integer: bool = False
    log: bool = False

    @property
    def enumerable(self) -> bool:
        """Whether the dimension has a finite list of values (choice or range)."""
        return self.kind != "interval"

    def override(self, value: Any) -> str:
        """The command-line override setting this dimension to ``value``."""
        return f"{self.key}={encode(value)}"


@dataclass(frozen=True)
class SearchSpace:
    """Search dimensions in the given order, plus fixed overrides applied to every trial."""

    params: tuple[Param, ...]
    fixed: tuple[str, ...] = field(default=())

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(param.key for param in self.params)

    def __getitem__(self, key: str) -> Param:
        for param in self.params:
            if param.key == key:
                return param
        raise KeyError(key)

    def overrides(self, values: Mapping[str, Any]) -> list[str]:
        """Fixed overrides followed by one override per dimension set in ``values``."""
        return [*self.fixed, *(self[key].override(value) for key, value in values.items())]

    def check_enumerable(self, settings_key: str) -> None:
        """InputError unless every dimension is a choice or a range."""
        for param in self.params:
            if not param.enumerable:
                raise InputError(
                    f"{settings_key}.{param.key}: this search enumerates its space; use "
                    f"choice() or range(), not interval()"
                )

    def grid(self, settings_key: str) -> Iterator[dict[str, Any]]:
        """Every combination of the dimensions' values (all must be choice or range)."""
        self.check_enumerable(settings_key)
        for combination in product(*(param.values for param in self.params)):
            yield dict(zip(self.keys, combination, strict=True))


def parse_space(
    params: Mapping[str, Any] | None, arguments: Sequence[str] = (), settings_key: str = "params"
) -> SearchSpace:
    """The search space of a sweeper's ``params`` mapping and the command-line ``arguments``.

    Command-line sweeps add dimensions (or replace one of the same key); other command-line
    overrides are fixed. ``settings_key`` names the mapping in error messages. An empty space,
    a malformed expression or a dimension over a reserved key (``seed``) is an InputError.
    """
    lines = [
        f"{key}={_as_override_value(value, f'{settings_key}.{key}')}"
        for key, value in (params or {}).items()
    ]
    parser = OverridesParser.create()
    dimensions: dict[str, Param] = {}
    fixed: list[str] = []
    for line in [*lines, *arguments]:
        override = _parse(parser, line, settings_key)
        if not override.is_sweep_override():
            fixed.append(line)
            continue
        key = override.get_key_element()
        if key in RESERVED_KEYS:
            raise InputError(
                f"{settings_key}.{key}: set by the search (one seed per repeat), not searchable"
            )
        dimensions[key] = _param(key, override, settings_key)
    if not dimensions:
        raise InputError(
            f"{settings_key}: the search space is empty (give at least one choice(), range() "
            f"or interval())"
        )
    return SearchSpace(tuple(dimensions.values()), tuple(fixed))


def check_keys_exist(space: SearchSpace, config: DictConfig, settings_key: str) -> None:
    """Every dimension must name a key (or a config group) of the composed ``config``."""
    for key in space.keys:
        if OmegaConf.select(config, key, default=_MISSING) is _MISSING:
            raise InputError(f"{settings_key}.{key}: not a key of the config")


_MISSING = object()


def _as_override_value(value: Any, key: str) -> str:
    """YAML values: strings are override expressions, anything else a fixed value."""
    if isinstance(value, str):
        return value
    if isinstance(value, DictConfig | Mapping):
        raise InputError(f"{key}: a mapping is neither a sweep nor a value; give dotted keys")
    return encode(OmegaConf.to_container(value) if OmegaConf.is_config(value) else value)


def _parse(parser: OverridesParser, line: str, settings_key: str) -> Override:
    try:
        (override,) = parser.parse_overrides([line])
    except HydraException as error:
        raise InputError(f"{settings_key}: cannot parse {line!r}: {error}") from error
    prefixed = override.is_add() or override.is_force_add() or override.is_delete()
    if prefixed and override.is_sweep_override():
        raise InputError(
            f"{settings_key}.{override.key_or_group}: search dimensions must name "
            f"existing keys (no +, ++ or ~ prefix)"
        )
    return override


def _param(key: str, override: Override, settings_key: str) -> Param:
    sweep = override.value()
    if isinstance(sweep, ChoiceSweep):
        values = tuple(override.sweep_iterator())
        return Param(key, "choice", values=values)
    if isinstance(sweep, RangeSweep):
        values = tuple(override.sweep_iterator())
        if not values:
            raise InputError(f"{settings_key}.{key}: {override.input_line!r} is an empty range")
        return Param(key, "range", values=values, low=min(values), high=max(values))
    if isinstance(sweep, IntervalSweep):
        low, high = sweep.start, sweep.end
        if not low < high:
            raise InputError(f"{settings_key}.{key}: interval needs low < high, got {low}, {high}")
        log = "log" in sweep.tags
        if log and low <= 0:
            raise InputError(f"{settings_key}.{key}: a log interval needs low > 0, got {low}")
        integer = isinstance(low, int)  # int(interval(...)) casts both ends
        return Param(key, "interval", low=low, high=high, integer=integer, log=log)
    raise InputError(f"{settings_key}.{key}: unsupported sweep {override.input_line!r}")
