"""What the total energy needs from a pseudopotential file (UPF version 2 header):
the valence charge Z of the ion (Ewald sum) and the exchange-correlation functional.

Eq. (7) evaluated from the valence density alone is exact for norm-conserving
pseudopotentials without a non-linear core correction (e.g. Al.pz-vbc.UPF). Ultrasoft or
PAW files (augmentation charges) and core corrections (E_xc of n + n_core) need more than
the LDOS gives; `supports_total_energy` says which files qualify.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.xc import functional_from_name

_HEADER = re.compile(r"<PP_HEADER\b(.*?)/?>", re.DOTALL)
_ATTRIBUTE = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


@dataclass(frozen=True)
class Pseudopotential:
    """Header facts of one UPF file; `functional` is one of xc.FUNCTIONALS or None if unknown."""

    path: Path
    element: str
    z_valence: float
    functional: str | None
    functional_name: str
    pseudo_type: str
    core_correction: bool

    @property
    def supports_total_energy(self) -> bool:
        """True for norm-conserving files without core correction and a known functional."""
        return self.pseudo_type == "NC" and not self.core_correction and self.functional is not None


def read_upf(path: str | Path) -> Pseudopotential:
    """Read the PP_HEADER of a UPF v2 file; InputError naming the file on problems."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise InputError(f"{path}: cannot read pseudopotential ({error.strerror})") from error
    match = _HEADER.search(text)
    if match is None:
        raise InputError(f"{path}: no <PP_HEADER .../> (only UPF version 2 files are read)")
    attributes = {key.lower(): value.strip() for key, value in _ATTRIBUTE.findall(match.group(1))}
    try:
        z_valence = float(attributes["z_valence"])
        name = attributes["functional"]
        element = attributes["element"]
    except (KeyError, ValueError) as error:
        raise InputError(f"{path}: PP_HEADER lacks a valid {error}") from error
    try:
        functional = functional_from_name(name, str(path))
    except InputError:
        functional = None
    return Pseudopotential(
        path=path,
        element=element,
        z_valence=z_valence,
        functional=functional,
        functional_name=name,
        pseudo_type=attributes.get("pseudo_type", "").upper(),
        core_correction=attributes.get("core_correction", "false").lower()
        in ("true", "t", ".true."),
    )


DEFAULT_PSEUDO_DIRS = (Path("/usr/share/espresso/pseudo"),)
"""Where Debian's quantum-espresso package installs its pseudopotentials."""


def find_pseudopotential(filename: str, directories: list[Path]) -> Path | None:
    """The first `directories[i] / filename` that exists, then $ESPRESSO_PSEUDO, then Debian's."""
    extra = [Path(os.environ["ESPRESSO_PSEUDO"])] if "ESPRESSO_PSEUDO" in os.environ else []
    for directory in [*directories, *extra, *DEFAULT_PSEUDO_DIRS]:
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    return None


def pseudopotentials_for(
    names: Mapping[str, str], elements: Iterable[str], directories: list[Path]
) -> tuple[dict[str, Pseudopotential] | None, str | None]:
    """The pseudopotential of each element from its file name (``names``: element -> UPF file,
    as recorded in a snapshot's provenance), looked up with `find_pseudopotential`.

    Returns (element -> header, None), or (None, the reason) when one is not named or found.
    """
    found = {}
    for element in elements:
        if element not in names:
            return None, f"no pseudopotential named for {element}"
        path = find_pseudopotential(names[element], directories)
        if path is None:
            return None, (
                f"pseudopotential {names[element]} not found (give its folder: "
                "paths.pseudo_dirs for train.py, --pseudo-dir on the command line)"
            )
        found[element] = read_upf(path)
    return found, None


def why_no_total_energy(pseudos: Iterable[Pseudopotential]) -> str | None:
    """None when Eq. (7) can be evaluated from the LDOS with these pseudopotentials, else why."""
    pseudos = list(pseudos)
    for pseudo in pseudos:
        if not pseudo.supports_total_energy:
            return (
                f"{pseudo.path.name} is {pseudo.pseudo_type}"
                f"{' with core correction' if pseudo.core_correction else ''}"
                f" ({pseudo.functional_name}): Eq. (7) from the LDOS needs norm-conserving"
                " pseudopotentials without core correction"
            )
    if len({pseudo.functional for pseudo in pseudos}) > 1:
        return "the pseudopotentials use different functionals"
    return None
