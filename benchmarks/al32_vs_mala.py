"""MALA 1.4.0 and this project trained on the same 32-atom Al snapshots and tested alike.

The splits of ``data=al32_298K`` (train snapshots 0-9, validate 10-11, test 12-13; ``--test``
adds held-out snapshots of a longer series), the same SNAP descriptors (Rcut 4.67637
Angstrom, 2 Jmax 10, LAMMPS ``compute sna/grid``; recomputing MALA's Be2 descriptors this way
gives MALA's own values) and the same LDOS. Three models in one run, torch on one thread:

1. MALA with the settings of its training example ``examples/basic/ex01_train_network.py``:
   descriptors standardised per feature, LDOS min-max scaled, one hidden layer of 100 ReLU,
   Adam at learning rate 1e-5, mini-batches of 40, 100 epochs, the final network (MALA keeps
   it). Tested with ``Tester.predict_targets`` and MALA's own band energy (its LDOS
   calculator: self-consistent Fermi level, analytic integration) of the predicted and the
   DFT LDOS. MALA's total free energy needs Quantum ESPRESSO's compiled total-energy module,
   which is not installed; this project's Eq. 7 evaluated on MALA's predicted LDOS stands in
   for it (labelled so).
2. This project with the same network and settings (linear output, no scheduler, no early
   stopping, 100 epochs): ``train.py`` overrides; tested with the best epoch by validation
   band energy, as ``train.py`` does.
3. This project's ``experiment=al32`` (``conf/experiment/al32.yaml``: the network of its
   NASWOT search), once per ``--seeds`` value: the MAE's mean and spread over seeds.

For each: per test snapshot the band-energy and total-free-energy error (meV/atom) beside the
constant guess (the training snapshots' mean per-atom DFT-LDOS energy), the MAE, the training
wall time and the training throughput (grid points x epochs / fit seconds).

    .venv/bin/python benchmarks/al32_vs_mala.py --quick   # 2 + 1 + 1 snapshots, 1 epoch: CI
    .venv/bin/python benchmarks/al32_vs_mala.py           # the full comparison
    .venv/bin/python benchmarks/al32_vs_mala.py --test snapshot_0012 ... snapshot_0019
    .venv/bin/python benchmarks/al32_vs_mala.py --seeds 0 1 2 3 4

The data set: ``--data`` (default ``$LDOS_SURROGATE_DATA/al32_298K``). Writes
``<out>/al32_vs_mala.json`` and ``<out>/al32_vs_mala.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from harness import (  # noqa: E402
    AL32_TEST,
    AL32_TRAIN,
    AL32_VAL,
    BAND,
    TOTAL,
    al32_parser,
    arguments,
    compose_train,
    mean_std,
    scratch_dir,
    timed,
    train_quietly,
    write_outputs,
)

from ldos_surrogate.descriptors import SnapParams, cached_descriptors  # noqa: E402
from ldos_surrogate.io.store import Snapshot, read_snapshot  # noqa: E402
from ldos_surrogate.models.metrics import (  # noqa: E402
    EnergySetup,
    constant_guess,
    constant_guess_errors,
    energy_errors,
    snapshot_energies,
)

DESCRIPTORS = SnapParams(rcut=4.67637, twojmax=10)
QUICK_SPLITS = (AL32_TRAIN[:2], AL32_VAL[:1], AL32_TEST[:1])
# MALA's examples/basic/ex01_train_network.py
MALA_EXAMPLE = {
    "input_rescaling_type": "feature-wise-standard",
    "output_rescaling_type": "minmax",
    "layer_activations": "ReLU",
    "hidden_layers": [100],
    "optimizer": "Adam",
    "learning_rate": 1e-5,
    "mini_batch_size": 40,
    "max_number_epochs": 100,
}
BAND_ERROR, TOTAL_ERROR = "band_energy_error_mev_per_atom", "total_free_energy_error_mev_per_atom"


# ---- MALA -----------------------------------------------------------------------------------


def export_for_mala(snapshots: list[Snapshot], folder: Path) -> None:
    """``<name>.in.npy`` (nx, ny, nz, 3 + features: MALA's grid coordinates first, which it
    drops) and ``<name>.out.npy`` (the LDOS, float32) of every snapshot."""
    folder.mkdir(parents=True, exist_ok=True)
    for snapshot in snapshots:
        if (folder / f"{snapshot.name}.out.npy").exists():
            continue
        features = np.asarray(cached_descriptors(snapshot, DESCRIPTORS))
        shape = snapshot.meta.grid_shape
        fractions = np.stack(np.meshgrid(*(np.arange(n) / n for n in shape), indexing="ij"), -1)
        coordinates = fractions @ np.asarray(snapshot.meta.cell)
        inputs = np.concatenate([coordinates, features], axis=-1).astype(np.float32)
        np.save(folder / f"{snapshot.name}.in.npy", inputs)
        np.save(folder / f"{snapshot.name}.out.npy", np.asarray(snapshot.ldos(), np.float32))


def mala_parameters(grid, epochs: int):
    import mala

    parameters = mala.Parameters()
    parameters.verbosity = 0
    parameters.data.input_rescaling_type = MALA_EXAMPLE["input_rescaling_type"]
    parameters.data.output_rescaling_type = MALA_EXAMPLE["output_rescaling_type"]
    parameters.network.layer_activations = MALA_EXAMPLE["layer_activations"]
    parameters.running.max_number_epochs = epochs
    parameters.running.mini_batch_size = MALA_EXAMPLE["mini_batch_size"]
    parameters.running.learning_rate = MALA_EXAMPLE["learning_rate"]
    parameters.running.optimizer = MALA_EXAMPLE["optimizer"]
    parameters.targets.target_type = "LDOS"
    parameters.targets.ldos_gridsize = grid.count
    parameters.targets.ldos_gridspacing_ev = grid.spacing_ev
    parameters.targets.ldos_gridoffset_ev = grid.start_ev
    parameters.descriptors.descriptor_type = "Bispectrum"
    parameters.descriptors.bispectrum_twojmax = DESCRIPTORS.twojmax
    parameters.descriptors.bispectrum_cutoff = DESCRIPTORS.rcut
    return parameters


def mala_band_energy(parameters, snapshot: Snapshot, ldos: np.ndarray) -> float:
    """MALA's band energy (eV) of an LDOS on the snapshot's grid, at its own self-consistent
    Fermi level for the snapshot's electron count."""
    import ase.cell
    import mala

    calculator = mala.LDOS.from_numpy_array(parameters, ldos)
    calculator.temperature = snapshot.meta.temperature_k
    calculator.number_of_electrons_exact = snapshot.meta.n_electrons
    voxel = np.asarray(snapshot.meta.cell) / np.array(ldos.shape[:3])[:, None]
    calculator.voxel = ase.cell.Cell(voxel)
    fermi = calculator.get_self_consistent_fermi_energy(ldos)
    return float(calculator.get_band_energy(ldos, fermi_energy=fermi))


