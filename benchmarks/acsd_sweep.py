"""ACSD against trained networks over the SNAP hyperparameters (seed Fig. 7/8).

An Rcut sweep at fixed 2 Jmax and a 2 Jmax sweep at fixed Rcut on one data set: the shipped
fcc Al (``al_fcc_298K``, the default), hcp Mg (``mg_hcp_298K``, made by ``ldos-surrogate
datagen``; see data/README.md) or the 32-atom fcc Al set (``al32_298K``, found under
``$LDOS_SURROGATE_DATA``). Per point: the ACSD (seed Eq. 16-17, standardised arrays, 200
grid points per training snapshot; the sweeper's own ``snapshot_acsd`` and
``select_descriptor``) and the test band-energy and total-free-energy MAE (meV/atom) of the
default network trained with several seeds on those descriptors; the total only where Eq. 7
applies (norm-conserving pseudopotentials; Mg's core correction included). Descriptors go to a scratch
cache, so their LAMMPS time is measured. The ACSD choice costs the training snapshots'
descriptors plus the ACSD; the network-based choice the descriptors of every split plus the
trainings; their ratio, and whether both pick the same point, per sweep.

The Rcut grid straddles the neighbour shells of each crystal (switching function on, so a
shell just inside Rcut carries little weight). Al fcc, a = 4.05 Angstrom: shells at 2.86 (12
neighbours), 4.05 (6), 4.96 (24), 5.73 (12); Rcut 2, 3, 4, 4.67637, 5, 6. Mg hcp, a = 3.21,
c = 5.21 Angstrom: shells at 3.20 (12), 4.53 (6), 5.21 (2), 5.55 (18), 6.12 (12); Rcut 2.5,
3.5, 4, 4.67637, 5.5, 6.5. Both sweep 2 Jmax at Rcut = 4.67637 Angstrom (MALA's and the
project's default), which holds the first two shells of either crystal.

    .venv/bin/python benchmarks/acsd_sweep.py --quick   # 3 points, 1 seed: CI smoke test
    .venv/bin/python benchmarks/acsd_sweep.py           # 9 points, 3 seeds
    .venv/bin/python benchmarks/acsd_sweep.py --data mg_hcp_298K
    .venv/bin/python benchmarks/acsd_sweep.py --data al32_298K --scratch DIR   # 10 points

Every point is a resumable step: run again with the same ``--scratch`` after an interrupt.

``--data`` takes a data set's name (a folder of data/) or the path of one whose folder is
named like a known set. Writes ``<out>/acsd_sweep.json`` and ``.png`` for Al,
``<out>/acsd_sweep_<data set>.json`` and ``.png`` for the others.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from harness import (
    AL32_TEST,
    BAND,
    TOTAL,
    arguments,
    compose_train,
    data_location,
    mean_std,
    resumable,
    scratch_dir,
    timed,
    train_quietly,
    write_outputs,
)

from ldos_surrogate.descriptors import SnapParams
from ldos_surrogate.descriptors.cache import cached_descriptors
from ldos_surrogate.io.store import read_snapshot
from ldos_surrogate.search.acsd_search import (
    AcsdPoint,
    AcsdSettings,
    select_descriptor,
    snapshot_acsd,
)

SEED = 42  # of the ACSD draw, as the search's default config seed


@dataclass(frozen=True)
class Sweep:
    base: tuple[str, ...]  # overrides of every training (the experiment)
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    rcuts: tuple[float, ...]  # Angstrom, at twojmax_fixed
    twojmax_fixed: int
    twojmaxes: tuple[int, ...]  # at rcut_fixed
    rcut_fixed: float
    seeds: tuple[int, ...]
    max_epochs: int


AL_QUICK = Sweep(
    base=(),
    train=("snapshot_0000", "snapshot_0001"),
    val=("snapshot_0005",),
    test=("snapshot_0006",),
    rcuts=(3.0, 4.67637),
    twojmax_fixed=4,
    twojmaxes=(2, 4),
    rcut_fixed=4.67637,
    seeds=(0,),
    max_epochs=4,
)
AL_FULL = Sweep(
    base=(),
    train=tuple(f"snapshot_{i:04d}" for i in range(5)),
    val=("snapshot_0005",),
    test=("snapshot_0006", "snapshot_0007"),
    rcuts=(2.0, 3.0, 4.0, 4.67637, 5.0, 6.0),
    twojmax_fixed=6,
    twojmaxes=(2, 4, 6, 8),
    rcut_fixed=4.67637,
    seeds=(0, 1, 2),
    max_epochs=10,
)


@dataclass(frozen=True)
class DataSet:
    """A data set of data/ with the sweep points that fit its crystal."""

    name: str  # the folder's name under data/
    element: str
    output: str  # stem of the JSON and PNG
    datagen: str  # the command that makes the folder, less its --out
    quick: Sweep
    full: Sweep


AL = DataSet(
    name="al_fcc_298K",
    element="Al",
    output="acsd_sweep",  # the name of the first (Al-only) version of this benchmark
    datagen="ldos-surrogate datagen --element Al --supercell 1 --temperature 298 "
    "--snapshots 8 --seed 0",
    quick=AL_QUICK,
    full=AL_FULL,
)
MG = DataSet(
    name="mg_hcp_298K",
    element="Mg",
    output="acsd_sweep_mg_hcp_298K",
    datagen="ldos-surrogate datagen --element Mg --supercell 1 --temperature 298 --snapshots 8",
    quick=replace(AL_QUICK, rcuts=(3.5, 4.67637)),
    full=replace(AL_FULL, rcuts=(2.5, 3.5, 4.0, 4.67637, 5.5, 6.5)),
)
# The 32-atom set: the al32 experiment (32 sigmoids, solved output layer, 12 epochs) trained
# on 3 of its training snapshots, as in hpo_comparison --data al32_298K; Rcut on both sides of
# each of the first three fcc shells (2.86, 4.05, 4.96 Angstrom) at 2 Jmax = 6, 2 Jmax 2-10
# at the default Rcut.
AL32_FULL = Sweep(
    base=("experiment=al32",),
    train=("snapshot_0000", "snapshot_0004", "snapshot_0008"),
    val=("snapshot_0010",),
    test=tuple(AL32_TEST),
    rcuts=(2.5, 3.5, 4.5, 4.67637, 5.5),
    twojmax_fixed=6,
    twojmaxes=(2, 4, 6, 8, 10),
    rcut_fixed=4.67637,
    seeds=(0, 1, 2),
    max_epochs=12,
)
AL32 = DataSet(
    name="al32_298K",
    element="Al",
    output="acsd_sweep_al32_298K",
    datagen="ldos-surrogate datagen --element Al --supercell 2 --temperature 298 "
    "--snapshots 14 --seed 100 --energy-spacing 0.1 --width 0.1",
    quick=replace(
        AL32_FULL,
        rcuts=(3.5, 4.67637),
        twojmaxes=(2, 4),
        twojmax_fixed=4,
        seeds=(0,),
        max_epochs=2,
        train=("snapshot_0000",),
    ),
    full=AL32_FULL,
)
DATA_SETS = {data_set.name: data_set for data_set in (AL, MG, AL32)}


def measure_point(
    sweep: Sweep, data: Path, rcut: float, twojmax: int, scratch: Path
) -> dict[str, Any]:
    """Descriptors of the snapshots in ``data`` (timed, scratch cache), ACSD over the training
    snapshots, trained MAEs."""
    cache = scratch / "descriptor_cache"
    params = SnapParams(rcut=rcut, twojmax=twojmax)
    seconds: dict[str, float] = {}
    arrays = {}
    for name in (*sweep.train, *sweep.val, *sweep.test):
        arrays[name], seconds[name] = timed(
            cached_descriptors, read_snapshot(data / name), params, cache
        )
    values, acsd_seconds = timed(
        snapshot_acsd,
        [arrays[n] for n in sweep.train],
        [read_snapshot(data / n).ldos() for n in sweep.train],
        AcsdSettings(),
        SEED,
    )
    band, total, train_seconds = [], [], 0.0
    for seed in sweep.seeds:
        cfg = compose_train(
            scratch / "train" / f"rcut{rcut:g}_twojmax{twojmax}_seed{seed}",
            *sweep.base,
            f"descriptor.rcut={rcut}",
            f"descriptor.twojmax={twojmax}",
            f"data.dataset_dir={data}",
            f"data.cache_dir={cache}",
            f"data.train=[{','.join(sweep.train)}]",
            f"data.val=[{','.join(sweep.val)}]",
            f"data.test=[{','.join(sweep.test)}]",
            f"trainer.max_epochs={sweep.max_epochs}",
            f"seed={seed}",
        )
        metrics, seconds_of_training = timed(train_quietly, cfg)
        train_seconds += seconds_of_training
        band.append(metrics[BAND])
        total.append(metrics.get(TOTAL))
    point = AcsdPoint(rcut, twojmax, values)
    return {
        "rcut": rcut,
        "twojmax": twojmax,
        "acsd": point.mean,
        "acsd_standard_error": point.standard_error,
        "acsd_per_snapshot": list(values),
        **mean_std("mae_band_mev_per_atom", band),
        # none where Eq. 7 cannot use the pseudopotentials (ultrasoft, PAW)
        **(mean_std("mae_total_mev_per_atom", total) if None not in total else {}),
        "acsd_choice_s": sum(seconds[n] for n in sweep.train) + acsd_seconds,
        "nn_choice_s": sum(seconds.values()) + train_seconds,
    }


def choices(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Each method's pick along one sweep and the cost of making it."""
    by_acsd, tolerance = select_descriptor(
        [AcsdPoint(p["rcut"], p["twojmax"], tuple(p["acsd_per_snapshot"])) for p in points]
    )
    by_nn = min(points, key=lambda p: p["mae_band_mev_per_atom_mean"])
    acsd_s = sum(p["acsd_choice_s"] for p in points)
    nn_s = sum(p["nn_choice_s"] for p in points)
    return {
        "acsd_choice": {"rcut": by_acsd.rcut, "twojmax": by_acsd.twojmax},
        "acsd_tolerance": tolerance,
        "nn_choice": {"rcut": by_nn["rcut"], "twojmax": by_nn["twojmax"]},
        "same_choice": (by_acsd.rcut, by_acsd.twojmax) == (by_nn["rcut"], by_nn["twojmax"]),
        "acsd_choice_s": acsd_s,
        "nn_choice_s": nn_s,
        "nn_over_acsd_time": nn_s / acsd_s,
    }


