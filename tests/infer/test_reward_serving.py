"""A reward model trained with stage: rm is served by `lmforge api` (POST /v1/score/evaluation) and kept by
`lmforge export`: the server's scores, the in-process engine's and the exported model's are the same."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import torch
from infer_helpers import api_server
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from lmforge.config import load_config, parse_argv
from lmforge.infer.reward import RewardEngine
from lmforge.train.run import run_training

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples" / "tiny-phi3"
TEXTS = ["<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n4<|end|>\n",
         "<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\nFive, obviously.<|end|>\n"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reward_adapter(tmp_path_factory):
    out = tmp_path_factory.mktemp("rm") / "adapter"
    run_training(load_config(parse_argv([
        f"model_name_or_path={TINY}", "stage=rm", "dataset=dpo_en_demo", f"dataset_dir={REPO / 'data'}",
        "template=phi", f"output_dir={out}", "max_samples=8", "max_steps=4", "cutoff_len=128",
        "learning_rate=5e-3", "report_to=none", "save_strategy=no", "disable_gradient_checkpointing=true"])))
    return out


def _args(adapter):
    return [f"model_name_or_path={TINY}", f"adapter_name_or_path={adapter}", "stage=rm"]


def test_server_scores_equal_the_engine_and_the_export(reward_adapter, tmp_path):
    engine = RewardEngine.from_config(load_config(parse_argv(_args(reward_adapter)), command="api"))
    expected = engine.score(TEXTS)
    assert expected[0] != expected[1]

    with api_server(_args(reward_adapter), tmp_path / "api.log", {"API_KEY": "k"}) as server:
        base = server.base
        headers = {"Authorization": "Bearer k"}
        body = httpx.post(f"{base}/v1/score/evaluation", json={"model": "rm", "messages": TEXTS},
                          headers=headers, timeout=60).json()
        assert body["object"] == "score.evaluation"
        assert body["scores"] == pytest.approx(expected, abs=1e-5)
        denied = httpx.post(f"{base}/v1/score/evaluation", json={"messages": TEXTS}, timeout=60)
        assert denied.status_code == 401
        chat = httpx.post(f"{base}/v1/chat/completions", headers=headers, timeout=60,
                          json={"model": "rm", "messages": [{"role": "user", "content": "hi"}]})
        assert chat.status_code == 400 and "POST /v1/score/evaluation" in chat.json()["error"]["message"]
        empty = httpx.post(f"{base}/v1/score/evaluation", json={"messages": []}, headers=headers, timeout=60)
        assert empty.status_code in (400, 422)

    export_dir = tmp_path / "merged"
    done = subprocess.run([sys.executable, "-m", "lmforge.cli", "export", *_args(reward_adapter),
                           f"export_dir={export_dir}", "infer_dtype=float32"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    merged = AutoModelForSequenceClassification.from_pretrained(export_dir, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(export_dir)
    with torch.no_grad():
        scores = [merged(**tok(t, add_special_tokens=False, return_tensors="pt")).logits[0, 0].item()
                  for t in TEXTS]
    assert scores == pytest.approx(expected, abs=1e-4)
