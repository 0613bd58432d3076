"""Why a surrogate of the 32-atom Al set misses: the measurements behind ``experiment=al32``.

On the splits of ``data=al32_298K`` (train 0-9, validate 10-11, test 12-13), every held-out
snapshot (the test snapshots and ``--extra`` snapshots of a longer series) scored beside the
constant guess (the training snapshots' mean per-atom DFT-LDOS energy):

1. swing: the default training (``python train.py data=al32_298K``: plateau schedule, early
   stopping after 10 epochs) against the al32 experiment (cosine schedule): the validation
   band-energy error of every epoch, and how much it moves from one epoch to the next;
2. the solved output layer: the al32 experiment's network with its trained output layer and
   with the layer solved on the training points for several snapshot weights lambda
   (``models/output_fit``); per held-out snapshot the band and total errors;
3. where the error sits, for the al32 experiment: per held-out snapshot the share of grid
   points whose descriptors leave the training range, the electron-count error at the DFT
   Fermi level, and the band-energy error by energy window (``metrics``);
4. learning curve: the al32 experiment trained on the first 2, 5 and 10 training snapshots.

    .venv/bin/python benchmarks/al32_diagnostics.py --quick   # 1 epoch, 2 training sizes: CI
    .venv/bin/python benchmarks/al32_diagnostics.py           # full
    .venv/bin/python benchmarks/al32_diagnostics.py --extra snapshot_0014 ... snapshot_0019

The data set: ``--data`` (default ``$LDOS_SURROGATE_DATA/al32_298K``). Writes
``<out>/al32_diagnostics.json`` and ``<out>/al32_diagnostics.png``.
"""

from __future__ import annotations

import argparse
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
    al32_parser,
    arguments,
    compose_train,
    scratch_dir,
    timed,
    train_quietly,
    write_outputs,
)
from hydra.utils import instantiate  # noqa: E402

from ldos_surrogate.models.metrics import (  # noqa: E402
    band_energy_error_by_window,
    electron_count_error,
    energy_errors,
    predicted_energies,
    snapshot_energies,
)
from ldos_surrogate.models.output_fit import fit_output_layer  # noqa: E402
from ldos_surrogate.models.predictor import LdosPredictor, predict_ldos  # noqa: E402
from ldos_surrogate.physics.dos import density_of_states  # noqa: E402

SNAPSHOT_WEIGHTS = (0.0, 1.0, 10.0, 100.0)
TRAINING_SIZES = (2, 5, 10)
BAND, TOTAL = "band_energy_error_mev_per_atom", "total_free_energy_error_mev_per_atom"


def data_overrides(dataset: Path, train: list[str], held_out: list[str]) -> list[str]:
    """Train on ``train``, validate on the config's validation snapshots, test on
    ``held_out``."""
    return [
        "data=al32_298K",
        f"data.dataset_dir={dataset}",
        f"data.train=[{','.join(train)}]",
        f"data.test=[{','.join(held_out)}]",
    ]


def train_run(run_dir: Path, overrides: list[str]) -> tuple[dict[str, Any], Any]:
    """``train.py`` with ``overrides``; its metrics and composed config."""
    cfg = compose_train(run_dir, *overrides)
    return train_quietly(cfg), cfg


def swing(history: list[dict[str, float]]) -> dict[str, Any]:
    """Validation band-energy MAE per epoch and its epoch-to-epoch change (meV/atom)."""
    values = [entry["val/band_energy_mae_mev_per_atom"] for entry in history]
    steps = np.abs(np.diff(values))
    return {
        "val_band_mae_per_epoch": values,
        "median_epoch_to_epoch_change": float(np.median(steps)) if len(steps) else None,
        "max_epoch_to_epoch_change": float(steps.max()) if len(steps) else None,
    }


