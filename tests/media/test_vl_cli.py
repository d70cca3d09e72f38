"""`lmforge train` on examples/train_lora/qwen2_5vl_lora_sft.yaml, as a user runs it, with the model swapped
for the tiny Qwen2.5-VL and the run shortened: image rows (mllm_demo) and text rows (identity, alpaca) mix,
LoRA stays out of the frozen vision tower and projector, and the output folder is a complete VL model."""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from helpers import lmforge, read_log  # noqa: E402
from tiny_vl import tiny_qwen2_5_vl_path  # noqa: E402


def test_lmforge_train_the_vl_recipe(tmp_path):
    out = tmp_path / "out"
    result = lmforge("train", "examples/train_lora/qwen2_5vl_lora_sft.yaml",
                     f"model_name_or_path={tiny_qwen2_5_vl_path()}", f"output_dir={out}", "max_steps=3",
                     "max_samples=6", "preprocessing_num_workers=1", "dataloader_num_workers=0",
                     "per_device_train_batch_size=2", "gradient_accumulation_steps=1", "cutoff_len=512",
                     "logging_steps=1", "plot_loss=false", "bf16=false", "learning_rate=1e-3", cwd=REPO)
    assert result.returncode == 0, result.stderr[-4000:]
    steps = [e for e in read_log(out) if "loss" in e]
    assert [e["step"] for e in steps] == [1, 2, 3] and all(e["loss"] == e["loss"] for e in steps)
    adapter = json.loads((out / "adapter_config.json").read_text())
    targets = adapter["target_modules"]
    assert targets and all(".language_model." in t for t in targets), targets
    assert (out / "preprocessor_config.json").is_file()
    assert "<|vision_start|>" in (out / "chat_template.jinja").read_text()
    stats = json.loads((out / "data_stats.json").read_text())
    assert stats["datasets"]["mllm_demo"]["rows_used"] == 6


def test_lmforge_train_refuses_images_with_a_text_only_template(tmp_path):
    result = lmforge("train", "examples/train_lora/qwen2_5vl_lora_sft.yaml",
                     f"model_name_or_path={tiny_qwen2_5_vl_path()}", "template=qwen", f"output_dir={tmp_path}",
                     "max_steps=1", "preprocessing_num_workers=1", cwd=REPO)
    assert result.returncode != 0
    assert "template 'qwen' is text-only" in result.stderr
    assert "Traceback" not in result.stderr


def test_lmforge_preview_shows_the_vision_tokens(tmp_path):
    result = lmforge("preview", "examples/train_lora/qwen2_5vl_lora_sft.yaml",
                     f"model_name_or_path={tiny_qwen2_5_vl_path()}", "dataset=mllm_demo", "--json", cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    first = out["examples"][0]
    assert first["images"][0].endswith("mllm_demo_data/1.png")
    assert first["input_ids"].count(151655) > 0  # <|image_pad|> of the qwen2.5 vocabulary


def test_packing_with_images_is_refused(tmp_path):
    result = lmforge("train", "examples/train_lora/qwen2_5vl_lora_sft.yaml",
                     f"model_name_or_path={tiny_qwen2_5_vl_path()}", "dataset=mllm_demo", "packing=true",
                     f"output_dir={tmp_path}", "max_steps=1", "preprocessing_num_workers=1", "bf16=false", cwd=REPO)
    assert result.returncode != 0
    assert "packing: true with template: qwen2_vl" in result.stderr and "Traceback" not in result.stderr