def plot(sweeps: dict[str, list[dict[str, Any]]], element: str, path: Path) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (name, key, unit) in zip(
        axes, (("rcut", "rcut", "Rcut (Angstrom)"), ("twojmax", "twojmax", "2 Jmax")), strict=True
    ):
        points = sweeps[name]
        x = [p[key] for p in points]
        ax.errorbar(
            x,
            [p["acsd"] for p in points],
            [p["acsd_standard_error"] for p in points],
            marker="o",
            color="tab:blue",
            capsize=3,
        )
        ax.set_xlabel(unit)
        ax.set_ylabel("ACSD (dimensionless, Eq. 17)", color="tab:blue")
        twin = ax.twinx()
        twin.errorbar(
            x,
            [p["mae_band_mev_per_atom_mean"] for p in points],
            [p["mae_band_mev_per_atom_std"] for p in points],
            marker="s",
            color="tab:red",
            capsize=3,
        )
        twin.set_yscale("log")
        twin.set_ylabel("test band-energy MAE (meV/atom)", color="tab:red")
        ax.set_title(f"{name} sweep, {element}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def data_set_of(given: str) -> tuple[DataSet, Path]:
    """The data set named (or whose folder is) ``given``: its sweep points and its folder;
    exits with one line when either is unknown."""
    folder = data_location(given)
    data_set = DATA_SETS.get(folder.name)
    if data_set is None:
        sys.exit(f"--data {given}: not one of the known data sets {sorted(DATA_SETS)}")
    if not (folder / "manifest.json").exists():
        sys.exit(f"{folder} is missing: make it with `{data_set.datagen} --out {folder}`")
    return data_set, folder.resolve()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--data", default=AL.name, help=f"a data set of {sorted(DATA_SETS)} or its folder"
    )
    args = arguments(__doc__.splitlines()[0], parser)
    data_set, folder = data_set_of(args.data)
    sweep = data_set.quick if args.quick else data_set.full
    scratch = scratch_dir(args)
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    measured: dict[tuple[float, int], dict[str, Any]] = {}

    def point(rcut: float, twojmax: int) -> dict[str, Any]:
        if (rcut, twojmax) not in measured:
            measured[rcut, twojmax] = resumable(
                scratch,
                f"point_{data_set.name}_rcut{rcut:g}_twojmax{twojmax}_{mode}",
                lambda: measure_point(sweep, folder, rcut, twojmax, scratch),
            )
        return measured[rcut, twojmax]

    sweeps = {
        "rcut": [point(r, sweep.twojmax_fixed) for r in sweep.rcuts],
        "twojmax": [point(sweep.rcut_fixed, j) for j in sweep.twojmaxes],
    }
    payload = {
        "mode": mode,
        "data": data_set.name,
        "wall_s_total": time.perf_counter() - started,
        "seeds": list(sweep.seeds),
        "max_epochs": sweep.max_epochs,
        "sweeps": {name: {"points": pts, **choices(pts)} for name, pts in sweeps.items()},
    }
    path = write_outputs(data_set.output, args.out, payload)
    plot(sweeps, data_set.element, args.out / f"{data_set.output}.png")
    for name, result in payload["sweeps"].items():
        print(name, {k: v for k, v in result.items() if k != "points"})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
