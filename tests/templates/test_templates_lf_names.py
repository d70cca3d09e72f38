"""Every text template name LLaMA-Factory registers resolves in lmforge: registered, or refused with the reason
(issue 19's target). The names are those of LLaMA-Factory's src/llamafactory/data/template.py at commit ff6d4d1
(2026-08-18) whose register_template has no mm_plugin (75 names; the multimodal ones belong to the
multimodal work, though several are registered here for their text too)."""

import pytest

import lmforge.templates.families  # noqa: F401  (registers every family)
from lmforge.templates.core import _REGISTRY, _UNAVAILABLE

LLAMAFACTORY_TEXT_TEMPLATES = [
    "aeva", "alpaca", "bailing", "bailing_v2", "breeze", "chatglm3", "chatml", "chatml_de", "cohere", "cpm4",
    "dbrx", "deepseek", "deepseek3", "deepseekcoder", "deepseekr1", "default", "empty", "ernie",
    "ernie_nothink", "exaone", "falcon", "falcon_h1", "fewshot", "gemma", "gemma2", "glm4", "glm4_7",
    "glm4_moe", "glmz1", "gpt_oss", "granite3", "granite4", "hunyuan", "hunyuan_small", "hy3", "hy_dense_1_8b",
    "hy_dense_7b", "index", "intern2", "lfm2", "llama2", "llama2_zh", "llama3", "mimo", "mimo_v2", "minimax1",
    "minimax2", "ministral", "mistral", "moonlight", "olmo", "openchat", "openchat-3.6", "opencoder", "phi",
    "phi4", "phi4_mini", "phi_small", "qwen", "qwen3", "qwen3_nothink", "sailor", "seed_coder", "seed_oss",
    "smollm", "smollm2", "solar", "starchat", "telechat2", "vicuna", "xuanyuan", "yi", "youtu", "yuan",
    "zephyr",
]


def test_the_list_is_llamafactorys_count():
    assert len(LLAMAFACTORY_TEXT_TEMPLATES) == len(set(LLAMAFACTORY_TEXT_TEMPLATES)) == 75


@pytest.mark.parametrize("name", LLAMAFACTORY_TEXT_TEMPLATES)
def test_llamafactory_text_template_name_resolves(name):
    assert name in _REGISTRY or name in _UNAVAILABLE, f"template {name!r} is neither registered nor refused"
