"""What the benchmarks share: where the repository, the reference data and the results are,
the command line (``--quick``, ``--out``, ``--scratch``, ``--data``), timers, composing and
running a quiet training or a whole ``search.py`` search, steps that a re-run skips once they
are done, the spread over seeds and writing the results."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.io.atomic import atomic_write_text
from ldos_surrogate.io.store import EnergyGrid
from ldos_surrogate.tasks import train

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BE2 = REPO / "tests" / "reference" / "mala_be2"  # MALA's Be2 test set, MALA's format
BAND = "test/band_energy_mae_mev_per_atom"
TOTAL = "test/total_free_energy_mae_mev_per_atom"
# the splits of data=al32_298K (conf/data/al32_298K.yaml)
AL32_TRAIN = [f"snapshot_{i:04d}" for i in range(10)]
AL32_VAL = ["snapshot_0010", "snapshot_0011"]
AL32_TEST = ["snapshot_0012", "snapshot_0013"]
# no progress bars, CSV logs only: the benchmark's own output stays readable
QUIET = (
    "logger=csv",
    "~callbacks.rich_progress_bar",
    "++trainer.enable_progress_bar=false",
    "++trainer.enable_model_summary=false",
)


def compose_train(run_dir: Path, *overrides: str, conf: Path | None = None) -> DictConfig:
    """``train.yaml`` composed with ``overrides`` (and ``conf`` on the search path)."""
    os.environ.setdefault("LDOS_SURROGATE_ROOT", str(REPO))
    searchpath = (f"hydra.searchpath=[file://{conf}]",) if conf else ()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(
            "train",
            overrides=[*searchpath, f"paths.output_dir={run_dir}", *QUIET, *overrides],
        )


def train_quietly(cfg: DictConfig) -> dict[str, Any]:
    """``tasks.train`` with Lightning's per-run chatter silenced."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    return train(cfg)


def mean_std(name: str, values: list[float]) -> dict[str, float]:
    """``<name>_mean`` and ``<name>_std`` (sample std) over seeds; inf when a seed's
    prediction was unusable (its DOS could not hold the electrons)."""
    array = np.asarray(values, dtype=float)
    finite = np.isfinite(array).all()
    return {
        f"{name}_mean": float(array.mean()) if finite else math.inf,
        f"{name}_std": float(array.std(ddof=1)) if finite and len(array) > 1 else 0.0,
    }


