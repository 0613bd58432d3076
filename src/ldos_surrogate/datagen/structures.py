"""Where the atoms of snapshot i come from: a built-in crystal or any ASE-readable file,
as given or with thermal displacements.

- ``--element El --supercell n``: the element's conventional cell repeated n times
  (elements.py);
- ``--atoms FILE``: any structure ASE reads (extxyz, CIF, POSCAR, a QE input or output, an
  ASE or LAMMPS trajectory, ...); every frame is one snapshot, so an MD trajectory becomes a
  data set as it is.

Displacements: ``none`` (the frames as given), ``debye`` (independent Gaussian displacements
of the Debye model, thermal.py, seeded by (seed, i)) or ``md`` (Langevin dynamics with an
ASE calculator, md.py); ``debye`` and ``md`` start from one structure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import ase
import ase.io

from ldos_surrogate.datagen.md import MdSettings, MdTrajectory, calculator_for
from ldos_surrogate.datagen.thermal import thermal_snapshot
from ldos_surrogate.errors import InputError

DISPLACEMENTS = ("none", "debye", "md")
MD_TRAJECTORY_FILE = "md_trajectory.extxyz"


def read_frames(path: str | Path) -> list[ase.Atoms]:
    """Every frame of an ASE-readable file, periodic in 3-D with atoms; InputError naming
    the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--atoms {path}: file not found")
    try:
        frames = ase.io.read(path, index=":")
    except Exception as error:  # ASE raises many types for unreadable files
        raise InputError(f"--atoms {path}: not a readable atoms file ({error})") from error
    frames = frames if isinstance(frames, list) else [frames]
    for index, atoms in enumerate(frames):
        if len(atoms) == 0 or not atoms.pbc.all() or abs(atoms.cell.volume) < 1e-6:
            raise InputError(
                f"--atoms {path}: frame {index} is not a periodic 3-D cell with atoms "
                f"({len(atoms)} atoms, pbc {atoms.pbc.tolist()}); plane-wave DFT needs one"
            )
    if not frames:
        raise InputError(f"--atoms {path}: holds no structure")
    return frames


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file (hex), to recognise an input file on resume and in provenance."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class SnapshotAtoms:
    """The atoms of each snapshot of a data set.

    ``frames``: the given structures (one per snapshot for ``none``, the one start structure
    for ``debye`` and ``md``); ``debye_temperature_k`` for ``debye``; ``md`` settings and the
    data set folder (for the trajectory file) for ``md``.
    """

    frames: list[ase.Atoms]
    displacements: str
    temperature_k: float
    seed: int
    debye_temperature_k: float | None = None
    md: MdSettings | None = None
    dataset_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.displacements not in DISPLACEMENTS:
            raise InputError(
                f"--displacements {self.displacements!r}: expected one of {DISPLACEMENTS}"
            )
        if self.displacements != "none" and len(self.frames) != 1:
            raise InputError(
                f"--displacements {self.displacements}: starts from one structure, "
                f"the atoms file holds {len(self.frames)} frames"
            )
        if self.displacements == "debye" and not (self.debye_temperature_k or 0) > 0:
            raise InputError(
                "--debye-temperature: required for --displacements debye, the project has no "
                f"Debye temperature for {sorted(set(self.frames[0].get_chemical_symbols()))}"
            )
        self._trajectory = None
        if self.displacements == "md":
            calculator_for(self.frames[0], (self.md or MdSettings()).calculator)  # one exists?
            self._trajectory = MdTrajectory(
                self.frames[0],
                self.temperature_k,
                self.md or MdSettings(),
                self.seed,
                Path(self.dataset_dir) / MD_TRAJECTORY_FILE,
            )

    @property
    def count(self) -> int | None:
        """How many snapshots the source holds (None: as many as asked for)."""
        return len(self.frames) if self.displacements == "none" else None

    def __call__(self, index: int) -> ase.Atoms:
        """Snapshot ``index``'s atoms (positions wrapped into the cell, no momenta)."""
        if self.displacements == "debye":
            atoms = thermal_snapshot(
                self.frames[0], self.temperature_k, self.debye_temperature_k, self.seed, index
            )
        elif self.displacements == "md":
            atoms = self._trajectory.frame(index)
        else:
            atoms = self.frames[index]
        plain = ase.Atoms(atoms.get_chemical_symbols(), atoms.positions, cell=atoms.cell, pbc=True)
        plain.wrap()
        return plain
