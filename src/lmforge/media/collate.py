"""Batches with images: a text collator's batch plus the family's image tensors.

The encoded rows carry their image paths (column `images`); the pixels are read here, per batch, so the
tokenized dataset stays small. `mm_token_type_ids` marks the image tokens (1) as transformers' Qwen2-VL
processor does: the model needs it to place the image tokens in its 3-D (time, height, width) RoPE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmforge.media import MediaSetup
from lmforge.media.images import load_image

MEDIA_COLUMNS = ("images", "videos", "audios")


@dataclass
class MediaCollator:
    inner: Any  # the stage's text collator (padding)
    media: MediaSetup

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        images = [path for f in features for path in (f.get("images") or [])]
        text = [{k: v for k, v in f.items() if k not in MEDIA_COLUMNS} for f in features]
        batch = self.inner(text)
        if images:
            batch.update(self.media.plugin.tensors([load_image(p) for p in images], self.media.image_processor))
        batch["mm_token_type_ids"] = (batch["input_ids"] == self.media.image_token_id).int()
        return batch


def save_image_processor_callback(media: MediaSetup):
    """A TrainerCallback that writes the image processor (preprocessor_config.json) into every checkpoint,
    beside the tokenizer the Trainer saves, so a checkpoint loads as a complete VL model."""
    from transformers import TrainerCallback

    class SaveImageProcessor(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                from pathlib import Path

                media.image_processor.save_pretrained(Path(args.output_dir) / f"checkpoint-{state.global_step}")

    return SaveImageProcessor()