def per_snapshot(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Model and constant-guess errors of every tested snapshot, from ``metrics.json``."""
    return {
        name: {**result["errors"], **result["constant_guess_errors"]}
        for name, result in metrics["test_snapshots"].items()
    }


def solved_layers(cfg, checkpoint: str, weights: tuple[float, ...]) -> dict[str, Any]:
    """The trained network of ``checkpoint`` scored with its own output layer and with the
    layer solved for each snapshot weight; errors of the held-out (test) snapshots."""
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    predictor = LdosPredictor.from_checkpoint(checkpoint)
    network, setup = predictor.network, predictor.setup
    held_out = datamodule.snapshots("test")
    references = {s.name: snapshot_energies(s.ldos(), s, setup, True) for s in held_out}

    def scores() -> dict[str, dict[str, float]]:
        result = {}
        for index, snapshot in enumerate(held_out):
            inputs = datamodule.snapshot_inputs("test", index)
            ldos = predict_ldos(network, inputs, datamodule.ldos_scaler, 65536)
            ldos = ldos.numpy().reshape(*snapshot.meta.grid_shape, -1)
            predicted = predicted_energies(ldos, snapshot, setup, True)
            result[snapshot.name] = energy_errors(predicted, references[snapshot.name])
        return result

    results = {"trained": scores()}
    for weight in weights:
        chunks = (
            datamodule.snapshot_chunks("train", index)
            for index in range(len(datamodule.snapshots("train")))
        )
        fit_output_layer(network.hidden_features, network.output_layer, chunks, weight, 1e-6)
        results[f"solved, lambda {weight:g}"] = scores()
    return results


def error_sources(cfg, checkpoint: str) -> dict[str, dict[str, Any]]:
    """Per held-out snapshot: share of points outside the training descriptor range, the
    electron-count error at the DFT Fermi level and the band-energy error by window."""
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    predictor = LdosPredictor.from_checkpoint(checkpoint)
    low = torch.full((datamodule.n_features,), torch.inf)
    high = -low
    for index in range(len(datamodule.snapshots("train"))):
        for inputs, _ in datamodule.snapshot_chunks("train", index):
            low, high = (
                torch.minimum(low, inputs.min(0).values),
                torch.maximum(high, inputs.max(0).values),
            )
    results = {}
    for index, snapshot in enumerate(datamodule.snapshots("test")):
        inputs = datamodule.snapshot_inputs("test", index)
        outside = ((inputs < low) | (inputs > high)).any(dim=1).double().mean()
        ldos = predict_ldos(predictor.network, inputs, datamodule.ldos_scaler, 65536)
        ldos = ldos.numpy().reshape(*snapshot.meta.grid_shape, -1)
        meta = snapshot.meta
        reference = snapshot_energies(snapshot.ldos(), snapshot, predictor.setup, False)
        dos = density_of_states(ldos, meta.cell), density_of_states(snapshot.ldos(), meta.cell)
        args = (meta.energy_grid, reference.fermi_energy_ev, meta.temperature_k)
        per_atom = 1000 / len(snapshot.atoms())
        results[snapshot.name] = {
            "share_of_points_outside_training_range": float(outside),
            "electron_count_error": electron_count_error(*dos, *args),
            "band_energy_error_by_window_mev_per_atom": {
                window: per_atom * value
                for window, value in band_energy_error_by_window(*dos, *args).items()
            },
        }
    return results


def held_out_mae(errors: dict[str, dict[str, float]], key: str) -> float:
    return float(np.mean([abs(e[key]) for e in errors.values() if e.get(key) is not None]))


def plot(payload: dict[str, Any], path: Path) -> None:
    """Validation error per epoch (swing), held-out MAE per solve, and the learning curve."""
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for label, result in payload["swing"].items():
        axes[0].semilogy(result["val_band_mae_per_epoch"], marker="o", markersize=3, label=label)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("validation band-energy MAE (meV/atom)")
    axes[0].legend(fontsize=8)
    solves = payload["solved_output_layer"]
    labels = list(solves["held_out_mae"])
    for offset, key in enumerate((BAND, TOTAL)):
        values = [solves["held_out_mae"][label][key] for label in labels]
        axes[1].bar(np.arange(len(labels)) + 0.4 * offset, values, 0.4, label=key.split("_e")[0])
    for key, style in ((BAND, "--"), (TOTAL, ":")):
        axes[1].axhline(payload["constant_guess_mae"][key], linestyle=style, color="grey")
    axes[1].set_xticks(np.arange(len(labels)) + 0.2, labels, rotation=20, fontsize=7)
    axes[1].set_ylabel("held-out MAE (meV/atom); grey: constant guess")
    axes[1].legend(fontsize=8)
    curve = payload["learning_curve"]
    sizes = [int(n) for n in curve]
    for key in (BAND, TOTAL):
        axes[2].plot(
            sizes,
            [curve[str(n)]["held_out_mae"][key] for n in sizes],
            marker="o",
            label=key.split("_e")[0],
        )
    axes[2].set_xlabel("training snapshots")
    axes[2].set_ylabel("held-out MAE (meV/atom)")
    axes[2].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def diagnostics(args: argparse.Namespace) -> dict[str, Any]:
    """The four measurements on the data set and held-out snapshots of the command line."""
    dataset, scratch = args.data.resolve(), scratch_dir(args)
    train = AL32_TRAIN
    held_out = [*AL32_TEST, *args.extra]
    quick = ["trainer.max_epochs=1"] if args.quick else []
    sizes = TRAINING_SIZES[:2] if args.quick else TRAINING_SIZES
    default_run, _ = train_run(
        scratch / "default", data_overrides(dataset, train, held_out) + quick
    )
    experiment = [*data_overrides(dataset, train, held_out), "experiment=al32", *quick]
    al32_run, al32_cfg = train_run(scratch / "al32", experiment)
    trained = str(Path(al32_run["best_checkpoint"]).with_name("best.ckpt"))  # before the solve
    solves = solved_layers(al32_cfg, trained, SNAPSHOT_WEIGHTS)
    constant = per_snapshot(al32_run)
    constant_mae = {
        BAND: held_out_mae(constant, "constant_band_energy_error_mev_per_atom"),
        TOTAL: held_out_mae(constant, "constant_total_free_energy_error_mev_per_atom"),
    }
    curve = {}
    for size in sizes:
        metrics = (
            al32_run
            if size == len(train)
            else train_run(
                scratch / f"al32_{size}", experiment + [f"data.train=[{','.join(train[:size])}]"]
            )[0]
        )
        errors = per_snapshot(metrics)
        curve[str(size)] = {
            "held_out_mae": {key: held_out_mae(errors, key) for key in (BAND, TOTAL)},
            "per_snapshot": errors,
        }
    return {
        "mode": "quick" if args.quick else "full",
        "data": str(dataset),
        "train": train,
        "held_out": held_out,
        "constant_guess_mae": constant_mae,
        "swing": {
            "default training": swing(default_run["history"]),
            "al32 experiment": swing(al32_run["history"]),
        },
        "default_training": {
            "per_snapshot": per_snapshot(default_run),
            "epochs": default_run["epochs"],
        },
        "solved_output_layer": {
            "per_snapshot": solves,
            "held_out_mae": {
                label: {key: held_out_mae(errors, key) for key in (BAND, TOTAL)}
                for label, errors in solves.items()
            },
        },
        "error_sources": error_sources(al32_cfg, al32_run["best_checkpoint"]),
        "learning_curve": curve,
    }


def main() -> None:
    parser = al32_parser()
    parser.add_argument("--extra", nargs="*", default=[], help="more held-out snapshots")
    args = arguments(__doc__.splitlines()[0], parser)
    torch.set_num_threads(1)
    payload, payload["wall_s_total"] = timed(diagnostics, args)
    path = write_outputs("al32_diagnostics", args.out, payload)
    plot(payload, args.out / "al32_diagnostics.png")
    print(
        json.dumps(
            {k: payload[k] for k in ("constant_guess_mae",)}
            | {"solves": payload["solved_output_layer"]["held_out_mae"]},
            indent=2,
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
