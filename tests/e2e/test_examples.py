"""Every recipe in examples/ runs unchanged through the real `lmforge train`, with only the model swapped for
a tiny one and the run shortened (the LLaMA-Factory-style configs need no other change). The lean recipe gets
a tiny model with an untied head (offload_embedding needs one) and, without a GPU, no Liger kernels."""

import sys
from pathlib import Path

import pytest
import torch
from helpers import lmforge, read_log

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted(p for p in (REPO / "examples").glob("train_*/*.yaml"))

pytestmark = pytest.mark.slow


def test_there_is_a_recipe_per_stage_and_method():
    names = {p.stem for p in RECIPES}
    assert {"qwen3_lora_sft", "qwen3_full_sft", "qwen3_freeze_sft", "qwen3_lora_pretrain", "qwen3_lora_dpo",
            "qwen3_lora_kto", "qwen3_lora_reward", "qwen3_lora_grpo"} <= names


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_runs_with_a_tiny_model(recipe, tmp_path, tiny_model):
    out = tmp_path / "out"
    model = [f"model_name_or_path={REPO / 'examples' / 'tiny-phi3'}", "template=phi"]  # the swap
    if "offload_embedding: true" in recipe.read_text():  # needs an untied head; tiny-phi3 ties its own
        model = [f"model_name_or_path={tiny_model('llama')}", "template=llama3"]
    if "template: qwen2_vl" in recipe.read_text():  # image rows need a vision-language model
        sys.path.insert(0, str(REPO / "tests" / "media"))
        from tiny_vl import tiny_qwen2_5_vl_path

        model = [f"model_name_or_path={tiny_qwen2_5_vl_path()}"]
    if "enable_liger_kernel: true" in recipe.read_text() and not torch.cuda.is_available():
        model.append("enable_liger_kernel=false")  # Liger's kernels are Triton (GPU) kernels
    if "stage: grpo" in recipe.read_text():
        model.append("max_completion_length=16")  # sampling on a CPU: the recipe's length costs minutes
    result = lmforge(
        "train", str(recipe), *model,
        f"output_dir={out}", "max_steps=2", "max_samples=8", "preprocessing_num_workers=1",
        "dataloader_num_workers=0", "cutoff_len=128", "logging_steps=1", "plot_loss=false",
        cwd=REPO)
    assert result.returncode == 0, result.stderr[-4000:]
    steps = [e for e in read_log(out) if "loss" in e]
    assert [e["step"] for e in steps] == [1, 2]
    assert all(e["loss"] == e["loss"] for e in steps)  # not NaN
    assert (out / "lmforge_config.yaml").is_file()
    if "offload_embedding: true" in recipe.read_text():
        assert "the input embedding table stays in CPU memory" in result.stderr + result.stdout
    weights = {"adapter_model.safetensors", "model.safetensors"} & {p.name for p in out.iterdir()}
    assert weights, sorted(p.name for p in out.iterdir())
    assert (out / "tokenizer_config.json").is_file() and (out / "chat_template.jinja").is_file()
