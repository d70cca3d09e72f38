"""Qwen2-VL and Qwen2.5-VL: `<image>` -> `<|vision_start|>` + `<|image_pad|>` x N + `<|vision_end|>`.

N is the number of merged patches the vision tower hands the language model: the image is resized (by the
processor's smart resize) to a multiple of patch_size * merge_size on each side, with min_pixels <=
area <= max_pixels, cut into patch_size patches (grid_h x grid_w), and every merge_size x merge_size
patches become one token: N = grid_h * grid_w / merge_size**2. pixel_values / image_grid_thw come from the
model's own image processor (transformers' Qwen2VLImageProcessor, its PIL backend: no torchvision needed).

Before the processor, images pass LLaMA-Factory's preparation (so its keys mean what they mean there):
scaled down to at most image_max_pixels (default 768*768) and up to at least image_min_pixels (32*32),
keeping the aspect ratio (int() of the scaled sides, PIL's default resampling), converted to RGB, sides
below 28 raised to 28, and an aspect ratio over 200 cut to 180. Each resize is a separate step, as there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from lmforge.media import IMAGE_PLACEHOLDER, ModelParts, register_family

VISION_START, IMAGE_PAD, VISION_END = "<|vision_start|>", "<|image_pad|>", "<|vision_end|>"


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """The processor's target size: both sides multiples of `factor`, the area within [min, max] pixels,
    the aspect ratio kept as well as that allows (the rule of Qwen2-VL's image processor)."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"an image's aspect ratio must be at most 200, got {width}x{height}")
    h = round(height / factor) * factor
    w = round(width / factor) * factor
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


@dataclass(frozen=True)
class Qwen2VLPlugin:
    patch_size: int = 14
    merge_size: int = 2
    temporal_patch_size: int = 2
    min_pixels: int = 56 * 56  # the processor's own bounds (preprocessor_config.json)
    max_pixels: int = 28 * 28 * 1280
    image_max_pixels: int = 768 * 768  # LLaMA-Factory's preparation (config keys)
    image_min_pixels: int = 32 * 32
    image_token = IMAGE_PAD

    @classmethod
    def from_image_processor(cls, image_processor: Any, *, image_max_pixels: int,
                             image_min_pixels: int) -> Qwen2VLPlugin:
        size = getattr(image_processor, "size", None) or {}
        return cls(patch_size=image_processor.patch_size, merge_size=image_processor.merge_size,
                   temporal_patch_size=image_processor.temporal_patch_size,
                   min_pixels=size.get("shortest_edge", getattr(image_processor, "min_pixels", cls.min_pixels)),
                   max_pixels=size.get("longest_edge", getattr(image_processor, "max_pixels", cls.max_pixels)),
                   image_max_pixels=image_max_pixels, image_min_pixels=image_min_pixels)

    # -- preparation (LLaMA-Factory's) ----------------------------------------------------------------------

    def preparation_steps(self, width: int, height: int) -> list[tuple[str, int, int]]:
        """The successive resizes an image of this size gets before the processor: ("scale" | "fix", width,
        height); the conversion to RGB comes between the scale and the fix steps."""
        steps = []
        for bound, grow in ((self.image_max_pixels, False), (self.image_min_pixels, True)):
            if (width * height < bound) if grow else (width * height > bound):
                f = math.sqrt(bound / (width * height))
                width, height = int(width * f), int(height * f)
                steps.append(("scale", width, height))
        if min(width, height) < 28:
            width, height = max(width, 28), max(height, 28)
            steps.append(("fix", width, height))
        if width / height > 200:
            width = height * 180
            steps.append(("fix", width, height))
        if height / width > 200:
            height = width * 180
            steps.append(("fix", width, height))
        return steps

    def prepared_size(self, width: int, height: int) -> tuple[int, int]:
        steps = self.preparation_steps(width, height)
        return (steps[-1][1], steps[-1][2]) if steps else (width, height)

    def prepare(self, image: Any) -> Any:
        """A PIL image as LLaMA-Factory hands it to the processor."""
        steps = self.preparation_steps(*image.size)
        for kind, width, height in steps:
            if kind == "scale":
                image = image.resize((width, height))
        if image.mode != "RGB":
            image = image.convert("RGB")
        for kind, width, height in steps:
            if kind == "fix":
                image = image.resize((width, height))
        return image

    # -- tokens ----------------------------------------------------------------------------------------------

    def grid(self, width: int, height: int) -> tuple[int, int, int]:
        """image_grid_thw of an image of this (original) size: (1, patches down, patches across)."""
        width, height = self.prepared_size(width, height)
        h, w = smart_resize(height, width, self.patch_size * self.merge_size, self.min_pixels, self.max_pixels)
        return 1, h // self.patch_size, w // self.patch_size

    def num_tokens(self, width: int, height: int) -> int:
        t, h, w = self.grid(width, height)
        return t * h * w // self.merge_size**2

    def expand(self, text: str, sizes: list[tuple[int, int]]) -> str:
        """Each `<image>` in `text` -> the vision tokens of the next image size in `sizes`."""
        it = iter(sizes)

        def tokens(_match: re.Match) -> str:
            return VISION_START + IMAGE_PAD * self.num_tokens(*next(it)) + VISION_END

        return re.sub(re.escape(IMAGE_PLACEHOLDER), tokens, text)

    # -- tensors ---------------------------------------------------------------------------------------------

    def tensors(self, images: list[Any], image_processor: Any) -> dict[str, Any]:
        """pixel_values [patches, C * temporal_patch_size * patch_size**2] and image_grid_thw [images, 3]."""
        if not images:
            return {}
        out = image_processor(images=[self.prepare(im) for im in images], return_tensors="pt")
        return {"pixel_values": out["pixel_values"], "image_grid_thw": out["image_grid_thw"]}


PARTS = ModelParts(vision_tower=("visual.patch_embed", "visual.blocks"), projector=("visual.merger",),
                   language_model=("language_model", "lm_head"), decoder_layers="language_model.layers")
register_family(templates=("qwen2_vl",), model_types=("qwen2_vl", "qwen2_5_vl"), plugin_cls=Qwen2VLPlugin,
                parts=PARTS)
