"""User-caused template errors: raised before training, as TemplateError, saying what to fix."""

from __future__ import annotations

import copy

import jinja2
import pytest
from template_cases import PARIS, TOKYO, TOOLS, A, T, U, family_tokenizer, fixture_tokenizer

from lmforge.data.conversation import Conversation
from lmforge.errors import TemplateError
from lmforge.templates import get_template, list_templates

USERS_TYPE = [
    "default",
    "empty",
    "alpaca",
    "vicuna",
    "chatml",
    "qwen",
    "qwen3",
    "qwen3_nothink",
    "llama2",
    "llama3",
    "llama3_1",
    "mistral",
    "gemma",
    "gemma2",
    "gemma3",
    "glm4",
    "phi",
    "phi4",
    "deepseek",
    "deepseek3",
    "deepseekr1",
    "yi",
    "intern2",
    "baichuan2",
    "chatglm3",
    "cohere",
    "zephyr",
    "smollm",
    "llama4",
    "ministral",
    "glmz1",
    "glm4_moe",
    "granite3",
    "olmo",
    "openchat",
    "phi_small",
    "phi4_mini",
    "seed_oss",
]
NOT_AVAILABLE = {
    "falcon": "end-of-turn token",
    "solar": "never learns to stop",
    "yuan": "sep token",
}  # name -> part of the reason given


def test_every_name_users_type_is_registered():
    assert set(USERS_TYPE) <= set(list_templates())
    assert not set(NOT_AVAILABLE) & set(list_templates())


@pytest.mark.parametrize("name", NOT_AVAILABLE)
def test_unavailable_names_say_why(name):
    with pytest.raises(
        TemplateError, match=f"template '{name}' is not available in lmforge: .*{NOT_AVAILABLE[name]}"
    ):
        get_template(name, fixture_tokenizer("qwen3"))


@pytest.mark.parametrize(
    ("typo", "suggestion"), [("qwen4", "qwen3"), ("lama3", "llama3"), ("mistrall", "mistral")]
)
def test_unknown_name_suggests_the_closest(typo, suggestion):
    with pytest.raises(TemplateError, match=f"unknown template '{typo}'; did you mean .*'{suggestion}'") as e:
        get_template(typo, fixture_tokenizer("qwen3"))
    assert "Registered templates:" in str(e.value)


def test_unknown_name_without_close_match_lists_all():
    with pytest.raises(TemplateError, match=r"unknown template 'xyzzy'\. Registered templates: aeva, alpaca, "):
        get_template("xyzzy", fixture_tokenizer("qwen3"))


def test_missing_special_tokens_are_listed():
    with pytest.raises(TemplateError, match="'<think>', '</think>'") as e:
        get_template("qwen3", fixture_tokenizer("qwen2.5"))  # Qwen2.5's vocabulary has no think tokens
    assert "<|im_start|>" not in str(e.value)
    with pytest.raises(TemplateError, match="'<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'"):
        get_template("llama3", fixture_tokenizer("qwen3"))
    with pytest.raises(TemplateError, match="'<|im_start|>', '<|im_end|>'.*add_special_tokens"):
        get_template("chatml", fixture_tokenizer("gpt2"))


def test_missing_eos_is_reported():
    tok = copy.deepcopy(fixture_tokenizer("gpt2"))
    tok.eos_token = None
    with pytest.raises(TemplateError, match="'eos_token'"):
        get_template("alpaca", tok)


@pytest.mark.parametrize(
    ("messages", "index", "role"),
    [
        ([U("a"), U("b"), A("c")], 1, "user"),
        ([A("a"), U("b")], 0, "assistant"),
        ([U("a"), A("b"), A("c")], 2, "assistant"),
    ],
)
def test_mistral_alternation_names_the_message(messages, index, role):
    conv = Conversation(messages, system="sys")
    tok = fixture_tokenizer("mistral")
    with pytest.raises(TemplateError, match=f"message {index} has role '{role}'.*must alternate"):
        get_template("mistral", tok).render(conv)
    with pytest.raises(jinja2.exceptions.TemplateError, match="must alternate"):  # the official template too
        tok.apply_chat_template(conv.to_openai(), tokenize=False)


def test_alternation_ignores_tool_turns():
    conv = Conversation([U("q"), A(calls=[PARIS]), T("Sunny"), A("Sunny.")], tools=TOOLS)
    get_template("mistral", fixture_tokenizer("mistral")).render(conv)  # no error


def test_gemma_alternation():
    with pytest.raises(TemplateError, match="message 1 has role 'user'"):
        get_template("gemma3", family_tokenizer("gemma3", "<bos>", "<eos>")).render(
            Conversation([U("a"), U("b")])
        )


def test_reasoning_needs_a_thinking_template():
    conv = Conversation([U("q"), A("a", reasoning="r")])
    with pytest.raises(
        TemplateError, match="'qwen' has no reasoning format, but message 1 carries reasoning"
    ):
        get_template("qwen", fixture_tokenizer("qwen2.5")).render(conv)


def test_tools_need_a_tool_format():
    tok = fixture_tokenizer("phi3")
    with pytest.raises(TemplateError, match="'phi' has no tool format.*tool_format"):
        get_template("phi", tok).render(Conversation([U("q")], tools=TOOLS))
    with pytest.raises(TemplateError, match="message 1 is a tool call"):
        get_template("phi", tok).render(Conversation([U("q"), A(calls=[PARIS])]))
    with pytest.raises(TemplateError, match="message 2 is a tool result"):
        get_template("phi", tok).render(Conversation([U("q"), A("a"), T("r")]))


def test_tool_format_override_gives_a_template_tools():
    phi = get_template("phi", fixture_tokenizer("phi3"), tool_format="qwen")
    conv = Conversation([U("Weather?"), A(calls=[PARIS])], system="sys", tools=TOOLS)
    text = "".join(s.text for s in phi.render(conv))
    assert text.startswith("<|system|>\nsys\n\n# Tools\n") and '"name": "get_weather"' in text
    assert phi.parse_tool_calls(
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    ) == ("", [PARIS])


def test_unknown_tool_format():
    with pytest.raises(TemplateError, match="unknown tool_format 'qwen2'; did you mean 'qwen'"):
        get_template("qwen", fixture_tokenizer("qwen2.5"), tool_format="qwen2")


def test_llama3_call_limits_match_the_official_template():
    tok = fixture_tokenizer("llama3")
    llama3 = get_template("llama3_1", tok)
    parallel = Conversation([U("q"), A(calls=[PARIS, TOKYO])], tools=TOOLS)
    with pytest.raises(TemplateError, match="one tool call per assistant message, but message 1 has 2"):
        llama3.render(parallel)
    with pytest.raises(jinja2.exceptions.TemplateError, match="only supports single tool-calls"):
        tok.apply_chat_template(parallel.to_openai(), tools=TOOLS, tokenize=False)
    with pytest.raises(TemplateError, match="cannot hold text and tool calls.*message 1"):
        llama3.render(Conversation([U("q"), A("Let me look.", calls=[PARIS])], tools=TOOLS))
    with pytest.raises(TemplateError, match="must start with a user message"):
        llama3.render(Conversation([A("hi"), U("q")], tools=TOOLS))
