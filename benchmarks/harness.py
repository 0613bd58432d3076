"""What the benchmarks share: where the repository and the results are, the command line of
the benchmarks that train (``--quick``, ``--out``, ``--scratch``), composing and running a
quiet training, the spread over seeds and writing the results."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from ldos_surrogate.tasks import train

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
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
    path.write_text(json.dumps(payload, indent=2) + "\n")
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
