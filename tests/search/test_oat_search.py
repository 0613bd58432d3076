"""The OAT search end to end through ``search.py`` on the shipped Al data (1 epoch): the rows
of a padded orthogonal array trained once each, range analysis from results.csv, the chosen
combination written as the experiment; a space with no array refused before any trial."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from search_runs import BAND_ENERGY, REPO, compose_with, run_search, write_method

from ldos_surrogate.search.oat import range_analysis
from ldos_surrogate.search.orthogonal_arrays import orthogonal_design
from ldos_surrogate.search.space import check_keys_exist, encode, parse_space

KEYS = ("model.network.layer_widths", "model.network.activations", "model.optimizer.lr")
TINY_OAT = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_oat
hydra:
  sweeper:
    repeats: 1
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,32,32,null])
      model.network.activations: choice(ReLU,Tanh)
      model.optimizer.lr: choice(3e-3,1e-2)
"""


def test_oat_trains_the_distinct_rows_of_a_padded_array_and_picks_levels_by_range(
    tmp_path: Path,
) -> None:
    write_method(tmp_path, "tiny_oat", TINY_OAT)
    run = run_search(tmp_path, "al_oat", "hparams_search=tiny_oat", "trainer.max_epochs=1")
    assert run.returncode == 0, run.stderr[-3000:]
    # 3 x 2 x 2 levels: 12 runs unpadded (N divisible by 6 and 4), 9 padded to 3^3, 8 with
    # the 3 levels padded to the next power of two, 4
    assert "OAT: 8 rows of a strength-2 orthogonal array with levels [4, 2, 2]" in run.stdout
    assert "OAT padding: unpadded, levels [3, 2, 2] need 12 runs at least" in run.stdout
    assert "OAT padding: model.network.layer_widths: 3 levels padded to 4" in run.stdout

    # the search's rows are the rows of the same (deterministic) design, mapped to values
    values = {
        KEYS[0]: ["[null,16,null]", "[null,32,null]", "[null,32,32,null]"],
        KEYS[1]: ["ReLU", "Tanh"],
        KEYS[2]: ["0.003", "0.01"],
    }
    design = orthogonal_design({key: len(v) for key, v in values.items()}, 64, 20, "test")
    design_rows = [
        tuple(values[key][level] for key, level in zip(KEYS, row, strict=True))
        for row in design.levels.tolist()
    ]
    rows = run.results
    # a row without a finite loss (inf: its prediction cannot hold the electrons) failed
    assert all(
        row["status"] == ("complete" if math.isfinite(float(row["loss"])) else "failed")
        for row in rows
    )
    run.assert_followable(total=len(rows), method_view=True)
    loss_of = {tuple(row[key] for key in KEYS): float(row["loss"]) for row in rows}
    trained_rows = [tuple(row[key] for key in KEYS) for row in rows[: len(set(design_rows))]]
    assert trained_rows == list(dict.fromkeys(design_rows))  # distinct rows, in row order, once

    # each trial's loss is its run's validation band-energy error (one seed)
    for row in rows:
        metrics = run.sweep_dir / f"trial_{int(row['trial']):04d}" / "seed_42" / "metrics.json"
        assert float(row["loss"]) == json.loads(metrics.read_text())[BAND_ENERGY]

    # range analysis over the 8 rows, a row without a finite loss counting as the worst one
    losses = np.array([loss_of[row] for row in design_rows])
    losses[~np.isfinite(losses)] = losses[np.isfinite(losses)].max()
    effects = range_analysis(design, losses, KEYS)
    chosen = tuple(values[key][e.best_level] for key, e in zip(KEYS, effects, strict=True))
    for key, effect in zip(KEYS, effects, strict=True):
        assert f"range analysis: {key} = {values[key][effect.best_level]} (importance" in run.stdout
    if chosen not in trained_rows:
        assert tuple(rows[-1][key] for key in KEYS) == chosen
        assert len(rows) == len(trained_rows) + 1

    # the experiment reproduces the chosen combination
    experiment = compose_with(run.conf_dir, "train", "experiment=al_oat")
    assert encode(OmegaConf.to_container(experiment.model.network.layer_widths)) == chosen[0]
    assert experiment.model.network.activations == chosen[1]
    assert experiment.model.optimizer.lr == float(chosen[2])


NO_ARRAY = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_oat
hydra:
  sweeper:
    max_runs: 40
    params:
      model.network.activations: choice(ReLU,LeakyReLU,Sigmoid,Tanh,GELU,SiLU)
      model.optimizer.lr: choice(1e-4,3e-4,1e-3,3e-3,1e-2,3e-2)
      data.batch_size: choice(64,128,256,512,1024,2048)
      model.optimizer.weight_decay: choice(0.0,1e-6,1e-5,1e-4,1e-3,1e-2)
"""


def test_a_space_without_orthogonal_array_is_refused_before_any_trial(tmp_path: Path) -> None:
    # 6^4: no OA in 36 runs (no pair of orthogonal Latin squares of order 6); padded to 7^4
    # it needs 49 runs, more than max_runs
    write_method(tmp_path, "no_array", NO_ARRAY)
    run = run_search(tmp_path, "no_array", "hparams_search=no_array")
    assert run.returncode == 2
    assert (
        "error: hydra.sweeper: no strength-2 orthogonal array of at most max_runs = 40 runs"
        in run.stderr
    )
    assert not (run.sweep_dir / "results.csv").exists()
    assert not list(run.sweep_dir.glob("trial_*"))


def test_the_shipped_oat_config_has_a_16_row_padded_array_over_existing_keys() -> None:
    cfg = compose_with(REPO / "conf", "search", "hparams_search=oat", return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.ldos_surrogate_sweepers.oat_sweeper.OatSweeper"
    space = parse_space(sweeper.params)
    check_keys_exist(space, cfg, "params")
    counts = {key: len(space[key].values) for key in space.keys}
    design = orthogonal_design(counts, sweeper.max_runs, sweeper.time_limit_s, "hydra.sweeper")
    # 4 x 4 x 4 x 3 levels: 48 runs unpadded (N divisible by 16 and 12), 16 padded to 4^4
    assert (design.n_runs, design.array_levels) == (16, (4, 4, 4, 4))
