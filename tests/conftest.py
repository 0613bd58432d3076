"""Shared fixtures: the reference data sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from reference_data import MALA_BE2


@pytest.fixture(scope="session")
def mala_be2() -> Path:
    """MALA's Be2 test set, in the repository (tests/reference/mala_be2); read-only."""
    return MALA_BE2
