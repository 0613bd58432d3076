"""Every benchmark in ``--quick`` mode: each runs end to end on the real data and writes its
JSON (with the documented keys) and, for the paper-reproduction ones, its PNG; the physics in
them is checked."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from reference_data import AL32, REPO

AL = REPO / "data" / "al_fcc_298K"
METHOD_KEYS = {
    "wall_s",
    "cpu_s",
    "n_trained",
    "mae_band_mev_per_atom_mean",
    "mae_band_mev_per_atom_std",
    "mae_total_mev_per_atom_mean",
    "mae_total_mev_per_atom_std",
    "chosen",
}


def run_quick(
    name: str, tmp_path: Path, *options: str, png: bool = True, json_name: str = ""
) -> dict:
    """``benchmarks/<name>.py --quick [options]`` into ``tmp_path``; its JSON
    (``<json_name or name>.json``), after checking the PNG where it draws one."""
    if not (AL / "manifest.json").exists():
        pytest.skip("data/al_fcc_298K is absent")
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / f"{name}.py"),
            "--quick",
            "--out",
            str(tmp_path / "out"),
            "--scratch",
            str(tmp_path / "scratch"),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    if png:
        assert (tmp_path / "out" / f"{name}.png").stat().st_size > 10_000
    return json.loads((tmp_path / "out" / f"{json_name or name}.json").read_text())


def require_al32() -> Path:
    """The shared 32-atom Al set, or a skip saying where it was looked for."""
    if not (AL32 / "manifest.json").exists():
        pytest.skip(f"the 32-atom Al set is not at {AL32}")
    return AL32


def test_hpo_comparison_quick(tmp_path: Path) -> None:
    payload = run_quick("hpo_comparison", tmp_path)
    methods = payload["methods"]
    assert set(methods) == {
        "direct",
        "optuna",
        "optuna_naswot",
        "oat",
        "naswot",
        "naswot_optimized",
    }
    for result in methods.values():
        assert set(result) >= METHOD_KEYS
        assert result["cpu_s"] > 0 and result["wall_s"] > 0
        assert set(result["chosen"]) == set(payload["space"])
    # NASWOT trains only the best-scored of the 4 architectures; Optuna trains every trial
    assert methods["naswot"]["n_trained"] == 1
    assert methods["optuna"]["n_trained"] == 4
    assert payload["ratios"]["naswot_speedup_cpu_vs_optuna"] == pytest.approx(
        methods["optuna"]["cpu_s"] / methods["naswot"]["cpu_s"]
    )
    # the anytime view: Optuna's best so far never rises, and the speed-up at equal accuracy
    # is the compute Optuna spent up to the trial that first matched NASWOT's choice
    curve = payload["anytime"]
    best = curve["optuna_best_so_far_val_mae"]
    assert all(b <= a for a, b in zip(best, best[1:], strict=False))
    spent = curve["optuna_seconds_to_reach_naswot"] or curve["optuna_trial_seconds"][-1]
    assert curve["speedup_at_equal_accuracy"] == pytest.approx(
        spent / curve["naswot_trial_seconds"]
    )
    assert payload["trial_budget"]["optuna"] == 4


def test_naswot_correlation_quick(tmp_path: Path) -> None:
    payload = run_quick("naswot_correlation", tmp_path)
    n = len(payload["trials"])
    assert n + payload["n_unusable"] == payload["n_trials"] == 6
    n_space = len(payload["space_scores"])
    assert n_space == 4  # 2 layouts x 2 activations
    for convention in ("seed", "original"):
        result = payload["conventions"][convention]
        for view in ("per_trial", "per_architecture"):
            c = result[view]
            assert -1 <= c["kendall_tau"] <= 1 and 0 <= c["kendall_p_value"] <= 1
            low, high = c["kendall_tau_ci95"]
            assert -1 <= low <= high <= 1
        assert result["per_architecture"]["n"] == payload["n_architectures_trained"]
        assert 1 <= result["rank_of_best_among_trials"] <= n
        assert 1 <= result["rank_of_best_among_scored"] <= result["n_scored"] == n_space
    # the two conventions score S and -S: the architecture with the highest S' under one has
    # the lowest under the other
    seed = [a["score_seed"] for a in payload["space_scores"]]
    original = [a["score_original"] for a in payload["space_scores"]]
    assert seed.index(max(seed)) == original.index(min(original))


def test_zero_cost_scores_quick(tmp_path: Path) -> None:
    """Three scores of the first 4 architectures of the recorded 4-atom study."""
    trials = REPO / "benchmarks" / "results" / "naswot_correlation.json"
    payload = run_quick("zero_cost_scores", tmp_path, "--trials", str(trials))
    assert payload["n_architectures"] == 4
    assert list(payload["scores"]) == ["jacobian", "activation_kernel", "grad_norm"]
    for result in payload["scores"].values():
        for view in ("per_trial", "per_architecture"):
            low, high = result[view]["kendall_tau_ci95"]
            assert -1 <= low <= high <= 1
        assert 1 <= result["rank_of_best_among_scored"] <= result["n_scored"] == 4
        assert result["seconds_per_candidate"] > 0
    # the seed's score recorded by the correlation study is the scorer's: the same networks,
    # the same batch, the same initialisations (to the float32 round-off of the Jacobians,
    # weighted by 1/k = 1e4 in Eq. 13)
    recorded = json.loads(trials.read_text())["trials"]
    for architecture in payload["architecture_scores"]:
        match = next(
            t
            for t in recorded
            if t["model.network.layer_widths"] == architecture["model.network.layer_widths"]
            and t["model.network.activations"] == architecture["model.network.activations"]
        )
        assert architecture["jacobian"] == pytest.approx(match["score_seed"], rel=1e-5)


def test_acsd_sweep_quick(tmp_path: Path) -> None:
    payload = run_quick("acsd_sweep", tmp_path)
    for sweep in payload["sweeps"].values():
        for point in sweep["points"]:
            assert 0 < point["acsd"] < 2  # Eq. 17: a mean of |cosine differences|
            assert point["mae_band_mev_per_atom_mean"] > 0
        # the network-based choice trains; the ACSD choice does not
        assert sweep["nn_over_acsd_time"] > 1
        assert isinstance(sweep["same_choice"], bool)


def test_acsd_sweep_names_missing_data(tmp_path: Path) -> None:
    """A data set that is not there: one line naming the folder and the command making it."""
    missing = tmp_path / "mg_hcp_298K"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "acsd_sweep.py"), "--data", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{missing} is missing: make it with `ldos-surrogate datagen --element Mg --supercell 1 "
        f"--temperature 298 --snapshots 8 --out {missing}`"
    ]


def test_vs_mala_quick(tmp_path: Path) -> None:
    pytest.importorskip("mala", reason="MALA 1.4.0 is the optional bench extra")
    payload = run_quick("vs_mala", tmp_path)
    band = payload["band_energy"]
    assert band["band_energy_diff_mev_per_atom"] < 1e-3  # same Eq. 5-7 on the same array
    assert payload["naswot"]["max_rel_diff_float64"] < 1e-9
    for result in payload["acsd"].values():
        assert result["rel_diff"] < 1e-3
    for name in ("band_energy", "naswot", "training"):
        assert math.isfinite(payload[name]["ratio"]) and payload[name]["ratio"] > 0


def test_al32_vs_mala_quick(tmp_path: Path) -> None:
    """MALA's example training and ours on the same 32-atom snapshots: MALA's band energy of
    its own prediction equals this project's on the same LDOS, and every model stands beside
    the constant guess."""
    pytest.importorskip("mala", reason="MALA 1.4.0 is the optional bench extra")
    payload = run_quick("al32_vs_mala", tmp_path, "--data", str(require_al32()))
    (name,) = payload["splits"]["test"]
    mala = payload["mala"]["test_snapshots"][name]
    assert mala["band_energy_error_mev_per_atom"] == pytest.approx(
        mala["band_energy_error_by_this_project_mev_per_atom"], abs=1e-3
    )
    constant = payload["constant_guess"]["test_snapshots"][name]
    for run in (payload["ours_same"], *payload["ours_best"]["runs"]):
        errors = run["test_snapshots"][name]
        assert errors["constant_band_energy_error_mev_per_atom"] == pytest.approx(
            constant["constant_band_energy_error_mev_per_atom"]
        )
    for model in ("mala", "ours_same", "ours_best"):
        assert payload[model]["points_per_second"] > 0
        assert math.isfinite(payload[model]["band_mae_mev_per_atom"])


def test_al32_diagnostics_quick(tmp_path: Path) -> None:
    """The measurements behind experiment=al32 after one epoch: the constant guess of the
    held-out snapshots is the data set's, the band-energy error splits into energy windows
    that add up to the error of the network they describe (its output layer solved with the
    experiment's snapshot weight 10), few held-out points leave the training descriptor range,
    and the predicted LDOS holds the electrons to a fraction of one of 96."""
    payload = run_quick("al32_diagnostics", tmp_path, "--data", str(require_al32()))
    band = "band_energy_error_mev_per_atom"
    assert payload["constant_guess_mae"][band] == pytest.approx(23.04, abs=0.01)
    assert payload["constant_guess_mae"]["total_free_energy_error_mev_per_atom"] == (
        pytest.approx(12.67, abs=0.01)
    )
    solved = payload["solved_output_layer"]["per_snapshot"]["solved, lambda 10"]
    for name, sources in payload["error_sources"].items():
        windows = sources["band_energy_error_by_window_mev_per_atom"].values()
        assert sum(windows) == pytest.approx(
            solved[name][band], abs=0.05 + 0.02 * abs(sum(windows))
        )
        assert 0 <= sources["share_of_points_outside_training_range"] < 0.01
        assert abs(sources["electron_count_error"]) < 0.5
    assert set(payload["learning_curve"]) == {"2", "5"}


def test_postprocessing_quick(tmp_path: Path) -> None:
    """Be2 snapshot 0: the band-energy path and the full Eq. 7 path find the same Fermi level
    and band energy, and MALA (when installed) finds them too."""
    rows = run_quick("postprocessing", tmp_path, png=False)["rows"]
    ours, full = rows["band energy (this project)"], rows["full Eq. 7 (this project)"]
    assert full["band_energy_ev"] == pytest.approx(ours["band_energy_ev"], abs=1e-9)
    assert full["fermi_energy_ev"] == pytest.approx(ours["fermi_energy_ev"], abs=1e-9)
    if "band energy (MALA 1.4.0)" in rows:
        mala = rows["band energy (MALA 1.4.0)"]
        assert mala["band_energy_ev"] == pytest.approx(ours["band_energy_ev"], abs=1e-6)
        assert mala["fermi_energy_ev"] == pytest.approx(ours["fermi_energy_ev"], abs=1e-6)
    assert all(row["median_s"] > 0 for row in rows.values())


def test_acsd_speed_quick(tmp_path: Path) -> None:
    """MALA's ACSD and ours on the same pairs agree (float32 to its rounding, float64 to
    machine precision)."""
    pytest.importorskip("mala", reason="MALA 1.4.0 is the optional bench extra")
    (grid,) = run_quick("acsd_speed", tmp_path, png=False)["grids"].values()
    result = grid["by_points"]["100"]
    assert 0 < result["mala_value"] < 2  # Eq. 17: a mean of |cosine differences|
    assert result["rel_diff_float32"] < 1e-3
    assert grid["rel_diff_float64_50_points"] < 1e-9
    assert result["ratio"] > 0


def test_training_throughput_quick(tmp_path: Path) -> None:
    pytest.importorskip("mala", reason="MALA 1.4.0 is the optional bench extra")
    payload = run_quick("training_throughput", tmp_path, png=False)
    assert payload["training_points"] == 2 * 18 * 18 * 27  # Be2 snapshots 0 and 1
    assert payload["network"] == [91, 64, 11]
    for code in payload["codes"].values():
        assert code["points_per_s"] > 0 and code["gflops"] > 0
    assert payload["matmul_gflops"] > 0 and payload["ratio"] > 0


def test_datamodule_memory_quick(tmp_path: Path) -> None:
    """The same data through the budget: lazy where it does not fit, and its memory grows
    less than when the set is held whole."""
    payload = run_quick("datamodule_memory", tmp_path, png=False)
    cases = payload["cases"]
    modes = [case["mode"] for case in cases.values()]
    assert modes == ["in memory", "lazy", "in memory", "lazy"]
    baseline, lazy = cases["in memory, large set (baseline)"], cases["lazy, large set"]
    assert lazy["data_mb"] == pytest.approx(baseline["data_mb"])
    assert lazy["data_mb"] > lazy["budget_mb"]
    growth = {k: c["peak_rss_mb"] - c["rss_before_mb"] for k, c in (("b", baseline), ("l", lazy))}
    assert growth["l"] < growth["b"]
    assert all(case["points_per_s"] > 0 for case in cases.values())


def test_descriptors_throughput_quick(tmp_path: Path) -> None:
    """mpiexec gives the serial array, and the descriptors of the 4 x 4 x 4 fcc cell repeat
    with the conventional cell."""
    payload = run_quick("descriptors_throughput", tmp_path, png=False)
    (row,) = payload["rows"]
    assert payload["n_features"] == 91 and row["points"] == 12**3
    assert row["max_rel_diff_mpi_serial"] < 1e-12
    assert row["max_rel_change_under_cell_shift"] < 1e-10
    assert row["serial_s"] > 0 and row["mpi_s"] > 0


def test_datagen_snapshot_quick(tmp_path: Path) -> None:
    """One 4-atom Al snapshot by QE (2x2x2 k-points): the wavefunction path gives pp.x's LDOS,
    the Fermi level refitted to 12 electrons is QE's, and float32/float16 storage cost
    less than a thousandth / a tenth of a meV/atom of band energy."""
    payload = run_quick("datagen_snapshot", tmp_path, png=False)
    assert payload["n_electrons"] == 12 and payload["k_points"] == 8
    assert payload["ldos_max_deviation_over_max"] < 1e-8
    assert abs(payload["fermi_refit_minus_scf_mev"]) < 1.0
    storage = payload["storage"]
    assert abs(storage["float32"]["band_energy_error_mev_per_atom"]) < 1e-3
    assert abs(storage["float16"]["band_energy_error_mev_per_atom"]) < 0.1
    assert all(seconds >= 0 for seconds in payload["steps_wall_s"].values())


def test_parallel_search_quick(tmp_path: Path) -> None:
    """One search by 1 and by 2 workers: every trial runs once either way."""
    payload = run_quick("parallel_search", tmp_path, png=False, json_name="parallel_search_optuna")
    one, two = payload["workers"]["1"], payload["workers"]["2"]
    assert one["trials"] == two["trials"] == one["trained"] == two["trained"] == 2
    assert payload["speedup"] == pytest.approx(one["seconds"] / two["seconds"])


def test_predict_scaling_quick(tmp_path: Path) -> None:
    """The 4-atom cell predicted on its training grid: the density holds the 12 electrons the
    Fermi level was fitted to (Eq. 6 on the same LDOS); no QE in quick mode."""
    payload = run_quick("predict_scaling", tmp_path, png=False)
    (case,) = payload["cases"]
    assert payload["qe"] == []
    assert case["n_atoms"] == 4 and case["grid_shape"] == [18, 18, 18]
    assert case["electrons_in_density"] == pytest.approx(case["n_electrons"], rel=1e-3)
    assert math.isfinite(case["energies_ev_per_atom"]["total_free_energy_ev"])
    assert 0 <= case["ood_fraction"] <= 1 and case["cpu_s"] > 0


def test_naswot_stability_quick(tmp_path: Path) -> None:
    """Four architectures of the 32-atom comparison's space scored under independent batch
    draws and initialisation seeds: rank agreements are proper Kendall taus and frequencies,
    and scoring twice with the same seeds gives the same ranking."""
    payload = run_quick("naswot_stability", tmp_path, "--data", str(require_al32()))
    assert payload["identical_tau"] == 1.0
    n = len(payload["candidates"])
    assert n == 4
    for result in payload["results"].values():
        for source in ("both", "init", "batch"):
            agreement = result[source]
            assert -1 <= agreement["kendall_tau_mean"] <= 1
            assert 0 <= agreement["top_stays_top"] <= 1
            assert 1 <= agreement["top_mean_rank"] <= n
        assert result["seconds_per_candidate"] > 0
        assert all(math.isfinite(s) for scores in result["scores_both"] for s in scores)
    chosen = payload["defaults"]
    assert payload["results"][chosen["setting"]]["batch_points"] == chosen["batch_points"]


def test_naswot_vs_mala_quick() -> None:
    """Our scores equal MALA's routine's on the float64 Jacobian, the one-pass mean score
    equals one network per initialisation, and every timing gives a ratio."""
    pytest.importorskip("mala", reason="MALA 1.4.0 is the optional bench extra")
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "naswot_vs_mala.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()

    def value(text: str) -> float:
        (line,) = [line for line in lines if line.startswith(text)]
        return float(line.rsplit(":", 1)[1])

    assert value("max relative difference, MALA on the float64 Jacobian vs ours") < 1e-9
    assert value("max relative difference of S', one pass vs a network per init") < 1e-12
    table = lines[lines.index("|---|---|---|") + 1 :]
    ratios = [float(row.split("|")[3]) for row in table]
    assert len(ratios) == 5 and all(ratio > 0 for ratio in ratios)
