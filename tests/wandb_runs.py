"""Read the offline W&B runs a run directory holds (import as `wandb_runs`).

An offline run is ``<save_dir>/wandb/offline-run-<time>-<id>/run-<id>.wandb``: W&B's record
stream, a LevelDB log (32 KiB blocks; each chunk a 7-byte header: CRC32C, length, type FULL,
FIRST, MIDDLE or LAST) after a 7-byte file header (``:W&B``, magic 0xBEE1, version), each
record a protobuf ``wandb.proto.wandb_internal_pb2.Record``. The W&B package no longer ships
a Python reader of these files, so the tests read them here.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
CHUNK_HEADER = 7
FILE_HEADER = b":W&B"
FULL, FIRST, LAST = 1, 2, 4


@dataclass
class OfflineRun:
    """What the tests check of one run: its name and group, every logged step, its exit code."""

    path: Path
    name: str = ""
    group: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    exit_code: int | None = None

    def values(self, key: str) -> list[float]:
        """The logged values of ``key`` in step order."""
        return [step[key] for step in self.history if key in step]


def records(path: Path) -> list[wandb_internal_pb2.Record]:
    """Every record of a ``.wandb`` file, in order."""
    data = path.read_bytes()
    assert data[:4] == FILE_HEADER, f"{path}: not a W&B run file"
    found, position, pending = [], CHUNK_HEADER, b""
    while position + CHUNK_HEADER <= len(data):
        left_in_block = BLOCK - position % BLOCK
        if left_in_block < CHUNK_HEADER:  # block trailer: zero padding
            position += left_in_block
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + CHUNK_HEADER])
        if kind == 0 and length == 0:  # the unwritten rest of the last block
            break
        payload = data[position + CHUNK_HEADER : position + CHUNK_HEADER + length]
        position += CHUNK_HEADER + length
        pending = payload if kind in (FULL, FIRST) else pending + payload
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            found.append(record)
    return found


def read_run(path: Path) -> OfflineRun:
    """The run in ``path`` (a ``.wandb`` file)."""
    run = OfflineRun(path)
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.name, run.group = record.run.display_name, record.run.run_group
        elif kind == "history":
            run.history.append(
                {
                    item.key or "/".join(item.nested_key): json.loads(item.value_json)
                    for item in record.history.item
                }
            )
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def offline_runs(folder: Path) -> list[OfflineRun]:
    """Every offline run below ``folder``, by path."""
    return [read_run(path) for path in sorted(folder.glob("**/wandb/offline-run-*/*.wandb"))]
