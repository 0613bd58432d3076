"""Where the science comes from is named in the repository: the seed paper (whose equation
numbers the docstrings cite as "Eq. N" / "seed Eq. N"), NASWOT, SNAP and MALA, in README.md,
CITATION.cff and the package docstring; no file points to a document outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

import ldos_surrogate

REPO = Path(__file__).resolve().parents[1]
SEED_DOI = "10.1088/2632-2153/ac9956"
NASWOT_ARXIV = "2006.04647"
SNAP_DOI = "10.1016/j.jcp.2014.12.018"
MALA_DOI = "10.1103/PhysRevB.104.035120"
SEED_TITLE = "Training-free hyperparameter optimization of neural networks for electronic structures in matter"


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    suffixes = {".py", ".md", ".yaml", ".ipynb", ".toml", ".sh", ".cff", ".txt"}
    return [
        REPO / name for name in names if Path(name).suffix in suffixes and (REPO / name).is_file()
    ]


def test_citation_file_names_the_seed_paper_and_what_it_builds_on() -> None:
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    seed = citation["preferred-citation"]
    assert (seed["title"], seed["doi"], seed["year"], seed["volume"], seed["start"]) == (
        SEED_TITLE,
        SEED_DOI,
        2022,
        3,
        "045008",
    )
    assert seed["journal"] == "Machine Learning: Science and Technology"
    assert [a["family-names"] for a in seed["authors"]][:1] == ["Fiedler"]
    references = {r["title"]: r for r in citation["references"]}
    naswot = references["Neural Architecture Search without Training"]
    assert naswot["year"] == 2021 and NASWOT_ARXIV in naswot["identifiers"][0]["value"]
    dois = {r.get("doi") for r in citation["references"]}
    assert {SNAP_DOI, MALA_DOI} <= dois


def test_readme_and_package_docstring_give_the_references() -> None:
    readme = (REPO / "README.md").read_text()
    references = readme[readme.index("## References") :]
    for needle in (SEED_DOI, NASWOT_ARXIV, SNAP_DOI, MALA_DOI, "CITATION.cff"):
        assert needle in references, needle
    docstring = ldos_surrogate.__doc__
    assert SEED_DOI in docstring and '"seed Eq. N"' in docstring
    for needle in (NASWOT_ARXIV, SNAP_DOI, MALA_DOI):
        assert needle in docstring


def test_no_file_points_outside_the_repository_and_citations_are_complete() -> None:
    for path in tracked_text_files():
        text = path.read_text(errors="replace")
        assert "DESIGN" + ".md" not in text, path
        # NASWOT is cited with its venue and year wherever it is named
        for match in re.finditer(r"Mellor et al\.", text):
            assert text[match.end() : match.end() + 11] == ", ICML 2021", (path, match.start())
