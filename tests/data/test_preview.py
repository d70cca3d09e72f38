"""`lmforge preview` run as a user runs it: a subprocess on a dataset with its own dataset_info.json."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from lmforge.data.preview import _parse, marked_text

ROWS = [
    {"instruction": "Add 2 and 2.", "input": "", "output": "4"},
    {"instruction": "Translate to English.", "input": "bonjour", "output": "hello"},
    {"instruction": "", "input": "", "output": "a row with no prompt"},
]


@pytest.fixture
def preview_config(tmp_path, data_dir, tokenizer_dir):
    data_dir({"rows.json": ROWS}, {"mini": {"file_name": "rows.json"}})
    config = {"model_name_or_path": str(tokenizer_dir("qwen3")), "stage": "sft", "dataset": "mini",
              "dataset_dir": str(tmp_path / "data"), "cutoff_len": 128, "cache_dir": str(tmp_path / "cache"),
              "output_dir": str(tmp_path / "out")}
    path = tmp_path / "preview.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_preview(*args):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "lmforge.cli", "preview", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.mark.slow
def test_preview_marks_loss_spans_and_prints_stats(preview_config):
    result = run_preview(preview_config, "--rows", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "legend: [[...]] = tokens that carry loss" in out
    assert "--- example 0 ---" in out and "--- example 1 ---" in out and "--- example 2 ---" not in out
    assert "<|im_start|>user\nAdd 2 and 2.<|im_end|>\n<|im_start|>assistant\n[[<think>\n\n</think>\n\n4<|im_end|>]]" in out
    assert "mini: 3 rows loaded, 2 used" in out and "skipped 1 (empty content): rows 2" in out
    assert "train: 2 examples" in out
    assert "skipping 1 of 3 rows" in result.stderr  # the warning goes to stderr


@pytest.mark.slow
def test_preview_json_and_overrides(preview_config, tokenizer_dir):
    result = run_preview(preview_config, "cutoff_len=8", "--rows=1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["stage"] == "sft" and len(data["examples"]) == 1
    example = data["examples"][0]
    assert len(example["input_ids"]) == 8 == len(example["labels"])  # the override reached the encoder
    assert any(x != -100 for x in example["labels"])
    assert data["stats"]["splits"]["train"]["truncated"] == 2
    assert data["stats"]["datasets"]["mini"]["skipped"]["empty content"]["rows"] == [2]


def test_preview_errors_are_one_line(preview_config, capsys):
    from lmforge.cli import main

    assert main(["preview", str(preview_config), "dataset=minii"]) == 1
    err = capsys.readouterr().err
    assert "lmforge preview: error: dataset 'minii' is not registered" in err and "did you mean 'mini'" in err
    assert main(["preview", str(preview_config), "--rows", "x"]) == 1
    assert "--rows: expected a number" in capsys.readouterr().err


def test_parse_options():
    assert _parse(["c.yaml", "--rows", "5", "--json", "a=1"]) == (5, True, ["c.yaml", "a=1"])
    assert _parse(["c.yaml", "--rows=2"]) == (2, False, ["c.yaml"])


def test_marked_text_brackets_runs(qwen3_tok):
    ids = qwen3_tok("Hello world, again", add_special_tokens=False)["input_ids"]
    labels = [-100] + ids[1:3] + [-100] * (len(ids) - 3)
    text = marked_text(ids, labels, qwen3_tok, color=False)
    assert text == "Hello" + "[[" + qwen3_tok.decode(ids[1:3]) + "]]" + qwen3_tok.decode(ids[3:])
