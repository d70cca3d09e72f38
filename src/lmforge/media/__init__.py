"""Multimodal inputs: media files, and one plugin per model family that turns the `<image>` placeholders of
LLaMA-Factory's datasets into the family's tokens and its processor's tensors.

A plugin (e.g. media/qwen2_vl.py) is a frozen dataclass of numbers (so datasets' cache fingerprints can
hash it) with three jobs:
- `expand(text, sizes)`: each `<image>` -> the family's image tokens, as many as the image will take;
- `tensors(images, image_processor)`: the model's image inputs (pixel_values, image_grid_thw, ...);
- `parts`: where the vision tower, projector and language model sit in the model (freezing, LoRA targets).
Templates register which plugin they use by name (`plugin_for_template`); models by config.model_type.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lmforge.data.conversation import Conversation

IMAGE_PLACEHOLDER = "<image>"
VIDEO_PLACEHOLDER = "<video>"
AUDIO_PLACEHOLDER = "<audio>"


@dataclass(frozen=True)
class ModelParts:
    """Module-name prefixes (relative to the model's top, matched at dot boundaries) of a VL model's parts."""

    vision_tower: tuple[str, ...]
    projector: tuple[str, ...]
    language_model: tuple[str, ...]
    decoder_layers: str  # the language model's repeated blocks (for finetuning_type: freeze)


# template name -> plugin factory module; model_type -> parts. Each family file fills these on import.
_TEMPLATE_PLUGINS: dict[str, Any] = {}
_MODEL_PARTS: dict[str, ModelParts] = {}


def register_family(templates: tuple[str, ...], model_types: tuple[str, ...], plugin_cls: Any,
                    parts: ModelParts) -> None:
    for name in templates:
        _TEMPLATE_PLUGINS[name] = plugin_cls
    for model_type in model_types:
        _MODEL_PARTS[model_type] = parts


def _load_families() -> None:
    import lmforge.media.qwen2_vl  # noqa: F401


def plugin_class(template_name: str | None) -> Any:
    """The plugin class of a template (None for text-only templates)."""
    _load_families()
    return _TEMPLATE_PLUGINS.get(template_name or "")


def model_parts(model: Any) -> ModelParts | None:
    """The VL parts of `model` (a PeftModel or a plain one), or None for a text-only model."""
    _load_families()
    config = getattr(model, "config", None)
    return _MODEL_PARTS.get(getattr(config, "model_type", None) or "")


def count_placeholders(conv: Conversation, placeholder: str = IMAGE_PLACEHOLDER) -> int:
    texts = [m.content for m in conv.messages]
    texts += [m.content for m in (conv.chosen, conv.rejected) if m is not None]
    return sum(t.count(placeholder) for t in texts)


def expand_conversation(conv: Conversation, plugin: Any) -> Conversation:
    """Every `<image>` in the conversation's messages -> the plugin's image tokens, the images taken in
    order of appearance (messages first, then chosen / rejected, which each continue after the prompt's)."""
    from lmforge.media.images import image_size

    sizes = [image_size(path) for path in conv.images]
    used = 0

    def expand(message):
        nonlocal used
        n = message.content.count(IMAGE_PLACEHOLDER)
        if not n:
            return message
        text = plugin.expand(message.content, sizes[used:used + n])
        used += n
        return replace(message, content=text)

    messages = [expand(m) for m in conv.messages]
    start = used
    chosen = expand(conv.chosen) if conv.chosen is not None else None
    used = start  # the rejected reply follows the same prompt
    rejected = expand(conv.rejected) if conv.rejected is not None else None
    return replace(conv, messages=messages, chosen=chosen, rejected=rejected)


def name_matches(name: str, prefixes: tuple[str, ...]) -> bool:
    """Does module/parameter `name` lie under one of `prefixes` (at dot boundaries, anywhere in the path, so
    'model.visual.blocks.0' and 'base_model.model.model.visual.blocks.0' both match 'visual.blocks')?"""
    dotted = f".{name}."
    return any(f".{p}." in dotted for p in prefixes)


def frozen_prefixes(parts: ModelParts, finetuning: Any) -> tuple[str, ...]:
    """The parts freeze_vision_tower / freeze_multi_modal_projector / freeze_language_model keep frozen."""
    frozen: tuple[str, ...] = ()
    if finetuning.freeze_vision_tower:
        frozen += parts.vision_tower
    if finetuning.freeze_multi_modal_projector:
        frozen += parts.projector
    if finetuning.freeze_language_model:
        frozen += parts.language_model
    return frozen


def frozen_regex(prefixes: tuple[str, ...]) -> str | None:
    """A regex (PEFT's exclude_modules: full match on module names) for every module under `prefixes`."""
    if not prefixes:
        return None
    import re

    alternatives = "|".join(re.escape(p) for p in prefixes)
    return rf"(.*\.)?({alternatives})(\..*)?"


def is_vision_language(config: Any) -> bool:
    _load_families()
    return getattr(config, "model_type", None) in _MODEL_PARTS


@dataclass
class MediaSetup:
    """What training and inference need for a VL model: the plugin, the model's image processor and the id
    of the token that stands for image patches."""

    plugin: Any
    image_processor: Any
    image_token_id: int


def load_media_setup(template_name: str | None, model_path: str, tokenizer: Any, *, image_max_pixels: int,
                     image_min_pixels: int) -> MediaSetup | None:
    """None for a text-only template; else the plugin bound to the model's image processor (its PIL
    backend: transformers' torchvision backend needs torchvision)."""
    from lmforge.errors import ConfigError

    cls = plugin_class(template_name)
    if cls is None:
        return None
    from transformers import AutoImageProcessor

    try:
        image_processor = AutoImageProcessor.from_pretrained(model_path, backend="pil")
    except (OSError, ValueError) as e:
        raise ConfigError(f"template: {template_name} needs the model's image processor "
                          f"(preprocessor_config.json), which '{model_path}' does not provide: {e}") from None
    plugin = cls.from_image_processor(image_processor, image_max_pixels=image_max_pixels,
                                      image_min_pixels=image_min_pixels)
    token_id = tokenizer.convert_tokens_to_ids(plugin.image_token)
    return MediaSetup(plugin, image_processor, token_id)
