"""`ldos-surrogate predict CHECKPOINT ATOMS_FILE --grid NX NY NZ [--out DIR]`.

SNAP descriptors of the atoms on the grid (LAMMPS), the LDOS from the trained network, the
density (Eq. 6) and the energies; writes ``DIR/density.cube`` and ``DIR/energies.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ase.io

from ldos_surrogate.errors import InputError
from ldos_surrogate.models.predictor import LdosPredictor


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict LDOS, density (cube) and energies of atoms with a checkpoint"
    )
    parser.add_argument("checkpoint", help="checkpoint written by train.py (.ckpt)")
    parser.add_argument("atoms_file", help="atoms in any ASE-readable format (extxyz, POSCAR...)")
    parser.add_argument(
        "--grid",
        nargs=3,
        type=int,
        required=True,
        metavar=("NX", "NY", "NZ"),
        help="real-space grid points along the three cell vectors",
    )
    parser.add_argument(
        "--out", help="output folder (default: prediction_<atoms file name> next to it)"
    )
    parser.add_argument("--device", default="cpu", help="torch device for the network")
    parser.set_defaults(func=run)


def read_atoms(path: str | Path) -> ase.Atoms:
    """The (last) structure of an ASE-readable file; InputError naming it on failure."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: atoms file not found")
    try:
        return ase.io.read(path)
    except Exception as error:  # ASE raises many types for unreadable files
        raise InputError(f"{path}: not a readable atoms file ({error})") from error


def run(args: argparse.Namespace) -> int:
    if min(args.grid) < 1:
        raise InputError(f"--grid: need three positive integers, got {args.grid}")
    atoms = read_atoms(args.atoms_file)
    predictor = LdosPredictor.from_checkpoint(args.checkpoint, device=args.device)
    prediction = predictor.predict(atoms, tuple(args.grid))
    atoms_path = Path(args.atoms_file)
    out_dir = Path(args.out) if args.out else atoms_path.with_name(f"prediction_{atoms_path.name}")
    cube, energies = prediction.write(out_dir)
    print(json.dumps(prediction.energies_json(), indent=2))
    print(f"wrote {cube} and {energies}")
    return 0
