"""The work this project shares with MALA 1.4.0, both in one process on the same data.

MALA's Be2 test set (tests/reference/mala_be2). Four comparisons, each the routine of the
dedicated benchmark (imported from it, see benchmarks/README.md for their details):

1. band energy of snapshot 0 from its LDOS (``postprocessing.py``): DOS, self-consistent
   Fermi level, band energy; values and median seconds;
2. NASWOT scoring of the same 20 candidates (``naswot_vs_mala.py``): score agreement and
   candidates per second, T = 5 initialisations, 64 grid points;
3. training throughput for the same network and data (``training_throughput.py``);
4. ACSD on the same arrays and the same pairs (``acsd_speed.py``).

Ratio = MALA's seconds / ours (> 1: this project is faster). MALA is a benchmark-only extra
(``pip install -e .[bench]``), never needed at run time.

    .venv/bin/python benchmarks/vs_mala.py --quick   # small repeats and epochs: CI smoke test
    .venv/bin/python benchmarks/vs_mala.py           # the settings of the dedicated benchmarks

Writes ``<out>/vs_mala.json`` and ``<out>/vs_mala.png``.
"""

from __future__ import annotations

import contextlib
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import acsd_speed
import matplotlib.pyplot as plt
import naswot_vs_mala
import numpy as np
import postprocessing
import torch
import training_throughput
from harness import (
    BE2_ENERGY_GRID,
    arguments,
    be2_store,
    best_of,
    median_of,
    timed,
    write_outputs,
)

from ldos_surrogate.io.open import open_snapshot
from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.dos import density_of_states
from ldos_surrogate.scores.acsd import acsd, acsd_of_pairs


def band_energy(repeats: int) -> dict[str, Any]:
    snapshot = open_snapshot(str(postprocessing.BE2_SNAPSHOT), BE2_ENERGY_GRID)
    meta = snapshot.meta
    ldos = np.array(snapshot.ldos())

    def ours() -> tuple[float, float]:
        terms = band_terms(
            density_of_states(ldos, meta.cell),
            meta.energy_grid.energies,
            meta.temperature_k,
            meta.n_electrons,
        )
        return terms.fermi_energy_ev, terms.band_energy_ev

    (fermi, band), ours_s = median_of(repeats, ours)
    (mala_fermi, mala_band), mala_s = median_of(
        repeats, postprocessing.mala_band_energy(snapshot, ldos)
    )
    return {
        "fermi_energy_ev": {"ours": fermi, "mala": float(mala_fermi)},
        "band_energy_ev": {"ours": band, "mala": float(mala_band)},
        "band_energy_diff_mev_per_atom": 1000 * abs(band - float(mala_band)) / 2,
        "ours_s": ours_s,
        "mala_s": mala_s,
        "ratio": mala_s / ours_s,
    }


def naswot(repeats: int, batch_points: int = 64, n_inits: int = 5) -> dict[str, Any]:
    architectures = naswot_vs_mala.candidates()
    batch = naswot_vs_mala.be2_batch(batch_points)
    params, data_handler = naswot_vs_mala.mala_setup(batch_points, n_inits)
    agreement = naswot_vs_mala.compare_scores(
        naswot_vs_mala.mala_networks(params, architectures), batch
    )
    seconds = naswot_vs_mala.interleaved_best_seconds(
        {
            "mala": naswot_vs_mala.mala_trials(params, data_handler, architectures),
            "ours": lambda: naswot_vs_mala.our_scores(batch, architectures, n_inits, True),
        },
        repeats,
    )
    return {
        "candidates": len(architectures),
        "batch_points": batch_points,
        "n_inits": n_inits,
        "max_rel_diff_float32": agreement["max_rel_diff_float32"],
        "max_rel_diff_float64": agreement["max_rel_diff_float64"],
        "kendall_tau": agreement["kendall_tau_float32"],
        "ours_candidates_per_s": len(architectures) / seconds["ours"],
        "mala_candidates_per_s": len(architectures) / seconds["mala"],
        "ours_s": seconds["ours"],
        "mala_s": seconds["mala"],
        "ratio": seconds["mala"] / seconds["ours"],
    }


def training(epochs: int, widths: list[int], repeats: int, batch_size: int = 1024) -> dict:
    ours, theirs = float("inf"), float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "be2"
        be2_store(store)
        with contextlib.chdir(tmp):  # MALA writes checkpoint and log files there
            for _ in range(repeats):
                ours = min(
                    ours, training_throughput.train_ours(store, epochs, batch_size, widths, 0)
                )
                theirs = min(theirs, training_throughput.train_mala(epochs, batch_size, widths, 0))
    points = len(training_throughput.TRAIN) * 18 * 18 * 27 * epochs
    return {
        "network": [91, *widths, 11],
        "epochs": epochs,
        "batch_size": batch_size,
        "ours_points_per_s": points / ours,
        "mala_points_per_s": points / theirs,
        "ours_s": ours,
        "mala_s": theirs,
        "ratio": theirs / ours,
    }


def acsd_comparison(repeats: int, large_grid: bool, n_points: int = 100) -> dict[str, Any]:
    results = {}
    for name, (descriptors, ldos) in acsd_speed.grids(supercell=large_grid).items():
        theirs, first, second, mala_s = acsd_speed.mala_acsd(descriptors, ldos, n_points)
        ours_value = acsd_of_pairs(descriptors, ldos, first, second, "mala")
        _, ours_s = best_of(repeats, partial(acsd, descriptors, ldos, n_points, variant="mala"))
        results[name] = {
            "n_points": n_points,
            "mala_value": theirs,
            "ours_value_same_pairs": ours_value,
            "rel_diff": abs(ours_value - theirs) / theirs,
            "ours_s": ours_s,
            "mala_s": mala_s,
            "ratio": mala_s / ours_s,
        }
    return results


def plot(payload: dict[str, Any], path: Path) -> None:
    labels, ratios = [], []
    for name in ("band_energy", "naswot", "training"):
        labels.append(name.replace("_", " "))
        ratios.append(payload[name]["ratio"])
    for grid, result in payload["acsd"].items():
        labels.append(f"ACSD {grid.split(',')[0]}")
        ratios.append(result["ratio"])
    figure, ax = plt.subplots(figsize=(7, 4))
    ax.bar(labels, ratios, color="tab:blue")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("MALA 1.4.0 seconds / ours (log scale)")
    ax.set_title(f"same work, same process, Be2 ({payload['mode']})")
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def measurements(quick: bool) -> dict[str, Any]:
    """The four comparisons, with the quick or the full settings."""
    return {
        "mode": "quick" if quick else "full",
        "torch_threads": 1,
        "band_energy": band_energy(repeats=5 if quick else 20),
        "naswot": naswot(repeats=1 if quick else 5),
        "training": training(
            epochs=1 if quick else 5,
            widths=[100] if quick else [400, 400],
            repeats=1 if quick else 2,
        ),
        "acsd": acsd_comparison(repeats=1 if quick else 3, large_grid=not quick),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    torch.set_num_threads(1)
    payload, payload["wall_s_total"] = timed(measurements, args.quick)
    path = write_outputs("vs_mala", args.out, payload)
    plot(payload, args.out / "vs_mala.png")
    for name in ("band_energy", "naswot", "training"):
        print(f"{name:12s} MALA/ours = {payload[name]['ratio']:.2f}")
    for grid, result in payload["acsd"].items():
        print(
            f"ACSD {grid:30s} MALA/ours = {result['ratio']:.1f}, rel. diff {result['rel_diff']:.1e}"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
