"""The incremental filters give, for every way a reply can be cut into deltas, what the non-streaming path
gives for the whole reply; the response builder parses reasoning and tool calls with real templates."""

import json

import pytest
from transformers import AutoTokenizer

from lmforge.infer.base import build_response
from lmforge.infer.streaming import ReasoningSplitter, StopFilter
from lmforge.templates import get_template


def chunkings(text: str):
    """Every split into two pieces, one-character pieces, and pieces of three."""
    for i in range(len(text) + 1):
        yield [text[:i], text[i:]]
    yield list(text)
    yield [text[i:i + 3] for i in range(0, len(text), 3)]


def run_stop(stops, pieces):
    f = StopFilter(stops)
    return "".join(f.feed(p) for p in pieces) + f.flush(), f.stopped


@pytest.mark.parametrize("text, stops, expected", [
    ("hello world", ["wor"], "hello "),
    ("hello world", ["xyz"], "hello world"),
    ("a<|im_end|>b", ["<|im_end|>", "<|endoftext|>"], "a"),
    ("abcab", ["cab", "bc"], "a"),  # the earliest stop wins
    ("ends with a partial <|im", ["<|im_end|>"], "ends with a partial <|im"),
])
def test_stop_filter_cuts_at_the_first_stop_whatever_the_chunking(text, stops, expected):
    for pieces in chunkings(text):
        out, stopped = run_stop(stops, pieces)
        assert out == expected, pieces
        assert stopped == (expected != text)


def run_split(pieces, in_reasoning=False):
    s = ReasoningSplitter("<think>", "</think>", in_reasoning=in_reasoning)
    parts = {"reasoning": "", "content": ""}
    for p in pieces:
        for kind, text in s.feed(p):
            parts[kind] += text
    for kind, text in s.flush():
        parts[kind] += text
    return parts["reasoning"] or None, parts["content"]


@pytest.fixture(scope="module")
def qwen3(tokenizer_dir):
    return get_template("qwen3", AutoTokenizer.from_pretrained(tokenizer_dir("qwen3")))


@pytest.mark.parametrize("reply", [
    "<think>\nLet me add.\n2+2=4\n</think>\n\nThe answer is 4.",
    "<think>\n\n</think>\n\nNo thoughts.",
    "Plain answer without thinking.",
    "\n\nLeading newlines stay when there is no think block.",
    "<think>x</think>y",
])
def test_reasoning_splitter_matches_the_templates_split(qwen3, reply):
    expected = qwen3.split_reasoning(reply)
    for pieces in chunkings(reply):
        assert run_split(pieces) == expected, pieces


def test_reasoning_splitter_inside_an_open_block_and_when_cut_off():
    # DeepSeek-R1: the prompt opened the block; the reply closes it
    for pieces in chunkings("I think.\n</think>\n\nDone."):
        assert run_split(pieces, in_reasoning=True) == ("I think.", "Done.")
    # max_new_tokens reached mid-thought: all of it is reasoning, there is no answer
    for pieces in chunkings("<think>\nstill thinking"):
        assert run_split(pieces) == ("still thinking", "")


def test_splitter_without_thinking_passes_text_through():
    s = ReasoningSplitter(None, None)
    assert s.feed("\n<think>a</think>b") == [("content", "\n<think>a</think>b")]


def test_build_response_parses_reasoning_and_tool_calls_with_qwen3(qwen3):
    raw = ('<think>\nThe user wants the weather.\n</think>\n\n'
           '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n</tool_call>')
    r = build_response(qwen3, raw, finish_reason="stop", prompt_tokens=10, completion_tokens=30, parse_tools=True)
    assert r.reasoning == "The user wants the weather."
    assert r.text == ""
    assert [(c.name, c.arguments) for c in r.tool_calls] == [("get_weather", {"city": "Paris", "days": 2})]
    assert r.finish_reason == "tool_calls"
    # without tools offered, the same text stays text
    r = build_response(qwen3, raw, finish_reason="stop", prompt_tokens=10, completion_tokens=30, parse_tools=False)
    assert r.tool_calls == [] and "<tool_call>" in r.text and r.finish_reason == "stop"


def test_build_response_reasoning_cut_off_by_length(qwen3):
    r = build_response(qwen3, "<think>\nhalf a thou", finish_reason="length", prompt_tokens=1,
                       completion_tokens=5, parse_tools=False)
    assert (r.reasoning, r.text, r.finish_reason) == ("half a thou", "", "length")


def test_build_response_with_llama3_json_calls(tokenizer_dir):
    llama3 = get_template("llama3_1", AutoTokenizer.from_pretrained(tokenizer_dir("llama3")))
    raw = json.dumps({"name": "search", "parameters": {"q": "lmforge"}})
    r = build_response(llama3, raw, finish_reason="stop", prompt_tokens=1, completion_tokens=9, parse_tools=True)
    assert [(c.name, c.arguments) for c in r.tool_calls] == [("search", {"q": "lmforge"})]
    assert r.finish_reason == "tool_calls"
