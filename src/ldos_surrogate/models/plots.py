"""Figures people look at after training: predicted vs DFT DOS, and the training curve."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ldos_surrogate.io.atomic import atomic_path  # noqa: E402


def _save(figure: plt.Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_dos(
    energies_ev: np.ndarray,
    predicted: np.ndarray,
    reference: np.ndarray,
    fermi_energy_ev: float,
    title: str,
    path: str | Path,
) -> Path:
    """DOS D(eps) (states/eV, Eq. 5) of the predicted and the DFT LDOS, with the Fermi level."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(energies_ev, reference, color="black", label="DFT LDOS")
    axes.plot(energies_ev, predicted, color="tab:red", linestyle="--", label="network")
    axes.axvline(fermi_energy_ev, color="grey", linewidth=0.8, label="Fermi level (DFT LDOS)")
    axes.set_xlabel("energy (eV)")
    axes.set_ylabel("density of states (states/eV)")
    axes.set_title(title)
    axes.legend()
    return _save(figure, Path(path))


def plot_training_curve(epochs: list[int], band_energy_mae: list[float], path: str | Path) -> Path:
    """Validation band-energy MAE (meV/atom) per epoch, log scale (seed Fig. 1)."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.semilogy(epochs, band_energy_mae, marker="o", markersize=3)
    axes.set_xlabel("epoch")
    axes.set_ylabel("validation band-energy MAE (meV/atom)")
    axes.grid(True, which="both", alpha=0.3)
    return _save(figure, Path(path))


def plot_parity(
    panels: dict[str, tuple[np.ndarray, np.ndarray, float]],
    labels: list[str],
    path: str | Path,
) -> Path:
    """Parity plot, one panel per energy: DFT-LDOS against predicted energy per atom (eV)
    of each snapshot (``labels``), with the identity line and the constant guess, the
    training snapshots' mean, as a horizontal line. ``panels``: title -> (DFT values,
    predicted values, constant guess)."""
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5), squeeze=False)
    for ax, (title, (dft, predicted, constant)) in zip(axes[0], panels.items(), strict=True):
        dft, predicted = np.asarray(dft), np.asarray(predicted)
        low = min(dft.min(), predicted.min(), constant)
        high = max(dft.max(), predicted.max(), constant)
        margin = 0.05 * (high - low) or 1e-3
        limits = (low - margin, high + margin)
        ax.plot(limits, limits, color="grey", linewidth=0.8, label="prediction = DFT")
        ax.axhline(constant, color="tab:orange", linestyle=":", label="constant guess")
        ax.scatter(dft, predicted, color="tab:blue", zorder=3, label="network")
        for x, y, label in zip(dft, predicted, labels, strict=True):
            ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlim(limits)
        ax.set_ylim(limits)
        ax.set_xlabel(f"DFT-LDOS {title} (eV/atom)")
        ax.set_ylabel(f"predicted {title} (eV/atom)")
        ax.ticklabel_format(useOffset=False)
        ax.legend(fontsize=8)
    figure.tight_layout()
    return _save(figure, Path(path))
