"""`lmforge predict` (the batch prediction command, on the engine infer_backend names) run as a user runs it:
greedy, its predictions and BLEU/ROUGE must equal those of `lmforge train` with do_predict and
predict_with_generate on the Hugging Face path (train/predict.py), row for row."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmforge.config import load_config
from lmforge.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def keys(model, out):
    return {"model_name_or_path": str(model), "eval_dataset": "alpaca_en_demo", "dataset_dir": str(REPO / "data"),
            "max_samples": 6, "do_sample": False, "max_new_tokens": 12, "output_dir": str(out),
            "per_device_eval_batch_size": 4}


def read(out):
    rows = [json.loads(line) for line in (out / "generated_predictions.jsonl").read_text().splitlines()]
    return rows, json.loads((out / "predict_results.json").read_text())


def test_predict_equals_train_do_predict(qwen3_dir, tmp_path):
    from lmforge.train.run import run_training

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    args = [f"{k}={v}" for k, v in keys(qwen3_dir, tmp_path / "predict").items()]
    run = subprocess.run([sys.executable, "-m", "lmforge.cli", "predict", *args], capture_output=True, text=True,
                         timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-5000:]
    assert "Predicting (huggingface)" in run.stderr

    reference = keys(qwen3_dir, tmp_path / "train") | {"do_predict": True, "predict_with_generate": True}
    run_training(load_config(reference, command="train"))
    (rows, metrics), (expected_rows, expected) = read(tmp_path / "predict"), read(tmp_path / "train")
    assert len(rows) == 6 and rows == expected_rows
    assert all(r["predict"] and r["label"] for r in rows)
    scores = ("predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l")
    assert {k: metrics[k] for k in scores} == {k: expected[k] for k in scores}


def test_predict_needs_data(qwen3_dir):
    with pytest.raises(ConfigError, match="`lmforge predict` needs data"):
        load_config({"model_name_or_path": str(qwen3_dir)}, command="predict")
