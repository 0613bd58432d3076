"""`ldos-surrogate import-mala DIR --energy-grid START SPACING COUNT --rcut R --twojmax J
--out DATASET`: a MALA-format data set into the snapshot store and the descriptor cache."""

from __future__ import annotations

import argparse

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala_import import import_mala_dataset
from ldos_surrogate.io.open import add_energy_grid_argument, energy_grid_from_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-mala",
        help="import a MALA-format data set into the snapshot store and descriptor cache",
    )
    parser.add_argument("mala_dir", help="folder with <prefix>.in.npy, .out.npy, .info.json")
    add_energy_grid_argument(parser)
    parser.add_argument("--out", required=True, help="data set folder to write")
    parser.add_argument(
        "--rcut", type=float, required=True, help="SNAP cutoff of MALA's features (Angstrom)"
    )
    parser.add_argument("--twojmax", type=int, required=True, help="SNAP 2 J_max of the features")
    parser.add_argument("--cache-dir", help="descriptor cache folder (default: in each snapshot)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    energy_grid = energy_grid_from_argument(args.energy_grid)
    if energy_grid is None:
        raise InputError("--energy-grid: required, MALA files do not store the energy grid")
    snapshots = import_mala_dataset(
        args.mala_dir, energy_grid, args.out, args.rcut, args.twojmax, args.cache_dir
    )
    for snapshot in snapshots:
        print(snapshot.path)
    return 0
