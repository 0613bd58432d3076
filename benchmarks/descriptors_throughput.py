"""SNAP descriptor throughput: grid points per second, serial and under ``mpiexec -n N``.

Cell: 256-atom fcc Al (4 x 4 x 4 conventional cells, a = 4.05 Angstrom); descriptors
twojmax 10 (91 components), rcut 4.67637 Angstrom; grids 18^3 and 36^3 points.
The serial run in this process is the baseline; the same computation is then started
under ``mpiexec -n N`` (this script with --worker) and checked equal to it. Times are
the wall time of `compute_snap_grid` alone (LAMMPS set-up included, Python start-up not),
best of --repeats runs. The cell is 4 x 4 x 4 copies of one conventional cell, so on a grid
whose side is a multiple of 4 the descriptors repeat with that period: the JSON gives the
largest change under a shift by one conventional cell (a physics check of the array).

    .venv/bin/python benchmarks/descriptors_throughput.py [--grids 18 36] [--nprocs 2] [--repeats 3]
    .venv/bin/python benchmarks/descriptors_throughput.py --quick   # a 12^3 grid once: CI

Writes ``<out>/descriptors_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.build import bulk
from harness import arguments, best_of, timed, write_outputs

from ldos_surrogate.descriptors import SnapParams, compute_snap_grid
from ldos_surrogate.descriptors.snap import world_rank

PARAMS = SnapParams(rcut=4.67637, twojmax=10)
LATTICE_CONSTANT = 4.05  # Angstrom, fcc Al


def aluminium_256():
    return bulk("Al", "fcc", a=LATTICE_CONSTANT, cubic=True).repeat((4, 4, 4))


def snap_grid(points_per_side: int) -> np.ndarray:
    """Descriptors of the Al cell on an n^3 grid."""
    return compute_snap_grid(aluminium_256(), (points_per_side,) * 3, PARAMS)


def worker(points_per_side: int, output: Path) -> None:
    """Run under mpiexec: rank 0 saves the array and prints the seconds as JSON."""
    grid, seconds = timed(snap_grid, points_per_side)
    if world_rank() == 0:
        np.save(output, grid)
        print(json.dumps({"seconds": seconds}))


def timed_mpi_grid(points_per_side: int, nprocs: int) -> tuple[np.ndarray, float]:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "grid.npy"
        command = [str(mpiexec), "-n", str(nprocs), sys.executable, __file__]
        command += ["--worker", str(points_per_side), str(output)]
        run = subprocess.run(command, capture_output=True, text=True, check=True)
        seconds = json.loads(run.stdout.strip().splitlines()[-1])["seconds"]
        return np.load(output), seconds


def max_relative_difference(first: np.ndarray, second: np.ndarray) -> float:
    """max over features of max |first - second| / max |first|."""
    scale = np.abs(first).max(axis=(0, 1, 2))
    return float((np.abs(second - first).max(axis=(0, 1, 2)) / scale).max())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grids", type=int, nargs="+", default=[18, 36])
    parser.add_argument("--nprocs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs each")
    parser.add_argument("--worker", nargs=2, metavar=("N", "OUTPUT"), help=argparse.SUPPRESS)
    args = arguments(__doc__.splitlines()[0], parser)
    if args.worker:
        worker(int(args.worker[0]), Path(args.worker[1]))
        return
    if args.quick:
        args.grids, args.repeats = [12], 1

    print(
        f"256-atom fcc Al, twojmax {PARAMS.twojmax} ({PARAMS.n_features} components), "
        f"rcut {PARAMS.rcut} Angstrom"
    )
    header = (
        f"| grid | points | serial s | serial points/s | mpiexec -n {args.nprocs} s "
        f"| mpiexec -n {args.nprocs} points/s | speed-up MPI/serial | max rel. diff |"
    )
    print(header)
    print("|" + "---|" * 8)
    rows = []
    for n in args.grids:
        serial, serial_s = best_of(args.repeats, snap_grid, n)
        runs = [timed_mpi_grid(n, args.nprocs) for _ in range(args.repeats)]
        parallel, parallel_s = runs[0][0], min(seconds for _, seconds in runs)
        difference = max_relative_difference(serial, parallel)
        points = n**3
        rows.append(
            {
                "grid": n,
                "points": points,
                "serial_s": serial_s,
                "mpi_s": parallel_s,
                "speedup_mpi_over_serial": serial_s / parallel_s,
                "max_rel_diff_mpi_serial": difference,
                "max_rel_change_under_cell_shift": (
                    max_relative_difference(serial, np.roll(serial, n // 4, axis=(0, 1, 2)))
                    if n % 4 == 0
                    else None
                ),
            }
        )
        print(
            f"| {n}^3 | {points} | {serial_s:.2f} | {points / serial_s:.0f} | {parallel_s:.2f} "
            f"| {points / parallel_s:.0f} | {serial_s / parallel_s:.2f} | {difference:.1e} |"
        )

    payload = {
        "mode": "quick" if args.quick else "full",
        "cell": "256-atom fcc Al, a = 4.05 Angstrom",
        "rcut": PARAMS.rcut,
        "twojmax": PARAMS.twojmax,
        "n_features": PARAMS.n_features,
        "nprocs": args.nprocs,
        "repeats": args.repeats,
        "rows": rows,
    }
    print(f"wrote {write_outputs('descriptors_throughput', args.out, payload)}")


if __name__ == "__main__":
    main()
