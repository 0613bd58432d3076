"""NASWOT scores: ``ldos_surrogate.scores.naswot`` against MALA 1.4.0 in the same run.

Candidates: 20 feed-forward networks 91 -> hidden layers -> 11 (1-4 hidden layers, widths
32/64/128, ReLU/LeakyReLU/Sigmoid/Tanh after every hidden layer), on a batch of Be2 grid points
(MALA's Be2 snapshot 0, descriptors standardised per feature).

1. Equal scores: each candidate is built once as MALA's own ``FeedForwardNet`` and scored by
   MALA's per-network routine (``ObjectiveNASWOT``'s batch Jacobian + score; its trial loss is
   -S and ``HyperOptNASWOT`` keeps the largest, i.e. the seed convention) and by
   ``naswot_score(convention="seed")``. MALA works in float32 throughout (its eigenvalues
   near 0 carry float32 noise, each weighted by 1/k = 1e4); the same MALA routine fed the
   Jacobian in float64 isolates that precision effect.
2. Candidates per second, mean score over T initialisations (Eq. 14) per candidate: MALA's
   ``ObjectiveNASWOT`` trial (what ``HyperOptNASWOT.perform_study`` runs per candidate: build
   T networks, draw a batch from its DataLoader, Jacobian, score, mean + std) against
   ``naswot_mean_score`` in one pass (one build, T in-place initialisations, one batched
   Jacobian and eigenvalue pass; what the search runs) and with one network built per
   initialisation (their scores agree to float64 round-off: printed). Then the scoring alone,
   one score per already built network: MALA's routine against ``naswot_score``. Best of
   ``--repeats`` rounds, interleaved; single-threaded torch by default.

Run: .venv/bin/python benchmarks/naswot_vs_mala.py   (--quick: 4 candidates, 1 round, seconds)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import random
import time
from collections.abc import Callable

import numpy as np
import optuna
import torch
from harness import BE2, BE2_ENERGY_GRID
from scipy.stats import kendalltau
from torch import nn

from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.scores.naswot import naswot_mean_score, naswot_score

N_FEATURES, N_ENERGIES = 91, 11
ACTIVATIONS = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh")


def candidates(count: int = 20) -> list[tuple[list[int], str]]:
    """(hidden layer widths, activation) for ``count`` distinct architectures."""
    space = itertools.product((1, 2, 3, 4), (32, 64, 128), ACTIVATIONS)
    picked = random.Random(0).sample(list(space), count)
    return [([width] * n_layers, activation) for n_layers, width, activation in picked]


def build_mlp(hidden: list[int], activation: str) -> nn.Module:
    """Linear layers with ``activation`` after every hidden one (the layout MALA builds)."""
    sizes = [N_FEATURES, *hidden, N_ENERGIES]
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), getattr(nn, activation)()]
    return nn.Sequential(*layers[:-1])


def be2_batch(size: int) -> torch.Tensor:
    descriptors = read_mala_snapshot(BE2 / "Be_snapshot0", BE2_ENERGY_GRID).descriptors()
    rows = np.asarray(descriptors.reshape(-1, N_FEATURES), dtype=np.float64)
    scaled = (rows - rows.mean(axis=0)) / rows.std(axis=0)
    picked = np.random.default_rng(0).choice(rows.shape[0], size=size, replace=False)
    return torch.tensor(scaled[picked], dtype=torch.float32)


def mala_setup(batch_size: int, n_inits: int):
    """MALA Parameters + DataHandler on Be2 (training snapshot 0, validation snapshot 1)."""
    import mala

    params = mala.Parameters()
    params.verbosity = 0
    params.use_gpu = False
    params.data.input_rescaling_type = "feature-wise-standard"
    params.targets.ldos_gridsize = BE2_ENERGY_GRID.count
    params.targets.ldos_gridspacing_ev = BE2_ENERGY_GRID.spacing_ev
    params.targets.ldos_gridoffset_ev = BE2_ENERGY_GRID.start_ev
    params.running.mini_batch_size = batch_size
    params.hyperparameters.number_training_per_trial = n_inits
    params.hyperparameters.trial_ensemble_evaluation = "mean_std"
    data_handler = mala.DataHandler(params)
    for index, role in ((0, "tr"), (1, "va")):
        data_handler.add_snapshot(
            f"Be_snapshot{index}.in.npy", BE2, f"Be_snapshot{index}.out.npy", BE2, role
        )
    data_handler.prepare_data()
    return params, data_handler


def set_mala_architecture(params, hidden: list[int], activation: str) -> None:
    params.network.layer_sizes = [N_FEATURES, *hidden, N_ENERGIES]
    params.network.layer_activations = [activation] * len(hidden)


def mala_networks(params, architectures) -> list[nn.Module]:
    """Each candidate built once by MALA (``mala.Network``), torch seeded with its index."""
    import mala

    networks = []
    for index, (hidden, activation) in enumerate(architectures):
        set_mala_architecture(params, hidden, activation)
        torch.manual_seed(index)
        networks.append(mala.Network(params))
    return networks


def mala_score(network: nn.Module, batch: torch.Tensor, float64: bool = False) -> float:
    """S by MALA's per-network routine (its loss is -S; HyperOptNASWOT keeps the largest)."""
    from mala.network.objective_naswot import ObjectiveNASWOT

    jacobian = ObjectiveNASWOT._ObjectiveNASWOT__get_batch_jacobian(
        network, [(batch.clone(), None)], "cpu"
    )
    if float64:
        jacobian = jacobian.double()
    return -float(ObjectiveNASWOT._ObjectiveNASWOT__calc_score(jacobian))


