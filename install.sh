#!/usr/bin/env bash
# Installs everything ldos-surrogate needs on a fresh Debian machine (run as root):
# Quantum ESPRESSO and python3-venv from Debian, and a virtual environment .venv with the
# package (editable), its test tools and the parallel-search extras.
#
#   bash install.sh            the above
#   bash install.sh --bench    also MALA 1.4.0, the reference the benchmarks compare with (CI)
#   bash install.sh --dry-run  print the commands instead of running them
#
# torch: `pip install torch==2.13.0` as pip resolves it on this machine. A torch wheel on
# pip's own search path (a find-links folder or index in pip's configuration) is taken first;
# otherwise PyPI's, which on Linux x86-64 is the CUDA build: several GB with its nvidia-*
# packages, and it runs on CPU-only machines too. For PyTorch's CPU-only build instead, give
# its index: TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu bash install.sh
set -euo pipefail
cd "$(dirname "$0")"

extras="dev,parallel"
dry_run=false
for argument in "$@"; do
    case "$argument" in
        --bench) extras="$extras,bench" ;;
        --dry-run) dry_run=true ;;
        *) echo "error: install.sh: unknown option $argument (--bench, --dry-run)" >&2; exit 2 ;;
    esac
done

run() {
    if $dry_run; then echo "$*"; else "$@"; fi
}

export DEBIAN_FRONTEND=noninteractive
debian_packages=()
if ! command -v pw.x >/dev/null || ! command -v pp.x >/dev/null \
    || [ ! -f /usr/share/espresso/pseudo/Al.pz-vbc.UPF ]; then
    debian_packages+=(quantum-espresso quantum-espresso-data)
fi
# Debian's python3 makes virtual environments only with python3-venv (ensurepip)
if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
    debian_packages+=(python3-venv)
fi
if [ ${#debian_packages[@]} -gt 0 ]; then
    run apt-get update -q
    run apt-get install -y -q "${debian_packages[@]}"
fi

run python3 -m venv .venv
run .venv/bin/python -m pip install -q --upgrade pip
run .venv/bin/python -m pip install -q torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
# compat mode keeps hydra_plugins/ discoverable as a namespace package.
run .venv/bin/python -m pip install -q -e ".[$extras]" --config-settings editable_mode=compat