def train_mala(splits, dataset: Path, folder: Path, epochs: int, setup: EnergySetup) -> dict:
    """MALA's example training on the splits, then its test-snapshot energies."""
    import mala

    snapshots = {name: read_snapshot(dataset / name) for part in splits for name in part}
    export_for_mala(list(snapshots.values()), folder)
    first = next(iter(snapshots.values()))
    parameters = mala_parameters(first.meta.energy_grid, epochs)
    data = mala.DataHandler(parameters)
    for names, role in zip(splits, ("tr", "va", "te"), strict=True):
        for name in names:
            data.add_snapshot(f"{name}.in.npy", str(folder), f"{name}.out.npy", str(folder), role)
    with contextlib.redirect_stdout(io.StringIO()):
        data.prepare_data()
        parameters.network.layer_sizes = [
            data.input_dimension,
            *MALA_EXAMPLE["hidden_layers"],
            data.output_dimension,
        ]
        network = mala.Network(parameters)
        trainer = mala.Trainer(parameters, network, data)
        _, fit_seconds = timed(trainer.train_network)
        tester = mala.Tester(parameters, network, data)
        per_snapshot = {}
        for index, name in enumerate(splits[2]):
            snapshot = snapshots[name]
            actual, predicted = tester.predict_targets(index)
            shape = (*snapshot.meta.grid_shape, -1)
            predicted = np.asarray(predicted, np.float64).reshape(shape)
            actual = np.asarray(actual, np.float64).reshape(shape)
            band = 1000 * (
                mala_band_energy(parameters, snapshot, predicted)
                - mala_band_energy(parameters, snapshot, actual)
            )
            ours = energy_errors(
                snapshot_energies(predicted, snapshot, setup, True),
                snapshot_energies(snapshot.ldos(), snapshot, setup, True),
            )
            per_snapshot[name] = {
                BAND_ERROR: band / len(snapshot.atoms()),
                "band_energy_error_by_this_project_mev_per_atom": ours[BAND_ERROR],
                "total_free_energy_error_by_this_project_eq7_mev_per_atom": ours.get(TOTAL_ERROR),
            }
    return {
        "settings": MALA_EXAMPLE | {"max_number_epochs": epochs},
        "fit_seconds": fit_seconds,
        "epochs": epochs,
        "test_snapshots": per_snapshot,
        "band_mae_mev_per_atom": mae(per_snapshot, BAND_ERROR),
        "total_mae_mev_per_atom": None,
        "total_mae_by_this_project_eq7_mev_per_atom": mae(
            per_snapshot, "total_free_energy_error_by_this_project_eq7_mev_per_atom"
        ),
    }


