"""Peak memory and batch rate of LdosDataModule, lazy (larger than budget) vs in memory.

MALA's Be2 snapshots (18 x 18 x 27 points, 91 descriptors + 11 LDOS values each, 3.6 MB)
are imported into a temporary store and copied under new names until the training data
is several times the memory budget. Each case runs in a fresh process that reports its
resident memory before `setup` and its peak (VmHWM) over `setup` plus one training epoch:

- in memory, large set: the baseline, the whole large set held in memory;
- lazy, large set: the same data through a 256 MB budget;
- in memory / lazy, small set: batch rates on a set that fits the budget.

Run: .venv/bin/python benchmarks/datamodule_memory.py [--copies 140] [--batch-size 4096]
(torch uses one thread so the rates do not depend on other load on the machine).
``--quick`` (the CI smoke test): 4 copies, a 1-copy small set and a 32 MB budget.
Writes ``<out>/datamodule_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from harness import (
    BE2,
    BE2_DESCRIPTORS,
    arguments,
    be2_store,
    resident_mb,
    timed,
    write_outputs,
)

BE2_NAMES = [f"Be_snapshot{i}" for i in range(4)]


def build_store(root: Path, copies: int) -> tuple[Path, list[str]]:
    """Be2 imported once, then its snapshot folders (with cached descriptors) copied."""
    from ldos_surrogate.io.store import add_to_manifest

    store = root / "store"
    be2_store(store)
    names = list(BE2_NAMES)
    for copy in range(1, copies):
        for name in BE2_NAMES:
            shutil.copytree(store / name, store / f"{name}_{copy}")
            add_to_manifest(store, f"{name}_{copy}")
            names.append(f"{name}_{copy}")
    return store, names


def one_epoch(batches: Iterable) -> tuple[int, int]:
    """Batches and grid points of one pass over ``batches``."""
    n_batches = n_points = 0
    for inputs, _ in batches:
        n_batches += 1
        n_points += len(inputs)
    return n_batches, n_points


def run_case(store: str, names: list[str], budget_mb: float, batch_size: int) -> dict:
    """One epoch over ``names``; runs in its own process (see main)."""
    import torch

    from ldos_surrogate.data.datamodule import LdosDataModule

    torch.set_num_threads(1)
    before = resident_mb()
    datamodule = LdosDataModule(
        store,
        train=names,
        val=[],
        descriptor_params=BE2_DESCRIPTORS,
        batch_size=batch_size,
        memory_budget_mb=budget_mb,
    )
    _, setup_s = timed(datamodule.setup, "fit")
    (n_batches, n_points), epoch_s = timed(one_epoch, datamodule.train_dataloader())
    data_mb = n_points * datamodule.bytes_per_point / 2**20
    return {
        "mode": "in memory" if datamodule.in_memory else "lazy",
        "data_mb": data_mb,
        "budget_mb": budget_mb,
        "rss_before_mb": before,
        "peak_rss_mb": resident_mb("VmHWM"),
        "setup_s": setup_s,
        "batches_per_s": n_batches / epoch_s,
        "points_per_s": n_points / epoch_s,
    }


def in_subprocess(store: Path, names: list[str], budget_mb: float, batch_size: int) -> dict:
    case = json.dumps([str(store), names, budget_mb, batch_size])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    output = subprocess.run(
        [sys.executable, __file__, "--case", case],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=140, help="copies of the 4 Be2 snapshots")
    parser.add_argument("--small-copies", type=int, default=10)
    parser.add_argument("--budget-mb", type=float, default=256.0)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = arguments(__doc__.splitlines()[0], parser)
    if args.case:
        print(json.dumps(run_case(*json.loads(args.case))))
        return
    if args.quick:
        args.copies, args.small_copies, args.budget_mb = 4, 1, 32.0
    if not (BE2 / "Be_snapshot0.info.json").exists():
        sys.exit(f"MALA Be2 data not found at {BE2}")
    with tempfile.TemporaryDirectory() as tmp:
        store, names = build_store(Path(tmp), args.copies)
        small = names[: 4 * args.small_copies]
        large_bytes = len(names) * 8748 * 102 * 4
        cases = [
            ("in memory, large set (baseline)", names, 2 * large_bytes / 2**20),
            ("lazy, large set", names, args.budget_mb),
            ("in memory, small set", small, args.budget_mb),
            ("lazy, small set", small, args.budget_mb / 8),
        ]
        results = [(label, in_subprocess(store, n, b, args.batch_size)) for label, n, b in cases]
    baseline = results[0][1]
    print(f"batch size {args.batch_size}, torch threads 1")
    columns = ["case", "mode", "data MB", "budget MB", "peak RSS MB", "peak - start MB"]
    columns += ["peak / baseline", "batches/s", "points/s"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for label, r in results:
        growth = r["peak_rss_mb"] - r["rss_before_mb"]
        print(
            f"| {label} | {r['mode']} | {r['data_mb']:.0f} | {r['budget_mb']:.0f} | "
            f"{r['peak_rss_mb']:.0f} | {growth:.0f} | "
            f"{r['peak_rss_mb'] / baseline['peak_rss_mb']:.2f} | {r['batches_per_s']:.0f} | "
            f"{r['points_per_s']:.3g} |"
        )
    lazy, in_memory_small, lazy_small = (r for _, r in results[1:])
    peak_ratio = lazy["peak_rss_mb"] / baseline["peak_rss_mb"]
    print(
        f"lazy / in-memory on the large set: peak RSS {peak_ratio:.3f}, "
        f"batch rate {lazy['batches_per_s'] / baseline['batches_per_s']:.2f}"
    )
    print(
        f"lazy / in-memory on the small set: batch rate "
        f"{lazy_small['batches_per_s'] / in_memory_small['batches_per_s']:.2f}"
    )
    payload = {
        "mode": "quick" if args.quick else "full",
        "copies": args.copies,
        "small_copies": args.small_copies,
        "batch_size": args.batch_size,
        "torch_threads": 1,
        "cases": dict(results),
        "lazy_over_in_memory_large": {
            "peak_rss": peak_ratio,
            "batch_rate": lazy["batches_per_s"] / baseline["batches_per_s"],
        },
        "lazy_over_in_memory_small_batch_rate": (
            lazy_small["batches_per_s"] / in_memory_small["batches_per_s"]
        ),
    }
    print(f"wrote {write_outputs('datamodule_memory', args.out, payload)}")


if __name__ == "__main__":
    main()
