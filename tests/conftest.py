import importlib.util
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # `from fixtures.models import tiny_model_path`

from fixtures.models import TOKENIZERS, tiny_model_path  # noqa: E402

from lmforge.infer.vllm_engine import vllm_installed  # noqa: E402

REPO = TESTS.parent

# tests/vllm need vLLM, which caps transformers below lmforge's version: they run in a virtualenv of their own
# (.ci/run: `python -m pytest -q tests/vllm` in .venv-vllm; a path given on the command line is collected even
# when listed here). Without vLLM, a plain `python -m pytest` leaves them out.
collect_ignore = [] if vllm_installed() else ["vllm"]
# tests/swanlab need swanlab, which caps protobuf below what transformers needs for SentencePiece tokenizers:
# a virtualenv of their own too (.ci/run)
if importlib.util.find_spec("swanlab") is None:
    collect_ignore.append("swanlab")


@pytest.fixture(scope="session")
def tokenizer_dir():
    """tokenizer_dir("qwen3") -> path of a real tokenizer fixture."""
    return lambda name: TOKENIZERS / name


@pytest.fixture(scope="session")
def tiny_model():
    """tiny_model("qwen3" | "qwen2" | "llama") -> path of a saved tiny random model (built once, cached)."""
    return tiny_model_path