def compare_scores(networks, batch: torch.Tensor) -> dict[str, float]:
    """Relative differences of MALA's score S from ours on identical networks."""
    ours = np.array([naswot_score(network, batch, convention="seed") for network in networks])
    theirs = np.array([mala_score(network, batch) for network in networks])
    theirs_float64 = np.array([mala_score(network, batch, float64=True) for network in networks])
    return {
        "max_rel_diff_float32": float(np.max(np.abs(theirs - ours) / np.abs(ours))),
        "max_rel_diff_float64": float(np.max(np.abs(theirs_float64 - ours) / np.abs(ours))),
        "kendall_tau_float32": float(kendalltau(ours, theirs).statistic),
        "score_range": (float(ours.min()), float(ours.max())),
    }


def interleaved_best_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict:
    """Best wall seconds of each run over ``repeats`` rounds; each round runs all of them once,
    so a change of machine load touches every implementation alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for label, run in runs.items():
            start = time.perf_counter()
            run()
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def mala_trials(params, data_handler, architectures) -> Callable[[], None]:
    """MALA's NASWOT trial (T networks, a DataLoader batch, scores, mean + std) per candidate."""
    from mala.network.objective_naswot import ObjectiveNASWOT

    objective = ObjectiveNASWOT(params, data_handler, "optuna")
    trial = optuna.trial.FixedTrial({})  # architecture set directly; nothing left to parse

    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints the T losses per trial
            for hidden, activation in architectures:
                set_mala_architecture(params, hidden, activation)
                objective(trial)

    return run


def our_scores(batch: torch.Tensor, architectures, n_inits: int, one_pass: bool) -> list[float]:
    """``naswot_mean_score`` (T initialisations, Eq. 14) of every candidate."""
    return [
        naswot_mean_score(
            lambda h=hidden, a=activation: build_mlp(h, a), batch, n_inits, one_pass=one_pass
        )
        for hidden, activation in architectures
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="grid points per batch")
    parser.add_argument("--inits", type=int, default=5, help="T initialisations per candidate")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (best counts)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="4 candidates, 1 round: seconds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    architectures = candidates(4 if args.quick else 20)
    repeats = 1 if args.quick else args.repeats
    batch = be2_batch(args.batch)
    params, data_handler = mala_setup(args.batch, args.inits)
    networks = mala_networks(params, architectures)
    agreement = compare_scores(networks, batch)
    one_pass = np.array(our_scores(batch, architectures, args.inits, one_pass=True))
    separate = np.array(our_scores(batch, architectures, args.inits, one_pass=False))
    agreement["max_rel_diff_one_pass"] = float(np.max(np.abs(one_pass - separate) / separate))
    seconds = interleaved_best_seconds(
        {
            "MALA 1.4.0 ObjectiveNASWOT trial (T inits)": mala_trials(
                params, data_handler, architectures
            ),
            "naswot_mean_score, one pass (T inits)": lambda: our_scores(
                batch, architectures, args.inits, one_pass=True
            ),
            "naswot_mean_score, a network per init": lambda: our_scores(
                batch, architectures, args.inits, one_pass=False
            ),
            "MALA per-network routine, built network": lambda: [
                mala_score(network, batch) for network in networks
            ],
            "naswot_score, built network": lambda: [
                naswot_score(network, batch) for network in networks
            ],
        },
        repeats,
    )

    n = len(architectures)
    print(f"{n} candidates, batch {args.batch}, T = {args.inits}, {args.threads} thread(s)")
    low, high = agreement["score_range"]
    print(f"scores S (seed convention): {low:.6g} ... {high:.6g}")
    for key, text in (
        ("max_rel_diff_float32", "max relative difference, MALA (float32) vs ours"),
        ("max_rel_diff_float64", "max relative difference, MALA on the float64 Jacobian vs ours"),
        ("kendall_tau_float32", "Kendall tau of the two rankings, MALA (float32) vs ours"),
        ("max_rel_diff_one_pass", "max relative difference of S', one pass vs a network per init"),
    ):
        print(f"{text}: {agreement[key]:.3g}")
    print("| what is timed | candidates/s | ratio to MALA |")
    print("|---|---|---|")
    labels = list(seconds)
    baselines = (labels[0], labels[0], labels[0], labels[3], labels[3])
    for label, baseline in zip(labels, baselines, strict=True):
        ratio = seconds[baseline] / seconds[label]
        print(f"| {label} | {n / seconds[label]:.1f} | {ratio:.1f} |")


if __name__ == "__main__":
    main()
