"""Fixtures of the inference tests: the tiny Qwen3 model with greedy decoding, an engine over it, and a
DeepSeek-R1-style thinking model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixtures.models import TOKENIZERS
from infer_helpers import MAX_NEW_TOKENS


@pytest.fixture(scope="session")
def qwen3_dir(tiny_model) -> Path:
    return tiny_model("qwen3")


@pytest.fixture(scope="session")
def greedy_args(qwen3_dir) -> list[str]:
    """Command-line keys of every inference test: the tiny model, greedy, a few tokens."""
    return [f"model_name_or_path={qwen3_dir}", "do_sample=false", f"max_new_tokens={MAX_NEW_TOKENS}"]


@pytest.fixture(scope="session")
def engine(greedy_args):
    from lmforge.config import load_config, parse_argv
    from lmforge.infer.engine import load_engine

    return load_engine(load_config(parse_argv(greedy_args), command="chat"))


@pytest.fixture(scope="session")
def r1_dir(qwen3_dir, tmp_path_factory) -> Path:
    """A thinking model: the tiny Qwen3 weights with DeepSeek-R1-Distill's tokenizer, whose generation prompt
    opens a <think> block, so everything this random model writes is reasoning."""
    out = tmp_path_factory.mktemp("tiny-r1")
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        shutil.copy(qwen3_dir / name, out / name)
    for f in (TOKENIZERS / "deepseek-r1").iterdir():
        if f.name != "generation_config.json":
            shutil.copy(f, out / f.name)
    return out
