"""`ldos-surrogate descriptors SNAPSHOT --rcut R --twojmax J`: compute or reuse SNAP descriptors.

Prints the path of the cache file that holds them, (nx, ny, nz, n_features) float32.
Runs under ``mpiexec -n N ldos-surrogate descriptors ...``: LAMMPS splits the grid over
the processes and rank 0 writes the cache and prints.
"""

from __future__ import annotations

import argparse

from ldos_surrogate.descriptors.cache import cached_descriptors, descriptor_cache_path
from ldos_surrogate.descriptors.params import DEFAULT_RFAC0, SnapParams
from ldos_surrogate.descriptors.snap import world_rank
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.open import (
    add_energy_grid_argument,
    energy_grid_from_argument,
    open_snapshot,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "descriptors", help="compute (or reuse from the cache) the SNAP descriptors of a snapshot"
    )
    parser.add_argument(
        "snapshot", help="snapshot folder, or MALA prefix such as data/Be_snapshot0"
    )
    parser.add_argument("--rcut", type=float, required=True, help="cutoff radius, Angstrom")
    parser.add_argument("--twojmax", type=int, required=True, help="band limit 2 J_max")
    parser.add_argument("--rfac0", type=float, default=DEFAULT_RFAC0, help="default %(default)s")
    parser.add_argument(
        "--radelem",
        action="append",
        default=[],
        metavar="ELEMENT=VALUE",
        help="radius factor of an element (repeatable; default 0.5: cutoff = rcut)",
    )
    parser.add_argument(
        "--wj",
        action="append",
        default=[],
        metavar="ELEMENT=VALUE",
        help="neighbour weight of an element (repeatable; default 1.0)",
    )
    parser.add_argument(
        "--cache-dir", help="cache folder (default: <snapshot folder>/.descriptor_cache)"
    )
    add_energy_grid_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    snapshot = open_snapshot(args.snapshot, energy_grid_from_argument(args.energy_grid))
    params = SnapParams(
        rcut=args.rcut,
        twojmax=args.twojmax,
        rfac0=args.rfac0,
        radelem=_per_element_option(args.radelem, "--radelem"),
        wj=_per_element_option(args.wj, "--wj"),
    )
    cached_descriptors(snapshot, params, args.cache_dir)
    if world_rank() == 0:
        print(descriptor_cache_path(snapshot, params, args.cache_dir))
    return 0


def _per_element_option(values: list[str], option: str) -> dict[str, float]:
    """Parse repeated ``ELEMENT=VALUE`` options."""
    parsed = {}
    for value in values:
        symbol, _, number = value.partition("=")
        try:
            parsed[symbol.strip()] = float(number)
        except ValueError as error:
            raise InputError(f"{option}: expected ELEMENT=VALUE, got {value!r}") from error
    return parsed
