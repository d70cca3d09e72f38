"""Constants and helpers of the vLLM tests."""

from __future__ import annotations

import json
from pathlib import Path

MAX_NEW_TOKENS = 24
KV_CACHE_BYTES = 256 * 1024 * 1024
# the vLLM keys of every test: eager (no torch.compile warm-up on the CPU), a short max_model_len and an explicit
# KV cache (the CPU backend's default is a fraction of the memory node, which a container may misreport)
VLLM = {"infer_backend": "vllm", "vllm_enforce_eager": True, "vllm_maxlen": 1024,
        "vllm_config": {"kv_cache_memory_bytes": KV_CACHE_BYTES}}
VLLM_ARGS = ["infer_backend=vllm", "vllm_enforce_eager=true", "vllm_maxlen=1024",
             f"vllm_config={json.dumps({'kv_cache_memory_bytes': KV_CACHE_BYTES})}"]


def config(model_dir: Path, **keys):
    from lmforge.config import load_config

    values = {"model_name_or_path": str(model_dir), "do_sample": False, "max_new_tokens": MAX_NEW_TOKENS, **keys}
    return load_config(values, command="chat")
