"""Kill a real process in the middle of writing a file (a plain module, imported as
``kill_mid_write``; also run as a script by `run_killed_while_writing`).

The child runs ``python -m <module> <args>`` with ``numpy.save`` (through
``numpy.lib.format.write_array``) and ``Path.write_text`` patched: when the file being
written has a path containing the target text, the first half of its bytes is written and
flushed to disk, then the process sends itself SIGKILL (no cleanup, no ``finally`` blocks).
"""

from __future__ import annotations

import io
import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path

TARGET_VARIABLE = "KILL_WHILE_WRITING"
KILLED = -signal.SIGKILL  # returncode of a child killed by SIGKILL


def run_killed_while_writing(
    target: str, module: str, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``python -m module args`` that dies half-way through writing the first file whose
    path contains ``target`` (or finishes normally if it writes none)."""
    return subprocess.run(
        [sys.executable, __file__, module, *args],
        env=os.environ | {TARGET_VARIABLE: target},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(target: str) -> None:
    import numpy as np

    write_array = np.lib.format.write_array
    write_text = Path.write_text

    def half_written_array(fp, array, *args, **kwargs):
        if target not in str(getattr(fp, "name", "")):
            return write_array(fp, array, *args, **kwargs)
        complete = io.BytesIO()
        write_array(complete, array, *args, **kwargs)
        fp.write(complete.getvalue()[: complete.tell() // 2])
        fp.flush()
        os.fsync(fp.fileno())
        _die()

    def half_written_text(path, data, *args, **kwargs):
        if target not in str(path):
            return write_text(path, data, *args, **kwargs)
        write_text(path, data[: len(data) // 2], *args, **kwargs)
        _die()

    np.lib.format.write_array = half_written_array
    Path.write_text = half_written_text


if __name__ == "__main__":
    _arm(os.environ[TARGET_VARIABLE])
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