def write_outputs(name: str, out: Path, payload: dict[str, Any]) -> Path:
    """``<out>/<name>.json``; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path


def arguments(
    description: str, parser: argparse.ArgumentParser | None = None
) -> argparse.Namespace:
    """``--quick``, ``--out`` and ``--scratch``, shared by the benchmarks of this family, added
    to ``parser`` (a benchmark's own options) or to a new one; the parsed command line."""
    parser = parser or argparse.ArgumentParser()
    parser.description = description
    parser.add_argument("--quick", action="store_true", help="minutes: the CI smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON and PNG")
    parser.add_argument("--scratch", type=Path, help="search folders (default: a temp dir)")
    return parser.parse_args()


def al32_parser() -> argparse.ArgumentParser:
    """A parser with ``--data``: the 32-atom Al set, by default ``$LDOS_SURROGATE_DATA/al32_298K``
    as ``data=al32_298K`` finds it."""
    parser = argparse.ArgumentParser()
    default = Path(os.environ.get("LDOS_SURROGATE_DATA", "data")) / "al32_298K"
    parser.add_argument("--data", type=Path, default=default, help="default %(default)s")
    return parser


def scratch_dir(args: argparse.Namespace) -> Path:
    if args.scratch:
        args.scratch.mkdir(parents=True, exist_ok=True)
        return args.scratch.resolve()
    return Path(tempfile.mkdtemp(prefix="ldos_bench_"))


def timed(function: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``function(*args, **kwargs)`` and its wall time in seconds."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def best_of(repeats: int, function: Callable[..., T], *args: Any) -> tuple[T, float]:
    """The last result of ``repeats`` calls and the shortest wall time of them (seconds)."""
    best = math.inf
    for _ in range(repeats):
        result, seconds = timed(function, *args)
        best = min(best, seconds)
    return result, best


def children_cpu_seconds() -> float:
    """User + system CPU seconds of the finished child processes of this one."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def resumable(scratch: Path, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()``, or what it returned when a run with the same ``scratch`` already did it:
    each finished step is ``<scratch>/steps/<key>.json`` (written whole or not at all), so an
    interrupted benchmark re-run with the same ``--scratch`` resumes after its last step."""
    path = scratch / "steps" / f"{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(result) + "\n")
    return result


@dataclass
class SearchRun:
    """A finished ``search.py`` run: its cost and the rows of its ``results.csv``."""

    name: str
    wall_s: float
    cpu_s: float
    rows: list[dict[str, str]]

    @property
    def n_trained(self) -> int:
        """Training runs: one per seed of every trained trial."""
        trained = [r for r in self.rows if r["status"] in ("complete", "failed")]
        return sum(len(r["seeds"].split(";")) for r in trained)


def run_search(
    scratch: Path, name: str, method_yaml: dict[str, Any], overrides: tuple[str, ...]
) -> SearchRun:
    """``python search.py`` with the method ``scratch/conf/hparams_search/<name>.yaml`` (written
    from ``method_yaml``), logs under ``scratch/logs``, the experiment in ``scratch/conf``.

    Resumable: the cost of a finished search is kept in its step file; an interrupted one
    continues from its Optuna study when run again (its cost is then that of the last part).
    """

    def search() -> dict[str, Any]:
        conf = scratch / "conf"
        method_file = conf / "hparams_search" / f"{name}.yaml"
        method_file.parent.mkdir(parents=True, exist_ok=True)
        method_file.write_text("# @package _global_\n" + OmegaConf.to_yaml(method_yaml))
        command = [
            sys.executable,
            str(REPO / "search.py"),
            f"hydra.searchpath=[file://{conf}]",
            f"hparams_search={name}",
            f"search.name={name}",
            f"paths.log_dir={scratch / 'logs'}",
            f"search.experiment_dir={conf / 'experiment'}",
            *QUIET,
            *overrides,
        ]
        environment = os.environ | {"LDOS_SURROGATE_ROOT": str(REPO), "WANDB_MODE": "offline"}
        cpu_before = children_cpu_seconds()
        result, wall = timed(
            subprocess.run, command, capture_output=True, text=True, env=environment, cwd=scratch
        )
        if result.returncode != 0:
            raise RuntimeError(f"search {name} failed:\n{result.stderr[-3000:]}")
        return {"wall_s": wall, "cpu_s": children_cpu_seconds() - cpu_before}

    cost = resumable(scratch, f"search_{name}", search)
    with (scratch / "logs" / "search" / name / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return SearchRun(name, cost["wall_s"], cost["cpu_s"], rows)


def data_location(given: str | Path) -> Path:
    """Where the data set ``given`` is looked for: a path as it is, a bare name
    (``al32_298K``) under ``$LDOS_SURROGATE_DATA`` when that holds it, else under the
    repository's ``data/``."""
    path = Path(given)
    if len(path.parts) > 1:
        return path
    external = Path(os.environ.get("LDOS_SURROGATE_DATA", REPO / "data")) / path
    return external if external.exists() else REPO / "data" / path


def data_folder(given: str | Path) -> Path:
    """``data_location(given)``, resolved; exits with one line naming the folder when it
    holds no data set."""
    folder = data_location(given)
    if not (folder / "manifest.json").exists():
        sys.exit(f"{folder}: no data set there (manifest.json missing); see data/README.md")
    return folder.resolve()


# MALA's Be2 files: the energy grid of their LDOS and the SNAP settings of their descriptors
BE2_ENERGY_GRID = EnergyGrid(start_ev=-5.0, spacing_ev=2.5, count=11)
BE2_RCUT, BE2_TWOJMAX = 4.67637, 10
BE2_DESCRIPTORS = {"rcut": BE2_RCUT, "twojmax": BE2_TWOJMAX}


def be2_store(store: Path) -> None:
    """MALA's Be2 files imported into a new store at ``store`` (descriptors cached)."""
    from ldos_surrogate.io.mala_import import import_mala_dataset

    import_mala_dataset(BE2, BE2_ENERGY_GRID, store, BE2_RCUT, BE2_TWOJMAX)


def median_of(repeats: int, function: Callable[[], T]) -> tuple[T, float]:
    """The last result of ``repeats`` calls and their median wall time (seconds)."""
    runs = [timed(function) for _ in range(repeats)]
    return runs[-1][0], float(np.median([seconds for _, seconds in runs]))


def resident_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmRSS``) or its peak so far (``VmHWM``), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def ratio_of_means_ci95(numerator: list[float], denominator: list[float]) -> list[float]:
    """Percentile bootstrap 95% interval of mean(numerator) / mean(denominator), the two
    samples (seeds) resampled independently, 5000 times, seeded."""
    rng = np.random.default_rng(0)
    top, bottom = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    ratios = [
        rng.choice(top, top.size).mean() / rng.choice(bottom, bottom.size).mean()
        for _ in range(5000)
    ]
    return [float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))]
