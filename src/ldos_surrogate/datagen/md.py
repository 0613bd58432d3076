"""Correlated thermal snapshots: Langevin molecular dynamics at T with an ASE calculator.

Beside the Debye model (thermal.py, independent atoms), snapshots can be taken from a
trajectory, so neighbouring atoms move together as in a real crystal at T. The dynamics is
ASE's Langevin integrator (Vanden-Eijnden & Ciccotti, Chem. Phys. Lett. 429, 310 (2006)) at
temperature T with friction gamma, the centre of mass fixed (FixCom), on the effective-medium
potential of ASE's EMT calculator (Jacobsen, Stoltze, Norskov, Surf. Sci. 366, 394 (1996);
parameters for Al, Ni, Cu, Pd, Ag, Pt, Au). The dynamics is classical: no zero-point motion
(the Debye model includes it).

Sampling, with the defaults (timestep 2 fs, gamma = 0.01 / fs):

- start: the given structure, Maxwell-Boltzmann momenta at T;
- equilibration: 2 ps (20 damping times 1/gamma) before the first snapshot;
- decorrelation: 1 ps between snapshots. Measured on 4- and 32-atom fcc Al (EMT, 298 K), the
  displacement autocorrelation C(t) = <u(0).u(t)> / <u.u> oscillates with the phonons inside
  an envelope exp(-gamma t / 2): |C| = 0.46 at 100 fs, <= 0.03 at 500 fs and 1 ps.

Snapshot i + 1 continues from snapshot i (positions and momenta) with the random stream
seeded by (seed, i + 1), so the series is the same whether it is made at once or resumed; the
frames (with momenta) are kept in a trajectory file next to the data set.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import ase
import ase.io
import numpy as np
from ase import units
from ase.constraints import FixCom

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_path

EMT_ELEMENTS = ("Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au")
CALCULATORS = ("emt",)


@dataclass(frozen=True)
class MdSettings:
    """Langevin dynamics settings: timestep (fs), friction gamma (1/fs), equilibration before
    the first snapshot and interval between snapshots (ps), the ASE calculator's name."""

    timestep_fs: float = 2.0
    friction_per_fs: float = 0.01
    equilibration_ps: float = 2.0
    interval_ps: float = 1.0
    calculator: str = "emt"

    def __post_init__(self) -> None:
        for key in ("timestep_fs", "friction_per_fs", "equilibration_ps", "interval_ps"):
            if not getattr(self, key) > 0:
                raise InputError(f"--md-{key.split('_')[0]}: must be > 0, got {getattr(self, key)}")
        if self.calculator not in CALCULATORS:
            raise InputError(f"--md-calculator {self.calculator!r}: expected one of {CALCULATORS}")

    def steps(self, picoseconds: float) -> int:
        return max(1, math.ceil(1000.0 * picoseconds / self.timestep_fs - 1e-9))


def calculator_for(atoms: ase.Atoms, name: str):
    """The ASE calculator ``name`` for these atoms; InputError when it lacks an element."""
    from ase.calculators.emt import EMT

    missing = sorted(set(atoms.get_chemical_symbols()) - set(EMT_ELEMENTS))
    if missing:
        raise InputError(
            f"--displacements md: ASE's {name.upper()} has no parameters for {missing} "
            f"(it covers {', '.join(EMT_ELEMENTS)}); use --displacements debye"
        )
    return EMT()


def advance(
    atoms: ase.Atoms, temperature_k: float, settings: MdSettings, steps: int, seed: list[int]
) -> ase.Atoms:
    """``steps`` Langevin steps at T from ``atoms`` (momenta kept when set, else drawn
    from Maxwell-Boltzmann at T); returns the new frame with its momenta."""
    from ase.md.langevin import Langevin

    rng = np.random.default_rng(seed)
    frame = atoms.copy()
    frame.calc = calculator_for(frame, settings.calculator)
    frame.set_constraint(FixCom())
    if not frame.has("momenta"):
        masses = frame.get_masses()[:, None]
        momenta = rng.normal(size=(len(frame), 3)) * np.sqrt(masses * units.kB * temperature_k)
        frame.set_momenta(momenta - masses * momenta.sum(0) / masses.sum())
    dynamics = Langevin(
        frame,
        settings.timestep_fs * units.fs,
        temperature_K=temperature_k,
        friction=settings.friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )
    dynamics.run(steps)
    result = ase.Atoms(
        frame.get_chemical_symbols(), frame.positions, cell=frame.cell, pbc=frame.pbc
    )
    result.set_momenta(frame.get_momenta())
    return result


@dataclass
class MdTrajectory:
    """The snapshots' frames of one data set, kept (with momenta) in ``path`` (extxyz)."""

    start: ase.Atoms
    temperature_k: float
    settings: MdSettings
    seed: int
    path: Path

    def frame(self, index: int) -> ase.Atoms:
        """Snapshot ``index``'s atoms, running (and storing) the dynamics up to it."""
        return self.frames(index + 1)[index]

    def frames(self, count: int) -> list[ase.Atoms]:
        """The first ``count`` frames (with momenta), running the missing ones first."""
        frames = self._stored()
        if len(frames) < count:
            while len(frames) < count:
                previous, steps = (
                    (frames[-1], self.settings.steps(self.settings.interval_ps))
                    if frames
                    else (self.start, self.settings.steps(self.settings.equilibration_ps))
                )
                seed = [self.seed, len(frames)]
                frame = advance(previous, self.temperature_k, self.settings, steps, seed)
                frames.append(_as_stored(frame))
            with atomic_path(self.path) as tmp:
                ase.io.write(tmp, frames, format="extxyz")
        return frames[:count]

    def _stored(self) -> list[ase.Atoms]:
        """The frames in the trajectory file (none when there is no file yet)."""
        if not self.path.exists():
            return []
        try:
            return list(ase.io.read(self.path, index=":", format="extxyz"))
        except Exception as error:  # ASE raises many types for unreadable files
            raise InputError(
                f"{self.path}: not a readable trajectory ({error}); delete it to rerun the dynamics"
            ) from error


def _as_stored(atoms: ase.Atoms) -> ase.Atoms:
    """``atoms`` as the trajectory file keeps them (its 8 decimals), so a resumed series
    continues from exactly the state a series made at once continues from."""
    text = io.StringIO()
    ase.io.write(text, atoms, format="extxyz")
    return ase.io.read(io.StringIO(text.getvalue()), format="extxyz")
