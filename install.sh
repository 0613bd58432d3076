#!/usr/bin/env bash
# Installs everything ldos-surrogate needs on a fresh Debian machine (run as root):
# Quantum ESPRESSO from Debian, and a virtual environment .venv with the package.
set -euo pipefail
cd "$(dirname "$0")"

export DEBIAN_FRONTEND=noninteractive
if ! command -v pw.x >/dev/null || ! command -v pp.x >/dev/null \
    || [ ! -f /usr/share/espresso/pseudo/Al.pz-vbc.UPF ]; then
    apt-get update -q
    apt-get install -y -q quantum-espresso quantum-espresso-data
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The CPU build of torch unless a GPU is present (then pip's default CUDA build).
if ! command -v nvidia-smi >/dev/null; then
    .venv/bin/python -m pip install -q torch==2.13.0
fi
# compat mode keeps hydra_plugins/ discoverable as a namespace package.
.venv/bin/python -m pip install -q -e ".[dev,bench,parallel]" --config-settings editable_mode=compat
