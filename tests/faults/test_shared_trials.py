"""Workers of one search that plans its trials up front (NASWOT candidates, OAT rows) split
them through claims (`ldos_surrogate.search.claims`): every candidate is scored once and every
row trained once, and a worker killed in the middle of a trial loses nothing: its claim dies
with it and the survivor runs the trial."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import time
from pathlib import Path

from search_workers import METRIC, SearchFolder, stop

from ldos_surrogate.search.claims import ClaimBoard, SharingSettings

WORKER_TIMEOUT = 300  # s
# 12 architectures, each scored on 1024 grid points with 10 initialisations (about a second
# each on one CPU core), so that both workers are still scoring when the other one starts;
# the best is trained at a rate that gives a finite loss in 2 epochs (an inf fails the trial)
NASWOT_METHOD = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_naswot
model:
  optimizer:
    lr: 1.0e-2
hydra:
  sweeper:
    heartbeat_interval: 1
    grace_period: 3
    naswot: {n_inits: 10, batch_points: 1024}
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null],[null,64,null])
      model.network.activations: choice(ReLU,Tanh,Sigmoid,LeakyReLU)
"""
# 4 rows of a 2 x 2 orthogonal array, one seed each
OAT_METHOD = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_oat
hydra:
  sweeper:
    repeats: 1
    heartbeat_interval: 1
    grace_period: 3
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,null])
      model.optimizer.lr: choice(3e-3,1e-2)
"""


def rows(search: SearchFolder) -> list[dict[str, str]]:
    with (search.sweep_dir / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def trials_run_by(log: str, total: int) -> int:
    """Trials a worker ran, from its summary (all of them when it names none elsewhere)."""
    match = re.search(r"this worker ran (\d+) of the trials", log)
    return int(match.group(1)) if match else total


def test_two_naswot_workers_score_each_architecture_once(tmp_path: Path) -> None:
    search = SearchFolder(tmp_path, "naswot_workers", n_trials=0, method=NASWOT_METHOD)
    workers = [search.start(name) for name in ("first", "second")]
    try:
        for name, worker in zip(("first", "second"), workers, strict=True):
            assert worker.wait(timeout=WORKER_TIMEOUT) == 0, search.log(name)
    finally:
        stop(*workers)

    table = rows(search)
    scored = [row for row in table if row["status"] == "scored"]
    assert sorted(int(row["trial"]) for row in scored) == list(range(12))  # each exactly once
    (trained,) = [row for row in table if row["status"] == "complete"]
    best = max(scored, key=lambda row: float(row["score"]))
    assert trained["trial"] == "12" and trained["score"] == best["score"]
    # both workers scored a share, together every trial once, and both chose the same one
    logs = [(tmp_path / f"{name}.log").read_text() for name in ("first", "second")]
    shares = [trials_run_by(log, 13) for log in logs]
    assert sum(shares) == 13 and min(shares) >= 1, shares
    for log in logs:
        assert "best: trial 12" in log
    assert not list((search.sweep_dir / "claims").glob("trial_*.json"))  # all released


def test_oat_worker_killed_mid_trial_loses_nothing(tmp_path: Path) -> None:
    search = SearchFolder(tmp_path, "oat_workers", n_trials=0, method=OAT_METHOD)
    search.run_two_killing_one(WORKER_TIMEOUT)

    table = rows(search)
    numbers = [int(row["trial"]) for row in table]
    assert sorted(numbers) == list(range(len(numbers)))  # no trial lost, none run twice
    assert len(numbers) in (4, 5)  # 4 rows, and the chosen levels unless they are a row
    assert all(row["status"] == "complete" for row in table)
    # the trial the killed worker held was taken over and trained by the survivor, and
    # every row carries the loss its run wrote
    assert trials_run_by(search.log("survivor"), len(numbers)) == len(numbers)
    for row in table:
        metrics = search.trial_metrics(int(row["trial"]), int(row["seeds"]))
        assert float(row["loss"]) == metrics[METRIC]


def test_claims_of_live_workers_are_respected_and_dead_ones_taken_over(tmp_path: Path) -> None:
    settings = SharingSettings(heartbeat_interval=1, grace_period=3)
    here, there = ClaimBoard(tmp_path, settings), ClaimBoard(tmp_path, settings)
    assert here.take([0, 1, 2], limit=2) == [0, 1]
    assert there.take([0, 1, 2], limit=2) == [2]  # 0 and 1 are held by a live process

    # a claim of another host: alive while its heartbeat is fresh, dead after grace_period
    foreign = tmp_path / "claims" / "trial_0007.json"
    foreign.write_text(json.dumps({"host": f"not-{socket.gethostname()}", "pid": 1, "token": "x"}))
    assert here.take([7], limit=1) == []
    os.utime(foreign, (time.time() - 10, time.time() - 10))
    assert here.take([7], limit=1) == [7]

    # a claim of this host whose process is gone is dead at once
    gone = tmp_path / "claims" / "trial_0008.json"
    gone.write_text(json.dumps({"host": socket.gethostname(), "pid": 2**22 + 1, "token": "y"}))
    assert there.take([8], limit=1) == [8]

    # holding: heartbeats keep the claim fresh past the grace period; release at the end
    with there.holding([2]):
        time.sleep(4)
        assert here.take([2], limit=1) == []
    assert not (tmp_path / "claims" / "trial_0002.json").exists()
    here.release([0, 1, 7])
    assert sorted(p.name for p in (tmp_path / "claims").glob("trial_*")) == ["trial_0008.json"]