# ---- this project ---------------------------------------------------------------------------


def same_as_mala(epochs: int) -> list[str]:
    """``train.py`` overrides for MALA's example network and training settings."""
    return [
        f"model.network.layer_widths=[null,{MALA_EXAMPLE['hidden_layers'][0]},null]",
        f"model.network.activations={MALA_EXAMPLE['layer_activations']}",
        f"model.optimizer.lr={MALA_EXAMPLE['learning_rate']}",
        f"data.batch_size={MALA_EXAMPLE['mini_batch_size']}",
        f"trainer.max_epochs={epochs}",
        "model.scheduler=null",
        "~callbacks.early_stopping",
    ]


def train_ours(run_dir: Path, splits, dataset: Path, overrides: list[str], seed: int = 0) -> dict:
    train, val, test = (f"[{','.join(names)}]" for names in splits)
    cfg = compose_train(
        run_dir,
        "data=al32_298K",
        f"seed={seed}",
        f"data.dataset_dir={dataset}",
        f"data.train={train}",
        f"data.val={val}",
        f"data.test={test}",
        *overrides,
    )
    metrics = train_quietly(cfg)
    per_snapshot = {
        name: {**result["errors"], **result["constant_guess_errors"]}
        for name, result in metrics["test_snapshots"].items()
    }
    return {
        "overrides": overrides,
        "seed": seed,
        "fit_seconds": metrics["fit_seconds"],
        "epochs": metrics["epochs"],
        "test_snapshots": per_snapshot,
        "band_mae_mev_per_atom": metrics[BAND],
        "total_mae_mev_per_atom": metrics.get(TOTAL),
    }


def over_seeds(runs: list[dict]) -> dict:
    """The runs of one configuration with several seeds: each run (its per-snapshot errors)
    and the MAE as mean and spread over seeds, the mean fit time."""
    summary = {"seeds": [run["seed"] for run in runs], "runs": runs}
    for key in ("band_mae_mev_per_atom", "total_mae_mev_per_atom"):
        summary |= mean_std(key, [run[key] for run in runs])
    return summary | {
        "band_mae_mev_per_atom": summary["band_mae_mev_per_atom_mean"],
        "total_mae_mev_per_atom": summary["total_mae_mev_per_atom_mean"],
        "fit_seconds": float(np.mean([run["fit_seconds"] for run in runs])),
        "epochs": runs[0]["epochs"],
    }


# ---- comparison -----------------------------------------------------------------------------


def mae(per_snapshot: dict[str, dict[str, float]], key: str) -> float | None:
    values = [abs(errors[key]) for errors in per_snapshot.values() if errors.get(key) is not None]
    return float(np.mean(values)) if values else None


