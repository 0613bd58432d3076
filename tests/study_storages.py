"""The study storages the tests run on (import as `study_storages`): the SQLite file of a
search folder, Optuna's journal file, and a PostgreSQL server on loopback (``.ci/postgres.sh``
starts one; its URL comes from ``LDOS_SURROGATE_TEST_POSTGRES``)."""

from __future__ import annotations

import os

import pytest

POSTGRES_VARIABLE = "LDOS_SURROGATE_TEST_POSTGRES"
POSTGRES_DEFAULT = "postgresql+psycopg://ldos:ldos@127.0.0.1:5432/ldos_test"


def postgres_url() -> str:
    """The test server's URL, or skip saying why none is reachable."""
    url = os.environ.get(POSTGRES_VARIABLE, POSTGRES_DEFAULT)
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (extra 'parallel')")
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(plain, connect_timeout=3).close()
    except psycopg.Error as error:
        pytest.skip(
            f"no PostgreSQL server at {url} ({str(error).strip()}); start one with "
            f"`bash .ci/postgres.sh` or set {POSTGRES_VARIABLE}"
        )
    return url


def storage_setting(kind: str) -> str | None:
    """``hydra.sweeper.storage`` for ``kind`` (sqlite: the default file, journal, postgresql)."""
    return postgres_url() if kind == "postgresql" else {"sqlite": None, "journal": "journal"}[kind]
