"""`ldos-surrogate predict CHECKPOINT ATOMS_FILE [--grid NX NY NZ] [--out DIR]`.

SNAP descriptors of the atoms (LAMMPS, in pieces that fit ``--memory-mb``), the LDOS from
the trained network piece by piece, the density (Eq. 6) and the energies (Eq. 5-7); writes
``DIR/density.cube`` and ``DIR/energies.json`` (with the out-of-distribution count), and
``DIR/ldos.npy`` with ``--save-ldos``. The grid defaults to the training spacing of the
checkpoint. Under ``mpiexec -n N`` the ranks share the pieces; rank 0 writes and prints.
While it runs, the pieces' descriptors are kept in ``DIR/.pieces`` so that the same command
resumes a killed run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import ase.io

from ldos_surrogate.errors import InputError
from ldos_surrogate.models.ood import DEFAULT_OOD_THRESHOLD
from ldos_surrogate.models.predictor import LDOS_NPY, LdosPredictor
from ldos_surrogate.models.streaming import DEFAULT_MEMORY_BUDGET_MB
from ldos_surrogate.mpi import processes

PIECES_DIR = ".pieces"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict density (cube), energies and optionally the LDOS of atoms"
    )
    parser.add_argument("checkpoint", help="checkpoint written by train.py (.ckpt)")
    parser.add_argument("atoms_file", help="atoms in any ASE-readable format (extxyz, POSCAR...)")
    parser.add_argument(
        "--grid",
        nargs=3,
        type=int,
        metavar=("NX", "NY", "NZ"),
        help="real-space grid points along the three cell vectors "
        "(default: the training grid spacing of the checkpoint)",
    )
    parser.add_argument(
        "--out",
        help="output folder (default: <atoms file name without suffix>_prediction next to it)",
    )
    parser.add_argument("--device", default="cpu", help="torch device for the network (cuda)")
    parser.add_argument(
        "--memory-mb",
        type=float,
        default=DEFAULT_MEMORY_BUDGET_MB,
        help="MiB the grid arrays of one piece may use (default %(default)g)",
    )
    parser.add_argument(
        "--save-ldos", action="store_true", help=f"also write the LDOS to DIR/{LDOS_NPY}"
    )
    parser.add_argument(
        "--ood-threshold",
        type=float,
        default=DEFAULT_OOD_THRESHOLD,
        help="warn when more than this fraction of grid points lies outside the training "
        "descriptor range (default %(default)g)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
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


def output_folder(atoms_file: str | Path, out: str | None) -> Path:
    """``--out``, or ``<stem>_prediction`` beside the atoms file."""
    if out:
        return Path(out)
    atoms_path = Path(atoms_file)
    return atoms_path.with_name(f"{atoms_path.stem}_prediction")


def run(args: argparse.Namespace) -> int:
    if args.grid is not None and min(args.grid) < 1:
        raise InputError(f"--grid: need three positive integers, got {args.grid}")
    if not args.memory_mb > 0:
        raise InputError(f"--memory-mb: must be positive, got {args.memory_mb}")
    if not 0.0 <= args.ood_threshold <= 1.0:
        raise InputError(f"--ood-threshold: must lie in [0, 1], got {args.ood_threshold}")
    ranks = processes()
    atoms = read_atoms(args.atoms_file)
    predictor = LdosPredictor.from_checkpoint(args.checkpoint, device=args.device)
    out_dir = output_folder(args.atoms_file, args.out)
    prediction = predictor.predict(
        atoms,
        None if args.grid is None else tuple(args.grid),
        memory_budget_mb=args.memory_mb,
        work_dir=out_dir / PIECES_DIR,
        ldos_path=out_dir / LDOS_NPY if args.save_ldos else None,
        ood_threshold=args.ood_threshold,
        progress=not args.quiet,
        ranks=ranks,
    )
    if ranks.rank != 0:
        return 0
    cube, energies = prediction.write(out_dir)
    for line in prediction.warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(json.dumps(prediction.energies_json(), indent=2))
    stages = ", ".join(
        f"{stage} {seconds:.1f} s" for stage, seconds in prediction.timings_s.items()
    )
    print(f"wall time per stage (rank 0 of {ranks.size}): {stages}")
    written = [cube, energies] + ([out_dir / LDOS_NPY] if args.save_ldos else [])
    print(f"wrote {', '.join(map(str, written))}")
    return 0
