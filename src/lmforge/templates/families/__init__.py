"""One module per model family; importing a module registers its templates under the names users type."""

from lmforge.templates.families import (  # noqa: F401
    baichuan,
    chatglm,
    chatml,
    cohere,
    deepseek,
    gemma,
    granite,
    llama,
    mistral,
    olmo,
    openchat,
    phi,
    plain,
    qwen,
    qwen2_vl,
    seed,
    unavailable,
    zephyr,
)
