"""Hyperparameters of the SNAP bispectrum descriptors B(j, r) (LAMMPS ``compute sna/grid``).

A neighbour atom of element e contributes to the descriptors of a grid point when it lies
within R_e = 2 * radelem_e * rcut of it (LAMMPS's R_ii' = rcutfac (R_i + R_i'), the grid
point taking the neighbour's radius). With the default radelem 0.5, R_e = rcut: ``rcut`` is
then the cutoff radius in Angstrom. Each neighbour is weighted by f_c(r) * wj_e, f_c the
cosine switching function; rfac0 maps the distance to the third polar angle on the 3-sphere
(Thompson et al., J. Comp. Phys. 285, 316 (2015), Eqs. 1-5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ase.data import atomic_numbers

from ldos_surrogate.errors import InputError

DEFAULT_RFAC0 = 0.99363
DEFAULT_RADELEM = 0.5
DEFAULT_WJ = 1.0

PerElement = tuple[tuple[str, float], ...]


def _per_element(values: Mapping[str, float] | Iterable[tuple[str, float]], key: str) -> PerElement:
    """Normalise per-element values to a sorted tuple of (symbol, value) pairs."""
    pairs = dict(values.items() if isinstance(values, Mapping) else values)
    for symbol, value in pairs.items():
        if symbol not in atomic_numbers or atomic_numbers[symbol] == 0:
            raise InputError(f"{key}: {symbol!r} is not a chemical element symbol")
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{key}.{symbol}: must be a positive number, got {value}")
    return tuple(sorted((symbol, float(value)) for symbol, value in pairs.items()))


def n_bispectrum_components(twojmax: int) -> int:
    """Number K of bispectrum components B_{j1 j2 j} for band limit twojmax.

    LAMMPS keeps the triples with j2 <= j1 <= j <= twojmax/2 that satisfy the triangle rule
    (|j1 - j2| <= j <= j1 + j2, j1 + j2 + j integer); K = 91 for twojmax = 10.
    """
    return sum(
        1
        for two_j1 in range(twojmax + 1)
        for two_j2 in range(two_j1 + 1)
        for two_j in range(two_j1 - two_j2, min(twojmax, two_j1 + two_j2) + 1, 2)
        if two_j >= two_j1
    )


@dataclass(frozen=True)
class SnapParams:
    """SNAP descriptor hyperparameters.

    rcut: cutoff radius in Angstrom (for radelem 0.5; see the module docstring).
    twojmax: band limit 2 J_max of the bispectrum (non-negative integer).
    rfac0: distance-to-angle factor, 0 < rfac0 < 1.
    radelem, wj: per-element radius factor and neighbour weight, given as ``{"Al": 0.5}``;
        elements not listed take 0.5 and 1.0.
    switchflag: 1 = cosine switching function f_c(r) on, 0 = off.
    bzeroflag: 1 = subtract the bispectrum of an isolated point, 0 = keep it.
    quadraticflag: 1 = append the K(K+1)/2 products B_k B_l (k <= l; B_k^2 / 2 on the diagonal).
    """

    rcut: float
    twojmax: int
    rfac0: float = DEFAULT_RFAC0
    radelem: PerElement = ()
    wj: PerElement = ()
    switchflag: int = 1
    bzeroflag: int = 0
    quadraticflag: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "radelem", _per_element(self.radelem, "radelem"))
        object.__setattr__(self, "wj", _per_element(self.wj, "wj"))
        if not (math.isfinite(self.rcut) and self.rcut > 0):
            raise InputError(f"rcut: must be a positive length in Angstrom, got {self.rcut}")
        if int(self.twojmax) != self.twojmax or self.twojmax < 0:
            raise InputError(f"twojmax: must be a non-negative integer, got {self.twojmax}")
        if not 0 < self.rfac0 < 1:
            raise InputError(f"rfac0: must lie in (0, 1), got {self.rfac0}")
        for flag in ("switchflag", "bzeroflag", "quadraticflag"):
            if getattr(self, flag) not in (0, 1):
                raise InputError(f"{flag}: must be 0 or 1, got {getattr(self, flag)}")
        object.__setattr__(self, "rcut", float(self.rcut))
        object.__setattr__(self, "twojmax", int(self.twojmax))
        object.__setattr__(self, "rfac0", float(self.rfac0))

    @property
    def n_features(self) -> int:
        """Descriptor components per grid point: K, plus K(K+1)/2 with quadraticflag."""
        k = n_bispectrum_components(self.twojmax)
        return k + k * (k + 1) // 2 if self.quadraticflag else k

    def radelem_of(self, symbol: str) -> float:
        """Radius factor of an element (default 0.5)."""
        return dict(self.radelem).get(symbol, DEFAULT_RADELEM)

    def wj_of(self, symbol: str) -> float:
        """Neighbour weight of an element (default 1.0)."""
        return dict(self.wj).get(symbol, DEFAULT_WJ)

    def cutoff_of(self, symbol: str) -> float:
        """Cutoff radius R_e = 2 radelem_e rcut (Angstrom) for neighbours of an element."""
        return 2.0 * self.radelem_of(symbol) * self.rcut

    def for_elements(self, symbols: Iterable[str]) -> SnapParams:
        """The same parameters with radelem and wj spelt out for exactly these elements.

        Two parameter sets that compute the same descriptors for a snapshot give the same
        resolved form (e.g. radelem {} and {"Be": 0.5} for a Be cell), used in cache keys.
        """
        present = sorted(set(symbols))
        return SnapParams(
            rcut=self.rcut,
            twojmax=self.twojmax,
            rfac0=self.rfac0,
            radelem={symbol: self.radelem_of(symbol) for symbol in present},
            wj={symbol: self.wj_of(symbol) for symbol in present},
            switchflag=self.switchflag,
            bzeroflag=self.bzeroflag,
            quadraticflag=self.quadraticflag,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (per-element values as ``{symbol: value}``)."""
        return {
            "rcut": self.rcut,
            "twojmax": self.twojmax,
            "rfac0": self.rfac0,
            "radelem": dict(self.radelem),
            "wj": dict(self.wj),
            "switchflag": self.switchflag,
            "bzeroflag": self.bzeroflag,
            "quadraticflag": self.quadraticflag,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnapParams:
        """Inverse of `to_dict`; unknown keys are an InputError naming them."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(f"descriptor parameters: unknown keys {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as error:
            raise InputError(f"descriptor parameters: {error}") from error
