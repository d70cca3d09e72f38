"""freeze_vision_tower / freeze_multi_modal_projector / freeze_language_model on a tiny Qwen2.5-VL, for
lora, freeze and full: which parameters train (LoRA: which modules get adapters)."""

import sys
from pathlib import Path

import pytest

from lmforge.config import load_config, parse_argv
from lmforge.models.adapters import apply_finetuning
from lmforge.models.loader import load_model, load_tokenizer

sys.path.insert(0, str(Path(__file__).parent))
from tiny_vl import tiny_qwen2_5_vl_path  # noqa: E402


def _trainable(tmp_path, *keys):
    cfg = load_config(parse_argv([f"model_name_or_path={tiny_qwen2_5_vl_path()}", "stage=sft",
                                  "template=qwen2_vl", "dataset=mllm_demo", f"output_dir={tmp_path}",
                                  "report_to=none", "disable_gradient_checkpointing=true", *keys]))
    model = load_model(cfg, load_tokenizer(cfg.model))
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    model = apply_finetuning(model, cfg)
    return {n for n, p in model.named_parameters() if p.requires_grad}


def _parts(names):
    return {part for part in ("visual.blocks", "visual.patch_embed", "visual.merger", "language_model")
            if any(f".{part}." in f".{n}" for n in names)}


def test_full_defaults_train_the_language_model_only(tmp_path):
    names = _trainable(tmp_path, "finetuning_type=full")
    assert _parts(names) == {"language_model"}


def test_full_with_everything_unfrozen_and_lm_frozen(tmp_path):
    names = _trainable(tmp_path, "finetuning_type=full", "freeze_vision_tower=false",
                       "freeze_multi_modal_projector=false", "freeze_language_model=true")
    assert _parts(names) == {"visual.blocks", "visual.patch_embed", "visual.merger"}


@pytest.mark.parametrize("keys,parts", [
    ((), {"language_model"}),
    (("freeze_vision_tower=false",), {"language_model", "visual.blocks"}),
    (("freeze_multi_modal_projector=false", "freeze_language_model=true"), {"visual.merger"}),
])
def test_lora_adapters_only_outside_the_frozen_parts(tmp_path, keys, parts):
    names = _trainable(tmp_path, "finetuning_type=lora", *keys)
    assert names and all("lora_" in n for n in names)
    assert _parts(names) == parts


def test_freeze_picks_language_model_layers(tmp_path):
    names = _trainable(tmp_path, "finetuning_type=freeze", "freeze_trainable_layers=1")
    assert names and all(".language_model.layers.1." in n for n in names)
    names = _trainable(tmp_path, "finetuning_type=freeze", "freeze_trainable_layers=1",
                       "freeze_multi_modal_projector=false")
    assert _parts(names) == {"language_model", "visual.merger"}