def constant_baseline(splits, dataset: Path, setup: EnergySetup) -> dict:
    """The constant guess's errors on the test snapshots (meV/atom) and their MAE."""
    train = [read_snapshot(dataset / name) for name in splits[0]]
    guess = constant_guess(snapshot_energies(s.ldos(), s, setup, True) for s in train)
    per_snapshot = {}
    for name in splits[2]:
        snapshot = read_snapshot(dataset / name)
        reference = snapshot_energies(snapshot.ldos(), snapshot, setup, True)
        per_snapshot[name] = constant_guess_errors(guess, reference)
    return {
        "guess_ev_per_atom": guess,
        "test_snapshots": per_snapshot,
        "band_mae_mev_per_atom": mae(per_snapshot, "constant_band_energy_error_mev_per_atom"),
        "total_mae_mev_per_atom": mae(
            per_snapshot, "constant_total_free_energy_error_mev_per_atom"
        ),
    }


def plot(payload: dict[str, Any], path: Path) -> None:
    """Per test snapshot, the band-energy and total errors of every model (each seed of the
    al32 experiment) and the constant guess (bars, meV/atom)."""
    names = list(payload["constant_guess"]["test_snapshots"])
    rows = {
        "constant guess": (
            "constant_band_energy_error_mev_per_atom",
            "constant_total_free_energy_error_mev_per_atom",
            payload["constant_guess"],
        ),
        "MALA 1.4.0 (ex01)": (
            BAND_ERROR,
            "total_free_energy_error_by_this_project_eq7_mev_per_atom",
            payload["mala"],
        ),
        "ours, MALA's settings": (BAND_ERROR, TOTAL_ERROR, payload["ours_same"]),
    } | {
        f"ours, al32 experiment, seed {run['seed']}": (BAND_ERROR, TOTAL_ERROR, run)
        for run in payload["ours_best"]["runs"]
    }
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(rows)
    for ax, side, title in ((axes[0], 0, "band energy"), (axes[1], 1, "total free energy")):
        for offset, (label, (*keys, result)) in enumerate(rows.items()):
            values = [result["test_snapshots"][n].get(keys[side]) for n in names]
            values = [np.nan if v is None else v for v in values]
            ax.bar(np.arange(len(names)) + offset * width, values, width, label=label)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, [n[-4:] for n in names])
        ax.set_xlabel("test snapshot")
        ax.set_ylabel(f"{title} error (meV/atom)")
        ax.set_title(f"{title}: predicted - DFT LDOS", fontsize=10)
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def comparison(args: argparse.Namespace) -> dict[str, Any]:
    """The constant guess and the three models on the splits of the command line."""
    epochs = 1 if args.quick else MALA_EXAMPLE["max_number_epochs"]
    splits = QUICK_SPLITS if args.quick else (AL32_TRAIN, AL32_VAL, args.test or AL32_TEST)
    dataset = args.data.resolve()
    scratch = scratch_dir(args)
    setup = EnergySetup.from_snapshots([read_snapshot(dataset / name) for name in splits[0]])
    best = ["experiment=al32"] + (["trainer.max_epochs=1"] if args.quick else [])
    payload: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "data": str(dataset),
        "splits": dict(zip(("train", "val", "test"), splits, strict=True)),
        "n_training_points": 46656 * len(splits[0]),
        "constant_guess": constant_baseline(splits, dataset, setup),
        "ours_best": over_seeds(
            [
                train_ours(scratch / f"ours_best_s{seed}", splits, dataset, best, seed)
                for seed in ([0] if args.quick else args.seeds)
            ]
        ),
        "mala": train_mala(splits, dataset, scratch / "mala_format", epochs, setup),
        "ours_same": train_ours(scratch / "ours_same", splits, dataset, same_as_mala(epochs)),
    }
    for model in ("mala", "ours_same", "ours_best"):
        result = payload[model]
        result["points_per_second"] = (
            payload["n_training_points"] * result["epochs"] / result["fit_seconds"]
        )
    return payload


def main() -> None:
    parser = al32_parser()
    parser.add_argument("--test", nargs="+", help="test snapshots (default 12 and 13)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="of al32")
    args = arguments(__doc__.splitlines()[0], parser)
    torch.set_num_threads(1)
    payload, payload["wall_s_total"] = timed(comparison, args)
    path = write_outputs("al32_vs_mala", args.out, payload)
    plot(payload, args.out / "al32_vs_mala.png")
    summary = {
        model: {k: v for k, v in payload[model].items() if isinstance(v, float)}
        for model in ("constant_guess", "mala", "ours_same", "ours_best")
    }
    print(json.dumps(summary, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
