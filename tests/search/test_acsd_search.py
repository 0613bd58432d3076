"""The ACSD search end to end through ``search.py`` on the shipped Al data: every (rcut,
twojmax) scored, the rule's choice written as a descriptor config and trained (1 epoch) as the
experiment; a dimension other than rcut and twojmax refused before any trial."""

from __future__ import annotations

from pathlib import Path

import pytest
from search_runs import REPO, compose_with, run_search, write_method

from ldos_surrogate.descriptors import SnapParams, cached_descriptors
from ldos_surrogate.io.store import read_snapshot
from ldos_surrogate.search.acsd_search import (
    RCUT_KEY,
    TWOJMAX_KEY,
    AcsdPoint,
    AcsdSettings,
    select_descriptor,
    snapshot_acsd,
)
from ldos_surrogate.search.space import check_keys_exist, parse_space

AL_SET = Path(__file__).resolve().parents[2] / "data" / "al_fcc_298K"
TINY_ACSD = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_acsd
hydra:
  sweeper:
    n_points: 100
    params:
      descriptor.rcut: choice(2.0,4.0)
      descriptor.twojmax: choice(2,4)
"""


def test_acsd_scores_the_sweep_writes_the_chosen_descriptor_and_trains_it(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "descriptor_cache"
    write_method(tmp_path, "tiny_acsd", TINY_ACSD)
    run = run_search(
        tmp_path,
        "al_acsd",
        "hparams_search=tiny_acsd",
        "trainer.max_epochs=1",
        f"data.cache_dir={cache}",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = run.results
    assert [row["status"] for row in rows] == ["scored"] * 4 + ["complete"]

    # each score is the mean ACSD over the 2 training snapshots, recomputed here from the
    # descriptors the search cached (seed 42, 100 points)
    snapshots = [read_snapshot(AL_SET / name) for name in ("snapshot_0000", "snapshot_0001")]
    ldos = [s.ldos_memmap() for s in snapshots]
    points = []
    for row in rows[:4]:
        params = SnapParams(float(row["descriptor.rcut"]), int(row["descriptor.twojmax"]))
        features = [cached_descriptors(s, params, cache) for s in snapshots]
        values = snapshot_acsd(features, ldos, AcsdSettings(n_points=100), 42)
        points.append(AcsdPoint(params.rcut, params.twojmax, values))
        assert float(row["score"]) == pytest.approx(points[-1].mean, rel=1e-12)
    chosen, _ = select_descriptor(points)

    # the chosen descriptor: trained as the last trial, written as a descriptor config and
    # as the experiment
    trained = rows[-1]
    assert (float(trained["descriptor.rcut"]), int(trained["descriptor.twojmax"])) == (
        chosen.rcut,
        chosen.twojmax,
    )
    assert float(trained["score"]) == pytest.approx(chosen.mean, rel=1e-12)
    assert float(trained["loss"]) > 0
    for config in (
        compose_with(run.conf_dir, "train", "descriptor=al_acsd"),
        compose_with(run.conf_dir, "train", "experiment=al_acsd"),
    ):
        assert (config.descriptor.rcut, config.descriptor.twojmax) == (chosen.rcut, chosen.twojmax)
        assert config.data.descriptor_params.rfac0 == 0.99363  # the rest as configured
    assert f"chosen rcut = {chosen.rcut:g} A, twojmax = {chosen.twojmax}" in run.stdout
    run.assert_followable(total=5, method_view=True)
    # both files in the search folder's configs/ too
    for group in ("descriptor", "experiment"):
        copy = run.sweep_dir / "configs" / group / "al_acsd.yaml"
        assert copy.read_text() == (run.conf_dir / group / "al_acsd.yaml").read_text()


def test_a_dimension_other_than_rcut_and_twojmax_is_refused_before_any_trial(
    tmp_path: Path,
) -> None:
    write_method(tmp_path, "bad_acsd", TINY_ACSD + "      model.optimizer.lr: choice(1e-3,1e-2)\n")
    run = run_search(tmp_path, "bad_acsd", "hparams_search=bad_acsd")
    assert run.returncode == 2
    assert (
        "error: hydra.sweeper.params: the ACSD search sweeps only descriptor.rcut and "
        "descriptor.twojmax, not ['model.optimizer.lr']" in run.stderr
    )
    assert not (run.sweep_dir / "results.csv").exists()


def test_the_shipped_acsd_config_sweeps_rcut_and_twojmax_around_the_default() -> None:
    cfg = compose_with(REPO / "conf", "search", "hparams_search=acsd", return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.ldos_surrogate_sweepers.acsd_sweeper.AcsdSweeper"
    space = parse_space(sweeper.params)
    check_keys_exist(space, cfg, "params")
    assert space.keys == (RCUT_KEY, TWOJMAX_KEY)
    assert cfg.descriptor.rcut in space[RCUT_KEY].values  # MALA's Al/Be settings included
    assert cfg.descriptor.twojmax in space[TWOJMAX_KEY].values
    AcsdSettings(sweeper.n_points, sweeper.variant, sweeper.standardize, sweeper.tolerance).check(
        "hydra.sweeper"
    )
