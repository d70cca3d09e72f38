"""The qwen2_vl plugin against transformers' own Qwen2-VL processor: the same number of <|image_pad|>
tokens, the same pixel_values and image_grid_thw, for images of several sizes and modes.

The processor is built offline from the qwen2.5 tokenizer fixture and the published image processor
settings (tests/media/fixtures, see SOURCES.md). It is given the image as LLaMA-Factory prepares it
(image_max_pixels / image_min_pixels and its side fixes); our plugin is given the original image."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLProcessor

from lmforge.media.qwen2_vl import IMAGE_PAD, VISION_END, VISION_START, Qwen2VLPlugin

FIXTURES = Path(__file__).parent / "fixtures"


class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without a video processor: transformers' video processors need torchvision, which
    is not installed beside our CPU torch; only the constructor's type check of that absent part is skipped,
    the image and token code paths are the library's."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor" and argument is None:
            return None
        return super().check_argument_for_proper_class(argument_name, argument)


@pytest.fixture(scope="module")
def parts(tokenizer_dir):
    image_processor = AutoImageProcessor.from_pretrained(FIXTURES, backend="pil")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir("qwen2.5"))
    processor = ImageOnlyQwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return image_processor, tokenizer, processor


def _image(width, height, mode="RGB", seed=0):
    rng = np.random.RandomState(seed)
    if mode == "L":
        return Image.fromarray(rng.randint(0, 256, (height, width), dtype=np.uint8), mode="L")
    image = Image.fromarray(rng.randint(0, 256, (height, width, 3), dtype=np.uint8))
    return image.convert(mode) if mode != "RGB" else image


SIZES = [(150, 100, "RGB"), (28, 28, "RGB"), (640, 480, "RGB"), (57, 333, "RGB"), (1200, 900, "RGB"),
         (10, 10, "RGB"), (3000, 12, "RGB"), (300, 200, "L"), (200, 120, "RGBA")]


@pytest.mark.parametrize("max_pixels", [768 * 768, 256 * 256])
@pytest.mark.parametrize("width,height,mode", SIZES)
def test_tokens_and_tensors_equal_the_processor(parts, width, height, mode, max_pixels):
    image_processor, tokenizer, processor = parts
    plugin = Qwen2VLPlugin.from_image_processor(image_processor, image_max_pixels=max_pixels,
                                                image_min_pixels=32 * 32)
    image = _image(width, height, mode)
    text = "Look: <image> What colour?"

    ours = tokenizer(plugin.expand(text, [image.size]), add_special_tokens=False)["input_ids"]
    ours_tensors = plugin.tensors([image], image_processor)
    ref = processor(text=[text.replace("<image>", VISION_START + IMAGE_PAD + VISION_END)],
                    images=[plugin.prepare(image)], return_tensors="pt")

    assert ours == ref["input_ids"][0].tolist()
    assert torch.equal(ours_tensors["image_grid_thw"], ref["image_grid_thw"])
    assert torch.equal(ours_tensors["pixel_values"], ref["pixel_values"])
    n = ours.count(tokenizer.convert_tokens_to_ids(IMAGE_PAD))
    assert n == plugin.num_tokens(width, height) == int(ref["image_grid_thw"][0].prod()) // 4
    # the bound holds on what the processor saw (except where a side was raised to 28 afterwards)
    prepared = plugin.prepare(image)
    assert prepared.mode == "RGB"
    if min(prepared.size) > 28:
        assert prepared.width * prepared.height <= max_pixels


def test_image_max_pixels_lowers_the_token_count(parts):
    image_processor, _, _ = parts
    big = Qwen2VLPlugin.from_image_processor(image_processor, image_max_pixels=768 * 768, image_min_pixels=1024)
    small = Qwen2VLPlugin.from_image_processor(image_processor, image_max_pixels=128 * 128, image_min_pixels=1024)
    assert big.num_tokens(1024, 768) > small.num_tokens(1024, 768)
    # 128*128 pixels: sides 147 x 110 (LLaMA-Factory's int() of the scaled sides) -> smart resize 140 x 112
    assert small.prepared_size(1024, 768) == (147, 110)
    assert small.grid(1024, 768) == (1, 8, 10)


def test_two_images_in_one_text(parts):
    image_processor, tokenizer, processor = parts
    plugin = Qwen2VLPlugin.from_image_processor(image_processor, image_max_pixels=768 * 768,
                                                image_min_pixels=32 * 32)
    images = [_image(100, 60, seed=1), _image(60, 300, seed=2)]
    text = "<image> and <image>: same?"
    ours = tokenizer(plugin.expand(text, [im.size for im in images]), add_special_tokens=False)["input_ids"]
    ref = processor(text=[text.replace("<image>", VISION_START + IMAGE_PAD + VISION_END)],
                    images=[plugin.prepare(im) for im in images], return_tensors="pt")
    assert ours == ref["input_ids"][0].tolist()
    assert torch.equal(plugin.tensors(images, image_processor)["pixel_values"], ref["pixel_values"])
