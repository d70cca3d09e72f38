"""Batch prediction on vLLM, run as a user runs it: `lmforge train` with do_predict, predict_with_generate and
infer_backend: vllm (which is `lmforge predict`), with a LoRA adapter. Greedy, its predictions and scores
must equal `lmforge predict` on the Hugging Face engine, which merges the adapter."""

import json
import os
import subprocess
import sys

from vllm_helpers import VLLM_ARGS

from lmforge.config import load_config
from lmforge.infer.predict import run_predict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def keys(model_dir, adapter_dir, out):
    return {"model_name_or_path": str(model_dir), "adapter_name_or_path": str(adapter_dir),
            "eval_dataset": "alpaca_en_demo", "dataset_dir": os.path.join(REPO, "data"), "max_samples": 6,
            "do_sample": False, "max_new_tokens": 16, "output_dir": str(out), "per_device_eval_batch_size": 4}


def read(out):
    rows = [json.loads(line) for line in (out / "generated_predictions.jsonl").read_text().splitlines()]
    return rows, json.loads((out / "predict_results.json").read_text())


def test_train_do_predict_on_vllm_equals_the_hf_engine(model_dir, adapter_dir, hf_lora, tmp_path):
    out = tmp_path / "vllm"
    args = [f"{k}={v}" for k, v in keys(model_dir, adapter_dir, out).items()]
    args += ["do_predict=true", "predict_with_generate=true", *VLLM_ARGS]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "lmforge.cli", "train", *args], capture_output=True, text=True,
                         timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert "Predicting (vllm)" in run.stderr

    reference = tmp_path / "hf"
    run_predict(load_config(keys(model_dir, adapter_dir, reference), command="predict"), engine=hf_lora)
    (rows, metrics), (expected_rows, expected) = read(out), read(reference)
    assert len(rows) == 6 and rows == expected_rows
    assert len({r["predict"] for r in rows}) == 6 and all(r["label"] for r in rows)
    assert rows[0]["prompt"].startswith("<|im_start|>user\n")  # the training template, as token ids
    scores = ("predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l")
    assert {k: metrics[k] for k in scores} == {k: expected[k] for k in scores}
    assert (metrics["predict_backend"], expected["predict_backend"]) == ("vllm", "huggingface")
