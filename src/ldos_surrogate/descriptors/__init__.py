"""SNAP bispectrum descriptors on the real-space grid (LAMMPS sna/grid) and their disk cache."""

from ldos_surrogate.descriptors.cache import (
    cached_descriptors,
    descriptor_cache_path,
    descriptor_key,
    store_descriptors,
)
from ldos_surrogate.descriptors.params import SnapParams, n_bispectrum_components
from ldos_surrogate.descriptors.snap import LammpsUnavailableError, compute_snap_grid

__all__ = [
    "LammpsUnavailableError",
    "SnapParams",
    "cached_descriptors",
    "compute_snap_grid",
    "descriptor_cache_path",
    "descriptor_key",
    "n_bispectrum_components",
    "store_descriptors",
]
