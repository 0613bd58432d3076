"""Training throughput of the LDOS network: this project against MALA 1.4.0, same network
and data, in the same run; and the GFLOP/s it reaches against a plain matmul.

Data: MALA's Be2 files (18 x 18 x 27 grid points per snapshot, 91 descriptors, 11 LDOS
values), snapshots 0 and 1 for training and 2 for validation; descriptors standardised
per feature, LDOS min-max scaled on both sides. Network: 91 -> widths -> 11, LeakyReLU after
every hidden layer, linear output (MALA: layer_activations_include_output_layer False),
Adam, MSE loss, same batch size and learning rate, shuffled batches.

Timed: the whole training call for ``--epochs`` epochs, validation included, after the
data are prepared -- ``Trainer.fit`` here (validation loss plus the band-energy error of
every validation snapshot on its full grid), ``mala.Trainer.train_network`` there
(validation loss). Grid points per second = training points x epochs / seconds; best of
``--repeats`` interleaved rounds. Achieved GFLOP/s count 3 x the forward FLOPs per point
(forward + backward); the baseline is a float32 n x n matmul (2 n^3 FLOPs).

Run: .venv/bin/python benchmarks/training_throughput.py [--epochs 5] [--batch-size 1024]
     [--widths 400 400] [--threads 2] [--repeats 2]
     .venv/bin/python benchmarks/training_throughput.py --quick   # 1 epoch, 91-64-11, once: CI

Writes ``<out>/training_throughput.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path

import torch
from harness import (
    BE2,
    BE2_DESCRIPTORS,
    arguments,
    be2_store,
    best_of,
    timed,
    write_outputs,
)

TRAIN, VAL = ["Be_snapshot0", "Be_snapshot1"], ["Be_snapshot2"]
N_FEATURES, N_ENERGIES = 91, 11
LEARNING_RATE = 1e-3


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    """Best GFLOP/s of a float32 n x n matrix product on this machine."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    _, best = best_of(repeats, torch.matmul, a, b)
    return 2 * n**3 / best / 1e9


def train_ours(store: Path, epochs: int, batch_size: int, widths: list[int], seed: int) -> float:
    """Seconds of ``Trainer.fit`` for ``epochs`` epochs (no logger, checkpoint or bar)."""
    import lightning

    from ldos_surrogate.data.datamodule import LdosDataModule
    from ldos_surrogate.io.store import read_dataset
    from ldos_surrogate.models.metrics import EnergySetup
    from ldos_surrogate.models.module import LdosModule

    lightning.seed_everything(seed, verbose=False)
    datamodule = LdosDataModule(
        store,
        train=TRAIN,
        val=VAL,
        descriptor_params=BE2_DESCRIPTORS,
        ldos_scaling="minmax",
        batch_size=batch_size,
        seed=seed,
    )
    datamodule.setup("fit")
    train_snapshots = [s for s in read_dataset(store) if s.name in TRAIN]
    module = LdosModule(
        network={"layer_widths": [None, *widths, None], "activations": "LeakyReLU"},
        n_features=datamodule.n_features,
        n_energies=datamodule.n_energies,
        energy_setup=EnergySetup.from_snapshots(train_snapshots).to_dict(),
        optimizer={"name": "adam", "lr": LEARNING_RATE},
    )
    trainer = lightning.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    _, seconds = timed(trainer.fit, module, datamodule=datamodule)
    return seconds


def train_mala(epochs: int, batch_size: int, widths: list[int], seed: int) -> float:
    """Seconds of MALA 1.4.0's ``Trainer.train_network`` on the same files and network."""
    import mala

    parameters = mala.Parameters()
    parameters.manual_seed = seed
    parameters.verbosity = 0
    parameters.data.data_splitting_type = "by_snapshot"
    parameters.data.input_rescaling_type = "feature-wise-standard"
    parameters.data.output_rescaling_type = "minmax"
    parameters.network.layer_sizes = [N_FEATURES, *widths, N_ENERGIES]
    parameters.network.layer_activations = "LeakyReLU"
    parameters.network.layer_activations_include_output_layer = False
    parameters.running.max_number_epochs = epochs
    parameters.running.mini_batch_size = batch_size
    parameters.running.learning_rate = LEARNING_RATE
    parameters.running.optimizer = "Adam"
    data = mala.DataHandler(parameters)
    for names, role in ((TRAIN, "tr"), (VAL, "va")):
        for name in names:
            data.add_snapshot(f"{name}.in.npy", BE2, f"{name}.out.npy", BE2, role)
    data.prepare_data()
    network = mala.Network(parameters)
    trainer = mala.Trainer(parameters, network, data)
    _, seconds = timed(trainer.train_network)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--widths", type=int, nargs="+", default=[400, 400])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = arguments(__doc__.split("\n")[0], parser)
    if args.quick:
        args.epochs, args.widths, args.threads, args.repeats = 1, [64], 1, 1
    torch.set_num_threads(args.threads)

    from ldos_surrogate.models.network import network_from_config

    network = network_from_config(
        {"layer_widths": [None, *args.widths, None]}, N_FEATURES, N_ENERGIES
    )
    flops_per_point = 3 * network.flops_per_point()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "be2"
        be2_store(store)
        n_points = len(TRAIN) * 18 * 18 * 27 * args.epochs
        ours, theirs = float("inf"), float("inf")
        with contextlib.chdir(tmp):  # MALA writes checkpoint and log files there
            for _ in range(args.repeats):
                ours = min(
                    ours, train_ours(store, args.epochs, args.batch_size, args.widths, args.seed)
                )
                theirs = min(
                    theirs, train_mala(args.epochs, args.batch_size, args.widths, args.seed)
                )
    peak = matmul_gflops()

    print(
        f"network 91-{'-'.join(map(str, args.widths))}-11, batch {args.batch_size}, "
        f"{args.epochs} epochs x {n_points // args.epochs} training points, "
        f"{args.threads} torch threads, best of {args.repeats}"
    )
    print(f"plain float32 matmul: {peak:.1f} GFLOP/s")
    print("| code | seconds | grid points/s | GFLOP/s | share of matmul GFLOP/s |")
    print("|---|---|---|---|---|")
    codes = {}
    for name, seconds in (("ldos-surrogate", ours), ("MALA 1.4.0", theirs)):
        rate = n_points / seconds
        gflops = rate * flops_per_point / 1e9
        codes[name] = {"seconds": seconds, "points_per_s": rate, "gflops": gflops}
        print(f"| {name} | {seconds:.2f} | {rate:.0f} | {gflops:.1f} | {gflops / peak:.2f} |")
    print(f"speed ratio ldos-surrogate / MALA: {theirs / ours:.2f}")
    payload = {
        "mode": "quick" if args.quick else "full",
        "network": [N_FEATURES, *args.widths, N_ENERGIES],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "torch_threads": args.threads,
        "repeats": args.repeats,
        "training_points": n_points // args.epochs,
        "matmul_gflops": peak,
        "codes": codes,
        "ratio": theirs / ours,
    }
    print(f"wrote {write_outputs('training_throughput', args.out, payload)}")


if __name__ == "__main__":
    main()
