"""Prediction at growing length scales against Quantum ESPRESSO: where the surrogate overtakes DFT.

Perfect fcc Al cells (a = 4.05 Angstrom, conventional cell repeated n x n x n: 4 n^3 atoms)
are predicted by `LdosPredictor.predict` (what ``ldos-surrogate predict`` runs) with a model
trained on real data, on the grid of the model's training spacing, one torch thread. Each case
runs in a fresh process; the table gives the wall time per stage (descriptors, network, DOS
and density, Eq. 7), the process's wall and CPU time, its peak resident memory (VmHWM), grid
points per CPU second and the per-atom total free energy, which for perfect repeated cells
must equal the 4-atom cell's (a physics consistency check).

The baseline is measured in the same run: a pw.x SCF (the DFT run that gives the total free
energy) with the settings of the 32-atom research set (12 Ry, Fermi-Dirac smearing at 298 K,
the k-point density of 8 x 8 x 8 per conventional cell, no symmetry, 2 MPI processes) on
the 4- and 32-atom cells (more with ``--qe-repeats``). The two give QE's growth exponent
t ~ N^p, which extrapolates QE's time to the larger cells. The machine is shared, so times
are compared as CPU time: the surrogate's one process (its time on one idle core) against
QE's CPU time per process (its time on two idle cores); wall times are listed beside. On a
heavily contended machine pw.x's CPU time is inflated too (its MPI ranks spin while they wait
for each other): measure QE on a quiet machine.

Run pw.x niced (``nice -n 10`` on the whole script); its timings are cached in ``--scratch``
(one JSON per cell, with the load average it ran under), as are the prediction cases, whose
pieces wait there too, so a killed run resumes.

    nice -n 10 .venv/bin/python benchmarks/predict_scaling.py --scratch SCRATCH --repeats 1 2 4 6 8
    .venv/bin/python benchmarks/predict_scaling.py --quick   # CI: no QE, see below

``--quick`` (the CI smoke test) trains the model for one epoch, predicts the 4-atom cell only
and runs no pw.x (its baseline takes minutes): it checks the pipeline and the electron count
of the predicted density, not the speed against QE. Writes ``<out>/predict_scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from harness import (
    REPO,
    arguments,
    children_cpu_seconds,
    resident_mb,
    scratch_dir,
    timed,
    write_outputs,
)

from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.dataset import DatagenSettings
from ldos_surrogate.datagen.elements import element
from ldos_surrogate.datagen.qe import QeRunner
from ldos_surrogate.io.atomic import atomic_write_text
from ldos_surrogate.physics.dos import cell_volume

QE_PROCESSES = 2


def perfect_cell(repeat: int):
    """Perfect fcc Al, the conventional cell (a = 4.05 Angstrom) repeated ``repeat`` times."""
    return element("Al").supercell(repeat)


def qe_scf_seconds(repeat: int, scratch: Path) -> dict:
    """Wall time of pw.x SCF on the perfect cell, cached as ``scratch/qe_<repeat>.json``."""
    cached = scratch / f"qe_{repeat}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    settings = DatagenSettings(element="Al", supercell=repeat, temperature_k=298.0)
    atoms = perfect_cell(repeat)
    workdir = Path(tempfile.mkdtemp(prefix=f"qe_{repeat}.", dir=scratch))
    load_before = os.getloadavg()[0]
    cpu_before = children_cpu_seconds()
    runner = QeRunner(mpi_processes=QE_PROCESSES)
    pw = settings.pw_settings(Path(settings.pseudo_dir), settings.k_mesh)
    scf, seconds = timed(dft.run_pw, atoms, pw, runner, workdir, "scf")
    result = {
        "n_atoms": len(atoms),
        "k_mesh": list(settings.k_mesh),
        "scf_wall_s": seconds,
        "scf_cpu_s": children_cpu_seconds() - cpu_before,
        "total_free_energy_ev_per_atom": scf.energies["total_free_energy"] / len(atoms),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "processes": QE_PROCESSES,
    }
    atomic_write_text(cached, json.dumps(result, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def trained_checkpoint(scratch: Path, *overrides: str) -> Path:
    """The default model trained on the shipped 4-atom set (snapshots 0-4), once per scratch
    folder: ``train.py`` as the README runs it (with ``overrides``), CSV logger."""
    run_dir = scratch / "model"
    best = run_dir / "checkpoints" / "best.ckpt"
    if not best.exists():
        subprocess.run(
            [
                sys.executable,
                str(REPO / "train.py"),
                f"hydra.run.dir={run_dir}",
                "logger=csv",
                *overrides,
            ],
            check=True,
            cwd=REPO,
        )
    return best


def predict_case(
    repeat: int, checkpoint: Path, device: str, memory_mb: float, scratch: Path
) -> dict:
    """One prediction in this (fresh) process: stage times, peak memory, per-atom energies.
    Its pieces wait in ``scratch/pieces_<repeat>``, so a killed case resumes (the stage
    times then count only the work done in this process)."""
    from ldos_surrogate.models.predictor import LdosPredictor

    torch.set_num_threads(1)
    atoms = perfect_cell(repeat)

    def predict():
        predictor = LdosPredictor.from_checkpoint(checkpoint, device=device)
        pieces = scratch / f"pieces_{device}_{repeat}"
        return predictor.predict(atoms, memory_budget_mb=memory_mb, work_dir=pieces)

    prediction, wall = timed(predict)
    summary = prediction.energies_json()
    volume_per_point = cell_volume(atoms.cell.array) / prediction.density.size
    return {
        "repeat": repeat,
        "n_atoms": len(atoms),
        "grid_shape": summary["grid_shape"],
        "points": int(np.prod(summary["grid_shape"])),
        "device": device,
        "memory_budget_mb": memory_mb,
        "wall_s": wall,
        "cpu_s": time.process_time(),
        "stages_s": prediction.timings_s,
        "peak_rss_mb": resident_mb("VmHWM"),
        "n_electrons": summary["n_electrons"],
        "electrons_in_density": float(prediction.density.sum() * volume_per_point),
        "energies_ev_per_atom": summary["energies_ev_per_atom"],
        "fermi_energy_ev": summary["energies_ev"]["fermi_energy_ev"],
        "ood_fraction": summary["out_of_distribution"]["fraction_outside_training_range"],
        "load_average": os.getloadavg()[0],
    }


def cached_case(repeat: int, args: argparse.Namespace, checkpoint: Path) -> dict:
    """`predict_case` in a fresh process, cached as ``scratch/predict_<device>_<repeat>.json``."""
    cached = args.scratch / f"predict_{args.device}_{repeat}.json"
    if not cached.exists():
        command = [
            sys.executable,
            __file__,
            "--case",
            str(repeat),
            "--checkpoint",
            str(checkpoint),
            "--device",
            args.device,
            "--memory-mb",
            str(args.memory_mb),
            "--scratch",
            str(args.scratch),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        atomic_write_text(cached, output.strip().splitlines()[-1])
    return json.loads(cached.read_text())


def qe_seconds(result: dict) -> float:
    """QE's SCF time on the 2 cores of an idle machine: its CPU time over its processes
    (the machine is shared, so wall time measures the other jobs too)."""
    return result["scf_cpu_s"] / result["processes"]


def qe_exponent(qe: list[dict]) -> float:
    """p of t ~ N^p from the two largest QE cells."""
    small, large = sorted(qe, key=lambda r: r["n_atoms"])[-2:]
    return math.log(qe_seconds(large) / qe_seconds(small)) / math.log(
        large["n_atoms"] / small["n_atoms"]
    )


def table(cases: list[dict], qe: list[dict]) -> str:
    """The markdown table: stages, memory, rate, per-atom energies, QE measured/extrapolated.
    Times compared are CPU times: the surrogate's one process (one core), QE's per process."""
    reference = cases[0]["energies_ev_per_atom"]["total_free_energy_ev"]
    exponent = qe_exponent(qe)
    measured = {r["n_atoms"]: qe_seconds(r) for r in qe}
    largest = max(qe, key=lambda r: r["n_atoms"])
    lines = [
        "| atoms | grid | descriptors s | network s | DOS + density s | Eq. 7 s | wall s | "
        "CPU s | peak RSS MB | points per CPU s | A eV/atom | A - A(4 atoms) meV/atom | "
        "QE SCF s (2 cores) | QE / surrogate |",
        "|" + "---|" * 14,
    ]
    for case in cases:
        stages = case["stages_s"]
        n_atoms = case["n_atoms"]
        energy = case["energies_ev_per_atom"]["total_free_energy_ev"]
        if n_atoms in measured:
            qe_s, qe_note = measured[n_atoms], ""
        else:
            qe_s = qe_seconds(largest) * (n_atoms / largest["n_atoms"]) ** exponent
            qe_note = " (extrapolated)"
        lines.append(
            f"| {n_atoms} | {'x'.join(map(str, case['grid_shape']))} | "
            f"{stages.get('descriptors', 0):.1f} | {stages.get('network', 0):.1f} | "
            f"{stages.get('dos_and_density', 0):.1f} | {stages.get('total_energy', 0):.2f} | "
            f"{case['wall_s']:.1f} | {case['cpu_s']:.1f} | {case['peak_rss_mb']:.0f} | "
            f"{case['points'] / case['cpu_s']:.0f} | {energy:.9f} | "
            f"{1000 * (energy - reference):.1e} | {qe_s:.0f}{qe_note} | "
            f"{qe_s / case['cpu_s']:.3g} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", type=Path, help="default: train one on data/al_fcc_298K")
    parser.add_argument("--repeats", type=int, nargs="+", default=[1, 2, 4, 6, 8])
    parser.add_argument("--qe-repeats", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--memory-mb", type=float, default=1024.0)
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = arguments(__doc__.splitlines()[0], parser)  # --scratch: cached timings, the model
    args.scratch = scratch_dir(args)
    if args.quick:
        args.repeats, args.qe_repeats = [1], []
    if args.case is not None:
        case = predict_case(args.case, args.checkpoint, args.device, args.memory_mb, args.scratch)
        print(json.dumps(case))
        return
    quick_training = ("trainer.max_epochs=1",) if args.quick else ()
    checkpoint = args.checkpoint or trained_checkpoint(args.scratch, *quick_training)
    cases = []
    for repeat in args.repeats:
        cases.append(cached_case(repeat, args, checkpoint))
        print(json.dumps(cases[-1]), flush=True)
    qe = [qe_scf_seconds(repeat, args.scratch) for repeat in args.qe_repeats]
    if len(qe) >= 2:  # QE's growth exponent needs two cells
        print(table(cases, qe))
        print(f"QE growth exponent (SCF time ~ N^p): p = {qe_exponent(qe):.2f}")
    path = write_outputs("predict_scaling", args.out, {"cases": cases, "qe": qe})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
