"""`ldos-surrogate cache-descriptors DATA_SET --rcut R --twojmax J --workers N`: the SNAP
descriptors of every snapshot of a data set, N snapshots at a time.

Prints one cache file per snapshot, in manifest order. Training reads the same cache, so a
data set prepared this way trains without waiting for LAMMPS. To split each snapshot's grid
over processes as well, run the single-snapshot command under ``mpiexec``
(``ldos-surrogate descriptors``).
"""

from __future__ import annotations

import argparse

from ldos_surrogate.descriptors.batch import cache_dataset_descriptors
from ldos_surrogate.descriptors.params import DEFAULT_RFAC0, SnapParams


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache-descriptors",
        help="compute (or reuse) the SNAP descriptors of every snapshot of a data set",
        description=__doc__,
    )
    parser.add_argument("dataset", help="data set folder (snapshot folders + manifest.json)")
    parser.add_argument("--rcut", type=float, required=True, help="cutoff radius, Angstrom")
    parser.add_argument("--twojmax", type=int, required=True, help="band limit 2 J_max")
    parser.add_argument("--rfac0", type=float, default=DEFAULT_RFAC0, help="default %(default)s")
    parser.add_argument(
        "--workers", type=int, default=1, help="snapshots computed at once (default 1)"
    )
    parser.add_argument(
        "--cache-dir", help="cache folder (default: <snapshot folder>/.descriptor_cache)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    params = SnapParams(rcut=args.rcut, twojmax=args.twojmax, rfac0=args.rfac0)
    for path in cache_dataset_descriptors(args.dataset, params, args.workers, args.cache_dir):
        print(path)
    return 0
