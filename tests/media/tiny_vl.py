"""A tiny random Qwen2.5-VL (built from its config class: a 1-block vision tower, a 2-layer language model)
saved with the real qwen2.5 tokenizer and the published image processor settings, as a checkpoint folder
`lmforge train` / transformers load like any other."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEFAULT_CACHE = TESTS / ".cache" / "models"


def tiny_qwen2_5_vl_path(cache_dir: str | os.PathLike | None = None) -> Path:
    root = Path(cache_dir or os.environ.get("LMFORGE_TEST_CACHE", DEFAULT_CACHE))
    out = root / "tiny-qwen2_5_vl"
    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out

    import torch
    from transformers import (
        AutoImageProcessor,
        AutoTokenizer,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
    )

    tokenizer = AutoTokenizer.from_pretrained(TESTS / "fixtures" / "tokenizers" / "qwen2.5")
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                                          "mrope_section": [2, 1, 1]},  # head_dim 8: 4 rotary pairs
                         tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[0]),
        tie_word_embeddings=True,
        **ids,
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).to(torch.float32)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    AutoImageProcessor.from_pretrained(FIXTURES, backend="pil").save_pretrained(tmp)
    try:
        tmp.rename(out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
